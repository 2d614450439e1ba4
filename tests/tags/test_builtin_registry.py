"""Every built-in honours the contract: declared outputs and types, strict params, one row per user,
SQL that the catalog's parser reads and that runs on the real engine."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import sqlglot

from portrait.catalog import EVENT_COLUMNS, SqlContext, Tag, compile_catalog
from portrait.catalog.model import SQL_TYPES
from portrait.tags.builtins import builtins
from portrait.tags.builtins.testing import run_builtin

NAMES = ["activity", "interest", "lifecycle", "price_sensitivity", "purchasing_power", "rfm"]
AS_OF = datetime(2024, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_all_registered_with_formula_and_typed_outputs():
    reg = builtins()
    assert set(NAMES) <= set(reg)
    for name in NAMES:
        b = reg[name]
        assert b.name == name and b.summary and len(b.formula) > 80
        assert "events" in b.reads
        for out, spec in b.outputs.items():
            assert spec.type in SQL_TYPES, (name, out)
            assert (spec.type == "enum") == bool(spec.values), (name, out)
        b.params()  # every parameter has a default
        with pytest.raises(ValueError):
            b.params.model_validate({"no_such_param": 1})


@pytest.mark.parametrize("name", NAMES)
def test_sql_parses_for_the_catalog(name):
    sql = builtins()[name].sql({}, SqlContext("UTC"))
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert tree.find(sqlglot.exp.Select) is not None
    assert "now()" not in sql.lower() and "random" not in sql.lower() and "current_" not in sql.lower()


def random_world(seed):
    rng = np.random.default_rng(seed)
    n = 800
    items = pd.DataFrame({
        "item_id": [f"i{i}" for i in range(40)],
        "category": rng.choice(["A/x", "A/y", "B/z"], 40),
        "price": rng.choice([1.0, 2.5, 9.99], 40),
        "brand": rng.choice(["p", "q", None], 40),
        "genres": [list(rng.choice(["g1", "g2", "g3"], int(rng.integers(0, 3)), replace=False)) for _ in range(40)],
    })
    qty = rng.choice([1.0, 2.0, -1.0, np.nan], n)
    types = rng.choice(["purchase", "return", "view", "cart", "rate"], n)
    ev = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": np.where(rng.random(n) < 0.02, None, np.char.add("u", rng.integers(0, 60, n).astype(str))),
        "event_time": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 86400 * 200, n), unit="s"),
        "event_type": types,
        "order_id": np.where(rng.random(n) < 0.3, None, np.char.add("o", rng.integers(0, 100, n).astype(str))),
        "item_id": [f"i{i}" for i in rng.integers(0, 45, n)],
        "category": rng.choice(["A/x", "A/y", "B/z", None], n),
        "quantity": qty,
        "amount": np.where(np.isnan(qty), 1.0, qty) * rng.choice([0.0, 1.0, 2.5, 9.99], n),
        "channel": rng.choice(["app", "web"], n),
        "props": [{"rating": int(r)} if t == "rate" else None for r, t in zip(rng.integers(1, 6, n), types)],
    })
    return ev, items


@pytest.mark.parametrize("name", NAMES)
def test_one_row_per_user_and_declared_schema(name):
    ev, items = random_world(3)
    out = run_builtin(name, {}, events=ev, items=items, timezone="Asia/Shanghai", as_of=AS_OF)
    assert out["user_id"].is_unique and out["user_id"].notna().all()
    assert len(out) > 0
    for col, spec in builtins()[name].outputs.items():
        if spec.values:
            assert set(out[col].dropna()) <= set(spec.values), col
    again = run_builtin(name, {}, events=ev.sample(frac=1, random_state=1), items=items, timezone="Asia/Shanghai",
                        as_of=AS_OF)
    pd.testing.assert_frame_equal(out, again)  # input order does not matter


def test_runs_on_the_duckdb_engine():
    from portrait.engine.duckdb_engine import DuckDBEngine

    ev, items = random_world(5)
    with DuckDBEngine(timezone="Asia/Shanghai", as_of=AS_OF) as engine:
        engine.con.register("ev_src", ev.assign(props=ev["props"].map(lambda p: None if p is None else json.dumps(p))))
        engine.con.register("items_src", items)
        cols = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in EVENT_COLUMNS.items() if c in ev.columns)
        engine.execute(f"CREATE TABLE events AS SELECT {cols} FROM ev_src WHERE event_time < as_of()")
        engine.execute("CREATE TABLE items AS SELECT * FROM items_src")
        engine.execute("CREATE TABLE users AS SELECT DISTINCT user_id FROM events")
        ctx = SqlContext("Asia/Shanghai", item_columns=frozenset(items.columns))
        for name in NAMES:
            b = builtins()[name]
            table = engine.query(b.sql({}, ctx))
            assert table.column_names == ["user_id", *b.outputs]
            assert table.num_rows == len(set(table.column("user_id").to_pylist()))


def _tag(tag_id, builtin, type_, output=None, values=None, params=None):
    return Tag(id=tag_id, name={"en": tag_id}, taxonomy=["t"], kind="statistic", type=type_, owner="me",
               builtin=builtin, output=output, values=values, params=params or {})


def test_catalog_accepts_builtin_tags():
    from portrait.tags.builtins.rfm import SEGMENTS

    tags = [
        _tag("purchasing_power", "purchasing_power", "enum", values=["low", "mid", "high"],
             params={"category_level": 2, "cuts": [0.33, 0.66]}),  # the design's example: no output named
        _tag("segment", "rfm", "enum", "segment", list(SEGMENTS)),
        _tag("genre_interest", "interest", "weighted_set", "weights", params={"dimension": "genre"}),
        _tag("stage", "lifecycle", "enum", "stage", ["new", "growing", "mature", "dormant", "churned"]),
        _tag("weekday", "activity", "enum", "preferred_weekday",
             ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]),
        _tag("promo", "price_sensitivity", "number", "promo_share", params={"promo_prop": "on_sale"}),
    ]
    tables = {"events": EVENT_COLUMNS, "users": {"user_id": "VARCHAR"}, "items": {"item_id": "VARCHAR"}}
    cat = compile_catalog(tags, tables, builtins())
    assert cat.by_id["purchasing_power"].output() == "level"
