"""Run a built-in's SQL on small in-memory frames: for tests of ours and of plugin built-ins.

    from portrait.tags.builtins.testing import run_builtin
    out = run_builtin("rfm", {}, events=frame, timezone="Europe/London", as_of=datetime(...))

The set-up mirrors the engine: a DuckDB session in the project time zone with an `as_of()` macro,
canonical `events` / `users` / `items` tables (missing columns are NULL), and events limited to
those before the snapshot instant.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from portrait.catalog.builtin_spec import Builtin, SqlContext
from portrait.catalog.compile import EVENT_COLUMNS
from portrait.catalog.model import SQL_TYPES

ITEM_COLUMNS: dict[str, str] = {
    "item_id": "VARCHAR",
    "category": "VARCHAR",
    "price": "DOUBLE",
    "brand": "VARCHAR",
    "genres": "VARCHAR[]",
}
USER_COLUMNS: dict[str, str] = {"user_id": "VARCHAR"}


def _json(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v if isinstance(v, str) else json.dumps(v)


def _table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame | None, columns: dict[str, str]) -> None:
    frame = pd.DataFrame() if frame is None else frame.copy()
    extra = [c for c in frame.columns if c not in columns]
    cols = {**columns, **{c: None for c in extra}}
    if "props" in frame.columns:
        frame["props"] = frame["props"].map(_json).astype(object)
    if len(frame.columns) == 0:
        select = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in columns.items())
        con.execute(f"CREATE TABLE {name} AS SELECT {select} WHERE false")
        return
    con.register(f"_{name}_src", frame)
    select = ", ".join(
        (f"CAST({c} AS {t}) AS {c}" if t else c) if c in frame.columns else f"CAST(NULL AS {t}) AS {c}"
        for c, t in cols.items()
    )
    con.execute(f"CREATE TABLE {name} AS SELECT {select} FROM _{name}_src")
    con.unregister(f"_{name}_src")


def connect(
    *,
    events: pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    timezone: str = "UTC",
    as_of: datetime,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB session set up as the engine would: time zone, `as_of()`, canonical tables."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be time-zone aware")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET TimeZone = '{timezone}'")
    con.execute(f"CREATE MACRO as_of() AS TIMESTAMPTZ '{as_of.isoformat()}'")
    _table(con, "_events_all", events, EVENT_COLUMNS)
    con.execute("CREATE TABLE events AS SELECT * FROM _events_all WHERE event_time < as_of()")
    con.execute("DROP TABLE _events_all")
    _table(con, "items", items, ITEM_COLUMNS)
    _table(con, "users", users, USER_COLUMNS)
    return con


def run_builtin(
    builtin: str | Builtin,
    params: dict | None = None,
    *,
    events: pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    timezone: str = "UTC",
    as_of: datetime,
) -> pd.DataFrame:
    """The built-in's result (user_id + one column per output), sorted by user_id."""
    if isinstance(builtin, str):
        from portrait.tags.builtins import builtins

        builtin = builtins()[builtin]
    con = connect(events=events, items=items, users=users, timezone=timezone, as_of=as_of)
    try:
        item_cols = frozenset(ITEM_COLUMNS) | frozenset(items.columns if items is not None else ())
        ctx = SqlContext(timezone=timezone, item_columns=item_cols, user_columns=frozenset(USER_COLUMNS))
        sql = builtin.sql(params or {}, ctx)
        check_schema(con, builtin, sql)
        out = con.execute(f"SELECT * FROM ({sql}) ORDER BY user_id").df()
    finally:
        con.close()
    return out.reset_index(drop=True)


def check_schema(con: duckdb.DuckDBPyConnection, builtin: Builtin, sql: str) -> None:
    """The query returns user_id then exactly the declared outputs, each with its value type's SQL type."""
    got = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {sql}").fetchall()]
    want_types = {"user_id": "VARCHAR", **{k: SQL_TYPES[o.type] for k, o in builtin.outputs.items()}}
    want = []
    for name, t in want_types.items():
        want.append((name, con.execute(f"DESCRIBE SELECT CAST(NULL AS {t}) AS x").fetchall()[0][1]))
    if got != want:
        raise AssertionError(f"built-in {builtin.name!r} returns {got}, its outputs declare {want}")


def events_frame(rows: list[dict], timezone: str = "UTC") -> pd.DataFrame:
    """Canonical events from a few dicts: `event_id` defaults to e1, e2, ...; a naive `event_time`
    (string or datetime) is read as local time in `timezone`."""
    out = []
    for i, row in enumerate(rows, start=1):
        r = dict(row)
        r.setdefault("event_id", f"e{i}")
        t = pd.Timestamp(r["event_time"])
        r["event_time"] = t.tz_localize(timezone) if t.tzinfo is None else t
        out.append(r)
    frame = pd.DataFrame(out, columns=list(EVENT_COLUMNS) if not out else None)
    if out:
        frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    return frame
