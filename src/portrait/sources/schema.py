"""Canonical table schemas, derived from the project config alone.

Why: tag SQL is checked against these schemas before any data is read, so the types of extra
user/item attributes must come from config: an attribute's type is the type DuckDB gives its field
expression over the raw columns it uses, typed as declared under `columns` (undeclared raw columns
count as VARCHAR; declare them, or CAST in the expression, to get another type).
"""

from __future__ import annotations

import difflib
import os
import tempfile

import duckdb
import sqlglot
from sqlglot import exp

from portrait.catalog.compile import EVENT_COLUMNS
from portrait.config import SOURCE_TABLES, Project, SourceConfig
from portrait.errors import ConfigError, SourceError

REQUIRED: dict[str, tuple[str, ...]] = {
    "events": ("user_id", "event_time", "event_type"),
    "users": ("user_id",),
    "items": ("item_id",),
    "links": ("user_id", "alias_id"),
}
ID_FIELDS = ("user_id", "item_id", "order_id", "alias_id")
KEYS = {"users": "user_id", "items": "item_id"}  # one row per key in these tables

# Event columns filled by ingest itself, never by a source's `fields`.
COMPUTED_EVENT_COLUMNS = ("event_id", "props", "source", "source_line")

BASE_COLUMNS: dict[str, dict[str, str]] = {
    "events": dict(EVENT_COLUMNS),
    "users": {"user_id": "VARCHAR"},
    "items": {"item_id": "VARCHAR", "category": "VARCHAR", "price": "DOUBLE", "brand": "VARCHAR", "genres": "VARCHAR[]"},
    "links": {"user_id": "VARCHAR", "alias_id": "VARCHAR"},
}


def connect(project: Project | None = None) -> duckdb.DuckDBPyConnection:
    """A private DuckDB connection with the session settings every source expression is evaluated under."""
    con = duckdb.connect(":memory:")
    # Spill (large sources) to the system temp dir, never to a `.tmp` folder in the working directory.
    con.execute("SET temp_directory = ?", [os.path.join(tempfile.gettempdir(), f"portrait-duckdb-{os.getpid()}")])
    # Accept both lambda spellings (`x -> ...` and `lambda x: ...`) in field expressions.
    con.execute("SET lambda_syntax='ENABLE_SINGLE_ARROW'")
    tz = project.config.timezone if project is not None else "UTC"
    try:
        # Naive timestamps cast to TIMESTAMPTZ are read in the project's time zone.
        con.execute("SET TimeZone = ?", [tz])
    except duckdb.Error as e:
        raise ConfigError(f"timezone: unknown time zone {tz!r}", hint="use an IANA name such as Europe/London") from e
    if project is not None:
        eng = project.config.engine
        if eng.memory_limit:
            con.execute("SET memory_limit = ?", [eng.memory_limit])
        if eng.threads:
            con.execute(f"SET threads = {int(eng.threads)}")
    return con


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def referenced_columns(sql: str) -> set[str] | None:
    """Root column names an expression reads (lambda variables excluded); None if sqlglot cannot parse it."""
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except Exception:
        return None
    names: set[str] = set()
    for col in tree.find_all(exp.Column):
        parts = [p.name for p in col.parts]  # `a.b` on a struct column reads column `a`
        if parts:
            names.add(parts[0])
    return names


def suggest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not close:
        low = {c.lower(): c for c in candidates}
        close = [low[name.lower()]] if name.lower() in low else []
    return f"; did you mean {close[0]!r}?" if close else ""


def check_field_names(source: SourceConfig) -> None:
    """Field names must fit the target table; required fields must be defined."""
    where = f"source {source.name!r} (table {source.table})"
    if source.table == "events":
        allowed = [c for c in EVENT_COLUMNS if c not in COMPUTED_EVENT_COLUMNS]
        for f in source.fields:
            if f not in allowed:
                raise SourceError(
                    f"{where}: unknown events field {f!r}{suggest(f, allowed)}",
                    hint=f"events fields are {', '.join(allowed)}; put anything else under `props`",
                )
    elif source.props:
        raise SourceError(f"{where}: `props` is only for events sources", hint="add attributes under `fields`")
    if source.table == "links" and set(source.fields) - {"user_id", "alias_id"}:
        extra = sorted(set(source.fields) - {"user_id", "alias_id"})
        raise SourceError(f"{where}: a links source has only user_id and alias_id, not {extra}")
    for f in REQUIRED[source.table]:
        if f not in source.fields:
            raise SourceError(f"{where}: required field {f!r} is not defined under `fields`")


def _infer_type(con: duckdb.DuckDBPyConnection, source: SourceConfig, field: str, sql: str) -> str:
    declared = {k: v.type for k, v in source.columns.items()}
    refs = referenced_columns(sql)
    cols = dict(declared) if refs is None else {r: declared.get(r, "VARCHAR") for r in refs}
    low = {k.lower(): v for k, v in declared.items()}
    cols = {k: low.get(k.lower(), v) for k, v in cols.items()}
    scope = ", ".join(f"NULL::{t} AS {quote_ident(c)}" for c, t in cols.items()) or "NULL AS __none"
    try:
        rows = con.execute(f"DESCRIBE SELECT ({sql}) AS v FROM (SELECT {scope})").fetchall()
    except duckdb.Error as e:
        raise SourceError(
            f"source {source.name!r}: cannot type field {field!r} from config: {str(e).splitlines()[0]}",
            hint="declare the raw columns it reads under `columns` (undeclared ones count as VARCHAR) or CAST it",
        ) from e
    return rows[0][1]


def canonical_schema(project: Project) -> dict[str, dict[str, str]]:
    """{table: {column: DuckDB type}} for events, users, items and links, from config only (no data read)."""
    schema = {t: dict(BASE_COLUMNS[t]) for t in SOURCE_TABLES}
    con: duckdb.DuckDBPyConnection | None = None
    try:
        for source in project.config.sources:
            check_field_names(source)
            if source.table in ("events", "links"):
                continue
            for field, sql in source.fields.items():
                if field in schema[source.table]:
                    continue  # base columns have fixed types; the first source typing an extra wins
                con = con or connect(project)
                schema[source.table][field] = _infer_type(con, source, field, sql)
    finally:
        if con is not None:
            con.close()
    return schema
