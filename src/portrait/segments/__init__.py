"""Audience segmentation (人群圈选) on roaring bitmaps.

Pure core: `expr` (text → tree) → `bind` (tree + catalog → typed predicates) → `planner`
(bitmap operations with SQL's three-valued logic) and `sqlgen` (the same expression as DuckDB
SQL: the fallback and the reference semantics). `encoding` maps numeric values to exact
order-preserving keys and `ranges` answers key ranges with binned range-encoded bitmaps.
`index_build`/`index` write and lazily read the per-snapshot index (snapshot/bitmaps/);
`table` runs the SQL fallback over profiles.parquet; `store` keeps saved segments in the
warehouse; `service` (with `report`) is what the CLI and the HTTP API call; `hooks` plugs the
index builder and the segment refresh into every build.
"""
