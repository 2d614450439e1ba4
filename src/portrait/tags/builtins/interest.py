"""Interest: a weighted set of categories / genres / brands from behaviour, decayed by age, × IDF."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from portrait.catalog.builtin_spec import Builtin, Output, SqlContext
from portrait.tags.builtins import register
from portrait.tags.builtins._common import NonEmpty, Params, case_map, in_list, lit, num, require_columns

DEFAULT_BEHAVIOUR = {"purchase": 1.0, "cart": 0.6, "favorite": 0.5, "search": 0.3, "view": 0.2, "return": -1.0}
DEFAULT_RATING = {1.0: -1.0, 2.0: -0.5, 3.0: 0.1, 4.0: 0.6, 5.0: 1.0}
DECIMALS = 9  # weights are rounded so float noise never reorders equal weights


class InterestParams(Params):
    # category: events.category; genre: items.genres (a list, exploded); brand: items.brand;
    # item_category: items.category (for sources whose events carry no category)
    dimension: Literal["category", "genre", "brand", "item_category"] = "category"
    behaviour_weights: dict[NonEmpty, float] = Field(default_factory=lambda: dict(DEFAULT_BEHAVIOUR))
    # rating → weight factor, applied when props->>rating_prop holds a number (nearest key wins)
    rating_weights: dict[float, float] = Field(default_factory=lambda: dict(DEFAULT_RATING))
    rating_prop: NonEmpty = "rating"
    channel_weights: dict[NonEmpty, float] = Field(default_factory=dict)  # missing channel = 1.0
    half_life_days: float | None = Field(30.0, gt=0)  # None = no time decay
    idf: bool = True
    top_n: int = Field(10, ge=1, le=1000)

    @field_validator("behaviour_weights", "rating_weights", "channel_weights")
    @classmethod
    def _finite(cls, v: dict) -> dict:
        for k, w in v.items():
            if not math.isfinite(w) or (isinstance(k, float) and not math.isfinite(k)):
                raise ValueError(f"weight for {k!r} must be a finite number")
        return v


def rating_factor(expr: str, weights: dict[float, float]) -> str:
    """The weight of the rating key nearest to `expr` (ties → the lower key); 1.0 without a rating."""
    keys = sorted(weights)
    parts = [f"WHEN {expr} IS NULL THEN CAST(1.0 AS DOUBLE)"]
    for lo, hi in zip(keys, keys[1:]):
        parts.append(f"WHEN {expr} <= {num((lo + hi) / 2)} THEN {num(weights[lo])}")
    parts.append(f"ELSE {num(weights[keys[-1]])}")
    return f"(CASE {' '.join(parts)} END)"


def render(p: InterestParams, ctx: SqlContext) -> str:
    item_column = {"genre": "genres", "brand": "brand", "item_category": "category"}.get(p.dimension)
    if item_column:
        require_columns(ctx, "items", {"item_id", item_column}, "interest")
    use_rating = bool(p.rating_weights)
    types = list(p.behaviour_weights)
    rating = (
        f"TRY_CAST(props ->> {lit(p.rating_prop)} AS DOUBLE)" if use_rating else "CAST(NULL AS DOUBLE)"
    )
    if types and use_rating:
        keep = f"event_type IN {in_list(types)} OR rating IS NOT NULL"
    elif types:
        keep = f"event_type IN {in_list(types)}"
    elif use_rating:
        keep = "rating IS NOT NULL"
    else:
        keep = "false"
    # events of a type without a behaviour weight count only through their rating (base 1.0)
    base = case_map("event_type", p.behaviour_weights, "CAST(1.0 AS DOUBLE)")
    factor = rating_factor("rating", p.rating_weights) if use_rating else "CAST(1.0 AS DOUBLE)"
    channel = case_map("channel", p.channel_weights, "CAST(1.0 AS DOUBLE)")
    if p.half_life_days is not None:
        per_us = math.log(2) / (p.half_life_days * 86400e6)
        decay = f"exp({num(-per_us)} * CAST(epoch_us(as_of()) - epoch_us(event_time) AS DOUBLE))"
    else:
        decay = "CAST(1.0 AS DOUBLE)"
    weight = f"{base} * {factor} * {decay} * {channel}"

    item_key = p.dimension != "category"
    unit = "item_id" if item_key else "category"
    pre = f"""
WITH raw AS (
    SELECT user_id, {unit} AS unit, event_type, event_time, channel, {rating} AS rating
    FROM events
    WHERE user_id IS NOT NULL AND {unit} IS NOT NULL
),
per_unit AS (
    SELECT user_id, unit, sum({weight}) AS w
    FROM raw
    WHERE {keep}
    GROUP BY user_id, unit
),"""
    if p.dimension == "category":
        keyed = """
user_keys AS (
    SELECT user_id, unit AS key, w FROM per_unit
),"""
    else:
        key_expr = "unnest(i.genres)" if p.dimension == "genre" else f"i.{item_column}"
        keyed = f"""
exploded AS (
    SELECT u.user_id, CAST({key_expr} AS VARCHAR) AS key, u.w
    FROM per_unit u JOIN items i ON i.item_id = u.unit
),
user_keys AS (
    SELECT user_id, key, sum(w) AS w FROM exploded WHERE key IS NOT NULL GROUP BY user_id, key
),"""
    if p.idf:
        idf = """
df AS (SELECT key, count(*) AS df FROM user_keys GROUP BY key),
total AS (SELECT count(DISTINCT user_id) AS n FROM user_keys),
scaled AS (
    SELECT k.user_id, k.key, k.w * (ln(CAST(1 + t.n AS DOUBLE) / CAST(1 + d.df AS DOUBLE)) + 1.0) AS w
    FROM user_keys k JOIN df d USING (key) CROSS JOIN total t
),"""
    else:
        idf = """
scaled AS (SELECT user_id, key, w FROM user_keys),"""
    return f"""{pre}{keyed}{idf}
per_user AS (
    SELECT user_id, max(abs(w)) AS m, list(struct_pack(w := w, key := key)) AS l
    FROM scaled
    GROUP BY user_id
),
tops AS (
    /* normalise by the user's max |weight|, round, drop zeros, then sort by (-weight, key): a total order */
    SELECT
        user_id,
        list_sort(list_filter(
            list_transform(l, lambda x: struct_pack(neg := -round(x.w / m, {DECIMALS}), key := x.key)),
            lambda x: x.neg <> 0
        ))[1:{p.top_n}] AS ranked
    FROM per_user
    WHERE m > 0
)
SELECT
    user_id,
    CAST(list_transform(ranked, lambda x: struct_pack(key := x.key, weight := -x.neg))
         AS STRUCT(key VARCHAR, weight DOUBLE)[]) AS weights,
    CASE WHEN ranked[1].neg < 0 THEN ranked[1].key END AS top
FROM tops
WHERE len(ranked) > 0
"""


FORMULA = """\
Per event e of user u on key k (dimension: category = events.category; genre = each of items.genres of
the event's item; brand = items.brand; item_category = items.category):
  w(e) = behaviour_weights[event_type]  (an event of another type counts only if rated, with base 1.0)
         × rating_weights[nearest key to props->>rating_prop]   (1.0 when the event has no rating)
         × 0.5 ^ (age_days / half_life_days)   with age_days = (as_of() − event_time) in days
         × channel_weights[channel]            (1.0 for channels not listed)
raw(u, k)  = Σ w(e)
idf(k)     = ln((1 + N) / (1 + df_k)) + 1,  N = users with any keyed weighted event, df_k = those with k
             (idf: false → 1)
weight     = round(raw × idf / max_k' |raw(u, k') × idf(k')|, 9)       ∈ [−1, 1]
weights    = the top_n (10) non-zero keys by weight desc (ties → key asc), sorted that way
top        = the first key of weights when its weight is > 0, else NULL
Defaults: behaviour purchase 1.0, cart 0.6, favorite 0.5, search 0.3, view 0.2, return −1.0; rating
1 → −1.0, 2 → −0.5, 3 → 0.1, 4 → 0.6, 5 → 1.0; half-life 30 days."""

INTEREST = register(
    Builtin(
        name="interest",
        summary="Decayed, IDF-weighted interest in categories, genres or brands (weighted set + top key)",
        outputs={
            "weights": Output("weighted_set"),
            "top": Output("string"),
        },
        params=InterestParams,
        render=render,
        reads=("events", "items"),
        formula=FORMULA,
    )
)
