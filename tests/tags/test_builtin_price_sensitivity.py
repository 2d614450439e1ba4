"""The price_sensitivity built-in against an independent pandas implementation."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from portrait.tags.builtins.testing import events_frame, run_builtin

AS_OF = datetime(2024, 6, 1, tzinfo=ZoneInfo("UTC"))
TRUE = {"true", "1", "yes", "y", "t"}


def reference(ev, items=None, *, reference="median", price_source="amount", cuts=(0.2, 0.4), promo=None):
    ev = ev[(ev["event_time"] < AS_OF) & ev["user_id"].notna() & (ev["event_type"] == "purchase")].copy()
    q = ev["quantity"].fillna(1.0)
    ev = ev[q > 0].copy()
    if price_source == "amount":
        ev["price"] = (ev["amount"] / ev["quantity"].fillna(1.0)).round(6)
    else:
        ev["price"] = pd.to_numeric(ev["props"].map(lambda p: (p or {}).get("unit_price")), errors="coerce").round(6)
    priced = ev[(ev["price"] > 0) & ev["item_id"].notna()]
    if reference == "median":
        ref = priced.groupby("item_id")["price"].median()
    else:
        it = items[items["price"] > 0]
        ref = pd.Series(it["price"].round(6).to_numpy(), index=it["item_id"])
    ev["ref"] = ev["item_id"].map(ref)
    rows = []
    for u, g in ev.groupby("user_id"):
        usable = g[(g["price"] > 0) & g["ref"].notna()]
        score = float((usable["price"] < usable["ref"]).mean()) if len(usable) else None
        level = None if score is None else "low" if score < cuts[0] else "mid" if score < cuts[1] else "high"
        share = None
        if promo:
            share = float(np.mean([str((p or {}).get(promo)).lower() in TRUE if (p or {}).get(promo) is not None
                                   else False for p in g["props"]]))
        rows.append({"user_id": u, "level": level, "score": score, "promo_share": share})
    return pd.DataFrame(rows, columns=["user_id", "level", "score", "promo_share"])


def assert_same(got, want):
    assert list(got["user_id"]) == list(want["user_id"])
    assert [None if pd.isna(v) else v for v in got["level"]] == [None if pd.isna(v) else v for v in want["level"]]
    for col in ("score", "promo_share"):
        g = got[col].to_numpy(dtype=float)
        w = want[col].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(g), np.isnan(w)), col
        assert np.allclose(g[~np.isnan(g)], w[~np.isnan(w)], rtol=0, atol=1e-12), col


def random_events(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 400))
    qty = rng.choice([1.0, 2.0, 6.0, 0.0, -1.0, np.nan], n, p=[0.5, 0.2, 0.1, 0.05, 0.05, 0.1])
    unit = rng.choice([0.0, 0.85, 0.99, 1.25, 1.25, 1.25, 2.55, 2.55, 3.0], n)
    promo = rng.choice([True, False, "yes", "no", 1, 0, None], n)
    return pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": [f"u{u}" for u in rng.integers(0, 25, n)],
        "event_time": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(1, 10**6, n), unit="s"),
        "event_type": rng.choice(["purchase", "view"], n, p=[0.85, 0.15]),
        "item_id": np.where(rng.random(n) < 0.05, None, np.char.add("i", rng.integers(0, 12, n).astype(str))),
        "quantity": qty,
        "amount": np.where(np.isnan(qty), 1.0, qty) * unit,
        "props": [({"on_sale": p} if p is not None else {}) | ({"unit_price": float(u)} if rng.random() < 0.9 else {})
                  for p, u in zip(promo, unit)],
    })


@pytest.mark.parametrize("seed", range(6))
def test_random_against_pandas(seed):
    ev = random_events(seed)
    got = run_builtin("price_sensitivity", {}, events=ev, as_of=AS_OF)
    assert_same(got, reference(ev))
    assert got["promo_share"].isna().all()


def test_promo_share_and_prop_prices():
    ev = random_events(21)
    params = {"promo_prop": "on_sale", "price_source": "prop", "cuts": [0.1, 0.3]}
    got = run_builtin("price_sensitivity", params, events=ev, as_of=AS_OF)
    want = reference(ev, price_source="prop", cuts=(0.1, 0.3), promo="on_sale")
    assert_same(got, want)
    assert got["promo_share"].between(0, 1).all() and got["promo_share"].nunique() > 3


def test_list_price_reference():
    ev = random_events(4)
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(12)], "price": [1.25, 2.55, 3.0, 0.0] * 3})
    got = run_builtin("price_sensitivity", {"reference": "item_price"}, events=ev, items=items, as_of=AS_OF)
    assert_same(got, reference(ev, items, reference="item_price"))


def test_hand_made():
    rows = []
    # item x sold at 10, 10, 8, 6 → median 9: 8 and 6 are below; item y only ever at 5 → never below
    for user, item, price in (("a", "x", 10.0), ("a", "x", 10.0), ("b", "x", 8.0), ("b", "y", 5.0),
                              ("c", "x", 6.0), ("c", "y", 5.0), ("c", "y", 5.0)):
        rows.append({"user_id": user, "event_time": "2024-05-01", "event_type": "purchase", "item_id": item,
                     "quantity": 2.0, "amount": 2 * price})
    rows.append({"user_id": "d", "event_time": "2024-05-01", "event_type": "purchase", "item_id": None,
                 "amount": 3.0})  # no item: no reference price → row with a NULL score
    got = run_builtin("price_sensitivity", {}, events=events_frame(rows), as_of=AS_OF).set_index("user_id")
    assert got["score"].iloc[:3].to_dict() == {"a": 0.0, "b": 0.5, "c": pytest.approx(1 / 3)}
    assert got["level"].iloc[:3].to_dict() == {"a": "low", "b": "high", "c": "mid"}
    assert pd.isna(got.loc["d", "score"]) and pd.isna(got.loc["d", "level"])


def test_empty_events():
    assert len(run_builtin("price_sensitivity", {}, events=events_frame([]), as_of=AS_OF)) == 0


def test_params_are_checked():
    from portrait.tags.builtins.price_sensitivity import PriceSensitivityParams

    for bad in ({"cuts": [0.5, 0.1]}, {"reference": "mean"}, {"promo_prop": ""}, {"price_source": "item"}):
        with pytest.raises(ValueError):
            PriceSensitivityParams.model_validate(bad)
