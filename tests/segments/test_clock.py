"""snapshot_time arithmetic and timestamp literals resolve exactly as DuckDB does, DST included."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import duckdb
import pytest

from portrait.segments.ast import Interval
from portrait.segments.clock import Clock, from_micros, localize, parse_timestamp, shift, to_micros


def _edges():
    out = []
    for mo in (3, 10, 11):
        for d in range(24, 32):
            for hh in ("00:30", "01:30", "02:30"):
                try:
                    out.append(datetime.fromisoformat(f"2021-{mo:02d}-{d:02d} {hh}"))
                except ValueError:
                    pass
    return out


@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC"])
def test_shift_matches_duckdb(tz):
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{tz}'")
    zone = ZoneInfo(tz)
    rng = random.Random(7)
    cases = []
    lo, hi = to_micros(datetime(2020, 1, 1, tzinfo=timezone.utc)), to_micros(datetime(2022, 1, 1, tzinfo=timezone.utc))
    for _ in range(300):
        unit = rng.choice(["day", "month", "hour", "week", "year", "minute", "second", "quarter"])
        amount = rng.randint(0, 400) if unit not in ("minute", "second") else rng.randint(0, 10**6)
        cases.append((rng.randint(lo, hi), unit, amount, rng.choice([1, -1])))
    for wall in _edges():
        for unit in ("day", "hour", "month"):
            for amount in (1, 2, 25):
                cases += [(to_micros(localize(wall, zone)), unit, amount, 1), (to_micros(localize(wall, zone)), unit, amount, -1)]
    rows = ", ".join(f"({us}, {sign * amount}, '{unit}')" for us, unit, amount, sign in cases)
    got = con.execute(
        f"SELECT epoch_us(CASE u WHEN 'day' THEN make_timestamptz(us) + to_days(a) WHEN 'week' THEN make_timestamptz(us) + to_days(7 * a) "
        f"WHEN 'month' THEN make_timestamptz(us) + to_months(a) WHEN 'quarter' THEN make_timestamptz(us) + to_months(3 * a) "
        f"WHEN 'year' THEN make_timestamptz(us) + to_months(12 * a) WHEN 'hour' THEN make_timestamptz(us) + to_hours(a) "
        f"WHEN 'minute' THEN make_timestamptz(us) + to_minutes(a) ELSE make_timestamptz(us) + to_seconds(a) END) "
        f"FROM (VALUES {rows}) v(us, a, u)").fetchall()
    for (us, unit, amount, sign), (expected,) in zip(cases, got):
        py = to_micros(shift(from_micros(us, tz), Interval(sign, amount, unit, (0, 0)), zone))
        assert py == expected, (tz, from_micros(us, tz), unit, sign * amount)


@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "UTC"])
def test_literals_match_duckdb(tz):
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{tz}'")
    texts = [f"{w:%Y-%m-%d %H:%M}" for w in _edges()] + [
        "2011-12-01", "2011-12-01T10:00:00Z", "2011-12-01 10:00:00+01:00", "2011-12-01 10:00:00.123456"]
    clock = Clock(datetime(2021, 1, 1, tzinfo=timezone.utc), tz)
    for t in texts:
        assert to_micros(parse_timestamp(t, clock)) == con.execute(f"SELECT epoch_us(TIMESTAMPTZ '{t}')").fetchone()[0], t
    assert parse_timestamp("2011-13-01", clock) is None and parse_timestamp("yesterday", clock) is None
