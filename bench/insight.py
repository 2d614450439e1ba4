"""Insight benchmark: a full 50-tag insight report for a 1M-user segment over 10M users.

    python bench/insight.py                  # 10M users, 1M segment (the acceptance size; target ≤ 500 ms)
    python bench/insight.py --users 1e6      # smaller, quicker
    python bench/insight.py --check          # also check the bitmap result against the DuckDB baseline

Synthetic profiles generated with numpy (seeded): 20 enum tags (cardinality 2 to 1000, Zipf-like,
2% missing), 10 bool, 3 string tags (300 to 5,000 distinct values), 12 numeric (integers with
ties, skewed floats, normal; 5% missing), 2 timestamps and 3 weighted sets (50 to 500 keys,
0 to 8 keys per user). The segment is 1M users drawn with a bias on a few
tags, so its distributions differ from the base. Base-side counts are precomputed with the index,
as they are in a snapshot; the timed part is everything per segment: counts, shares, TGI with
intervals, divergences, exact quantiles, means, histograms and the ranking.

Baseline, same run: DuckDB (threads as given) computing the same per-segment figures from a table
with a segment flag: value counts per categorical tag, quantiles + mean + decile histogram per
numeric tag, key counts per weighted set (UNNEST) — over the same in-memory Arrow data.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from pyroaring import BitMap  # noqa: E402

from portrait.apps.insight_compute import compute_insight  # noqa: E402
from portrait.apps.insight_index import (  # noqa: E402
    Categorical, InsightIndex, Numeric, WeightedSet, sorted_unique, to_bitmap,
)  # noqa: E402

ENUM_CARDS = [2, 3, 3, 4, 5, 5, 6, 7, 8, 10, 12, 15, 20, 25, 40, 50, 100, 200, 500, 1000]
STRING_CARDS = [300, 2000, 5000]  # free-text-like tags: country, city, favourite product type
WSET_KEYS = [50, 200, 500]
KEYS_PER_USER = 8  # 0..8 keys, as an interest tag's top_n


def zipf_codes(rng, n: int, k: int, bias: np.ndarray | None = None) -> np.ndarray:
    """Skewed codes 0..k-1 (u^2.5 · k: a few heavy values and a long tail), fast to draw."""
    codes = np.minimum((rng.random(n) ** 2.5 * k).astype(np.int32), k - 1).astype(np.int16)
    if bias is not None:  # biased users shift to the next value: the segment over-indexes on some values
        codes[bias] = (codes[bias] + 1) % k
    return codes


def synthesize(n: int, seg_size: int, seed: int, keep_raw: bool = True):
    """The index over n synthetic users (50 tags), the segment bitmap, and the raw columns."""
    rng = np.random.default_rng(seed)
    biased = rng.random(n) < 0.3
    raw: dict[str, tuple[str, object]] = {}
    cols = {}

    def categorical(name: str, codes: np.ndarray, labels: list[str]) -> None:
        cols[name] = Categorical.from_codes(name, labels, codes)
        if keep_raw:
            raw[name] = ("enum", codes)

    for i, k in enumerate(ENUM_CARDS):
        codes = zipf_codes(rng, n, k, biased if i % 4 == 0 else None)
        codes[rng.random(n) < 0.02] = -1  # 2% missing
        categorical(f"enum_{i}", codes, [f"v{j}" for j in range(k)])
    for i in range(10):
        p = 0.05 + 0.08 * i
        codes = (rng.random(n) < np.where(biased & (i % 3 == 0), min(1.0, 2 * p), p)).astype(np.int16)
        categorical(f"bool_{i}", codes, ["false", "true"])
    for i, k in enumerate(STRING_CARDS):
        categorical(f"string_{i}", zipf_codes(rng, n, k, biased if i == 0 else None), [f"s{j}" for j in range(k)])
    for i in range(12):
        if i % 3 == 0:
            v = rng.poisson(2 + i, n).astype(np.float32)  # small integers, many ties
        elif i % 3 == 1:
            v = (rng.lognormal(3 + 0.1 * i, 1.0, n) * (1 + 0.5 * biased)).astype(np.float32)
        else:
            v = rng.normal(50, 10, n).astype(np.float32)
        v[rng.random(n) < 0.05] = np.nan
        cols[f"num_{i}"] = Numeric.from_values(f"num_{i}", v)
        if keep_raw:
            raw[f"num_{i}"] = ("number", v)
    for i in range(2):
        v = 1.6e9 + rng.random(n) * 3e7 - biased * 1e7 * i
        cols[f"time_{i}"] = Numeric.from_values(f"time_{i}", v, is_time=True)
        if keep_raw:
            raw[f"time_{i}"] = ("number", v)
    for i, k in enumerate(WSET_KEYS):
        per_user = rng.integers(0, KEYS_PER_USER + 1, n)
        owners = np.repeat(np.arange(n, dtype=np.uint32), per_user)
        keys = zipf_codes(rng, owners.size, k).astype(np.int64)
        pair = sorted_unique(owners.astype(np.int64) * 1024 + keys)  # a key at most once per user
        owners, keys = (pair // 1024).astype(np.uint32), (pair % 1024).astype(np.int16)
        del pair
        cols[f"wset_{i}"] = WeightedSet.from_codes(f"wset_{i}", n, owners, keys, [f"k{j}" for j in range(k)])
        if keep_raw:
            raw[f"wset_{i}"] = ("wset", (owners, keys, k))
    # the segment: seg_size users, biased users three times as likely to be drawn (Efraimidis–Spirakis keys)
    w = np.where(biased, 3.0, 1.0)
    keys = rng.random(n) ** (1.0 / w)
    members = np.argpartition(-keys, seg_size - 1)[:seg_size]
    seg = to_bitmap(np.sort(members))
    index = InsightIndex(np.arange(n, dtype=np.uint32), cols)
    return index, seg, raw


def duckdb_baseline(raw: dict, seg: BitMap, n: int, threads: int) -> tuple[float, dict]:
    """The same per-segment figures in DuckDB over Arrow tables with an `in_seg` flag."""
    import duckdb
    import pyarrow as pa

    flag = np.zeros(n, dtype=bool)
    flag[seg.to_array()] = True
    scalar = {"in_seg": pa.array(flag)}
    for name, (kind, data) in raw.items():
        if kind == "enum":
            scalar[name] = pa.array(data, mask=data < 0)
        elif kind == "number":
            scalar[name] = pa.array(data, mask=np.isnan(data))
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.register("p", pa.table(scalar))
    wsets = {}
    for name, (kind, data) in raw.items():
        if kind == "wset":
            owners, keys, _k = data
            wsets[name] = pa.table({"o": pa.array(owners), "k": pa.array(keys)})
            con.register(name, wsets[name])
    con.register("segflag", pa.table({"o": pa.array(np.arange(n, dtype=np.uint32)), "in_seg": pa.array(flag)}))
    out = {}
    t = time.perf_counter()
    for name, (kind, data) in raw.items():
        if kind == "enum":
            out[name] = con.execute(f'SELECT "{name}", count(*) FROM p WHERE in_seg GROUP BY 1').fetchall()
        elif kind == "number":
            out[name] = con.execute(
                f'SELECT quantile_cont("{name}", [0.05, 0.25, 0.5, 0.75, 0.95]), avg("{name}"), '
                f'histogram(ntile) FROM (SELECT "{name}", CAST(floor("{name}") AS BIGINT) % 10 AS ntile FROM p WHERE in_seg)'
            ).fetchall()
        else:
            out[name] = con.execute(
                f"SELECT w.k, count(*) FROM {name} w SEMI JOIN (SELECT o FROM segflag WHERE in_seg) s ON w.o = s.o GROUP BY 1"
            ).fetchall()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=float, default=10e6)
    ap.add_argument("--segment", type=float, default=None, help="segment size (default: users / 10)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", action="store_true", help="compare enum counts with the DuckDB baseline")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    n = int(args.users)
    seg_size = int(args.segment or n // 10)

    t = time.perf_counter()
    index, seg, raw = synthesize(n, seg_size, args.seed, keep_raw=not args.no_baseline)
    build = time.perf_counter() - t
    print(f"synthetic index: {n:,} users × {len(index.columns)} tags, segment {len(seg):,} users, "
          f"built in {build:.1f}s")

    compute_insight(index, seg)  # warm-up: first-touch page faults of the bitmaps
    walls, cpus = [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        report = compute_insight(index, seg)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    median, cpu = float(np.median(walls)), float(np.median(cpus))
    load = os.getloadavg()[0]
    print(f"portrait insight (bitmaps): median {median * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU, best "
          f"{min(walls) * 1000:.0f} ms over {args.repeat} runs (load average {load:.1f} on {os.cpu_count()} cores) · "
          f"target ≤ 500 ms: {'PASS' if median <= 0.5 else 'FAIL'}")
    print("  most distinctive tags: " + ", ".join(
        f"{r['tag']} (JS {r['divergence']:.3f})" for r in report["ranking"][:5]))

    if not args.no_baseline:
        base_t, base_out = duckdb_baseline(raw, seg, n, args.threads)
        print(f"duckdb baseline ({args.threads} threads, counts/quantiles/histograms only, no TGI): "
              f"{base_t * 1000:.0f} ms wall · portrait is {base_t / median:.1f}× faster")
        if args.check:
            by_tag = {d["tag"]: d for d in report["tags"]}
            for name, (kind, _data) in raw.items():
                if kind != "enum":
                    continue
                got = {r["value"]: r["segment_count"] for r in by_tag[name]["values"] if r["value"] != "(other)"}
                labels = index.columns[name].labels
                want = {labels[v]: c for v, c in base_out[name] if v is not None and v >= 0}
                shown = {k: want.get(k, 0) for k in got}
                assert got == shown, f"{name}: counts differ"
            print("  check: enum value counts equal DuckDB's")


if __name__ == "__main__":
    main()
