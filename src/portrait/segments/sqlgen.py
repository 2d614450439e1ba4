"""A bound expression → one DuckDB WHERE condition over the profile table.

Used for predicates the bitmap index cannot answer (the SQL fallback), by `explain`, and by the
tests as the reference semantics: the bitmap planner must select exactly the rows this SQL does.
Only catalog tag names (quoted) and escaped literals are ever emitted.
"""

from __future__ import annotations

import re

from portrait.segments import ast as A
from portrait.segments.bind import BAnd, BNot, BOr, Bound, BoundNode, Pred, Ref, SplitSpec
from portrait.segments.clock import Clock

NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def operand(op: A.Operand) -> str:
    if op.key is None:
        return ident(op.tag)
    return f"list_filter({ident(op.tag)}, lambda kv: kv.key = {string(op.key)})[1].weight"


def value(v: A.Value, clock: Clock) -> str:
    if isinstance(v, A.TimeLit):
        base = f"TIMESTAMPTZ {string(clock.as_of.isoformat())}" if v.base is None else f"TIMESTAMPTZ {string(v.base.value)}"
        for s in v.shifts:
            base = f"({base} {'+' if s.sign > 0 else '-'} INTERVAL {s.amount} {s.unit.upper()})"
        return base
    if v.kind == "string":
        return string(v.value)
    if v.kind == "bool":
        return "TRUE" if v.value else "FALSE"
    if NUMBER.match(v.text):
        return v.text
    return str(float(v.value)) if v.is_double else _decimal(v.value)


def _decimal(fr) -> str:
    """An exact decimal rendering of a Fraction that came from decimal text."""
    sign = "-" if fr < 0 else ""
    fr = abs(fr)
    whole, rest = divmod(fr.numerator, fr.denominator)
    digits = ""
    while rest and len(digits) < 40:
        rest *= 10
        d, rest = divmod(rest, fr.denominator)
        digits += str(d)
    return f"{sign}{whole}" + (f".{digits}" if digits else "")


def predicate(node, clock: Clock) -> str:
    """SQL of one AST predicate (Compare, InList, Between, IsNull, Like, Has)."""
    if isinstance(node, A.Has):
        return f"(len(list_filter({ident(node.operand.tag)}, lambda kv: kv.key = {string(node.key.value)})) > 0)"
    col = operand(node.operand)
    if isinstance(node, A.Compare):
        if node.bare:
            return f"({col} = TRUE)"
        return f"({col} {node.op} {value(node.value, clock)})"
    if isinstance(node, A.InList):
        vals = ", ".join(value(v, clock) for v in node.values)
        return f"({col} {'NOT IN' if node.negated else 'IN'} ({vals}))"
    if isinstance(node, A.Between):
        kw = "NOT BETWEEN" if node.negated else "BETWEEN"
        return f"({col} {kw} {value(node.low, clock)} AND {value(node.high, clock)})"
    if isinstance(node, A.IsNull):
        return f"({col} IS {'NOT ' if node.negated else ''}NULL)"
    if isinstance(node, A.Like):
        return f"({col} {'NOT LIKE' if node.negated else 'LIKE'} {string(node.pattern.value)})"
    raise TypeError(f"not a predicate: {type(node).__name__}")


def split_hash(seed: int, column: str = "user_id") -> str:
    """The split bucket of a user: the first 64 bits of md5('<seed>:<user_id>') (see segments.split)."""
    return f"('0x' || left(md5(concat({string(str(seed))}, ':', {ident(column)})), 16))::UBIGINT"


def to_sql(node: BoundNode, clock: Clock) -> str:
    if isinstance(node, Pred):
        return predicate(node.node, clock)
    if isinstance(node, BNot):
        return f"(NOT {to_sql(node.child, clock)})"
    if isinstance(node, BAnd):
        return "(" + " AND ".join(to_sql(c, clock) for c in node.children) + ")"
    if isinstance(node, BOr):
        return "(" + " OR ".join(to_sql(c, clock) for c in node.children) + ")"
    if isinstance(node, Ref):
        inner = f"COALESCE({to_sql(node.root, clock)}, FALSE)"
        if node.split is not None:
            inner = f"({inner} AND {_split_range(node.split)})"
        return inner
    raise TypeError(f"unknown node {type(node).__name__}")


def _split_range(s: SplitSpec) -> str:
    return f"({split_hash(s.seed)} >= {s.lo} AND {split_hash(s.seed)} < {s.hi})" if s.hi < 2**64 else \
        f"({split_hash(s.seed)} >= {s.lo})"


def where(bound: Bound) -> str:
    """The whole expression as a DuckDB WHERE condition (segment references inlined)."""
    return to_sql(bound.root, bound.clock)
