"""Range index for numeric tags and weighted-set weights: exact ranges in ≤ 2 bitmap ops.

Range encoding (Chan & Ioannidis) over equal-frequency bins of the order-preserving key
(encoding.py): bins cut the users sorted by key into B parts, each cut moved to the nearest
change of value, so a bin never splits a heavy value; a tag with < 100 distinct values (age,
counts) gets one bin per value and never needs a boundary check. `cum[j]` is the bitmap of
bins 0..j. A key range [a, b] is then

    cum[last bin inside] − cum[first bin inside − 1]          (one bitmap op)
    ∪ the users of at most two boundary bins whose key is in [a, b]

The boundary check ("candidate check", as in FastBit's binned indexes) reads that bin's
(ordinal, key) pairs, stored contiguously and sorted by ordinal: a sequential numpy pass over
≤ n/B values, or, when an AND has already narrowed the candidates, a binary search of just
those candidates in the bin. Measured at 10M users this beats a bit-sliced index, where every
comparison costs one full-population bitmap op per key bit (22-25 for money and timestamps).

Weighted-set keys use the same structure over their members' weights, so `w['k'] >= t` is exact
for any t.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from pyroaring import BitMap, FrozenBitMap

from portrait.segments.encoding import Encoding

EMPTY = FrozenBitMap()


def to_bitmap(ords: np.ndarray) -> BitMap:
    """Sorted ordinals → a run-optimised bitmap (array.array is pyroaring's fast path)."""
    a = array.array("I")
    a.frombytes(np.ascontiguousarray(ords, dtype=np.uint32).tobytes())
    b = BitMap(a)
    b.run_optimize()
    return b


def ordinals(b) -> np.ndarray:
    return np.frombuffer(memoryview(b.to_array()), dtype=np.uint32) if len(b) else np.zeros(0, np.uint32)


def key_dtype(max_key: int):
    """The smallest unsigned dtype holding every key."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if max_key < np.iinfo(dt).max:
            return dt
    return np.uint64


def bin_bounds(n_known: int, bins: int) -> list[int]:
    """Positions (in key order) where bins start; equal frequency."""
    bins = max(1, min(bins, n_known or 1))
    return [n_known * j // bins for j in range(bins + 1)]


@dataclass
class RangeIndex:
    """Binned range-encoded bitmaps over a numeric tag's (or one key's) order-preserving keys."""

    known: FrozenBitMap  # users with a value
    encoding: Encoding
    bins: list[tuple[int, int, int]]  # (min key, max key, users) per bin, in key order
    cum_at: Callable[[int], FrozenBitMap]  # bins 0..j (j < len(bins) - 1)
    pairs_at: Callable[[int], tuple[np.ndarray, np.ndarray]]  # (ordinals, keys) of bin j

    def _cum(self, j: int):
        if j < 0:
            return EMPTY
        return self.known if j >= len(self.bins) - 1 else self.cum_at(j)

    def _plan(self, a: int, b: int):
        """Full bins [lo_full, hi_full] and partial boundary bins for keys in [a, b]."""
        bins = self.bins
        if a > b or not bins:
            return None
        ja = next((j for j, (_, mx, _) in enumerate(bins) if mx >= a), None)
        jb = next((j for j in range(len(bins) - 1, -1, -1) if bins[j][0] <= b), None)
        if ja is None or jb is None or ja > jb:
            return None
        lo_full = ja if bins[ja][0] >= a else ja + 1
        hi_full = jb if bins[jb][1] <= b else jb - 1
        partial = sorted({j for j in (ja, jb) if not (lo_full <= j <= hi_full)})
        return lo_full, hi_full, partial

    def _partial(self, j: int, a: int, b: int, within) -> np.ndarray:
        """Ordinals of bin j with key in [a, b] (and in `within`), from the bin's pairs."""
        ords, keys = self.pairs_at(j)
        if self._restrict(within, j):
            cand = ordinals((within & self._cum(j)) - self._cum(j - 1))  # `within` users of this bin
            pos = np.searchsorted(ords, cand)
            k = keys[pos]
            return cand[(k >= a) & (k <= b)]
        hit = ords[(keys >= a) & (keys <= b)]
        return hit

    def _restrict(self, within, j: int) -> bool:
        """Check only `within`'s users of bin j (two bitmap ops and a binary search) unless they
        are most of the population, when a sequential scan of the bin is cheaper."""
        return within is not None and len(within) * 2 < len(self.known)

    def _full(self, lo_full: int, hi_full: int, within):
        top, bottom = self._cum(hi_full), self._cum(lo_full - 1)
        if within is None:
            return top - bottom if bottom else top
        return (within & top) - bottom if bottom else within & top

    def key_range(self, lo, lo_inc, hi, hi_inc) -> tuple[int, int]:
        return self.encoding.key_range(lo, lo_inc, hi, hi_inc)

    def between(self, a: int, b: int, within=None):
        """Users (in `within`) whose key is in [a, b]."""
        plan = self._plan(max(a, 0), min(b, self.encoding.max_key))
        if plan is None:
            return EMPTY
        lo_full, hi_full, partial = plan
        out = self._full(lo_full, hi_full, within) if lo_full <= hi_full else None
        for j in partial:
            part = to_bitmap(self._partial(j, a, b, within))
            if within is not None and not self._restrict(within, j):
                part &= within
            out = part if out is None else out | part
        return out if out is not None else EMPTY

    def ranges(self, ranges: Sequence[tuple], within=None):
        out = None
        for r in ranges:
            part = self.between(*self.key_range(*r), within)
            out = part if out is None else out | part
        return out if out is not None else EMPTY

    def count(self, ranges: Sequence[tuple], within=None) -> int:
        """|users (in `within`) in the ranges| without building the result bitmap."""
        if len(ranges) != 1:
            return len(self.ranges(ranges, within))
        a, b = self.key_range(*ranges[0])
        plan = self._plan(max(a, 0), min(b, self.encoding.max_key))
        if plan is None:
            return 0
        lo_full, hi_full, partial = plan
        total = 0
        if lo_full <= hi_full:
            top, bottom = self._cum(hi_full), self._cum(lo_full - 1)
            if within is None:
                total = len(top) - len(bottom)
            else:
                total = within.intersection_cardinality(top) - (within.intersection_cardinality(bottom) if bottom else 0)
        for j in partial:
            hit = self._partial(j, a, b, within)
            if within is None or self._restrict(within, j):
                total += len(hit)
            else:
                total += within.intersection_cardinality(to_bitmap(hit))
        return total

    def needs_check(self, a: int, b: int) -> bool:
        """Whether [a, b] cuts through a bin (its users' keys must then be checked)."""
        plan = self._plan(max(a, 0), min(b, self.encoding.max_key))
        return plan is not None and bool(plan[2])

    def share(self, a: int, b: int) -> float:
        """Estimated share of `known` with key in [a, b] (bins overlapping it; partial ones halved)."""
        plan = self._plan(max(a, 0), min(b, self.encoding.max_key))
        total = sum(c for _, _, c in self.bins) or 1
        if plan is None:
            return 0.0
        lo_full, hi_full, partial = plan
        inside = sum(self.bins[j][2] for j in range(lo_full, hi_full + 1)) + sum(self.bins[j][2] / 2 for j in partial)
        return inside / total


def snap_bounds(sorted_keys: np.ndarray, bins: int) -> list[int]:
    """Equal-frequency cut positions, each moved to the nearest change of key (no value is split)."""
    n = len(sorted_keys)
    cuts = {0, n}
    for t in bin_bounds(n, bins)[1:-1]:
        v = sorted_keys[t]
        left = int(np.searchsorted(sorted_keys, v, side="left"))
        right = int(np.searchsorted(sorted_keys, v, side="right"))
        cuts.add(left if t - left <= right - t and left > 0 else right)
    return sorted(c for c in cuts if 0 <= c <= n)
