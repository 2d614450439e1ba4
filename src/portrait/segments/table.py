"""DuckDB and Arrow over a snapshot's profiles.parquet: the SQL fallback, explain's tag values,
exports and split hashes. The only module of `segments` that reads profile rows.

Row numbers (`file_row_number`) are the user ordinals of the bitmap index.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyroaring import BitMap

from portrait.segments.bind import Pred
from portrait.segments.clock import Clock
from portrait.segments.errors import SegmentError
from portrait.segments.ranges import to_bitmap
from portrait.segments.sqlgen import predicate, split_hash, string

_HASHES: dict[tuple[str, int], np.ndarray] = {}
_HASH_LOCK = threading.Lock()
_CONNECTIONS: dict[str, duckdb.DuckDBPyConnection] = {}
_CONN_LOCK = threading.Lock()  # one query at a time per process: connecting costs ~30 ms, a count should not


class ProfileTable:
    def __init__(self, path: str | Path, tz: str = "UTC"):
        self.path = Path(path)
        self.tz = tz

    def source(self) -> str:
        return f"read_parquet({string(str(self.path))}, file_row_number = true)"

    def query(self, sql: str) -> pa.Table:
        """Run one read-only query on the process's shared connection for this time zone."""
        with _CONN_LOCK:
            con = _CONNECTIONS.get(self.tz)
            if con is None:
                con = _CONNECTIONS[self.tz] = duckdb.connect()
                con.execute(f"SET TimeZone = {string(self.tz)}")
            try:
                return con.sql(sql).to_arrow_table()
            except duckdb.Error as e:
                raise SegmentError(f"query on the profile table failed: {e}") from e

    def ordinals(self, where_sql: str) -> np.ndarray:
        """Sorted ordinals of the rows where a condition is TRUE (the reference evaluation)."""
        t = self.query(f"SELECT file_row_number AS o FROM {self.source()} WHERE {where_sql}")
        return np.sort(t.column(0).to_numpy().astype(np.int64))

    def fallback(self, preds: Sequence[Pred], clock: Clock) -> dict[int, tuple[BitMap, BitMap]]:
        """TRUE and UNKNOWN rows of each predicate, in one scan."""
        exprs = [predicate(p.node, clock) for p in preds]
        cols = ", ".join(f"{e} AS t{i}, ({e}) IS NULL AS u{i}" for i, e in enumerate(exprs))
        keep = " OR ".join(f"({e}) IS NOT FALSE" for e in exprs)
        t = self.query(f"SELECT file_row_number AS o, {cols} FROM {self.source()} WHERE {keep}")
        o = t.column("o").to_numpy().astype(np.int64)
        order = np.argsort(o, kind="stable")
        o = o[order]
        out = {}
        for i, p in enumerate(preds):
            tv = t.column(f"t{i}").fill_null(False).to_numpy(zero_copy_only=False)[order].astype(bool)
            uv = t.column(f"u{i}").to_numpy(zero_copy_only=False)[order].astype(bool)
            out[id(p)] = (to_bitmap(o[tv]), to_bitmap(o[uv]))
        return out

    def row(self, ordinal: int, columns: Sequence[str]) -> dict:
        """One profile row by ordinal (Arrow, reading only the row group that holds it)."""
        pf = pq.ParquetFile(self.path)
        start = 0
        for rg in range(pf.metadata.num_row_groups):
            rows = pf.metadata.row_group(rg).num_rows
            if ordinal < start + rows:
                t = pf.read_row_group(rg, columns=list(columns))
                return {c: t.column(c)[ordinal - start].as_py() for c in columns}
            start += rows
        raise SegmentError(f"no row {ordinal} in {self.path.name}")

    def export(self, ords: np.ndarray, user_ids: pa.Array, columns: Sequence[str], out: Path, fmt: str) -> int:
        """Write the members (user_id plus `columns`) to CSV or Parquet; returns rows written."""
        data = {"user_id": user_ids}
        if columns:
            t = pq.read_table(self.path, columns=list(columns))
            idx = pa.array(ords.astype(np.int64))
            for c in columns:
                data[c] = t.column(c).take(idx)
        table = pa.table(data)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        if fmt == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        else:
            import pyarrow.csv as pacsv

            for i, f in enumerate(table.schema):  # CSV has no lists: weighted sets become JSON text
                if pa.types.is_nested(f.type):
                    text = [None if v is None else json.dumps(v, ensure_ascii=False) for v in table.column(i).to_pylist()]
                    table = table.set_column(i, f.name, pa.array(text, pa.string()))
            pacsv.write_csv(table, tmp)
        tmp.replace(out)
        return table.num_rows

    def hashes(self, seed: int) -> np.ndarray:
        """The split hash of every user, by ordinal (cached per process: snapshots are immutable)."""
        key = (str(self.path.resolve()), int(seed))
        with _HASH_LOCK:
            if key in _HASHES:
                return _HASHES[key]
        t = self.query(f"SELECT file_row_number AS o, {split_hash(seed)} AS h FROM {self.source()}")
        o = t.column("o").to_numpy().astype(np.int64)
        h = np.zeros(len(o), dtype=np.uint64)
        h[o] = t.column("h").to_numpy().astype(np.uint64)
        with _HASH_LOCK:
            if len(_HASHES) > 16:
                _HASHES.clear()
            _HASHES[key] = h
        return h


def split_bucket(seed: int, user_id: str) -> int:
    """Python twin of sqlgen.split_hash, for documentation and tests."""
    return int(hashlib.md5(f"{seed}:{user_id}".encode()).hexdigest()[:16], 16)
