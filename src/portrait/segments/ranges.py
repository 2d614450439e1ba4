"""Range indexes for numeric tags and weighted-set weights: exact ranges in ≤ 2 bitmap ops.

Numeric tags (`RangeIndex`) use range encoding (Chan & Ioannidis) over equal-frequency bins of
the order-preserving key: bin j holds the users at sorted positions [j·n/B, (j+1)·n/B), and
`cum[j]` is the bitmap of bins 0..j. A key range [a, b] is then

    cum[last bin inside] − cum[first bin inside − 1]          (one bitmap op)
    ∪ the users of at most two boundary bins whose key is in [a, b]

and the boundary check ("candidate check", as in FastBit's binned indexes) scans that bin's
(ordinal, key) pairs, stored contiguously and sorted by ordinal, so it is a sequential numpy
pass over n/B values, not random reads. Measured at 10M users this beats a bit-sliced index,
whose every comparison costs one full-population bitmap op per key bit (22-25 for money and
timestamps), by 3-10x.

Weighted-set keys (`WeightIndex`) keep, per key, the ordinal-sorted members and their weights
(DOUBLE, compared directly, so `w['k'] >= t` is exact for any t): a full scan touches only that
key's members, a restricted one binary-searches the candidates.
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
    """Binned range-encoded bitmaps over a numeric tag's keys (see the module docstring)."""

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

    def _partial(self, j: int, a: int, b: int) -> np.ndarray:
        ords, keys = self.pairs_at(j)
        return ords[(keys >= a) & (keys <= b)]

    def key_range(self, lo, lo_inc, hi, hi_inc) -> tuple[int, int]:
        return self.encoding.key_range(lo, lo_inc, hi, hi_inc)

    def between(self, a: int, b: int, within=None):
        """Users (in `within`) whose key is in [a, b]."""
        plan = self._plan(max(a, 0), min(b, self.encoding.max_key))
        if plan is None:
            return EMPTY
        lo_full, hi_full, partial = plan
        out = None
        if lo_full <= hi_full:
            top, bottom = self._cum(hi_full), self._cum(lo_full - 1)
            if within is None:
                out = top - bottom if bottom else top
            else:
                out = (within & top) - bottom if bottom else within & top
        for j in partial:
            part = to_bitmap(self._partial(j, a, b))
            if within is not None:
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
        """|users (in `within`) in the ranges| without building the full result bitmap."""
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
            ords = self._partial(j, a, b)
            total += len(ords) if within is None else within.intersection_cardinality(to_bitmap(ords))
        return total

    @property
    def cost(self) -> float:
        return 2.0 + (1.0 if self.bins and max(c for _, _, c in self.bins) > 200_000 else 0.0)


@dataclass
class WeightIndex:
    """One weighted-set key: members with a non-NULL weight (ordinal-sorted) and their weights."""

    ords: np.ndarray
    weights: np.ndarray

    def _mask(self, weights: np.ndarray, ranges: Sequence[tuple]) -> np.ndarray:
        out = np.zeros(len(weights), dtype=bool)
        nan = np.isnan(weights)
        for lo, lo_inc, hi, hi_inc in ranges:
            m = np.ones(len(weights), dtype=bool)
            if lo is not None:
                m &= (weights >= lo) if lo_inc else (weights > lo)
            if hi is not None:
                m &= (weights <= hi) if hi_inc else (weights < hi)
            elif lo is not None:
                m |= nan  # DuckDB orders NaN above every number
            out |= m
        return out

    def _restrict(self, within) -> tuple[np.ndarray, np.ndarray]:
        w = ordinals(within)
        pos = np.searchsorted(self.ords, w)
        pos_c = np.minimum(pos, max(len(self.ords) - 1, 0))
        hit = (pos < len(self.ords)) & (self.ords[pos_c] == w) if len(self.ords) else np.zeros(len(w), bool)
        return w[hit], self.weights[pos_c[hit]]

    def _small(self, within) -> bool:
        return within is not None and len(within) * 4 < len(self.ords)

    def ranges(self, ranges: Sequence[tuple], within=None):
        if self._small(within):
            ords, weights = self._restrict(within)
            return to_bitmap(ords[self._mask(weights, ranges)])
        out = to_bitmap(self.ords[self._mask(self.weights, ranges)])
        return out & within if within is not None else out

    def count(self, ranges: Sequence[tuple], within=None) -> int:
        if within is None:
            return int(np.count_nonzero(self._mask(self.weights, ranges)))
        if self._small(within):
            _, weights = self._restrict(within)
            return int(np.count_nonzero(self._mask(weights, ranges)))
        return within.intersection_cardinality(self.ranges(ranges))

    @property
    def cost(self) -> float:
        return 2.0 + len(self.ords) / 2_000_000
