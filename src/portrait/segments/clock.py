"""Snapshot-relative time: `snapshot_time - INTERVAL 30 DAY` and timestamp literals → epoch µs.

Resolved in Python the way DuckDB (ICU) does it in the snapshot's time zone, so a bitmap
range and the SQL over the profile table agree to the microsecond: months and days move the
local wall clock (a day is a calendar day across DST), smaller units move the instant; a wall
time that occurs twice takes the later instant, one skipped by DST takes the earlier offset.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portrait.segments.ast import INTERVAL_UNITS, Interval

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TIMESTAMP_TEXT = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)


@dataclass(frozen=True)
class Clock:
    """The instant `snapshot_time` stands for, and the zone local times are read in."""

    as_of: datetime
    tz: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


def to_micros(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)


def from_micros(us: int, tz: str = "UTC") -> datetime:
    return (EPOCH + timedelta(microseconds=us)).astimezone(ZoneInfo(tz))


def localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time in `zone`: repeated times take the later instant, skipped ones shift forward."""
    early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    back = early.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    return late if back == wall else early  # back == wall: it exists twice; otherwise it was skipped


def parse_timestamp(text: str, clock: Clock) -> datetime | None:
    """An ISO date or timestamp; without an offset it is local time in the snapshot's zone."""
    text = text.strip()
    if not TIMESTAMP_TEXT.match(text):
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return localize(dt, clock.zone) if dt.tzinfo is None else dt


def _add_months(wall: datetime, months: int) -> datetime:
    y, m = divmod(wall.month - 1 + months, 12)
    year, month = wall.year + y, m + 1
    day = min(wall.day, calendar.monthrange(year, month)[1])
    return wall.replace(year=year, month=month, day=day)


def _wall_tod(instant: datetime, zone: ZoneInfo) -> timedelta:
    local = instant.astimezone(zone)
    return local - local.replace(hour=0, minute=0, second=0, microsecond=0)


def _add_days(instant: datetime, days: int, zone: ZoneInfo) -> datetime:
    """ICU `Calendar::add(UCAL_DATE)`: move whole days, then restore the wall time if an offset
    change moved it; when that wall time was skipped, keep the unadjusted instant if the
    adjustment would go backwards (ICU's default `UCAL_WALLTIME_LAST`)."""
    prev_wall, prev_offset = _wall_tod(instant, zone), instant.astimezone(zone).utcoffset()
    t = instant.astimezone(timezone.utc) + timedelta(days=days)
    if _wall_tod(t, zone) == prev_wall:
        return t
    new_offset = t.astimezone(zone).utcoffset()
    if new_offset == prev_offset:
        return t
    adj = prev_offset - new_offset
    adjusted = t + adj
    if _wall_tod(adjusted, zone) != prev_wall and adj < timedelta(0):
        return t
    return adjusted


def shift(instant: datetime, interval: Interval, zone: ZoneInfo) -> datetime:
    """`instant ± interval` as DuckDB's ICU extension computes it (one unit per interval here).

    Units below a day move the instant (computed in UTC: Python's aware arithmetic would move the
    wall clock); days keep the wall time the way ICU's `add` does; months set the local date
    fields and resolve the wall time again, like a literal.
    """
    kind, factor = INTERVAL_UNITS[interval.unit]
    amount = interval.sign * interval.amount * factor
    if kind == "us":
        return instant.astimezone(timezone.utc) + timedelta(microseconds=amount)
    if kind == "day":
        return _add_days(instant, amount, zone)
    return localize(_add_months(instant.astimezone(zone).replace(tzinfo=None), amount), zone)
