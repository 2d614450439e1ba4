"""Activity: active days, preferred weekday and hour, first/last activity, event count."""

from __future__ import annotations

from pydantic import Field, model_validator

from portrait.catalog.builtin_spec import Builtin, Output, SqlContext
from portrait.tags.builtins import register
from portrait.tags.builtins._common import NonEmpty, Params, in_list

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ActivityParams(Params):
    # event types that count as activity; None = every event
    event_types: list[NonEmpty] | None = None
    short_window_days: int = Field(30, ge=1)
    long_window_days: int = Field(90, ge=1)

    @model_validator(mode="after")
    def _windows(self) -> "ActivityParams":
        if self.event_types is not None and not self.event_types:
            raise ValueError("event_types must list at least one type (or be omitted for all events)")
        if self.short_window_days > self.long_window_days:
            raise ValueError("short_window_days must not exceed long_window_days")
        return self


def render(p: ActivityParams, ctx: SqlContext) -> str:
    where = "user_id IS NOT NULL"
    if p.event_types is not None:
        where += f" AND event_type IN {in_list(p.event_types)}"
    weekday = " ".join(f"WHEN {i} THEN '{d}'" for i, d in enumerate(WEEKDAYS, start=1))
    short, long = p.short_window_days, p.long_window_days
    # Separate narrow aggregations (each a cheap hash aggregate over one scan) beat one wide
    # pre-aggregation here: they stay fast whether a user's events cluster in sessions or not.
    # The source is inlined in each aggregation rather than shared as a CTE: DuckDB then scans
    # the (column-pruned, zone-map-filtered) table per aggregation, which measured cheaper.
    ev = f"(SELECT user_id, event_time FROM events WHERE {where})"
    return f"""
WITH totals AS (
    SELECT
        user_id,
        count(*) AS events_total,
        min(event_time) AS first_active_at,
        max(event_time) AS last_active_at
    FROM {ev}
    GROUP BY user_id
),
recent_days AS (
    SELECT
        user_id,
        count(DISTINCT day) FILTER (WHERE in_short) AS active_days_short,
        count(DISTINCT day) AS active_days_long
    FROM (
        SELECT
            user_id,
            CAST(event_time AS DATE) AS day,
            event_time >= as_of() - INTERVAL {short} DAY AS in_short
        FROM {ev}
        WHERE event_time >= as_of() - INTERVAL {long} DAY
    )
    GROUP BY user_id
),
by_weekday AS (
    /* most events; ties: the earliest weekday (n * 8 + (7 - dow) is unique per user) */
    SELECT user_id, arg_max(dow, n * 8 + (7 - dow)) AS dow
    FROM (SELECT user_id, isodow(event_time) AS dow, count(*) AS n FROM {ev} GROUP BY user_id, dow)
    GROUP BY user_id
),
by_hour AS (
    SELECT user_id, arg_max(h, n * 24 + (23 - h)) AS h
    FROM (SELECT user_id, hour(event_time) AS h, count(*) AS n FROM {ev} GROUP BY user_id, h)
    GROUP BY user_id
)
SELECT
    t.user_id,
    coalesce(d.active_days_short, 0) AS active_days_30d,
    coalesce(d.active_days_long, 0) AS active_days_90d,
    CASE w.dow {weekday} END AS preferred_weekday,
    CAST(h.h AS BIGINT) AS preferred_hour,
    t.first_active_at,
    t.last_active_at,
    t.events_total
FROM totals t
JOIN by_weekday w USING (user_id)
JOIN by_hour h USING (user_id)
LEFT JOIN recent_days d USING (user_id)
"""


FORMULA = """\
Over the user's events (event_types, default all), clock values local to the project time zone:
  active_days_30d   = distinct local dates of events with event_time ≥ as_of() − 30 days
  active_days_90d   = the same with 90 days (short_window_days / long_window_days change the windows;
                      the output names stay)
  preferred_weekday = weekday (Monday..Sunday) with the most events; ties → the earliest in the week
  preferred_hour    = local hour 0..23 with the most events; ties → the earliest hour
  first_active_at   = min(event_time);  last_active_at = max(event_time);  events_total = count(*)
(as_of() − N days is calendar arithmetic in the project time zone, so it is DST-correct.)"""

ACTIVITY = register(
    Builtin(
        name="activity",
        summary="Active days in the last 30/90 days, preferred weekday and hour, first/last activity",
        outputs={
            "active_days_30d": Output("integer"),
            "active_days_90d": Output("integer"),
            "preferred_weekday": Output("enum", WEEKDAYS),
            "preferred_hour": Output("integer"),
            "first_active_at": Output("timestamp"),
            "last_active_at": Output("timestamp"),
            "events_total": Output("integer"),
        },
        params=ActivityParams,
        render=render,
        reads=("events",),
        formula=FORMULA,
    )
)
