"""RFM: recency, frequency, monetary value, their 1..N scores and the classic R/F segment map."""

from __future__ import annotations

from pydantic import Field, model_validator

from portrait.catalog.builtin_spec import Builtin, Output, SqlContext
from portrait.tags.builtins import register
from portrait.tags.builtins._common import EventTypes, Params, in_list

SEGMENTS = (
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Cannot Lose Them",
    "Hibernating",
    "Lost",
)

# The standard R/F score map (R and F on the 1..5 scale); it covers all 25 cells exactly once.
SEGMENT_MAP: tuple[tuple[str, str], ...] = (
    ("5[4-5]", "Champions"),
    ("[3-4][4-5]", "Loyal Customers"),
    ("[4-5][2-3]", "Potential Loyalists"),
    ("51", "New Customers"),
    ("41", "Promising"),
    ("33", "Need Attention"),
    ("3[1-2]", "About To Sleep"),
    ("[1-2][3-4]", "At Risk"),
    ("[1-2]5", "Cannot Lose Them"),
    ("2[1-2]", "Hibernating"),
    ("1[1-2]", "Lost"),
)


def _digits(pattern: str) -> list[set[int]]:
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "[":
            lo, hi = int(pattern[i + 1]), int(pattern[i + 3])
            out.append(set(range(lo, hi + 1)))
            i += 5
        else:
            out.append({int(pattern[i])})
            i += 1
    return out


def segment_of(r: int, f: int) -> str:
    """The segment of an (R, F) pair of 1..5 scores (Python twin of the SQL CASE)."""
    for pattern, name in SEGMENT_MAP:
        rs, fs = _digits(pattern)
        if r in rs and f in fs:
            return name
    raise ValueError(f"no segment for R={r} F={f}")


class RfmParams(Params):
    purchase_types: EventTypes = ["purchase"]
    return_types: list[str] = ["return"]
    score_bins: int = Field(5, ge=2, le=9)

    @model_validator(mode="after")
    def _disjoint(self) -> "RfmParams":
        both = set(self.purchase_types) & set(self.return_types)
        if both:
            raise ValueError(f"event types {sorted(both)} are both purchase and return types")
        return self


def _score(pr: str, bins: int | str) -> str:
    return f"least({bins}, 1 + CAST(floor({pr} * {bins}) AS BIGINT))"


def _segment_sql(r: str, f: str) -> str:
    whens = []
    for pattern, name in SEGMENT_MAP:
        rs, fs = _digits(pattern)
        conds = [f"{r} IN ({', '.join(map(str, sorted(rs)))})", f"{f} IN ({', '.join(map(str, sorted(fs)))})"]
        whens.append(f"WHEN {' AND '.join(conds)} THEN '{name}'")
    return f"CASE {' '.join(whens)} END"


def render(p: RfmParams, ctx: SqlContext) -> str:
    buy = in_list(p.purchase_types)
    types = in_list([*p.purchase_types, *p.return_types])
    bins = p.score_bins
    return f"""
WITH agg AS (
    SELECT
        user_id,
        max(event_time) FILTER (WHERE event_type IN {buy}) AS last_purchase_at,
        /* = count(DISTINCT coalesce(order_id, event_id)): a line without an order is an order of its own */
        count(DISTINCT order_id) FILTER (WHERE event_type IN {buy})
            + count(*) FILTER (WHERE event_type IN {buy} AND order_id IS NULL) AS frequency,
        sum(CAST(CASE WHEN event_type IN {buy} THEN amount ELSE -abs(amount) END AS DECIMAL(18, 6))) AS net
    FROM events
    WHERE event_type IN {types} AND user_id IS NOT NULL
    GROUP BY user_id
),
base AS (
    SELECT
        user_id,
        date_diff('day', CAST(last_purchase_at AS DATE), CAST(as_of() AS DATE)) AS recency_days,
        frequency,
        CAST(round(net, 2) AS DOUBLE) AS monetary
    FROM agg
),
ranked AS (
    SELECT
        user_id,
        percent_rank() OVER (ORDER BY recency_days DESC) AS pr_r,
        percent_rank() OVER (ORDER BY frequency) AS pr_f,
        CASE WHEN monetary IS NOT NULL
             THEN percent_rank() OVER (PARTITION BY monetary IS NULL ORDER BY monetary) END AS pr_m
    FROM base
    WHERE frequency > 0
),
scored AS (
    SELECT
        user_id,
        {_score('pr_r', bins)} AS r_score,
        {_score('pr_f', bins)} AS f_score,
        {_score('pr_m', bins)} AS m_score,
        {_score('pr_r', 5)} AS r5,
        {_score('pr_f', 5)} AS f5
    FROM ranked
)
SELECT
    b.user_id,
    b.recency_days,
    b.frequency,
    b.monetary,
    s.r_score,
    s.f_score,
    s.m_score,
    CAST(s.r_score AS VARCHAR) || CAST(s.f_score AS VARCHAR) || CAST(s.m_score AS VARCHAR) AS rfm_score,
    {_segment_sql('s.r5', 's.f5')} AS segment
FROM base b
LEFT JOIN scored s USING (user_id)
"""


FORMULA = """\
Purchase events: event_type in purchase_types; return events: event_type in return_types.
recency_days = date_diff('day', max(event_time of purchases)::DATE, as_of()::DATE)   (local dates)
frequency    = count(DISTINCT coalesce(order_id, event_id)) over purchase events (0 if only returns):
               distinct orders, each purchase line without an order_id counting as one
monetary     = round(Σ purchase amount − Σ |return amount|, 2), summed exactly as DECIMAL(18,6)
               (a return lowers monetary whatever the sign it is recorded with)
x_score      = least(B, 1 + floor(percent_rank_x × B)), B = score_bins, over users with ≥ 1 purchase;
               percent_rank = (rank − 1)/(n − 1) so ties share a score; recency ranked descending
               (most recent → B), frequency and monetary ascending. Users without purchases: NULL.
rfm_score    = r_score || f_score || m_score, e.g. '545'
segment      = standard R/F map on 1..5 scores (computed with B = 5 whatever score_bins is):
               5[4-5] Champions · [3-4][4-5] Loyal Customers · [4-5][2-3] Potential Loyalists ·
               51 New Customers · 41 Promising · 33 Need Attention · 3[1-2] About To Sleep ·
               [1-2][3-4] At Risk · [1-2]5 Cannot Lose Them · 2[1-2] Hibernating · 1[1-2] Lost"""

RFM = register(
    Builtin(
        name="rfm",
        summary="Recency, frequency and monetary value with 1..5 scores and the classic RFM segment",
        outputs={
            "recency_days": Output("integer"),
            "frequency": Output("integer"),
            "monetary": Output("number"),
            "r_score": Output("integer"),
            "f_score": Output("integer"),
            "m_score": Output("integer"),
            "rfm_score": Output("string"),
            "segment": Output("enum", SEGMENTS),
        },
        params=RfmParams,
        render=render,
        reads=("events",),
        formula=FORMULA,
    )
)
