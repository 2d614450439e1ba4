"""Per-tag coverage and value distribution, published with every snapshot (governance metadata)."""

from __future__ import annotations

from datetime import datetime

from portrait.catalog import Catalog, CompiledTag
from portrait.engine import Engine

QUANTILES = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
TOP = 50


def _distribution(engine: Engine, ct: CompiledTag, table: str) -> dict:
    if ct.tag.pii:  # personal data never leaves the profile table through governance metadata
        return {"withheld": "pii"}
    col = f'"{ct.id}"'
    kind = ct.tag.type
    if kind in ("enum", "bool", "string"):
        rows = engine.query(
            f"SELECT {col}::VARCHAR AS v, count(*) AS n FROM {table} WHERE {col} IS NOT NULL "
            f"GROUP BY 1 ORDER BY n DESC, v LIMIT {TOP}"
        ).to_pylist()
        return {"values": [{"value": r["v"], "count": r["n"]} for r in rows]}
    if kind in ("integer", "number"):
        qs = ", ".join(str(q) for q in QUANTILES)
        row = engine.query(
            f"SELECT avg({col}) AS mean, quantile_cont({col}, [{qs}]) AS q FROM {table} WHERE {col} IS NOT NULL"
        ).to_pylist()[0]
        hist = engine.query(
            f"WITH b AS (SELECT min({col}) lo, max({col}) hi FROM {table}) "
            f"SELECT least(9, floor(({col} - lo) / nullif(hi - lo, 0) * 10))::INT AS bin, min({col}) AS lo, "
            f"max({col}) AS hi, count(*) AS n FROM {table}, b WHERE {col} IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).to_pylist()
        quantiles = dict(zip([str(q) for q in QUANTILES], row["q"] or []))
        return {"mean": row["mean"], "quantiles": quantiles,
                "histogram": [{"lo": h["lo"], "hi": h["hi"], "count": h["n"]} for h in hist]}
    if kind == "timestamp":
        row = engine.query(f"SELECT min({col}) AS lo, max({col}) AS hi FROM {table}").to_pylist()[0]
        return {"min": row["lo"].isoformat() if row["lo"] else None, "max": row["hi"].isoformat() if row["hi"] else None}
    if kind == "weighted_set":
        rows = engine.query(
            f"SELECT e.key AS k, count(*) AS n, avg(e.weight) AS w FROM (SELECT unnest({col}) AS e FROM {table}) "
            f"GROUP BY 1 ORDER BY n DESC, k LIMIT {TOP}"
        ).to_pylist()
        return {"keys": [{"key": r["k"], "users": r["n"], "mean_weight": r["w"]} for r in rows]}
    return {}


def tag_stats(engine: Engine, catalog: Catalog, table: str, computed_at: datetime) -> dict[str, dict]:
    total = engine.query(f"SELECT count(*) AS n FROM {table}").column(0)[0].as_py()
    counts = engine.query(
        "SELECT " + ", ".join(f'count("{ct.id}") AS "{ct.id}"' for ct in catalog.tags) + f" FROM {table}"
    ).to_pylist()[0] if catalog.tags else {}
    out = {}
    for ct in catalog.tags:
        n = counts[ct.id]
        out[ct.id] = {
            "tag": ct.id,
            "users": total,
            "covered": n,
            "coverage": n / total if total else 0.0,
            "distribution": _distribution(engine, ct, table),
            "computed_at": computed_at.isoformat(),
            "definition_hash": ct.tag.definition_hash,
        }
    return out
