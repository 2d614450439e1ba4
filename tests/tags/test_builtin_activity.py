"""The activity built-in against an independent pandas implementation, across a DST change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from portrait.tags.builtins.testing import events_frame, run_builtin

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def reference(ev, as_of, tz, *, types=None, short=30, long=90):
    ev = ev[(ev["event_time"] < as_of) & ev["user_id"].notna()].copy()
    if types is not None:
        ev = ev[ev["event_type"].isin(types)]
    local = ev["event_time"].dt.tz_convert(tz)
    ev["day"], ev["dow"], ev["hour"] = local.dt.date, local.dt.day_of_week, local.dt.hour
    as_of_local = pd.Timestamp(as_of).tz_convert(tz)
    rows = []
    for u, g in ev.groupby("user_id"):
        row = {"user_id": u}
        for name, days in (("active_days_30d", short), ("active_days_90d", long)):
            since = as_of_local - pd.DateOffset(days=days)  # calendar days: wall clock kept across DST
            row[name] = g.loc[g["event_time"] >= since, "day"].nunique()
        dows = g["dow"].value_counts()
        row["preferred_weekday"] = WEEKDAYS[min(d for d, c in dows.items() if c == dows.max())]
        hours = g["hour"].value_counts()
        row["preferred_hour"] = min(h for h, c in hours.items() if c == hours.max())
        row["first_active_at"] = g["event_time"].min()
        row["last_active_at"] = g["event_time"].max()
        row["events_total"] = len(g)
        rows.append(row)
    return pd.DataFrame(rows, columns=["user_id", "active_days_30d", "active_days_90d", "preferred_weekday",
                                       "preferred_hour", "first_active_at", "last_active_at", "events_total"])


def assert_same(got, want):
    assert list(got["user_id"]) == list(want["user_id"])
    for col in ("active_days_30d", "active_days_90d", "preferred_hour", "events_total"):
        assert [int(v) for v in got[col]] == [int(v) for v in want[col]], col
    assert list(got["preferred_weekday"]) == list(want["preferred_weekday"])
    for col in ("first_active_at", "last_active_at"):
        assert [pd.Timestamp(v) for v in got[col]] == [pd.Timestamp(v) for v in want[col]], col


def random_events(seed, as_of):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 600))
    # coarse times (whole hours, 0..120 days back) so weekday and hour counts tie often
    hours_back = rng.integers(1, 24 * 120, n) * rng.choice([1, 1, 0.5], n)
    return pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": [f"u{u}" for u in rng.integers(0, 30, n)],
        "event_time": pd.Timestamp(as_of) - pd.to_timedelta(hours_back, unit="h"),
        "event_type": rng.choice(["view", "purchase", "cart"], n),
    })


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("tz", ["Europe/London", "Asia/Kolkata", "America/Los_Angeles"])
def test_random_against_pandas(seed, tz):
    as_of = datetime(2024, 4, 10, tzinfo=ZoneInfo(tz))  # the 30-day window spans the March DST change
    ev = random_events(seed, as_of)
    got = run_builtin("activity", {}, events=ev, timezone=tz, as_of=as_of)
    assert_same(got, reference(ev, as_of, tz))


def test_params_against_pandas():
    tz = "Europe/London"
    as_of = datetime(2024, 4, 10, 15, 30, tzinfo=ZoneInfo(tz))  # mid-day: windows start mid-day too
    ev = random_events(9, as_of)
    params = {"event_types": ["purchase", "cart"], "short_window_days": 7, "long_window_days": 60}
    got = run_builtin("activity", params, events=ev, timezone=tz, as_of=as_of)
    assert_same(got, reference(ev, as_of, tz, types=["purchase", "cart"], short=7, long=60))


def test_hand_made_boundaries_and_ties():
    tz = "Europe/London"
    as_of = datetime(2024, 4, 10, tzinfo=ZoneInfo(tz))
    ev = events_frame([
        # exactly 30 calendar days before as_of (BST then GMT: 29 days 23 hours of elapsed time) → counted
        {"user_id": "a", "event_time": "2024-03-11 00:00", "event_type": "view"},
        {"user_id": "a", "event_time": "2024-03-10 23:59", "event_type": "view"},  # one minute earlier → not
        {"user_id": "a", "event_time": "2024-04-09 23:59", "event_type": "view"},
        # ties: one event on Monday 09:00 and one on Tuesday 08:00 → Monday and 08
        {"user_id": "b", "event_time": "2024-04-09 08:00", "event_type": "view"},  # Tuesday
        {"user_id": "b", "event_time": "2024-04-08 09:00", "event_type": "view"},  # Monday
        # an old user: nothing in the windows
        {"user_id": "c", "event_time": "2023-01-01 12:00", "event_type": "view"},
    ], tz)
    got = run_builtin("activity", {}, events=ev, timezone=tz, as_of=as_of).set_index("user_id")
    assert got.loc["a", "active_days_30d"] == 2 and got.loc["a", "active_days_90d"] == 3
    assert got.loc["b", "preferred_weekday"] == "Monday" and got.loc["b", "preferred_hour"] == 8
    assert got.loc["c", "active_days_30d"] == 0 and got.loc["c", "preferred_weekday"] == "Sunday"
    assert got.loc["a", "events_total"] == 3
    assert got.loc["c", "first_active_at"] == pd.Timestamp("2023-01-01 12:00", tz=tz)
    assert_same(got.reset_index(), reference(ev, as_of, tz))


def test_empty_events():
    got = run_builtin("activity", {}, events=events_frame([]), as_of=datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC")))
    assert len(got) == 0


def test_params_are_checked():
    from portrait.tags.builtins.activity import ActivityParams

    for bad in ({"event_types": []}, {"short_window_days": 100, "long_window_days": 90}, {"window": 3}):
        with pytest.raises(ValueError):
            ActivityParams.model_validate(bad)
