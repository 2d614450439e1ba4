"""The purchasing_power built-in against an independent pandas implementation."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from portrait.tags.builtins.testing import events_frame, run_builtin

AS_OF = datetime(2024, 6, 1, tzinfo=ZoneInfo("UTC"))


def reference(ev, items=None, *, price_source="amount", category_source="event", level=None, sep="/",
              cuts=(0.33, 0.66), prop="unit_price", purchase=("purchase",)):
    ev = ev[(ev["event_time"] < AS_OF) & ev["user_id"].notna() & ev["event_type"].isin(purchase)].copy()
    if items is not None:
        ev = ev.merge(items.add_prefix("i_"), left_on="item_id", right_on="i_item_id", how="left")
    q = ev["quantity"].fillna(1.0)
    if price_source == "amount":
        price = ev["amount"] / q
    elif price_source == "prop":
        price = pd.to_numeric(ev["props"].map(lambda p: (p or {}).get(prop)), errors="coerce")
    else:
        price = ev["i_price"]
    ev["price"] = price.round(6)
    ev["q"] = q
    cat = ev["i_category"] if category_source == "item" else ev["category"]
    if level is not None:
        cat = cat.map(lambda c: sep.join(c.split(sep)[:level]) if isinstance(c, str) else c)
    ev["cat"] = cat.fillna("\x00none")  # lines without a category are ranked together
    lines = ev[(ev["price"] > 0) & (ev["q"] > 0)].copy()
    # mid-rank percentile: (average rank − ½) / n within the category
    lines["pr"] = (lines.groupby("cat")["price"].rank(method="average") - 0.5) / lines.groupby("cat")["price"].transform("size")
    g = lines.assign(qp=lines["q"] * lines["pr"]).groupby("user_id")
    score = g["qp"].sum() / g["q"].sum()
    lvl = np.where(score < cuts[0], "low", np.where(score < cuts[1], "mid", "high"))
    return pd.DataFrame({"user_id": score.index, "level": lvl, "score": score.to_numpy()}).sort_values("user_id")


def assert_same(got, want):
    assert list(got["user_id"]) == list(want["user_id"])
    assert np.allclose(got["score"], want["score"], rtol=0, atol=1e-9)
    assert list(got["level"]) == list(want["level"])


def random_events(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 400))
    qty = rng.choice([1.0, 2.0, 3.0, 0.0, -1.0, np.nan], n, p=[0.5, 0.2, 0.1, 0.05, 0.05, 0.1])
    unit = rng.choice([0.0, 0.99, 1.5, 2.55, 2.55, 9.99, 10.0, 24.5], n)
    return pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": [f"u{u}" for u in rng.integers(0, 25, n)],
        "event_time": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(1, 10**6, n), unit="s"),
        "event_type": rng.choice(["purchase", "view", "return"], n, p=[0.8, 0.1, 0.1]),
        "item_id": [f"i{i}" for i in rng.integers(0, 30, n)],
        "category": rng.choice(["A/x", "A/y", "B/x", None], n),
        "quantity": qty,
        "amount": np.where(np.isnan(qty), 1.0, qty) * unit,
        "props": [{"unit_price": float(u)} if rng.random() < 0.8 else {} for u in unit],
    })


def random_items():
    rng = np.random.default_rng(5)
    return pd.DataFrame({
        "item_id": [f"i{i}" for i in range(30)],
        "category": rng.choice(["Home/Kitchen/Pots", "Home/Kitchen/Pans", "Home/Bath", "Toys"], 30),
        "price": rng.choice([1.0, 2.0, 2.0, 5.0, 0.0], 30),
    })


@pytest.mark.parametrize("seed", range(6))
def test_random_against_pandas(seed):
    ev = random_events(seed)
    got = run_builtin("purchasing_power", {}, events=ev, as_of=AS_OF)
    assert_same(got, reference(ev))
    assert got["score"].between(0, 1).all()


@pytest.mark.parametrize("params", [
    {"price_source": "prop"},
    {"price_source": "item", "category_source": "item"},
    {"category_source": "item", "category_level": 2},
    {"category_source": "item", "category_level": 1, "cuts": [0.5, 0.5]},
    {"category_level": 1},
])
def test_sources_against_pandas(params):
    ev, items = random_events(11), random_items()
    got = run_builtin("purchasing_power", params, events=ev, items=items, as_of=AS_OF)
    want = reference(ev, items, price_source=params.get("price_source", "amount"),
                     category_source=params.get("category_source", "event"), level=params.get("category_level"),
                     cuts=tuple(params.get("cuts", (0.33, 0.66))))
    assert_same(got, want)


def test_hand_made_ties_and_weights():
    rows = []
    # category A: prices 1, 2, 2, 4 (four lines): percentiles (0 + ½)/4, (1 + 2·½)/4 for both 2s, (3 + ½)/4
    for user, price, qty in (("a", 1.0, 1), ("b", 2.0, 1), ("c", 2.0, 3), ("d", 4.0, 1)):
        rows.append({"user_id": user, "event_time": "2024-05-01", "event_type": "purchase", "category": "A",
                     "quantity": float(qty), "amount": price * qty})
    # category B has a single line: 0.5 whatever its price
    rows.append({"user_id": "d", "event_time": "2024-05-02", "event_type": "purchase", "category": "B",
                 "quantity": 3.0, "amount": 3000.0})
    # ignored: a view, a zero-price line, a negative-quantity adjustment
    rows.append({"user_id": "e", "event_time": "2024-05-02", "event_type": "view", "category": "A", "amount": 9.0})
    rows.append({"user_id": "e", "event_time": "2024-05-02", "event_type": "purchase", "category": "A", "amount": 0.0})
    rows.append({"user_id": "e", "event_time": "2024-05-02", "event_type": "purchase", "category": "A",
                 "quantity": -2.0, "amount": -8.0})
    got = run_builtin("purchasing_power", {}, events=events_frame(rows), as_of=AS_OF).set_index("user_id")
    assert list(got.index) == ["a", "b", "c", "d"]
    assert got["score"].to_dict() == pytest.approx({"a": 1 / 8, "b": 1 / 2, "c": 1 / 2, "d": (7 / 8 + 3 * 0.5) / 4})
    assert got["level"].to_dict() == {"a": "low", "b": "mid", "c": "mid", "d": "mid"}
    assert_same(got.reset_index(), reference(events_frame(rows)))


def test_empty_events():
    assert len(run_builtin("purchasing_power", {}, events=events_frame([]), as_of=AS_OF)) == 0


def test_params_are_checked():
    from portrait.tags.builtins.purchasing_power import PurchasingPowerParams

    for bad in ({"cuts": [0.7, 0.3]}, {"cuts": [0.1, 1.5]}, {"category_level": 0}, {"price_source": "list"},
                {"cut": [0.1, 0.2]}):
        with pytest.raises(ValueError):
            PurchasingPowerParams.model_validate(bad)


def test_missing_item_column_is_named():
    from portrait.catalog.builtin_spec import SqlContext
    from portrait.tags.builtins import builtins

    ctx = SqlContext("UTC", item_columns=frozenset({"item_id", "price"}))
    with pytest.raises(ValueError, match="category"):
        builtins()["purchasing_power"].sql({"category_source": "item"}, ctx)
