"""The segment expression tree: plain frozen dataclasses, no behaviour beyond rendering.

Every node keeps its character span in the source text so errors and `explain` can point
at the exact clause the user wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, Union

Span = tuple[int, int]  # [start, end) character offsets into the expression text

COMPARE_OPS = ("=", "!=", "<", "<=", ">", ">=")
FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
INTERVAL_UNITS = {
    "microsecond": ("us", 1), "millisecond": ("us", 1000), "second": ("us", 1_000_000),
    "minute": ("us", 60_000_000), "hour": ("us", 3_600_000_000), "day": ("day", 1), "week": ("day", 7),
    "month": ("month", 1), "quarter": ("month", 3), "year": ("month", 12),
}


@dataclass(frozen=True)
class Operand:
    """A tag, or one key of a weighted-set tag (`interest_category['Books']`)."""

    tag: str
    key: str | None
    span: Span
    tag_span: Span
    key_span: Span | None = None


@dataclass(frozen=True)
class Lit:
    """A literal as written. Numbers keep their text (DuckDB types 0.2 as DECIMAL, 1e5 as DOUBLE)."""

    kind: Literal["string", "number", "bool"]
    value: str | bool | Fraction
    text: str
    span: Span
    is_double: bool = False  # written with an exponent: a DOUBLE in DuckDB


@dataclass(frozen=True)
class Interval:
    sign: int  # +1 or -1
    amount: int
    unit: str  # canonical singular unit name (INTERVAL_UNITS key)
    span: Span


@dataclass(frozen=True)
class TimeLit:
    """`snapshot_time` or a timestamp literal, shifted by intervals applied left to right."""

    base: Lit | None  # None: snapshot_time
    shifts: tuple[Interval, ...]
    span: Span


Value = Union[Lit, TimeLit]


@dataclass(frozen=True)
class Compare:
    operand: Operand
    op: str
    value: Value
    span: Span
    bare: bool = False  # a bool tag written alone: `is_vip` means `is_vip = TRUE`


@dataclass(frozen=True)
class InList:
    operand: Operand
    values: tuple[Value, ...]
    negated: bool
    span: Span


@dataclass(frozen=True)
class Between:
    operand: Operand
    low: Value
    high: Value
    negated: bool
    span: Span


@dataclass(frozen=True)
class IsNull:
    operand: Operand
    negated: bool
    span: Span


@dataclass(frozen=True)
class Like:
    operand: Operand
    pattern: Lit
    negated: bool
    span: Span


@dataclass(frozen=True)
class Has:
    """`interest_category HAS 'Books'`: the key is present, whatever its weight."""

    operand: Operand
    key: Lit
    span: Span


@dataclass(frozen=True)
class SegmentRef:
    name: str
    span: Span


@dataclass(frozen=True)
class Not:
    child: "Node"
    span: Span


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]
    span: Span


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]
    span: Span


Predicate = Union[Compare, InList, Between, IsNull, Like, Has]
Node = Union[Predicate, SegmentRef, Not, And, Or]


@dataclass(frozen=True)
class Expression:
    """A parsed expression with its source text."""

    source: str
    root: Node
    refs: tuple[str, ...] = field(default=())  # saved segments it references, in order of appearance

    def text(self, node: Node) -> str:
        return self.source[node.span[0]:node.span[1]]


def walk(node: Node):
    """Every node, parents before children."""
    yield node
    if isinstance(node, Not):
        yield from walk(node.child)
    elif isinstance(node, (And, Or)):
        for c in node.children:
            yield from walk(c)


def operand_of(node: Node) -> Operand | None:
    return getattr(node, "operand", None)
