"""Bit-sliced index: every encoding answers every range exactly, with and without candidates."""

from __future__ import annotations

import array

import numpy as np
import pytest
from pyroaring import BitMap

from portrait.segments.bsi import BSI, choose_encoding


def bitmap(ords) -> BitMap:
    a = array.array("I")
    a.frombytes(np.asarray(ords, dtype=np.uint32).tobytes())
    return BitMap(a)


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


@pytest.mark.parametrize("name", list(CASES))
def test_ranges_exact(name):
    domain, make, kind = CASES[name]
    rng = np.random.default_rng(1)
    values = make(rng)
    enc, keys = choose_encoding(values, domain)
    assert enc.kind == kind
    n = len(values) + 7  # a few NULL users at the end
    slices = [bitmap(np.flatnonzero((keys >> np.uint64(i)) & np.uint64(1))) for i in range(enc.bits)]
    bsi = BSI(n, BitMap(range(len(values))), enc, lambda i: slices[i])
    probes = list(values[:25]) + [values.min(), values.max()] + ([0.1, -0.01, 1e300, -1e300] if domain == "float"
                                                                  else [0, -1, 10**18, -(10**18)])
    sparse = BitMap(rng.choice(n, 40, replace=False).tolist())
    with np.errstate(invalid="ignore"):
        for v in probes:
            if domain == "float" and np.isnan(v):
                continue  # the grammar has no NaN literal
            v = float(v) if domain == "float" else int(v)
            for lo, li, hi, hi_inc in [(v, True, None, False), (v, False, None, False), (None, False, v, True),
                                       (None, False, v, False), (v, True, v, True), (v, True, v + 1, False)]:
                m = np.ones(len(values), bool)
                if lo is not None:
                    m &= values >= lo if li else values > lo
                if hi is not None:
                    m &= values <= hi if hi_inc else values < hi
                if domain == "float" and hi is None:
                    m |= np.isnan(values)  # DuckDB: NaN is greater than every number
                expected = set(np.flatnonzero(m).tolist())
                assert set(bsi.ranges([(lo, li, hi, hi_inc)])) == expected, (v, lo, li, hi, hi_inc)
                assert set(bsi.ranges([(lo, li, hi, hi_inc)], sparse)) == expected & set(sparse)
