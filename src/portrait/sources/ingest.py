"""Ingest a project's sources into canonical Parquet tables: events, users, items and quarantine.

Why quarantine instead of dropping or failing: a real export always has some bad rows; failing the
whole build for one of them is useless, dropping them silently hides data loss. Every row read is
either accepted or quarantined (with file, line, field, reason and its raw values), so per source
`read == accepted + quarantined` always holds and can be audited.

Design choices:
* Online Retail rows without CustomerID (guest checkouts) go to quarantine with field `user_id` and
  reason "missing required field": a user profile needs a user, but the rows are counted, not dropped.
* `users` and `items` hold one row per key: a later row with an already seen user_id/item_id (by source
  order, then file and line) is quarantined as "duplicate user_id", so profiles never fan out on joins.
* `event_id` is `<source>:<line>`, or `<source>:<file name>:<line>` when a source's path matches several files.
* With `as_of`, events at or after it are accepted but left out of events.parquet (counted in
  `after_as_of`); a naive `as_of` is read in the project's time zone.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb

from portrait.config import Project, SourceConfig
from portrait.errors import PortraitError, SourceError
from portrait.sources.quarantine import QUARANTINE_COLUMNS, create_table
from portrait.sources.readers import READERS
from portrait.sources.schema import KEYS, canonical_schema, connect, quote_ident as qi, quote_str, referenced_columns
from portrait.sources.transform import SourceStager

Progress = Callable[[str, int, int], None]
_Q = "__quarantine"


@dataclass
class SourceStats:
    name: str
    table: str
    files: list[str]
    read: int
    accepted: int
    quarantined: int
    after_as_of: int = 0


@dataclass
class IngestResult:
    stats: list[SourceStats]
    max_event_time: datetime | None
    min_event_time: datetime | None
    tables: dict[str, Path] = field(default_factory=dict)  # events/users/items/quarantine → written file


def resolve_files(project: Project, source: SourceConfig) -> list[Path]:
    """The files a source reads: one path, a glob (sorted), or a dataset:// file."""
    resolved = project.resolve(source.path)
    if any(ch in resolved for ch in "*?["):
        files = [Path(p) for p in sorted(glob.glob(resolved, recursive=True)) if Path(p).is_file()]
        if not files:
            raise SourceError(f"source {source.name!r}: no file matches {source.path!r} (looked for {resolved})")
        return files
    path = Path(resolved)
    if not path.is_file():
        raise SourceError(f"source {source.name!r}: file not found: {path}", hint=f"path in portrait.yaml: {source.path}")
    return [path]


def _display(project: Project, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.root.resolve()))
    except ValueError:
        return str(path)


def _fallback_columns(source: SourceConfig) -> list[str]:
    """Columns an empty file (no header) is given so the source's expressions still bind."""
    cols = {c.lower(): c for c in source.columns}
    for sql in [*source.fields.values(), *source.props.values()]:
        for ref in referenced_columns(sql) or ():
            cols.setdefault(ref.lower(), ref)
    return list(cols.values())


def _load_raw(con: duckdb.DuckDBPyConnection, project: Project, source: SourceConfig, files: list[Path], k: int) -> tuple[str, int]:
    reader = READERS[source.inferred_format()]
    tables, read = [], 0
    for j, path in enumerate(files):
        display = _display(project, path)
        try:
            raw = reader(con, path, display, source, f"__raw_{k}_{j}", _Q, _fallback_columns(source))
        except PortraitError:
            raise
        except (duckdb.Error, OSError, EOFError) as e:
            raise SourceError(f"source {source.name!r}: cannot read {display}: {str(e).splitlines()[0]}") from e
        tables.append(raw.table)
        read += raw.read
    if len(tables) == 1:
        return tables[0], read
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {t}" for t in tables)
    con.execute(f"CREATE TEMP VIEW __raw_{k} AS {union}")
    return f"__raw_{k}", read


def _as_of_sql(as_of: datetime | None) -> tuple[str, list]:
    if as_of is None:
        return "TRUE", []
    if as_of.tzinfo is None:
        return "event_time < CAST(?::TIMESTAMP AS TIMESTAMPTZ)", [as_of]  # session time zone = project's
    utc = as_of.astimezone(timezone.utc).replace(tzinfo=None)
    return "event_time < timezone('UTC', ?::TIMESTAMP)", [utc]


def _copy(con: duckdb.DuckDBPyConnection, select: str, path: Path, params: list | None = None,
          stagers: list[SourceStager] = ()) -> None:
    """Write a query to Parquet; a failure while streaming a source's staged rows names that source's field."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        con.execute(f"COPY ({select}) TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION zstd)",
                    params or [])
    except duckdb.Error as e:
        tmp.unlink(missing_ok=True)
        raise _field_error(stagers, e) from e
    os.replace(tmp, path)


def _field_error(stagers: list[SourceStager], error: duckdb.Error) -> Exception:
    """Reading staged rows failed: name the source field whose expression fails, else keep DuckDB's error."""
    return next(filter(None, (st.failing_field() for st in stagers)), error)


def _empty(columns: dict[str, str]) -> str:
    return "SELECT " + ", ".join(f"NULL::{t} AS {qi(c)}" for c, t in columns.items()) + " LIMIT 0"


def ingest(
    project: Project, out_dir: Path, as_of: datetime | None = None, progress: Progress | None = None
) -> IngestResult:
    """Read every source, validate, and write events/users/items/quarantine Parquet files into `out_dir`."""
    schema = canonical_schema(project)  # also checks field names before any data is read
    names = [s.name for s in project.config.sources]
    if dup := sorted({n for n in names if names.count(n) > 1}):
        raise SourceError(f"source names must be unique: {', '.join(map(repr, dup))} used more than once")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = project.config.sources
    con = connect(project)
    try:
        create_table(con, _Q)
        staged: dict[str, list[tuple[int, SourceConfig, str, bool]]] = {t: [] for t in schema}
        stagers: dict[str, list[SourceStager]] = {t: [] for t in schema}
        reads: dict[str, int] = {}
        files_of: dict[str, list[str]] = {}
        for k, source in enumerate(sources):
            if progress:
                progress(source.name, k, len(sources))
            files = resolve_files(project, source)
            files_of[source.name] = [_display(project, p) for p in files]
            raw, reads[source.name] = _load_raw(con, project, source, files, k)
            stager = SourceStager(con, source, raw, schema[source.table])
            st = stager.build(f"__staged_{k}")
            # First pass over the source: its quarantined rows (the accepted ones stream into the store below).
            try:
                con.execute(f"INSERT INTO {_Q} SELECT ?, __file, __line, __qfield, __qreason, __raw "
                            f"FROM {st.view} WHERE __qfield IS NOT NULL", [source.name])
            except duckdb.Error as e:
                raise stager.runtime_error(e) from e
            staged[source.table].append((k, source, st.view, len(files) > 1))
            stagers[source.table].append(stager)
        if progress:
            progress("write", len(sources), len(sources))

        accepted = {t: _accepted_union(con, schema[t], parts) for t, parts in staged.items()}
        for table, key in KEYS.items():
            try:
                accepted[table] = _dedupe(con, table, key, schema[table], accepted[table])
            except duckdb.Error as e:  # the first full read of fields the quarantine pass did not need
                raise _field_error(stagers[table], e) from e

        paths = {t: out_dir / f"{t}.parquet" for t in ("events", "users", "items", "links", "quarantine")}
        cond, params = _as_of_sql(as_of)
        ev_cols = ", ".join(f"CAST({qi(c)} AS {t}) AS {qi(c)}" for c, t in schema["events"].items())
        # Second pass: accepted events stream from the sources into the store, never held in memory. Row
        # order is not kept (no sort, no insertion order): nothing downstream depends on it, and a global
        # sort cost a third of the ingest at 10M events.
        con.execute("SET preserve_insertion_order = false")  # lets threads write row groups as they finish
        _copy(con, f"SELECT {ev_cols} FROM {accepted['events']} WHERE {cond}", paths["events"], params,
              stagers["events"])
        con.execute("RESET preserve_insertion_order")
        for t in ("users", "items"):
            cols = ", ".join(f"CAST({qi(c)} AS {ty}) AS {qi(c)}" for c, ty in schema[t].items())
            _copy(con, f"SELECT {cols} FROM {accepted[t]} ORDER BY {qi(KEYS[t])}", paths[t], stagers=stagers[t])
        _copy(con, f"SELECT DISTINCT user_id, alias_id FROM {accepted['links']} ORDER BY ALL", paths["links"],
              stagers=stagers["links"])
        order = ", ".join(quote_str(s.name) for s in sources) or "''"
        _copy(con, f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM {_Q} "
                   f"ORDER BY list_position([{order}], source), file, source_line", paths["quarantine"])

        quarantined = dict(con.execute(f"SELECT source, count(*) FROM {_Q} GROUP BY source").fetchall())
        # Counted on the written store (two columns), not by streaming the sources a third time.
        store = f"read_parquet('{str(paths['events']).replace(chr(39), chr(39) * 2)}')"
        stored = dict(con.execute(f"SELECT source, count(*) FROM {store} GROUP BY source").fetchall())
        lo, hi = con.execute(f"SELECT min(event_time), max(event_time) FROM {store}").fetchone()
        stats = []
        for s in sources:
            q = quarantined.get(s.name, 0)
            accepted_rows = reads[s.name] - q
            late = accepted_rows - stored.get(s.name, 0) if s.table == "events" else 0
            if late < 0 or (late and as_of is None):  # the two passes over the source disagreed
                raise SourceError(
                    f"source {s.name!r}: {accepted_rows:,} rows passed validation but {stored.get(s.name, 0):,} "
                    "were stored: a field or rule gives different answers on each read",
                    hint="fields and rules must be deterministic (no random(), now() or the like)")
            stats.append(SourceStats(s.name, s.table, files_of[s.name], reads[s.name], accepted_rows, q, late))
        return IngestResult(stats, hi, lo, paths)
    finally:
        con.close()


def _accepted_union(con: duckdb.DuckDBPyConnection, columns: dict[str, str], parts: list) -> str:
    """SQL for the accepted rows of every source of a table, plus provenance (source, source_line, __src, __file)."""
    if not parts:
        extra = {"source": "VARCHAR", "source_line": "BIGINT", "__src": "INTEGER", "__file": "VARCHAR"}
        return f"({_empty({**columns, **extra})})"
    selects = []
    for k, source, table, multi in parts:
        name = source.name.replace("'", "''")
        # The file's name, not its path, keeps ids short (they are stored on every event) and stable.
        event_id = f"'{name}:' || " + ("regexp_extract(__file, '[^/]*$') || ':' || " if multi else "") + "__line"
        special = {"event_id": f"{event_id} AS event_id", "source": f"'{name}' AS source",
                   "source_line": "__line AS source_line"}
        cols = [special.get(c, qi(c)) for c in columns]
        cols += [special[c] for c in ("source", "source_line") if c not in columns]
        cols += [f"{k} AS __src", "__file"]
        selects.append(f"SELECT {', '.join(cols)} FROM {table} WHERE __qfield IS NULL")
    return "(" + " UNION ALL BY NAME ".join(selects) + ")"


def _dedupe(con: duckdb.DuckDBPyConnection, table: str, key: str, columns: dict[str, str], rows: str) -> str:
    """Keep the first row per key (source order, file, line); quarantine the others as duplicates."""
    ranked = f"__ranked_{table}"
    con.execute(
        f"""CREATE TEMP TABLE {ranked} AS
            SELECT *, row_number() OVER w AS __n, first_value(__file || ':' || source_line) OVER w AS __first
            FROM {rows} WINDOW w AS (PARTITION BY {qi(key)} ORDER BY __src, __file, source_line)"""
    )
    raw = "CAST(json_object(" + ", ".join(f"{quote_str(c)}, {qi(c)}" for c in columns) + ") AS VARCHAR)"
    reason = f"{quote_str(f'duplicate {key}: ')} || '''' || {qi(key)} || ''' (first at ' || __first || ')'"
    con.execute(
        f"""INSERT INTO {_Q}
            SELECT source, __file, source_line, {quote_str(key)}, {reason}, {raw}
            FROM {ranked} WHERE __n > 1"""
    )
    return f"(SELECT * FROM {ranked} WHERE __n = 1)"
