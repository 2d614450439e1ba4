"""Customer lifecycle stage from order counts and inter-purchase gaps (thresholds from the data)."""

from __future__ import annotations

from pydantic import Field, model_validator

from portrait.catalog.builtin_spec import Builtin, Output, SqlContext
from portrait.tags.builtins import register
from portrait.tags.builtins._common import EventTypes, Params, in_list, num

STAGES = ("new", "growing", "mature", "dormant", "churned")


class LifecycleParams(Params):
    purchase_types: EventTypes = ["purchase"]
    # Fixed thresholds in days; None = derived from the data (see the formula).
    dormant_after_days: float | None = Field(None, ge=0)
    churned_after_days: float | None = Field(None, ge=0)
    dormant_quantile: float = Field(0.8, gt=0, lt=1)
    churned_quantile: float = Field(0.95, gt=0, lt=1)
    churned_multiplier: float = Field(2.0, ge=1)
    # Orders from which a customer is mature; None = median order count of repeat buyers (at least 3).
    mature_orders: int | None = Field(None, ge=2)

    @model_validator(mode="after")
    def _order(self) -> "LifecycleParams":
        if self.dormant_quantile > self.churned_quantile:
            raise ValueError("dormant_quantile must not exceed churned_quantile")
        if (
            self.dormant_after_days is not None
            and self.churned_after_days is not None
            and self.churned_after_days < self.dormant_after_days
        ):
            raise ValueError("churned_after_days must not be below dormant_after_days")
        return self


def render(p: LifecycleParams, ctx: SqlContext) -> str:
    buy = in_list(p.purchase_types)
    dq, cq = num(p.dormant_quantile), num(p.churned_quantile)
    dormant = (
        num(p.dormant_after_days)
        if p.dormant_after_days is not None
        else f"round(quantile_cont(mean_gap_days, {dq}), 6)"
    )
    churned = (
        num(p.churned_after_days)
        if p.churned_after_days is not None
        else f"round(greatest({num(p.churned_multiplier)} * dormant, p_churned), 6)"
    )
    mature = (
        str(p.mature_orders)
        if p.mature_orders is not None
        else "greatest(3, quantile_disc(orders, 0.5) FILTER (WHERE orders >= 2))"
    )
    return f"""
WITH per_user AS (
    SELECT
        user_id,
        count(DISTINCT order_id) + count(*) FILTER (WHERE order_id IS NULL) AS orders,
        count(DISTINCT day) AS purchase_days,
        min(day) AS first_day,
        max(day) AS last_day
    FROM (
        SELECT user_id, order_id, CAST(event_time AS DATE) AS day
        FROM events
        WHERE event_type IN {buy} AND user_id IS NOT NULL
    )
    GROUP BY user_id
),
gaps AS (
    SELECT
        user_id,
        orders,
        date_diff('day', last_day, CAST(as_of() AS DATE)) AS days_since_last_purchase,
        CASE WHEN purchase_days >= 2
             THEN date_diff('day', first_day, last_day) / (purchase_days - 1) END AS mean_gap_days
    FROM per_user
),
raw_thresholds AS (
    SELECT
        {dormant} AS dormant,
        round(quantile_cont(mean_gap_days, {cq}), 6) AS p_churned,
        {mature} AS mature_orders
    FROM gaps
),
thresholds AS (
    SELECT dormant, {churned} AS churned, mature_orders FROM raw_thresholds
)
SELECT
    g.user_id,
    CASE
        WHEN g.days_since_last_purchase > t.churned THEN 'churned'
        WHEN g.days_since_last_purchase > t.dormant THEN 'dormant'
        WHEN g.orders <= 1 THEN 'new'
        WHEN g.orders < t.mature_orders THEN 'growing'
        ELSE 'mature'
    END AS stage,
    g.days_since_last_purchase,
    g.orders,
    CAST(g.mean_gap_days AS DOUBLE) AS mean_gap_days
FROM gaps g
CROSS JOIN thresholds t
"""


FORMULA = """\
Per user over purchase events (event_type in purchase_types), dates local to the project time zone:
  orders                   = count(DISTINCT coalesce(order_id, event_id)) (a line without an order_id
                             is an order of its own)
  days_since_last_purchase = date_diff('day', last purchase date, as_of()::DATE)
  mean_gap_days            = (last purchase date − first purchase date) / (distinct purchase dates − 1),
                             defined for users who bought on ≥ 2 different dates (same-day orders are one visit)
Thresholds (each overridable by a parameter):
  dormant = dormant_after_days  or  quantile_cont(mean_gap_days, dormant_quantile = 0.8) over users
  churned = churned_after_days  or  max(churned_multiplier (2) × dormant, quantile_cont(mean_gap_days, 0.95))
  mature  = mature_orders       or  max(3, quantile_disc(orders, 0.5) over repeat buyers (orders ≥ 2))
stage = churned  if days_since_last_purchase > churned
        dormant  elif days_since_last_purchase > dormant
        new      elif orders = 1
        growing  elif orders < mature
        mature   otherwise
Data-derived thresholds are rounded to 1e-6 days (so float noise never moves a user across one).
Without any repeat buyer the data-derived gap thresholds are NULL, so nobody is dormant/churned
unless the thresholds are set. Users without purchases get no value."""

LIFECYCLE = register(
    Builtin(
        name="lifecycle",
        summary="Lifecycle stage new / growing / mature / dormant / churned from orders and purchase gaps",
        outputs={
            "stage": Output("enum", STAGES),
            "days_since_last_purchase": Output("integer"),
            "orders": Output("integer"),
            "mean_gap_days": Output("number"),
        },
        params=LifecycleParams,
        render=render,
        reads=("events",),
        formula=FORMULA,
    )
)
