"""The quarantine table: rows that were read but not accepted, each with file, line, field and reason.

Why a table rather than a log: bad rows are counted (read = accepted + quarantined for every source) and
can be inspected or re-ingested; `portrait quarantine` groups them by kind via `quarantine_summary`.

A reason reads "<kind>: <detail>", e.g. "not a DOUBLE: 'abc'", "missing columns: Expected Number of
Columns: 8 Found: 5", "rule 'positive_amount' failed: amount > 0", or just "missing required field".
The kind is everything before the first ": ".
"""

from __future__ import annotations

from pathlib import Path

import duckdb

QUARANTINE_COLUMNS: dict[str, str] = {
    "source": "VARCHAR",
    "file": "VARCHAR",
    "source_line": "BIGINT",
    "field": "VARCHAR",
    "reason": "VARCHAR",
    "raw": "VARCHAR",
}


def reason_kind(reason: str) -> str:
    """The reason without its value part: "not a DOUBLE: 'abc'" → "not a DOUBLE"."""
    return reason.split(": ", 1)[0]


def create_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    cols = ", ".join(f"{c} {t}" for c, t in QUARANTINE_COLUMNS.items())
    con.execute(f"CREATE TEMP TABLE {name} ({cols})")


def format_entry(entry: dict) -> str:
    """One quarantine row as a message naming file, line, field and reason."""
    return f"{entry['file']}:{entry['source_line']}: {entry['field']}: {entry['reason']}"


def quarantine_summary(quarantine_parquet_path: str | Path, source: str | None = None) -> list[dict]:
    """[{source, field, reason_kind, count}] most frequent first, optionally for one source."""
    con = duckdb.connect(":memory:")
    try:
        where = "WHERE source = ?" if source is not None else ""
        rows = con.execute(
            f"""SELECT source, field, split_part(reason, ': ', 1) AS reason_kind, count(*) AS count
                FROM read_parquet(?) {where} GROUP BY ALL ORDER BY count DESC, source, field, reason_kind""",
            [str(quarantine_parquet_path)] + ([source] if source is not None else []),
        ).fetchall()
    finally:
        con.close()
    return [{"source": s, "field": f, "reason_kind": k, "count": n} for s, f, k, n in rows]


def quarantine_examples(quarantine_parquet_path: str | Path, source: str | None = None, limit: int = 10) -> list[dict]:
    """Up to `limit` quarantined rows, the first of each (source, field, kind) before any repeats."""
    con = duckdb.connect(":memory:")
    try:
        where = "WHERE source = ?" if source is not None else ""
        params = [str(quarantine_parquet_path)] + ([source] if source is not None else []) + [int(limit)]
        rel = con.execute(
            f"""SELECT {', '.join(QUARANTINE_COLUMNS)} FROM (
                    SELECT *, row_number() OVER (PARTITION BY source, field, split_part(reason, ': ', 1)
                                                 ORDER BY __pos) AS __rank
                    FROM (SELECT *, row_number() OVER () AS __pos FROM read_parquet(?) {where}))
                ORDER BY __rank, __pos LIMIT ?""",
            params,
        )
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row)) for row in rel.fetchall()]
    finally:
        con.close()
