"""Numeric and weight range indexes: every encoding and bin count answers every range exactly,
with and without a candidate set, and counts agree with the bitmaps they avoid building."""

from __future__ import annotations

import numpy as np
import pytest
from pyroaring import BitMap, FrozenBitMap

from portrait.segments.encoding import choose_encoding
from portrait.segments.index_build import TagWriter, _write_range
from portrait.segments.ranges import RangeIndex, key_dtype, snap_bounds, to_bitmap
from portrait.segments.encoding import Encoding

CASES = {
    "money (dec)": ("float", lambda r: np.round(r.uniform(-5, 45, 3000), 2), "dec"),
    "doubles (rank)": ("float", lambda r: r.normal(0, 1, 3000) / 7, "rank"),
    "nan/inf (rank)": ("float", lambda r: np.r_[r.normal(0, 1, 500), [np.nan, np.inf, -np.inf, -0.0, 0.0]], "rank"),
    "ints (int)": ("int", lambda r: r.integers(-50, 120, 3000), "int"),
    "seconds as µs (int, step)": ("int", lambda r: 1_600_000_000_000_000 + r.integers(0, 4000, 3000) * 1_000_000, "int"),
    "few timestamps, wide (rank)": ("int", lambda r: 1_600_000_000_000_000 + r.integers(0, 86400 * 30, 3000) * 1_000_000,
                                    "rank"),
    "sparse wide (rank)": ("int", lambda r: r.choice([0, 10**12, 3 * 10**15, -(10**14)], 3000), "rank"),
    "constant": ("int", lambda r: np.full(100, 42), "int"),
}


def range_index(values: np.ndarray, domain: str, bins: int, n: int, ords: np.ndarray | None = None,
                pure: int = 100) -> RangeIndex:
    """Build through the real writer, then read the blobs back the way index.py does."""
    w = TagWriter("t", "number", "range")
    ords = np.arange(len(values), dtype=np.int64) if ords is None else ords
    meta = _write_range(w, ords, values, domain, bins, "", pure)
    data = b"".join(w.parts)
    blob = lambda name: data[w.header["blobs"][name][0]:w.header["blobs"][name][0] + w.header["blobs"][name][1]]
    dictionary = np.frombuffer(blob("dict"), dtype=meta["dict_dtype"]) if meta["kind"] == "rank" else None
    enc = Encoding(meta["kind"], meta["max_key"], meta["base"], meta["step"], meta["scale"], dictionary)
    dt = np.dtype(meta["key_dtype"])
    pairs = lambda j: ((np.frombuffer(blob(f"b{j}.o"), np.uint32), np.frombuffer(blob(f"b{j}.k"), dt))
                       if f"b{j}.o" in w.header["blobs"] else (np.zeros(0, np.uint32), np.zeros(0, dt)))
    return RangeIndex(FrozenBitMap(ords.tolist()), enc, [tuple(b) for b in meta["bins"]],
                      lambda j: FrozenBitMap.deserialize(blob(f"c{j}")), pairs)


def expected(values, lo, li, hi, hi_inc, domain):
    with np.errstate(invalid="ignore"):
        m = np.ones(len(values), bool)
        if lo is not None:
            m &= values >= lo if li else values > lo
        if hi is not None:
            m &= values <= hi if hi_inc else values < hi
        if domain == "float" and hi is None and lo is not None:
            m |= np.isnan(values)  # DuckDB: NaN is greater than every number
    return set(np.flatnonzero(m).tolist())


@pytest.mark.parametrize("bins, pure", [(1, 0), (3, 0), (7, 100), (32, 0), (32, 100)])
@pytest.mark.parametrize("name", list(CASES))
def test_ranges_exact(name, bins, pure):
    domain, make, kind = CASES[name]
    rng = np.random.default_rng(1)
    values = make(rng)
    assert choose_encoding(values, domain)[0].kind == kind
    n = len(values) + 7  # a few NULL users at the end
    idx = range_index(values, domain, bins, n, pure=pure)
    probes = list(values[:25]) + [values.min(), values.max()] + ([0.1, -0.01, 1e300, -1e300] if domain == "float"
                                                                  else [0, -1, 10**18, -(10**18)])
    sparse = BitMap(rng.choice(n, 40, replace=False).tolist())
    for v in probes:
        if domain == "float" and np.isnan(v):
            continue  # the grammar has no NaN literal
        v = float(v) if domain == "float" else int(v)
        for r in [(v, True, None, False), (v, False, None, False), (None, False, v, True), (None, False, v, False),
                  (v, True, v, True), (v, True, v + 1, False)]:
            exp = expected(values, *r, domain)
            assert set(idx.ranges([r])) == exp, (v, r)
            assert set(idx.ranges([r], sparse)) == exp & set(sparse)
            assert idx.count([r]) == len(exp) and idx.count([r], sparse) == len(exp & set(sparse))


@pytest.mark.parametrize("bins", [1, 4])
def test_weights_exact(bins):
    """Weighted-set weights: full-precision doubles (ieee keys) on a subset of the ordinals."""
    rng = np.random.default_rng(3)
    ords = np.sort(rng.choice(200_000, 70_000, replace=False)).astype(np.int64)
    weights = rng.random(70_000)
    weights[:3] = [np.nan, -0.0, 0.0]
    weights[3:50] = np.round(weights[3:50], 2)
    wi = range_index(weights, "float", bins, 200_000, ords)
    assert wi.encoding.kind == "ieee"
    small, big = BitMap(rng.choice(200_000, 500, replace=False).tolist()), BitMap(range(0, 200_000, 2))
    for t in [0.0, 0.2, 0.25, 0.5, 0.99, 1.0, -1.0, float(weights[10]), float(weights[60_000])]:
        for r in [(t, True, None, False), (t, False, None, False), (None, False, t, True), (t, True, t, True),
                  (None, False, t, False), (t, True, t + 0.1, True)]:
            exp = {int(ords[i]) for i in expected(weights, *r, "float")}
            assert set(wi.ranges([r])) == exp
            assert wi.count([r]) == len(exp)
            for w in (small, big):
                assert set(wi.ranges([r], w)) == exp & set(w)
                assert wi.count([r], w) == len(exp & set(w))


def test_bins_never_split_a_value():
    keys = np.sort(np.random.default_rng(0).poisson(2, 10_000))
    cuts = snap_bounds(keys, 8)
    for c in cuts[1:-1]:
        assert keys[c - 1] != keys[c]


def test_key_dtype_and_bitmaps():
    assert key_dtype(200) == np.uint8 and key_dtype(255) == np.uint16 and key_dtype(2**40) == np.uint64
    assert list(to_bitmap(np.array([1, 5, 9]))) == [1, 5, 9]
