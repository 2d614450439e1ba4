"""Check an expression against the catalog and resolve its values: text → a typed, bound tree.

This is where wrong types, misspelled tags and values outside an enum become errors (with the
nearest name suggested) instead of empty results, and where numeric comparisons are normalised
into ranges the bitmap index answers exactly as DuckDB would compare:

* integer and timestamp tags compare exactly (DuckDB casts BIGINT and DECIMAL to a wide DECIMAL),
  so `age > 30.5` becomes the integer range [31, ∞);
* number (DOUBLE) tags compare as doubles (DuckDB casts a DECIMAL literal to DOUBLE);
* weighted-set weights are DOUBLE; `w['k']` is the weight of the first element with key 'k',
  NULL when there is none.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping, Union

from portrait.segments import ast as A
from portrait.segments.clock import Clock, parse_timestamp, shift, to_micros
from portrait.segments.errors import SegmentError, error_at
from portrait.segments.expr import parse

ORDERED = ("integer", "number", "timestamp")
OPS_BY_TYPE = {
    "bool": "=, !=, IN, IS [NOT] NULL",
    "enum": "=, !=, IN, NOT IN, LIKE, IS [NOT] NULL",
    "string": "=, !=, IN, NOT IN, LIKE, IS [NOT] NULL",
    "integer": "=, !=, <, <=, >, >=, IN, BETWEEN, IS [NOT] NULL",
    "number": "=, !=, <, <=, >, >=, IN, BETWEEN, IS [NOT] NULL",
    "timestamp": "=, !=, <, <=, >, >=, IN, BETWEEN, IS [NOT] NULL",
    "weighted_set": "tag['key'] <op> number, tag HAS 'key', IS [NOT] NULL",
}
Range = tuple[Any, bool, Any, bool]  # (low, low inclusive, high, high inclusive); None = unbounded


@dataclass(frozen=True)
class SplitSpec:
    """A split child: the parent's members whose hash of (seed, user_id) falls in [lo, hi)."""

    parent: str
    seed: int
    lo: int
    hi: int


@dataclass(frozen=True)
class SegmentSource:
    """What a saved segment is, as the binder needs it: an expression, or a split of a parent."""

    name: str
    expression: str | None = None
    split: SplitSpec | None = None


@dataclass(eq=False)
class Pred:
    """One predicate on one tag (or one key of a weighted set), in normal form.

    kind: in (values), like (values = (pattern,)), range (ranges), null, has (values = (key,)).
    `negated` means: the known (non-NULL) users minus the positive set, which is exactly SQL's
    `!=`, `NOT IN`, `NOT BETWEEN`, `NOT LIKE`; for `null` it means IS NOT NULL.
    """

    kind: str
    tag: str
    key: str | None
    type: str
    negated: bool
    node: Any
    values: tuple = ()
    ranges: tuple[Range, ...] = ()
    domain: str = ""  # "int" (exact integers: integer, timestamp µs) or "float" (doubles)


@dataclass(eq=False)
class Ref:
    name: str
    root: "BoundNode"
    expr: A.Expression
    node: A.SegmentRef
    split: SplitSpec | None = None


@dataclass(eq=False)
class BNot:
    child: "BoundNode"
    node: Any


@dataclass(eq=False)
class BAnd:
    children: list["BoundNode"]
    node: Any


@dataclass(eq=False)
class BOr:
    children: list["BoundNode"]
    node: Any


BoundNode = Union[Pred, Ref, BNot, BAnd, BOr]


@dataclass
class Bound:
    expr: A.Expression
    root: BoundNode
    clock: Clock
    refs: dict[str, Ref] = field(default_factory=dict)  # every segment reached, transitively


def suggest(name: str, candidates) -> str | None:
    cands = list(candidates)
    close = difflib.get_close_matches(name, cands, n=1, cutoff=0.6)
    if not close:
        lower = {c.lower(): c for c in cands}
        close = [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)]
    return close[0] if close else None


class Binder:
    def __init__(self, tags: Mapping[str, Any], clock: Clock, segments: Mapping[str, SegmentSource] | None = None):
        self.tags = tags
        self.clock = clock
        self.segments = segments or {}
        self.refs: dict[str, Ref] = {}
        self.depth = 0  # nesting of segment references being bound

    def bind(self, expr: A.Expression, chain: tuple[str, ...] = (), where: str = "<expression>") -> BoundNode:
        self.expr, self.where = expr, where
        return self._node(expr.root, chain)

    def err(self, span, message: str, hint: str | None = None) -> SegmentError:
        return error_at(self.expr.source, span, message, hint, self.where)

    # -- structure ---------------------------------------------------------------------------
    def _node(self, node: A.Node, chain: tuple[str, ...]) -> BoundNode:
        if isinstance(node, A.Not):
            return BNot(self._node(node.child, chain), node)
        if isinstance(node, A.And):
            return BAnd([self._node(c, chain) for c in node.children], node)
        if isinstance(node, A.Or):
            return BOr([self._node(c, chain) for c in node.children], node)
        if isinstance(node, A.SegmentRef):
            return self._ref(node, chain)
        return self._pred(node)

    def _ref(self, node: A.SegmentRef, chain: tuple[str, ...]) -> Ref:
        name = node.name
        if name in chain:
            cycle = " -> ".join(chain[chain.index(name):] + (name,))
            raise self.err(node.span, f"segment reference cycle: {cycle}",
                           "a segment cannot include itself, directly or through other segments")
        if name not in self.segments:
            close = suggest(name, self.segments)
            hint = f"did you mean `@{close}`?" if close else "`portrait segment list` shows the saved segments"
            if name in self.tags:
                hint = f"`{name}` is a tag, not a segment: compare it with a value"
            raise self.err(node.span, f"unknown segment `{name}`", hint)
        if name in self.refs:
            return Ref(name, self.refs[name].root, self.refs[name].expr, node, self.refs[name].split)
        src = self.segments[name]
        outer = (self.expr, self.where)
        self.depth += 1
        try:
            if src.split is not None:
                parent_ref = A.SegmentRef(src.split.parent, (0, len(src.split.parent) + 1))
                pexpr = A.Expression(f"@{src.split.parent}", parent_ref, (src.split.parent,))
                self.expr, self.where = pexpr, f"segment {name}"
                ref = Ref(name, self._ref(parent_ref, chain + (name,)), pexpr, node, src.split)
            else:
                sub = parse(src.expression or "", f"segment {name}")
                self.expr, self.where = sub, f"segment {name}"
                ref = Ref(name, self._node(sub.root, chain + (name,)), sub, node)
        except SegmentError as e:
            self.expr, self.where = outer
            self.depth -= 1
            if self.depth > 0:
                raise
            # Point at the reference in the expression the user wrote; say where inside it failed.
            inner = f"{e.location}" if e.location and str(e.location) else ""
            message = e.message if "cycle" in e.message else f"segment `{name}` cannot be evaluated: {e.message}"
            hint = "; ".join(x for x in (f"at {inner}" if inner else "", e.hint or "") if x) or None
            raise self.err(node.span, message, hint) from e
        self.expr, self.where = outer
        self.depth -= 1
        self.refs[name] = ref
        return ref

    # -- predicates --------------------------------------------------------------------------
    def _tag(self, operand: A.Operand) -> str:
        name = operand.tag
        if name not in self.tags:
            hint = None
            if name in self.segments:
                hint = f"`{name}` is a saved segment: write @{name}"
            else:
                close = suggest(name, self.tags)
                hint = f"did you mean `{close}`?" if close else None
            raise self.err(operand.tag_span, f"unknown tag `{name}`", hint)
        t = self.tags[name].type
        if operand.key is not None and t != "weighted_set":
            raise self.err(operand.span, f"`{name}` is a {t} tag, not a weighted set: only weighted sets take ['key']")
        return t

    def _pred(self, node) -> Pred:
        op = node.operand
        t = self._tag(op)
        vtype = "number" if op.key is not None else t  # a weight is a DOUBLE
        if isinstance(node, A.IsNull):
            return Pred("null", op.tag, op.key, t, node.negated, node)
        if isinstance(node, A.Has):
            if t != "weighted_set" or op.key is not None:
                raise self.err(node.span, f"HAS tests a key of a weighted-set tag; `{self.expr.text(op)}` is not one",
                               "e.g. interest_category HAS 'Books'")
            return Pred("has", op.tag, None, t, False, node, values=(node.key.value,))
        if t == "weighted_set" and op.key is None:
            raise self.err(op.span, f"`{op.tag}` is a weighted set: compare one key's weight or test a key",
                           f"e.g. {op.tag}['key'] >= 0.2 or {op.tag} HAS 'key'")
        if isinstance(node, A.Compare) and node.bare and t != "bool":
            raise self.err(node.span, f"`{op.tag}` is {'an' if t[0] in 'aeiou' else 'a'} {t} tag: a condition needs a comparison",
                           f"{t} tags take {OPS_BY_TYPE[t]}")
        if isinstance(node, A.Like):
            if vtype not in ("enum", "string"):
                raise self._bad_op("LIKE", node, op, vtype)
            return Pred("like", op.tag, None, t, node.negated, node, values=(node.pattern.value,))
        if vtype in ORDERED:
            return self._range(node, op, t, vtype)
        if isinstance(node, A.Between) or (isinstance(node, A.Compare) and node.op not in ("=", "!=")):
            opname = "BETWEEN" if isinstance(node, A.Between) else node.op
            hint = "enum values have no order in SQL; list them with IN (...)" if vtype == "enum" else None
            raise self._bad_op(opname, node, op, vtype, hint)
        values = [node.value] if isinstance(node, A.Compare) else list(node.values)
        resolved = tuple(dict.fromkeys(self._categorical(v, op.tag, vtype) for v in values))
        negated = (isinstance(node, A.Compare) and node.op == "!=") or (isinstance(node, A.InList) and node.negated)
        return Pred("in", op.tag, None, t, negated, node, values=resolved)

    def _bad_op(self, opname: str, node, op: A.Operand, vtype: str, hint: str | None = None) -> SegmentError:
        what = f"weights of `{op.tag}`" if op.key is not None else f"{vtype} tag `{op.tag}`"
        return self.err(node.span, f"`{opname}` does not apply to {what}",
                        hint or f"{vtype} tags take {OPS_BY_TYPE.get(vtype, '')}")

    def _categorical(self, v: A.Value, tag: str, vtype: str):
        if vtype == "bool":
            if not (isinstance(v, A.Lit) and v.kind == "bool"):
                raise self._type_error(v, tag, vtype, "TRUE or FALSE")
            return v.value
        if not (isinstance(v, A.Lit) and v.kind == "string"):
            raise self._type_error(v, tag, vtype, "a string in single quotes")
        if vtype == "enum":
            allowed = list(self.tags[tag].values or [])
            if v.value not in allowed:
                close = suggest(v.value, allowed)
                hint = f"did you mean '{close}'?" if close else f"`{tag}` takes: {', '.join(allowed)}"
                raise self.err(v.span, f"'{v.value}' is not a value of enum `{tag}`", hint)
        return v.value

    def _type_error(self, v: A.Value, tag: str, vtype: str, expected: str) -> SegmentError:
        text = self.expr.source[v.span[0]:v.span[1]]
        article = "an" if vtype[0] in "aeiou" else "a"
        return self.err(v.span, f"`{tag}` is {article} {vtype} tag: compare it with {expected}, not {text}")

    # -- ordered values ----------------------------------------------------------------------
    def _value(self, v: A.Value, tag: str, vtype: str):
        """A literal as the comparison sees it: exact int/Fraction, a double, or epoch µs."""
        if vtype == "timestamp":
            if isinstance(v, A.Lit) and v.kind != "string":
                raise self._type_error(v, tag, vtype, "a time such as '2011-12-01' or snapshot_time - INTERVAL 30 DAY")
            if isinstance(v, A.Lit):
                v = A.TimeLit(v, (), v.span)
            return self._time(v)
        if not (isinstance(v, A.Lit) and v.kind == "number"):
            raise self._type_error(v, tag, vtype, "a number")
        if vtype == "number":
            return duckdb_double(v)  # DuckDB: DOUBLE vs DECIMAL/DOUBLE literal compares as DOUBLE
        return v.value  # integer tag: exact (Fraction) comparison

    def _time(self, v: A.TimeLit) -> int:
        if v.base is None:
            instant = self.clock.as_of
        else:
            instant = parse_timestamp(v.base.value, self.clock)
            if instant is None:
                raise self.err(v.base.span, f"'{v.base.value}' is not a timestamp",
                               "write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS' (local time of the snapshot)")
        try:
            for s in v.shifts:
                instant = shift(instant, s, self.clock.zone)
        except (OverflowError, ValueError) as e:
            raise self.err(v.span, "time out of range") from e
        return to_micros(instant)

    def _range(self, node, op: A.Operand, t: str, vtype: str) -> Pred:
        domain = "float" if vtype == "number" else "int"
        if isinstance(node, A.Compare):
            v = self._value(node.value, op.tag, vtype)
            negated = node.op == "!="
            ranges = [_cmp_range(node.op if not negated else "=", v)]
        elif isinstance(node, A.Between):
            lo, hi = self._value(node.low, op.tag, vtype), self._value(node.high, op.tag, vtype)
            negated, ranges = node.negated, [(lo, True, hi, True)]
        else:
            negated = node.negated
            ranges = [(x, True, x, True) for x in dict.fromkeys(self._value(v, op.tag, vtype) for v in node.values)]
        if domain == "int":
            ranges = [r for r in (_int_range(r) for r in ranges) if r is not None]
        return Pred("range", op.tag, op.key, t, negated, node, ranges=tuple(ranges), domain=domain)


def duckdb_double(lit: A.Lit) -> float:
    """The double DuckDB compares a DOUBLE column with: a DECIMAL(w ≤ 18, s) literal is cast as
    int64 → double, then divided by 10^s; exponent literals are parsed as doubles directly."""
    text = lit.text.lstrip("+")
    if lit.is_double:
        return float(text)
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("-")
    whole, _, frac = body.partition(".")
    digits = (whole + frac).lstrip("0") or "0"
    if not frac:
        return sign * float(int(whole or "0"))
    if len(digits) <= 18 and len(frac) <= 22:
        return sign * (float(int(whole + frac)) / 10.0 ** len(frac))
    return float(lit.value)


def _cmp_range(op: str, v) -> Range:
    return {
        "=": (v, True, v, True), "<": (None, False, v, False), "<=": (None, False, v, True),
        ">": (v, False, None, False), ">=": (v, True, None, False),
    }[op]


def _int_range(r: Range) -> Range | None:
    """A range over exact values → the closed integer range it selects (None: no integer)."""
    lo, lo_inc, hi, hi_inc = r
    a = None if lo is None else (math.ceil(Fraction(lo)) if lo_inc else math.floor(Fraction(lo)) + 1)
    b = None if hi is None else (math.floor(Fraction(hi)) if hi_inc else math.ceil(Fraction(hi)) - 1)
    if a is not None and b is not None and a > b:
        return None
    return (a, True, b, True)


def bind(source: str | A.Expression, tags: Mapping[str, Any], clock: Clock,
         segments: Mapping[str, SegmentSource] | None = None, name: str | None = None) -> Bound:
    """Parse (if needed) and bind an expression; `name` is the segment being defined (cycle check)."""
    expr = parse(source) if isinstance(source, str) else source
    binder = Binder(tags, clock, segments)
    root = binder.bind(expr, (name,) if name else ())
    return Bound(expr, root, clock, binder.refs)
