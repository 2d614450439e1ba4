"""The columns insight reads, over one dense ordinal space of users.

- enum / bool / string tags: a roaring bitmap per value (plus the value code per ordinal);
- weighted sets: a bitmap per key of the users holding it, and of users holding any key;
- integer / number / timestamp tags: bitmaps per base-percentile bin, cumulative bitmaps per
  decile, and a bit-sliced index for exact sums.

A segment is a bitmap of ordinals. Its count for a value is an intersection cardinality; for a
tag with many sparse values gathering codes by the segment's ordinals is cheaper, and the index
keeps a cost estimate of each path so `insight_compute` can pick per tag and per segment size.
Built here from a profile DataFrame (the snapshot's `profiles`); population counts, quantiles
and means are computed once with the index, as tag statistics are with a snapshot.
"""

from __future__ import annotations

import array
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyroaring import BitMap

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
FINE_BINS = 20  # bins at the base's ventiles: a quantile reads the segment's members of one
SHOWN_BINS = 10  # histogram bars at the base's deciles (pairs of ventile bins)
# Costs (µs) measured at 10M users with pyroaring 1.2 / numpy 2.4 on one core (bench/insight.py):
# an AND-count per container visited, per bitset container pair, per array-container element;
# gathering + counting one user's code, and each extra slot of a weighted set's row.
COST_CONTAINER = 0.04
COST_BITSET_CONTAINER = 0.5
COST_ARRAY_ELEMENT = 0.002
COST_GATHER = 0.006
COST_SLOT = 0.007


def to_bitmap(ordinals: np.ndarray) -> BitMap:
    """A bitmap from a numpy array of ordinals: through array.array, pyroaring's bulk path (~7× faster)."""
    buf = array.array("I")
    buf.frombytes(np.ascontiguousarray(ordinals, dtype=np.uint32).tobytes())
    return BitMap(buf)


def members(bm: BitMap) -> np.ndarray:
    """The ordinals of a bitmap as a uint32 numpy array (zero-copy over pyroaring's array)."""
    return np.frombuffer(bm.to_array(), dtype=np.uint32) if len(bm) else np.empty(0, dtype=np.uint32)


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """Distinct values in order (np.unique's hash path is slow on tens of millions of integers)."""
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if a.size else a


def bitmaps_from_codes(codes: np.ndarray, k: int) -> list[BitMap]:
    """One bitmap per code 0..k-1 from a code per ordinal (negative = no value): one stable sort."""
    order = np.argsort(codes, kind="stable").astype(np.uint32)
    bounds = np.searchsorted(codes[order], np.arange(0, k + 1), side="left")
    return [to_bitmap(order[bounds[c]:bounds[c + 1]]) for c in range(k)]


def intersect_cost(bitmaps: list[BitMap]) -> float:
    """Estimated µs to AND-count a dense segment with every bitmap (bitset containers are cheap)."""
    total = 0.0
    for b in bitmaps:
        s = b.get_statistics()
        total += (s["n_containers"] * COST_CONTAINER + s["n_bitset_containers"] * COST_BITSET_CONTAINER
                  + (s["n_values_array_containers"] + s["n_values_run_containers"]) * COST_ARRAY_ELEMENT)
    return total


class _PerValueBitmaps:
    """Counts and intersection cost, derived once from a tag's per-value (or per-key) bitmaps."""

    def __post_init__(self):
        if self.counts is None:
            self.counts = np.array([len(b) for b in self.bitmaps], dtype=np.int64)
        if self.bitmap_cost is None:
            self.bitmap_cost = intersect_cost(self.bitmaps)


@dataclass
class Categorical(_PerValueBitmaps):
    """enum, bool and string tags: labels, a bitmap per value, and the value's code per ordinal."""

    tag: str
    labels: list[str]
    bitmaps: list[BitMap]
    codes: np.ndarray | None = None  # per ordinal: 0 = no value, i + 1 = labels[i] (unsigned)
    counts: np.ndarray = field(default=None)  # type: ignore[assignment]
    bitmap_cost: float = field(default=None)  # type: ignore[assignment]

    @classmethod
    def from_codes(cls, tag: str, labels: list[str], codes: np.ndarray) -> "Categorical":
        shifted = (codes + 1).astype(np.uint16 if len(labels) < 2 ** 16 - 1 else np.uint32)
        return cls(tag, labels, bitmaps_from_codes(codes, len(labels)), shifted)


def bit_slices(ints: np.ndarray, ordinals: np.ndarray) -> list[BitMap]:
    """Bit-sliced index: slice i holds the ordinals whose integer has bit i set (sums by popcounts)."""
    bits = int(ints.max()).bit_length() if ints.size else 0
    return [to_bitmap(ordinals[((ints >> i) & 1).astype(bool)]) for i in range(bits)]


def fixed_point(known: np.ndarray) -> tuple[int, float]:
    """Scale for sums: 1 for integers (exact), else 10^d with d ≤ 6 keeping the range within 24 bits
    (a value is rounded to 10^-d; the mean's error stays below 10^-d / 2)."""
    if known.size == 0 or np.all(known == np.round(known)):
        return 1, float(known.min()) if known.size else 0.0
    span = float(known.max() - known.min()) or 1.0
    d = int(max(0, min(6, np.floor(np.log10(2 ** 24 / span)))))
    return 10 ** d, float(known.min())


@dataclass
class Numeric:
    """integer, number and timestamp tags, as bitmaps over the base's value distribution.

    - `parts`: one bitmap per bin at the base's ventiles (a quantile sorts one bin's members);
    - `below`: cumulative bitmaps (users in bins 0..j), so a side's counts are popcounts;
    - `slices`: a bit-sliced index of round((v - offset) × scale) for exact sums and means.
    """

    tag: str
    values: np.ndarray  # by ordinal, NaN = none; only read for the members of a bin or two
    edges: np.ndarray  # unique base ventiles; bin i is [edges[i], edges[i+1]), the last one closed
    parts: list[BitMap]
    below: list[BitMap]
    bar_of: np.ndarray  # histogram bar (base decile) of each bin
    shown_edges: np.ndarray  # the bars' edges: unique base deciles (a subset of `edges`)
    slices: list[BitMap]
    scale: int
    offset: float
    counts: np.ndarray  # base users per bin
    constant: list  # per bin: its only value when every member has the same one (integers), else None
    base_quantiles: list
    base_mean: float | None
    is_time: bool = False

    @classmethod
    def from_values(cls, tag: str, values: np.ndarray, is_time: bool = False) -> "Numeric":
        values = np.asarray(values)
        known_mask = ~np.isnan(values)
        ordinals = np.flatnonzero(known_mask).astype(np.uint32)
        known = values[known_mask].astype(np.float64)
        if known.size:
            fine = np.quantile(known, np.linspace(0, 1, FINE_BINS + 1))
            edges = np.unique(fine)
            shown_edges = np.unique(fine[:: FINE_BINS // SHOWN_BINS])  # deciles: a subset of the edges
        else:
            edges = shown_edges = np.array([0.0])
        if edges.size == 1:
            edges = shown_edges = np.array([edges[0], edges[0]])
        k, bars = len(edges) - 1, len(shown_edges) - 1
        codes = np.clip(np.searchsorted(edges, known, side="right") - 1, 0, k - 1).astype(np.int16)
        parts = [to_bitmap(ordinals[idx]) for idx in _groups(codes, k)]
        below, acc = [], BitMap()
        for p in parts:
            acc |= p
            below.append(acc.copy())
        # every decile edge is also a ventile edge, so a bin sits in exactly one bar
        bar_of = np.clip(np.searchsorted(shown_edges, edges[:-1], side="right") - 1, 0, bars - 1)
        scale, offset = fixed_point(known)
        slices = bit_slices(np.rint((known - offset) * scale).astype(np.int64), ordinals)
        counts = np.array([len(p) for p in parts], dtype=np.int64)
        lo = np.full(k, np.inf)
        hi = np.full(k, -np.inf)
        np.minimum.at(lo, codes, known)
        np.maximum.at(hi, codes, known)
        constant = [float(lo[j]) if lo[j] == hi[j] else None for j in range(k)]
        q = np.quantile(known, QUANTILES).tolist() if known.size else [None] * len(QUANTILES)
        mean = float(known.mean()) if known.size else None
        return cls(tag, values, edges, parts, below, bar_of, shown_edges, slices, scale, offset, counts, constant, q,
                   mean, is_time)


def _groups(codes: np.ndarray, k: int) -> list[np.ndarray]:
    """Positions of each code 0..k-1, each in ascending order (one stable sort)."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    return [order[bounds[c]:bounds[c + 1]] for c in range(k)]


@dataclass
class WeightedSet(_PerValueBitmaps):
    """weighted_set tags: a bitmap of the users holding each key, of users holding any key, and
    (optionally) each user's key codes + 1 in a row of `slots` (0 = empty) for the gather path."""

    tag: str
    keys: list[str]
    bitmaps: list[BitMap]
    covered: BitMap
    slots: np.ndarray | None = None
    counts: np.ndarray = field(default=None)  # type: ignore[assignment]
    bitmap_cost: float = field(default=None)  # type: ignore[assignment]

    @classmethod
    def from_pairs(cls, tag: str, n_users: int, owners: np.ndarray, keys, max_slots: int = 16) -> "WeightedSet":
        """From (ordinal, key) pairs, one per key a user holds (keys: labels, or int codes with `labels`)."""
        codes, uniques = pd.factorize(pd.Series(np.asarray(keys, dtype=object)), sort=True)
        return cls.from_codes(tag, n_users, owners, codes, [str(u) for u in uniques], max_slots)

    @classmethod
    def from_codes(cls, tag: str, n_users: int, owners: np.ndarray, codes: np.ndarray, labels: list[str],
                   max_slots: int = 16) -> "WeightedSet":
        owners = np.asarray(owners, dtype=np.uint32)
        k = len(labels)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(k + 1))
        bitmaps = [to_bitmap(np.sort(owners[order[bounds[c]:bounds[c + 1]]])) for c in range(k)]
        by_owner = np.argsort(owners, kind="stable")
        o, c = owners[by_owner], codes[by_owner]
        first = np.ones(o.size, dtype=bool)
        first[1:] = o[1:] != o[:-1]
        steps = np.arange(o.size)
        pos = steps - np.maximum.accumulate(np.where(first, steps, 0))  # rank of the key within its user
        width = int(pos.max()) + 1 if pos.size else 0
        slots = None
        if width <= max_slots:
            slots = np.zeros((n_users, max(width, 1)), dtype=np.uint16 if k < 2 ** 16 - 1 else np.uint32)
            slots[o, pos] = c + 1
        return cls(tag, labels, bitmaps, to_bitmap(sorted_unique(owners)), slots)


Column = Categorical | Numeric | WeightedSet


@dataclass
class InsightIndex:
    """Every tag's columns over one ordinal space; `user_ids[i]` is the user with ordinal i."""

    user_ids: np.ndarray
    columns: dict[str, Column]
    _ordinal: dict | None = None

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def bitmap_of(self, user_ids) -> BitMap:
        """The ordinals of the given user ids (ids absent from the snapshot are ignored)."""
        if self._ordinal is None:
            self._ordinal = {u: i for i, u in enumerate(self.user_ids.tolist())}
        get = self._ordinal.get
        found = [o for o in (get(str(u)) for u in user_ids) if o is not None]
        return to_bitmap(np.sort(np.asarray(found, dtype=np.uint32)))

    def ids_of(self, bm: BitMap) -> list[str]:
        return self.user_ids[members(bm)].tolist()


def _time_values(s: pd.Series) -> np.ndarray:
    t = pd.to_datetime(s, utc=True)
    return (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def index_from_profiles(profiles: pd.DataFrame, types: dict[str, str]) -> InsightIndex:
    """Build the index from a profile table (user_id + one column per tag) and each tag's type.

    Ordinals follow the rows of `profiles`; tags of other types (or absent) are skipped. A user
    holds a weighted set's key when the key is in the set (as `HAS 'key'` in segment expressions).
    """
    user_ids = profiles["user_id"].astype(str).to_numpy()
    columns: dict[str, Column] = {}
    for tag, typ in types.items():
        if tag not in profiles.columns:
            continue
        s = profiles[tag]
        if typ in ("enum", "bool", "string"):
            if typ == "bool":
                s = s.map(lambda v: None if _missing(v) else str(bool(v)).lower())
            codes, uniques = pd.factorize(s, sort=True)
            columns[tag] = Categorical.from_codes(tag, [str(u) for u in uniques], codes)
        elif typ in ("integer", "number"):
            columns[tag] = Numeric.from_values(tag, pd.to_numeric(s).to_numpy(dtype=np.float64, na_value=np.nan))
        elif typ == "timestamp":
            columns[tag] = Numeric.from_values(tag, _time_values(s), is_time=True)
        elif typ == "weighted_set":
            owners, keys = [], []
            for i, v in enumerate(s.tolist()):
                if _missing(v):
                    continue
                for key in dict.fromkeys(e["key"] for e in v if e and e.get("key") is not None):
                    owners.append(i)
                    keys.append(key)
            columns[tag] = WeightedSet.from_pairs(tag, len(user_ids), np.asarray(owners, dtype=np.uint32), keys)
    return InsightIndex(user_ids, columns)
