"""Order-preserving integer keys for numeric tags: exact comparisons on small integers.

Each numeric value is mapped to a key 0..max_key that preserves order exactly:

* ``int``  — integers and timestamps (µs): key = (v - base) / step, step the GCD of the gaps
  (second-resolution timestamps need 25 bits for a year, not 45);
* ``dec``  — doubles that are all exact decimals with ≤ 6 places (money, rates): the same over
  v × 10^scale, with query constants mapped back through correctly rounded division;
* ``rank`` — few distinct values (≤ 65,536, e.g. with NaN/±inf): the rank among them;
* ``ieee`` — any other doubles: the IEEE-754 bits made order-preserving (sign flipped), with
  -0.0 folded into 0.0 and every NaN into one NaN above +inf, which is DuckDB's order.

A query constant maps to a key threshold (`key_le`, `key_lt`), so every comparison becomes an
integer range over keys, answered by the binned index in `ranges.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass
class Encoding:
    kind: str  # int | dec | rank
    max_key: int
    base: int = 0
    step: int = 1
    scale: int = 0
    dictionary: np.ndarray | None = None

    @property
    def bits(self) -> int:
        return max(1, int(self.max_key).bit_length())

    def key_range(self, lo, lo_inc: bool, hi, hi_inc: bool) -> tuple[int, int]:
        """A value range (None: unbounded) → the inclusive key range it selects (may be empty)."""
        a = 0 if lo is None else (self.key_lt(lo) + 1 if lo_inc else self.key_le(lo) + 1)
        b = self.max_key if hi is None else (self.key_le(hi) if hi_inc else self.key_lt(hi))
        return a, b

    def meta(self) -> dict:
        return {"kind": self.kind, "max_key": int(self.max_key), "base": int(self.base), "step": int(self.step),
                "scale": self.scale}

    # -- query constants → keys ------------------------------------------------------------
    def key_le(self, v) -> int:
        """The largest key whose value is <= v (-1: none); v is an int (int domain) or a float."""
        if self.kind == "ieee":
            return self._clamp(int(ieee_keys(np.array([v], dtype=np.float64))[0]))
        if self.kind == "rank":
            d = self.dictionary
            if isinstance(v, int):
                v = min(max(v, INT64_MIN), INT64_MAX)
            return int(np.searchsorted(d, v, side="right")) - 1
        if self.kind == "int":
            return self._clamp((v - self.base) // self.step)
        return self._dec_key(v, strict=False)

    def key_lt(self, v) -> int:
        """The largest key whose value is < v."""
        if self.kind == "ieee":
            return self._clamp(int(ieee_keys(np.array([v], dtype=np.float64))[0]) - 1)
        if self.kind == "rank":
            d = self.dictionary
            if isinstance(v, int):
                v = min(max(v, INT64_MIN), INT64_MAX)
                if v == INT64_MIN:
                    return -1
            return int(np.searchsorted(d, v, side="left")) - 1
        if self.kind == "int":
            return self.key_le(v - 1)
        return self._dec_key(v, strict=True)

    def _clamp(self, k: int) -> int:
        return int(min(max(k, -1), self.max_key))

    def _dec_key(self, v: float, strict: bool) -> int:
        """Largest key whose value M / 10^scale is <= v (< v when strict), found with Python's
        correctly rounded int / int division, the way the stored doubles were checked."""
        p = 10**self.scale
        low, high = self.base / p, (self.base + self.max_key * self.step) / p
        if v < low or (strict and v == low):
            return -1
        if v > high or (not strict and v == high):
            return self.max_key
        m = math.floor(v * p)
        below = (lambda x: x / p < v) if strict else (lambda x: x / p <= v)
        while below(m + 1):
            m += 1
        while not below(m):
            m -= 1
        return self._clamp((m - self.base) // self.step)


def ieee_keys(values: np.ndarray) -> np.ndarray:
    """Doubles → uint64 keys in DuckDB's order (-0.0 = 0.0; NaN = NaN, above +inf)."""
    v = np.where(values == 0.0, 0.0, values)  # folds -0.0
    v = np.where(np.isnan(v), np.nan, v)  # one canonical (positive) NaN
    bits = v.astype(np.float64).view(np.uint64)
    sign = bits >> np.uint64(63)
    return np.where(sign == 1, ~bits, bits | np.uint64(1 << 63))


def choose_encoding(values: np.ndarray, domain: str) -> tuple[Encoding, np.ndarray]:
    """The most compact exact encoding for these (non-NULL) values, and their keys (uint64)."""
    if len(values) == 0:
        return Encoding("int", 0), np.zeros(0, dtype=np.uint64)
    if domain == "float":
        finite = np.isfinite(values)
        if finite.all():
            for scale in range(7):
                scaled = values * (10.0**scale)
                if np.abs(scaled).max() >= 2**52:
                    break
                m = np.round(scaled)
                if np.array_equal(m / (10.0**scale), values):
                    enc, keys = _int_encoding(m.astype(np.int64))
                    enc.kind, enc.scale = "dec", scale
                    return _prefer_rank(values, enc, keys)
        if len(np.unique(values[: min(len(values), 200_000)])) <= 65_536:
            rank, rkeys = _rank_encoding(values)
            if rank.max_key < 65_536:
                return rank, rkeys
        keys = ieee_keys(values)
        return Encoding("ieee", int(keys.max())), keys
    enc, keys = _int_encoding(values.astype(np.int64))
    return _prefer_rank(values, enc, keys)


def _int_encoding(m: np.ndarray) -> tuple[Encoding, np.ndarray]:
    base = int(m.min())
    gaps = (m - base).astype(np.uint64)
    step = int(np.gcd.reduce(gaps)) if len(gaps) else 1
    step = step or 1
    keys = gaps // np.uint64(step)
    return Encoding("int", int(keys.max()), base=base, step=step), keys


def _rank_encoding(values: np.ndarray) -> tuple[Encoding, np.ndarray]:
    uniq, inverse = np.unique(values, return_inverse=True)
    return Encoding("rank", max(len(uniq) - 1, 0), dictionary=uniq), inverse.astype(np.uint64)


def _prefer_rank(values: np.ndarray, enc: Encoding, keys: np.ndarray) -> tuple[Encoding, np.ndarray]:
    """Rank encoding when few distinct values are spread wide (it saves ≥ 4 slices) and stay small."""
    if enc.bits <= 8:
        return enc, keys
    sample = np.unique(values[: min(len(values), 200_000)])
    if len(sample) > 65_536 or int(len(sample) - 1).bit_length() + 4 > enc.bits:
        return enc, keys
    rank, rkeys = _rank_encoding(values)
    return (rank, rkeys) if rank.max_key < 65_536 and rank.bits + 4 <= enc.bits else (enc, keys)
