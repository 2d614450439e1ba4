"""The lifecycle built-in against an independent pandas implementation (exact thresholds with Fraction)."""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from portrait.tags.builtins.testing import events_frame, run_builtin


def _quantile(values: list[float], q: float) -> Fraction | None:
    """Linear-interpolation quantile (position (n − 1)·q), computed exactly."""
    if not values:
        return None
    v = sorted(Fraction(x) for x in values)
    pos = (len(v) - 1) * Fraction(q)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def _r6(x: Fraction | float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def reference_lifecycle(ev, as_of, tz, *, purchase=("purchase",), dormant=None, churned=None, dq=0.8, cq=0.95,
                        mult=2.0, mature=None):
    ev = ev[(ev["event_time"] < as_of) & ev["user_id"].notna() & ev["event_type"].isin(purchase)]
    today = as_of.astimezone(ZoneInfo(tz)).date()
    users = {}
    for u, g in ev.groupby("user_id"):
        keys = {o if isinstance(o, str) else e for o, e in zip(g["order_id"], g["event_id"])}
        days = sorted({t.tz_convert(tz).date() for t in g["event_time"]})
        gap = (days[-1] - days[0]).days / (len(days) - 1) if len(days) >= 2 else None
        users[u] = {"orders": len(keys), "days_since_last_purchase": (today - days[-1]).days, "mean_gap_days": gap}
    gaps = [r["mean_gap_days"] for r in users.values() if r["mean_gap_days"] is not None]
    d = dormant if dormant is not None else _r6(_quantile(gaps, dq))
    if churned is not None:
        c = churned
    else:
        cands = [x for x in (None if d is None else mult * d, _r6(_quantile(gaps, cq))) if x is not None]
        c = _r6(max(cands)) if cands else None
    if mature is None:
        repeat = sorted(r["orders"] for r in users.values() if r["orders"] >= 2)
        mature = max(3, repeat[math.ceil(len(repeat) / 2) - 1]) if repeat else 3
    for r in users.values():
        s = r["days_since_last_purchase"]
        if c is not None and s > c:
            r["stage"] = "churned"
        elif d is not None and s > d:
            r["stage"] = "dormant"
        elif r["orders"] == 1:
            r["stage"] = "new"
        elif r["orders"] < mature:
            r["stage"] = "growing"
        else:
            r["stage"] = "mature"
    out = pd.DataFrame.from_dict(users, orient="index")
    out.index.name = "user_id"
    return out.sort_index().reset_index()


def assert_same(got, want):
    assert list(got["user_id"]) == list(want["user_id"])
    assert list(got["stage"]) == list(want["stage"])
    assert list(got["orders"]) == list(want["orders"])
    assert list(got["days_since_last_purchase"]) == list(want["days_since_last_purchase"])
    g = got["mean_gap_days"].to_numpy(dtype=float)
    w = want["mean_gap_days"].to_numpy(dtype=float)
    assert np.array_equal(np.isnan(g), np.isnan(w)) and np.allclose(g[~np.isnan(g)], w[~np.isnan(w)])


def random_events(seed, as_of):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 500))
    users = rng.zipf(1.6, n) % 40
    days_ago = rng.integers(0, 200, n) * rng.choice([1, 1, 2], n)
    secs = rng.integers(0, 86400, n)
    frame = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": [f"u{u}" for u in users],
        "event_time": [pd.Timestamp(as_of) - pd.Timedelta(days=int(d), seconds=int(s)) for d, s in zip(days_ago, secs)],
        "event_type": rng.choice(["purchase", "view", "return"], n, p=[0.7, 0.2, 0.1]),
        "order_id": np.where(rng.random(n) < 0.2, None, np.char.add("o", rng.integers(0, 60, n).astype(str))),
    })
    return frame


@pytest.mark.parametrize("seed", range(5))
def test_random_against_pandas(seed):
    tz = "Europe/Berlin"
    as_of = datetime(2024, 11, 1, tzinfo=ZoneInfo(tz))
    ev = random_events(seed, as_of)
    got = run_builtin("lifecycle", {}, events=ev, timezone=tz, as_of=as_of)
    assert_same(got, reference_lifecycle(ev, as_of, tz))


@pytest.mark.parametrize("params", [
    {"dormant_after_days": 30},
    {"dormant_after_days": 30, "churned_after_days": 90},
    {"churned_after_days": 120, "mature_orders": 4},
    {"dormant_quantile": 0.5, "churned_quantile": 0.9, "churned_multiplier": 3},
])
def test_params_against_pandas(params):
    tz = "UTC"
    as_of = datetime(2024, 11, 1, tzinfo=ZoneInfo(tz))
    ev = random_events(3, as_of)
    got = run_builtin("lifecycle", params, events=ev, timezone=tz, as_of=as_of)
    ref = reference_lifecycle(ev, as_of, tz, dormant=params.get("dormant_after_days"),
                              churned=params.get("churned_after_days"), mature=params.get("mature_orders"),
                              dq=params.get("dormant_quantile", 0.8), cq=params.get("churned_quantile", 0.95),
                              mult=params.get("churned_multiplier", 2.0))
    assert_same(got, ref)


def test_hand_made_thresholds():
    tz = "UTC"
    as_of = datetime(2024, 7, 1, tzinfo=ZoneInfo(tz))
    rows = []

    def buys(user, dates, same_order=False):
        for i, d in enumerate(dates):
            rows.append({"user_id": user, "event_time": f"{d} 12:00", "event_type": "purchase",
                         "order_id": f"{user}-o" if same_order else f"{user}-{i}"})

    # mean gaps: a 10, b 10, c 20, d 20, e 39 → p80 = 23.8 (dormant), p95 = 35.2, churned = max(47.6, 35.2);
    # repeat buyers' orders [2, 2, 2, 4, 4] → median 2 → mature from max(3, 2) = 3
    buys("a", ["2024-06-01", "2024-06-11", "2024-06-21", "2024-06-21"])  # 4 orders on 3 dates, 10 days ago
    buys("b", ["2024-05-01", "2024-05-11"])  # 2 orders, 51 days ago → churned
    buys("c", ["2024-05-10", "2024-05-30"])  # 32 days ago → dormant
    buys("d", ["2024-05-20", "2024-06-09"])  # 22 days ago, 2 orders → growing (mature from 3)
    buys("e", ["2024-05-22", "2024-06-30", "2024-06-30", "2024-06-30"])  # gap (39 days / 1) → 4 orders → mature
    buys("f", ["2024-06-25"])  # one order → new
    buys("g", ["2024-06-28", "2024-06-28"], same_order=True)  # two lines of one order → new, no gap
    buys("h", ["2024-03-01"])  # 122 days → churned
    got = run_builtin("lifecycle", {}, events=events_frame(rows, tz), timezone=tz, as_of=as_of).set_index("user_id")
    assert got["stage"].to_dict() == {
        "a": "mature", "b": "churned", "c": "dormant", "d": "growing", "e": "mature", "f": "new", "g": "new",
        "h": "churned",
    }
    assert got.loc["g", "orders"] == 1 and pd.isna(got.loc["g", "mean_gap_days"])
    assert got.loc["e", "mean_gap_days"] == 39.0
    assert_same(got.reset_index(), reference_lifecycle(events_frame(rows, tz), as_of, tz))


def test_no_repeat_buyers_means_no_gap_thresholds():
    tz = "UTC"
    as_of = datetime(2024, 7, 1, tzinfo=ZoneInfo(tz))
    ev = events_frame([
        {"user_id": "a", "event_time": "2020-01-01", "event_type": "purchase"},
        {"user_id": "b", "event_time": "2024-06-30", "event_type": "purchase"},
    ], tz)
    got = run_builtin("lifecycle", {}, events=ev, timezone=tz, as_of=as_of)
    assert list(got["stage"]) == ["new", "new"]
    got = run_builtin("lifecycle", {"dormant_after_days": 30}, events=ev, timezone=tz, as_of=as_of)
    assert list(got["stage"]) == ["churned", "new"]  # churned = 2 × dormant when no gaps exist


def test_empty_events():
    got = run_builtin("lifecycle", {}, events=events_frame([]), as_of=datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC")))
    assert len(got) == 0


def test_params_are_checked():
    from portrait.tags.builtins.lifecycle import LifecycleParams

    for bad in ({"dormant_after_days": 50, "churned_after_days": 10}, {"dormant_quantile": 0.99},
                {"mature_orders": 1}, {"unknown": 1}):
        with pytest.raises(ValueError):
            LifecycleParams.model_validate(bad)
