"""Purchasing power: where the unit prices a user pays sit within their categories' price distributions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

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


class PurchasingPowerParams(Params):
    purchase_types: EventTypes = ["purchase"]
    # amount: amount / quantity; prop: props->>price_prop; item: items.price (list price)
    price_source: Literal["amount", "prop", "item"] = "amount"
    price_prop: NonEmpty = "unit_price"
    # event: events.category; item: items.category (joined on item_id)
    category_source: Literal["event", "item"] = "event"
    # keep the first N levels of a category path split on category_sep (the separator exactly, spaces
    # included: use " > " for "A > B > C"); None = the whole category
    category_level: int | None = Field(None, ge=1)
    category_sep: NonEmpty = "/"
    cuts: tuple[float, float] = (0.33, 0.66)

    @field_validator("cuts")
    @classmethod
    def _cuts(cls, v: tuple[float, float]) -> tuple[float, float]:
        return check_cuts(v)


def category_expr(source: str, level: int | None, sep: str) -> str:
    col = "i.category" if source == "item" else "e.category"
    if level is None:
        return col
    return f"array_to_string(string_split({col}, {lit(sep)})[1:{level}], {lit(sep)})"


def render(p: PurchasingPowerParams, ctx: SqlContext) -> str:
    needs_items = p.price_source == "item" or p.category_source == "item"
    if needs_items:
        cols = {"item_id"} | ({"price"} if p.price_source == "item" else set())
        cols |= {"category"} if p.category_source == "item" else set()
        require_columns(ctx, "items", cols, "purchasing_power")
    join = "LEFT JOIN items i ON i.item_id = e.item_id" if needs_items else ""
    price = unit_price(p.price_source, p.price_prop, "e")
    cat = category_expr(p.category_source, p.category_level, p.category_sep)
    return f"""
WITH lines AS (
    SELECT e.user_id, {cat} AS cat, {price} AS price, coalesce(e.quantity, 1) AS q
    FROM events e {join}
    WHERE e.event_type IN {in_list(p.purchase_types)} AND e.user_id IS NOT NULL
),
user_prices AS (
    SELECT user_id, cat, price, sum(q) AS q, count(*) AS n
    FROM lines
    WHERE price > 0 AND q > 0
    GROUP BY user_id, cat, price
),
cat_prices AS (
    SELECT cat, price, sum(n) AS n FROM user_prices GROUP BY cat, price
),
pctl AS (
    SELECT
        cat,
        price,
        (sum(n) OVER (PARTITION BY cat ORDER BY price) - 0.5 * n) / sum(n) OVER (PARTITION BY cat) AS pr
    FROM cat_prices
),
scores AS (
    SELECT u.user_id, round(CAST(sum(u.q * c.pr) / sum(u.q) AS DOUBLE), 9) AS score
    FROM user_prices u
    JOIN pctl c ON c.cat IS NOT DISTINCT FROM u.cat AND c.price = u.price
    GROUP BY u.user_id
)
SELECT user_id, {level_case('score', p.cuts)} AS level, score
FROM scores
"""


FORMULA = """\
For every purchase line (event_type in purchase_types, unit price > 0, quantity > 0; quantity missing = 1):
  unit price  = round(amount / quantity, 6)  (price_source=amount) | props->>price_prop (prop) | items.price (item)
  category    = events.category (category_source=event) or items.category (item); with category_level = k
                only the first k levels of the path split on category_sep ('A/B/C' → 'A/B'); lines without
                a category are ranked together
  percentile  = (lines of the category priced below + ½ × lines priced the same) / lines of the category
                (the classic mid-rank percentile: ties share a value, a one-line category gives 0.5)
score = round(Σ quantity × percentile / Σ quantity over the user's lines, 9)      (0..1)
level = low if score < cuts[0] (0.33), mid if score < cuts[1] (0.66), else high"""

PURCHASING_POWER = register(
    Builtin(
        name="purchasing_power",
        summary="Quantity-weighted percentile of the prices a user pays within each category",
        outputs={  # level first: a tag naming only the built-in gets the enum, as in the design's example
            "level": Output("enum", LEVELS),
            "score": Output("number"),
        },
        params=PurchasingPowerParams,
        render=render,
        reads=("events", "items"),
        formula=FORMULA,
    )
)
