"""Price sensitivity: how often a user buys an item below its usual (median) price."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from portrait.catalog.builtin_spec import Builtin, Output, SqlContext
from portrait.tags.builtins import register
from portrait.tags.builtins._common import (
    LEVELS,
    EventTypes,
    NonEmpty,
    Params,
    check_cuts,
    in_list,
    level_case,
    lit,
    require_columns,
    unit_price,
)

TRUTHY = ("true", "1", "yes", "y", "t")


class PriceSensitivityParams(Params):
    purchase_types: EventTypes = ["purchase"]
    # amount: amount / quantity; prop: props->>price_prop
    price_source: Literal["amount", "prop"] = "amount"
    price_prop: NonEmpty = "unit_price"
    # median: the item's median unit price over all purchase lines; item_price: items.price (list price)
    reference: Literal["median", "item_price"] = "median"
    cuts: tuple[float, float] = (0.2, 0.4)
    # a props key flagging a promotion (true/1/yes); when set, promo_share is filled
    promo_prop: NonEmpty | None = None

    @field_validator("cuts")
    @classmethod
    def _cuts(cls, v: tuple[float, float]) -> tuple[float, float]:
        return check_cuts(v)


def render(p: PriceSensitivityParams, ctx: SqlContext) -> str:
    price = unit_price(p.price_source, p.price_prop)
    if p.reference == "median":
        ref_cte = """refs AS (
    SELECT item_id, median(price) AS ref FROM lines WHERE price > 0 AND item_id IS NOT NULL GROUP BY item_id
),"""
    else:
        require_columns(ctx, "items", {"item_id", "price"}, "price_sensitivity")
        ref_cte = """refs AS (
    SELECT item_id, round(CAST(price AS DOUBLE), 6) AS ref FROM items WHERE price > 0
),"""
    if p.promo_prop:
        truthy = in_list(TRUTHY)
        promo_col = f"coalesce(lower(CAST(props ->> {lit(p.promo_prop)} AS VARCHAR)) IN {truthy}, false) AS promo"
        promo_agg = "CAST(avg(CAST(promo AS INTEGER)) AS DOUBLE)"
    else:
        promo_col = "NULL::BOOLEAN AS promo"
        promo_agg = "NULL::DOUBLE"
    return f"""
WITH lines AS (
    SELECT user_id, item_id, {price} AS price, {promo_col}
    FROM events
    WHERE event_type IN {in_list(p.purchase_types)} AND user_id IS NOT NULL
      AND coalesce(quantity, 1) > 0
),
{ref_cte}
scores AS (
    SELECT
        l.user_id,
        CAST(avg(CASE WHEN l.price < r.ref THEN 1 ELSE 0 END)
             FILTER (WHERE l.price > 0 AND r.ref IS NOT NULL) AS DOUBLE) AS score,
        {promo_agg} AS promo_share
    FROM lines l
    LEFT JOIN refs r ON r.item_id = l.item_id
    GROUP BY l.user_id
)
SELECT user_id, {level_case('score', p.cuts)} AS level, score, promo_share
FROM scores
"""


FORMULA = """\
Purchase lines: event_type in purchase_types with quantity > 0 (missing = 1).
  unit price = round(amount / quantity, 6) (price_source=amount) or props->>price_prop (prop)
  reference  = the item's median unit price over all purchase lines of that item (reference=median)
               or items.price, the list price (reference=item_price)
score       = share of the user's lines with a unit price and a reference where unit price < reference
              (strictly: an item always sold at one price is never "below"); NULL if no such line
level       = low if score < cuts[0] (0.2), mid if score < cuts[1] (0.4), else high
promo_share = share of the user's purchase lines whose props->>promo_prop is true/1/yes.
              Promotion sensitivity needs such a flag in the events' props: set promo_prop to its key;
              (a line without the key is not on promotion); without promo_prop, promo_share is NULL."""

PRICE_SENSITIVITY = register(
    Builtin(
        name="price_sensitivity",
        summary="Share of purchases made below the item's usual price (discount seeking), plus promo share",
        outputs={
            "level": Output("enum", LEVELS),
            "score": Output("number"),
            "promo_share": Output("number"),
        },
        params=PriceSensitivityParams,
        render=render,
        reads=("events", "items"),
        formula=FORMULA,
    )
)
