"""Evaluate a bound expression on a bitmap index with SQL's three-valued logic.

Every node has a TRUE set and a FALSE set (the rest is UNKNOWN, i.e. NULL): NOT swaps them,
AND is TRUE where all children are TRUE and FALSE where any is FALSE, OR the reverse. Only the
TRUE set of the root is the segment, so `NOT x = 'a'` excludes users whose x is NULL, exactly as
DuckDB's WHERE does.

AND evaluates its most selective children first (estimated from value counts and bin sizes)
and passes the survivors down as `within`, so a range after a selective enum runs on a few
thousand candidates instead of the whole population; `count` only counts the last child.
Predicates the index cannot answer (no index, a high-cardinality string) arrive precomputed from
the SQL fallback as (TRUE, UNKNOWN) bitmaps.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
from pyroaring import BitMap, FrozenBitMap

from portrait.segments.bind import BAnd, BNot, BOr, Bound, BoundNode, Pred, Ref, suggest
from portrait.segments.index import EMPTY, BitmapIndex
from portrait.segments.ranges import ordinals, to_bitmap

# Fallback: predicates → {id(pred): (TRUE bitmap, UNKNOWN bitmap)} computed by SQL.
Fallback = Callable[[list[Pred]], dict[int, tuple[BitMap, BitMap]]]
# Split hashes: seed → uint64 hash per ordinal.
Hashes = Callable[[int], np.ndarray]

INDEXABLE = {"eq": ("in", "like", "null"), "range": ("range", "null"), "wset": ("range", "has", "null"),
             "sql": ("null",)}


def like_regex(pattern: str) -> re.Pattern:
    """SQL LIKE (no escape character, case-sensitive) → an anchored regex."""
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL)


def leaves(node: BoundNode, out: list | None = None, seen_refs: set | None = None) -> list[Pred]:
    out = [] if out is None else out
    seen_refs = set() if seen_refs is None else seen_refs
    if isinstance(node, Pred):
        out.append(node)
    elif isinstance(node, BNot):
        leaves(node.child, out, seen_refs)
    elif isinstance(node, (BAnd, BOr)):
        for c in node.children:
            leaves(c, out, seen_refs)
    elif isinstance(node, Ref) and node.name not in seen_refs:
        seen_refs.add(node.name)
        leaves(node.root, out, seen_refs)
    return out


class Planner:
    def __init__(self, index: BitmapIndex, bound: Bound, fallback: Fallback | None = None,
                 hashes: Hashes | None = None):
        self.index = index
        self.bound = bound
        self.all = index.all
        self.hashes = hashes
        self.warnings: list[str] = []
        self.members: dict[str, BitMap] = {}
        self._costs: dict[int, float] = {}
        preds = leaves(bound.root)
        self.sql_preds = [p for p in preds if not self.indexable(p)]
        self.sql: dict[int, tuple[BitMap, BitMap]] = {}
        if self.sql_preds:
            if fallback is None:
                raise RuntimeError("predicates need the SQL fallback but none was given")
            self.sql = fallback(self.sql_preds)
        for p in preds:
            self._check_data(p)

    def indexable(self, p: Pred) -> bool:
        kind = self.index.kind(p.tag)
        return kind is not None and p.kind in INDEXABLE.get(kind, ()) and not (kind == "sql" and p.kind != "null")

    @property
    def stats(self) -> dict:
        preds = leaves(self.bound.root)
        return {"predicates": len(preds), "bitmap": len(preds) - len(self.sql_preds), "sql": len(self.sql_preds)}

    def _check_data(self, p: Pred) -> None:
        """Warn (not fail) when a string value or weighted-set key does not occur in this snapshot."""
        kind = self.index.kind(p.tag)
        text = self.bound.expr.source[p.node.span[0]:p.node.span[1]] if p.node is not None else p.tag
        if p.kind == "in" and p.type == "string" and kind == "eq":
            have = self.index.counts(p.tag)
            for v in p.values:
                if v not in have:
                    close = suggest(v, have)
                    self.warnings.append(f"no user has {p.tag} = '{v}' in this snapshot"
                                         + (f"; did you mean '{close}'?" if close else ""))
        if (p.key is not None or p.kind == "has") and kind == "wset":
            key = p.key if p.key is not None else p.values[0]
            keys = self.index.keys(p.tag)
            if key not in set(keys):
                close = suggest(key, keys)
                self.warnings.append(f"no user has the key '{key}' in {p.tag} ({text})"
                                     + (f"; did you mean '{close}'?" if close else ""))

    # -- leaves: TRUE within a candidate set, and KNOWN (not NULL) when FALSE is asked for -------
    def leaf_true(self, p: Pred, within=None):
        if id(p) in self.sql:
            t = self.sql[id(p)][0]
            return t if within is None else t & within
        idx = self.index
        if p.kind == "null":
            pos = (self.all - idx.key_known(p.tag, p.key)) if p.key is not None else idx.null(p.tag)
            t = (self.all - pos) if p.negated else pos
            return t if within is None else t & within
        if p.kind == "has":
            pos = idx.has(p.tag, p.values[0])
            return pos if within is None else pos & within
        if p.kind == "range":
            r = self._range_index(p)
            pos = r.ranges(p.ranges, within) if r is not None else EMPTY
            return self.leaf_known(p, within) - pos if p.negated else pos
        if p.kind == "in" and p.negated and within is None and (others := self._others(p)) is not None:
            return self._union([idx.eq(p.tag, v) for v in others], None)  # x != v: the other values
        if p.kind == "in":
            parts = [idx.eq(p.tag, v) for v in p.values]
        else:  # like
            rx = like_regex(p.values[0])
            parts = [idx.eq(p.tag, v) for v in idx.values(p.tag) if isinstance(v, str) and rx.fullmatch(v)]
        if not p.negated:
            return self._union(parts, within)
        return self.leaf_known(p, within) - self._union(parts, None)

    def leaf_false(self, p: Pred, within=None):
        """Users for whom the predicate is FALSE (neither TRUE nor NULL)."""
        if id(p) not in self.sql and self.index.kind(p.tag) == "eq" and p.kind == "in":
            if p.negated:  # `x != v` is FALSE exactly where x = v
                return self._union([self.index.eq(p.tag, v) for v in p.values], within)
            others = self._others(p) if within is None else None  # with candidates: (W − NULL) − pos
            if others is not None:
                return self._union([self.index.eq(p.tag, v) for v in others], None)
        return self.leaf_known(p, within) - self.leaf_true(p, within)

    def _others(self, p: Pred, most: int = 2) -> list | None:
        """The values of an eq-indexed tag not in the predicate, when there are at most `most`."""
        if id(p) in self.sql or self.index.kind(p.tag) != "eq":
            return None
        others = [v for v in self.index.values(p.tag) if v not in set(p.values)]
        return others if len(others) <= most else None

    def _range_index(self, p: Pred):
        return self.index.weights(p.tag, p.key) if p.key is not None else self.index.numeric(p.tag)

    def leaf_known(self, p: Pred, within=None):
        """Users for whom the predicate is not UNKNOWN."""
        if id(p) in self.sql:
            unknown = self.sql[id(p)][1]
        elif p.kind == "null":
            return self.all if within is None else within
        elif p.key is not None:
            known = self.index.key_known(p.tag, p.key)
            return known if within is None else known & within
        else:
            unknown = self.index.null(p.tag)
        if within is None:
            return self.all - unknown
        return within - unknown if unknown else within

    def leaf(self, p: Pred, within=None) -> tuple[BitMap, BitMap]:
        return self.leaf_true(p, within), self.leaf_known(p, within)

    @staticmethod
    def _union(parts: list, within) -> BitMap:
        if not parts:
            return EMPTY
        if len(parts) == 1:
            return parts[0] if within is None else parts[0] & within
        out = FrozenBitMap.union(*parts)
        return out if within is None else out & within

    # -- structure ---------------------------------------------------------------------------
    def cost(self, node: BoundNode) -> float:
        """Estimated share of users for whom a node is TRUE: AND runs its most selective child
        first, so every later child works on the fewest candidates. Ranges get a small penalty
        (a boundary check) over bitmap lookups of the same selectivity."""
        key = id(node)
        if key not in self._costs:
            self._costs[key] = self._estimate(node)
        return self._costs[key]

    def _estimate(self, node: BoundNode) -> float:
        n = max(self.index.n, 1)
        if isinstance(node, Pred):
            if id(node) in self.sql:
                return len(self.sql[id(node)][0]) / n
            kind = self.index.kind(node.tag)
            if node.kind == "range":
                r = self._range_index(node)
                if r is None:
                    return 0.0
                keys = [r.key_range(*x) for x in node.ranges]
                share = sum(r.share(a, b) for a, b in keys) * len(r.known) / n
                share = (len(r.known) / n - share) if node.negated else share
                # a boundary-bin check costs more than a bitmap op: run it last, on the fewest users,
                # where `count` only counts it
                return min(1.0, share) + (1.0 if any(r.needs_check(a, b) for a, b in keys) else 0.05)
            if node.kind == "in" and kind == "eq":
                counts = self.index.counts(node.tag)
                share = sum(counts.get(v, 0) for v in node.values) / n
                return (len(self.index.known(node.tag)) / n - share) if node.negated else share
            if node.kind == "has" and kind == "wset":
                return len(self.index.has(node.tag, node.values[0])) / n
            return 0.5
        if isinstance(node, Ref):
            return len(self.members[node.name]) / n if node.name in self.members else 0.5
        if isinstance(node, BNot):
            return max(0.0, 1.0 - self.cost(node.child))
        if isinstance(node, BAnd):
            out = 1.0
            for c in node.children:
                out *= self.cost(c)
            return out
        return min(1.0, sum(self.cost(c) for c in node.children))

    def members_of(self, ref: Ref) -> BitMap:
        m = self.members.get(ref.name)
        if m is None:
            m = self.true(ref.root)
            if ref.split is not None:
                m = self._split(m, ref)
            self.members[ref.name] = m
        return m

    def _split(self, parent: BitMap, ref: Ref) -> BitMap:
        if self.hashes is None:
            raise RuntimeError("split segments need user-id hashes")
        h = self.hashes(ref.split.seed)
        ords = ordinals(parent)
        hv = h[ords]
        keep = (hv >= np.uint64(ref.split.lo)) & ((hv < np.uint64(ref.split.hi)) if ref.split.hi < 2**64 else True)
        return to_bitmap(ords[keep])

    def true(self, node: BoundNode, within=None):
        if isinstance(node, Pred):
            return self.leaf_true(node, within)
        if isinstance(node, Ref):
            m = self.members_of(node)
            return m if within is None else m & within
        if isinstance(node, BNot):
            return self.false(node.child, within)
        if isinstance(node, BAnd):
            cur = within
            for c in sorted(node.children, key=self.cost):
                cur = self.true(c, cur)
                if not cur:
                    break
            return cur
        out = None  # OR
        for c in sorted(node.children, key=self.cost):
            part = self.true(c, within)
            out = part if out is None else out | part
        return out

    def false(self, node: BoundNode, within=None):
        if isinstance(node, Pred):
            return self.leaf_false(node, within)
        if isinstance(node, Ref):
            m = self.members_of(node)
            return (self.all if within is None else within) - m
        if isinstance(node, BNot):
            return self.true(node.child, within)
        if isinstance(node, BOr):
            cur = within
            for c in sorted(node.children, key=self.cost, reverse=True):
                cur = self.false(c, cur)
                if not cur:
                    break
            return cur
        out = None  # AND
        for c in sorted(node.children, key=self.cost):
            part = self.false(c, within)
            out = part if out is None else out | part
        return out

    def evaluate(self) -> BitMap:
        return self.true(self.bound.root)

    def count(self) -> int:
        """The size of the segment; the last step of an AND only counts, it builds no bitmap."""
        root = self.bound.root
        if isinstance(root, BAnd):
            kids = sorted(root.children, key=self.cost)
            cur = None
            for c in kids[:-1]:
                cur = self.true(c, cur)
                if not cur:
                    return 0
            return self._count(kids[-1], cur)
        return self._count(root, None)

    def _count(self, node: BoundNode, within) -> int:
        if isinstance(node, Pred) and id(node) not in self.sql and not node.negated:
            if node.kind == "range":
                r = self._range_index(node)
                return 0 if r is None else r.count(node.ranges, within)
            if node.kind == "in" and within is not None and self.index.kind(node.tag) == "eq":
                return sum(within.intersection_cardinality(self.index.eq(node.tag, v)) for v in node.values)
        return len(self.true(node, within))

    # -- explain -----------------------------------------------------------------------------
    def truth(self, node: BoundNode, ordinal: int) -> str:
        w = BitMap([ordinal])
        if ordinal in self.true(node, w):
            return "true"
        return "false" if ordinal in self.false(node, w) else "unknown"

