"""Small helpers shared by the built-in algorithms: safe SQL literals and common parameter types.

Parameters come from tag files, so every value a built-in puts into SQL goes through `lit` (strings)
or `num` (numbers); nothing is interpolated raw.
"""

from __future__ import annotations

import math
from typing import Annotated, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from portrait.catalog.builtin_spec import SqlContext

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
EventTypes = Annotated[list[NonEmpty], Field(min_length=1)]

LEVELS = ("low", "mid", "high")


class Params(BaseModel):
    """Base of every built-in's parameters: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def num(value: float) -> str:
    """A DOUBLE literal (finite only)."""
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"expected a finite number, got {value!r}")
    return f"CAST({x!r} AS DOUBLE)"


def in_list(values: Iterable[str]) -> str:
    """`('a', 'b')`: the right-hand side of an IN."""
    return "(" + ", ".join(lit(v) for v in values) + ")"


def case_map(expr: str, mapping: Mapping[str, float], default: str) -> str:
    """`CASE expr WHEN 'k' THEN v ... ELSE default END` (just `default` for an empty mapping)."""
    if not mapping:
        return default
    whens = " ".join(f"WHEN {lit(k)} THEN {num(v)}" for k, v in mapping.items())
    return f"(CASE {expr} {whens} ELSE {default} END)"


def level_case(expr: str, cuts: tuple[float, float]) -> str:
    """low below cuts[0], mid below cuts[1], high from cuts[1] up; NULL stays NULL."""
    lo, hi = cuts
    return (
        f"(CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} < {num(lo)} THEN 'low' "
        f"WHEN {expr} < {num(hi)} THEN 'mid' ELSE 'high' END)"
    )


def check_cuts(v: tuple[float, float]) -> tuple[float, float]:
    lo, hi = v
    if not (0.0 <= lo <= hi <= 1.0):
        raise ValueError("cuts must be two numbers with 0 <= low <= high <= 1")
    return v


def require_columns(ctx: SqlContext, table: str, needed: Iterable[str], builtin: str) -> None:
    """Fail early, naming the column, when the context lists a table's columns and one is missing."""
    have = ctx.item_columns if table == "items" else ctx.user_columns
    if not have:
        return  # the context does not know the schema: let the engine report it
    missing = sorted(set(needed) - set(have))
    if missing:
        raise ValueError(
            f"built-in {builtin!r} with these params needs column(s) {missing} in table `{table}`, "
            f"which has {sorted(have)}"
        )


def unit_price(price_source: str, price_prop: str, alias: str = "") -> str:
    """Unit price of a purchase line, rounded to 1e-6 so equal prices compare equal.

    amount: amount / quantity (quantity missing = 1); prop: props->>price_prop; item: items.price.
    """
    a = f"{alias}." if alias else ""
    if price_source == "amount":
        raw = f"{a}amount / coalesce({a}quantity, 1)"
    elif price_source == "prop":
        raw = f"TRY_CAST({a}props ->> {lit(price_prop)} AS DOUBLE)"
    else:  # item
        raw = "CAST(i.price AS DOUBLE)"
    return f"round({raw}, 6)"
