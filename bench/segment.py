"""Segment count benchmark: roaring-bitmap index vs DuckDB scanning the same profile table.

    python bench/segment.py                    # 10M users × 52 tags (needs ~12 GB RAM, several minutes)
    python bench/segment.py --users 1000000    # quick run
    python bench/segment.py --users 100000000 --five-only --no-duckdb   # 100M, only the 5-clause suite

Generates synthetic profiles with numpy (seeded): 20 enums (cardinality 2–1000, skewed), 5 bools,
3 strings (one high-cardinality → SQL fallback), 10 integers, 8 numbers (money, rates, a
full-precision model score), 3 timestamps and 3 weighted sets (20, 50 and 500 keys, weights
full-precision doubles), all with NULLs; writes profiles.parquet, builds the bitmap index with
the pipeline's builder, then times `count` for 10 expressions (1–8 clauses, ranges, ORs,
weighted sets) against DuckDB evaluating the same WHERE (sqlgen) on an in-memory table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from portrait.catalog import Tag  # noqa: E402
from portrait.segments.bind import bind  # noqa: E402
from portrait.segments.clock import Clock  # noqa: E402
from portrait.segments.index import open_index  # noqa: E402
from portrait.segments.index_build import build_index  # noqa: E402
from portrait.segments.planner import Planner  # noqa: E402
from portrait.segments.sqlgen import where  # noqa: E402
from portrait.segments.table import ProfileTable  # noqa: E402

AS_OF = datetime(2026, 1, 1, tzinfo=timezone.utc)
ENUM_CARDS = [2, 3, 4, 5, 7, 10, 12, 20, 30, 50, 75, 100, 150, 200, 300, 400, 500, 700, 850, 1000]

SUITE = [  # (label, kind, expression)
    ("1 enum", "enum/range", "e10 = 'v3'"),
    ("1 range (money)", "enum/range", "spend_90d > 250"),
    ("2 enum+range", "enum/range", "e2 = 'v1' AND age BETWEEN 25 AND 34"),
    ("3 with OR", "enum/range", "e1000 IN ('v1', 'v2', 'v3') OR e200 = 'v5' AND b0"),
    ("5 enum/range A", "five", "e2 = 'v1' AND age BETWEEN 25 AND 44 AND e20 IN ('v1', 'v2', 'v3') "
                               "AND spend_90d > 100 AND e4 != 'v0'"),
    ("5 enum/range B", "five", "e50 IN ('v0', 'v1', 'v2', 'v3', 'v4') AND orders_90d >= 3 AND "
                               "last_active_at >= snapshot_time - INTERVAL 30 DAY AND e5 = 'v1' AND NOT e3 = 'v2'"),
    ("4 ranges OR", "enum/range", "age < 18 OR age > 65 OR spend_90d >= 2000 OR tenure_days < 30"),
    ("1 weighted set", "wset", "interest['k7'] >= 0.2"),
    ("3 with weighted sets", "wset", "interest['k3'] >= 0.5 AND brand HAS 'b12' AND e2 = 'v0'"),
    ("8 mixed", "wset", "(e10 IN ('v1', 'v2') OR e100 = 'v9') AND age >= 18 AND (score > 0.7 OR e7 IN ('v1', 'v2')) "
                        "AND NOT b1 AND last_active_at >= snapshot_time - INTERVAL 90 DAY AND genre['g2'] > 0.1 "
                        "AND city != 'v1' AND rate_return < 0.25"),
]
FIVE_COLUMNS = {"e2", "age", "e20", "spend_90d", "e4", "e50", "orders_90d", "last_active_at", "e5", "e3"}


def tag(id: str, type: str, values=None) -> Tag:
    return Tag(id=id, name={"en": id}, taxonomy=["bench"], kind="fact", type=type, values=values, owner="bench", sql="1")


def _nulls(rng, arr: pa.Array, rate: float) -> pa.Array:
    if rate <= 0:
        return arr
    mask = pa.array(rng.random(len(arr)) < rate)
    return pa.compute.if_else(mask, pa.scalar(None, arr.type), arr)


def _skewed(rng, n: int, card: int) -> np.ndarray:
    """Zipf-like codes (p ∝ 1/rank^0.8), by inverting the CDF (rng.choice with p is slow at 100M)."""
    cdf = np.cumsum(1.0 / np.arange(1, card + 1) ** 0.8)
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1]), card - 1).astype(np.int32)


def _enum(rng, n, card, skew=True, null_rate=0.0):
    """Dictionary-encoded strings (Parquet stores them as strings; DuckDB reads VARCHAR)."""
    codes = _skewed(rng, n, card) if skew else rng.integers(0, card, n).astype(np.int32)
    mask = (rng.random(n) < null_rate) if null_rate else None
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=mask), pa.array([f"v{i}" for i in range(card)]))


def _wset(rng, n: int, keys: int, prefix: str, max_keys: int) -> pa.Array:
    counts = rng.integers(0, max_keys + 1, n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    total = int(offsets[-1])
    base = np.repeat(_skewed(rng, n, keys), counts)  # each user's keys: consecutive from a skewed start
    pos = np.arange(total) - np.repeat(offsets[:-1], counts)
    key_idx = (base + pos) % keys
    key = pa.DictionaryArray.from_arrays(key_idx.astype(np.int32), pa.array([f"{prefix}{i}" for i in range(keys)]))
    weight = rng.random(total)
    items = pa.StructArray.from_arrays([key.cast(pa.string()), pa.array(weight)], names=["key", "weight"])
    null = rng.random(n) < 0.05
    return pa.ListArray.from_arrays(pa.array(offsets), items, mask=pa.array(np.r_[null]))


CHUNK = 5_000_000  # users generated and written at a time (bounded memory at 100M)


def generate(path: Path, n: int, seed: int, five_only: bool) -> list[Tag]:
    """Write profiles.parquet (sorted user ids) chunk by chunk; return the tag list."""
    writer, tags = None, []
    for i, start in enumerate(range(0, n, CHUNK)):
        tags, table = _chunk(np.random.default_rng([seed, i]), start, min(CHUNK, n - start), five_only)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=1 << 20)
    writer.close()
    return tags


def _chunk(rng, start: int, n: int, five_only: bool) -> tuple[list[Tag], pa.Table]:
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pa.array(np.arange(start, start + n)).cast(pa.large_string()), 10, "0")
    cols: dict[str, pa.Array] = {"user_id": pc.binary_join_element_wise(pa.scalar("u", pa.large_string()), digits,
                                                                       pa.scalar("", pa.large_string()))}
    tags: list[Tag] = []

    def add(t: Tag, arr: pa.Array) -> None:
        if five_only and t.id not in FIVE_COLUMNS:
            return
        cols[t.id] = arr
        tags.append(t)

    for card in ENUM_CARDS:
        t = tag(f"e{card}", "enum", [f"v{i}" for i in range(card)])
        if not five_only or t.id in FIVE_COLUMNS:
            add(t, _enum(rng, n, card, skew=card not in (2, 10), null_rate=0.02))
    for i in range(5):
        add(tag(f"b{i}", "bool"), _nulls(rng, pa.array(rng.random(n) < 0.3 + 0.1 * i), 0.05) if not five_only else None)
    if not five_only:
        add(tag("city", "string"), _enum(rng, n, 3000, null_rate=0.03))
        add(tag("channel", "string"), _enum(rng, n, 40))
        add(tag("device_model", "string"), _nulls(rng, pa.array(np.char.add("d", rng.integers(0, 200_000, n).astype(str))), 0.1))
    ints = {
        "age": lambda: rng.integers(12, 90, n), "orders_90d": lambda: rng.poisson(2.0, n), "orders_365d": lambda: rng.poisson(6, n),
        "tenure_days": lambda: rng.integers(0, 3650, n), "sessions_30d": lambda: rng.poisson(8, n),
        "items_viewed_30d": lambda: rng.poisson(40, n), "coupons_used": lambda: rng.poisson(0.5, n),
        "support_tickets": lambda: rng.poisson(0.2, n), "loyalty_points": lambda: (rng.pareto(1.5, n) * 1000).astype(np.int64),
        "household_size": lambda: rng.integers(1, 8, n),
    }
    for name, make in ints.items():
        if five_only and name not in FIVE_COLUMNS:
            continue
        add(tag(name, "integer"), _nulls(rng, pa.array(make().astype(np.int64)), 0.05))
    nums = {
        "spend_90d": lambda: np.round(rng.lognormal(4, 1.2, n), 2), "spend_365d": lambda: np.round(rng.lognormal(5, 1.2, n), 2),
        "avg_order_value": lambda: np.round(rng.lognormal(3.5, 0.8, n), 2), "rate_return": lambda: np.round(rng.beta(1, 9, n), 4),
        "rate_discount": lambda: np.round(rng.beta(2, 5, n), 4), "score": lambda: rng.random(n),
        "clv": lambda: np.round(rng.lognormal(6, 1, n), 2), "distance_km": lambda: np.round(rng.exponential(20, n), 1),
    }
    for name, make in nums.items():
        if five_only and name not in FIVE_COLUMNS:
            continue
        add(tag(name, "number"), _nulls(rng, pa.array(make()), 0.08))
    as_of_s = int(AS_OF.timestamp())
    for name, span in (("last_active_at", 365), ("first_seen_at", 3650), ("last_purchase_at", 730)):
        if five_only and name not in FIVE_COLUMNS:
            continue
        secs = as_of_s - (rng.exponential(span / 4, n) * 86400).astype(np.int64) % (span * 86400)
        add(tag(name, "timestamp"), _nulls(rng, pa.array(secs * 1_000_000, pa.timestamp("us", tz="UTC")), 0.03))
    if not five_only:
        add(tag("genre", "weighted_set"), _wset(rng, n, 20, "g", 5))
        add(tag("interest", "weighted_set"), _wset(rng, n, 50, "k", 8))
        add(tag("brand", "weighted_set"), _wset(rng, n, 500, "b", 6))
    return tags, pa.table(cols)


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=30, help="timed runs per expression (bitmaps)")
    ap.add_argument("--duckdb-repeat", type=int, default=10, help="timed runs per expression (DuckDB)")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp folder, removed)")
    ap.add_argument("--five-only", action="store_true", help="only the tags and expressions of the 5-clause suite")
    ap.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB comparison")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--reuse", action="store_true", help="reuse profiles and index already in --dir")
    ap.add_argument("--rebuild-index", action="store_true", help="with --reuse: keep the profiles, rebuild the index")
    args = ap.parse_args()

    work = args.dir or Path(tempfile.mkdtemp(prefix="portrait-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    profiles = work / "profiles.parquet"
    n = args.users
    out: dict = {"users": n, "seed": args.seed, "cpus": os.cpu_count()}

    t = time.perf_counter()
    reuse = args.reuse and (work / "tags.json").exists()
    if reuse:
        saved = json.loads((work / "tags.json").read_text())
        tags = [tag(t["id"], t["type"], t.get("values")) for t in saved["tags"]]
        out["generate_s"] = saved["generate_s"]
    else:
        tags = generate(profiles, n, args.seed, args.five_only)
        out["generate_s"] = round(time.perf_counter() - t, 2)
        (work / "tags.json").write_text(json.dumps({"generate_s": out["generate_s"], "tags": [
            t.model_dump(include={"id", "type", "values"}) for t in tags]}))
    print(f"generated {n:,} users × {len(tags)} tags in {out['generate_s']} s "
          f"({profiles.stat().st_size / 2**20:,.0f} MiB parquet)", flush=True)

    t = time.perf_counter()
    if reuse and not args.rebuild_index and (work / "bitmaps" / "manifest.json").exists():
        manifest = json.loads((work / "bitmaps" / "manifest.json").read_text())
    else:
        import shutil

        shutil.rmtree(work / "bitmaps", ignore_errors=True)
        manifest = build_index(profiles, tags, work / "bitmaps")
    out["index_build_s"] = round(time.perf_counter() - t, 2) if not reuse else manifest["build_seconds"]
    out["index_bytes"] = manifest["bytes"]
    out["bytes_per_user"] = round(manifest["bytes"] / n, 2)
    kinds: dict[str, list] = {}
    for tid, e in manifest["tags"].items():
        kinds.setdefault(e["kind"], []).append(e["bytes"])
    print(f"index built in {out['index_build_s']} s: {manifest['bytes'] / 2**20:,.1f} MiB = "
          f"{out['bytes_per_user']} bytes/user (" + ", ".join(f"{k}: {len(v)} tags {sum(v) / n:.2f} B/user"
                                                           for k, v in sorted(kinds.items())) + ")", flush=True)

    tagmap = {t.id: t for t in tags}
    clock = Clock(AS_OF, "UTC")
    index = open_index(work / "bitmaps")
    table = ProfileTable(profiles, "UTC")
    suite = [s for s in SUITE if not args.five_only or s[1] == "five"]
    rows = []
    for label, kind, expr in suite:
        def run() -> int:
            b = bind(expr, tagmap, clock)
            return Planner(index, b, lambda p, b=b: table.fallback(p, clock)).count()

        t = time.perf_counter()
        size = run()
        cold = (time.perf_counter() - t) * 1000
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            run()
            times.append((time.perf_counter() - t) * 1000)
        rows.append({"label": label, "kind": kind, "clauses": expr.count(" AND ") + expr.count(" OR ") + 1,
                     "expression": expr, "size": size, "cold_ms": round(cold, 2),
                     "p50_ms": round(statistics.median(times), 3), "p99_ms": round(pct(times, 0.99), 3)})
        print(f"  bitmaps {label:22s} size {size:>10,}  p50 {rows[-1]['p50_ms']:8.2f} ms  p99 {rows[-1]['p99_ms']:8.2f} ms"
              f"  (first run, loading bitmaps: {cold:.1f} ms)", flush=True)

    # exporting a ~1M-user segment (10% of users at 10M) to Parquet
    seg = "e2 = 'v0'" if args.five_only else "e10 = 'v0'"
    members = Planner(index, bind(seg, tagmap, clock)).evaluate()
    target = min(1_000_000, n // 10)
    from pyroaring import BitMap
    import itertools

    members = BitMap(itertools.islice(members, target)) if len(members) > target else members
    for cols in ([], ["age", "spend_90d"] if not args.five_only else ["age"]):
        t = time.perf_counter()
        ords = np.frombuffer(memoryview(members.to_array()), dtype=np.uint32)
        rows_written = table.export(ords, index.take(members), cols, work / "export.parquet", "parquet")
        secs = time.perf_counter() - t
        out.setdefault("export", []).append({"users": rows_written, "columns": ["user_id", *cols], "seconds": round(secs, 3)})
        print(f"export {rows_written:,} users ({', '.join(['user_id', *cols])}) to Parquet: {secs:.2f} s", flush=True)

    if not args.no_duckdb:
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        t = time.perf_counter()
        con.execute(f"CREATE TABLE profiles AS SELECT * FROM read_parquet('{profiles}')")
        print(f"DuckDB {duckdb.__version__}: loaded the profile table in memory in {time.perf_counter() - t:.1f} s "
              f"({con.execute('SELECT current_setting(' + repr('threads') + ')').fetchone()[0]} threads)", flush=True)
        for r, (label, kind, expr) in zip(rows, suite):
            sql = f"SELECT count(*) FROM profiles WHERE {where(bind(expr, tagmap, clock))}"
            got = con.execute(sql).fetchone()[0]
            assert got == r["size"], (label, got, r["size"])
            times = []
            for _ in range(args.duckdb_repeat):
                t = time.perf_counter()
                con.execute(sql).fetchone()
                times.append((time.perf_counter() - t) * 1000)
            r["duckdb_p50_ms"] = round(statistics.median(times), 2)
            r["duckdb_p99_ms"] = round(pct(times, 0.99), 2)
            r["speedup"] = round(r["duckdb_p50_ms"] / r["p50_ms"], 1)
        con.close()

    print(f"\nUsers {n:,} · tags {len(tags)} · index {out['bytes_per_user']} B/user, built in {out['index_build_s']} s")
    head = f"{'expression':24s} {'clauses':>7s} {'size':>11s} {'bitmap p50':>11s} {'p99':>8s}"
    head += "" if args.no_duckdb else f" {'DuckDB p50':>11s} {'p99':>8s} {'speed-up':>9s}"
    print(head)
    for r in rows:
        line = f"{r['label']:24s} {r['clauses']:>7d} {r['size']:>11,} {r['p50_ms']:>9.2f}ms {r['p99_ms']:>6.2f}ms"
        if "speedup" in r:
            line += f" {r['duckdb_p50_ms']:>9.1f}ms {r['duckdb_p99_ms']:>6.1f}ms {r['speedup']:>8.1f}×"
        print(line)
    if not args.no_duckdb:
        ratios = [r["speedup"] for r in rows]
        out["geomean_speedup"] = round(math.exp(sum(math.log(x) for x in ratios) / len(ratios)), 2)
        five = [r for r in rows if r["kind"] == "five"]
        wset = [r for r in rows if r["kind"] == "wset"]
        print(f"\ngeometric mean speed-up over the suite: {out['geomean_speedup']}×   (target ≥ 5×)")
        for r in five:
            print(f"5-clause '{r['label']}': p50 {r['p50_ms']:.2f} ms (target ≤ {10 if n <= 10_000_000 else 100} ms), "
                  f"{r['speedup']}× DuckDB (target ≥ 3×)")
        for r in wset:
            print(f"weighted-set '{r['label']}': {r['speedup']}× DuckDB (target ≥ 20×)")
    out["suite"] = rows
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    if args.dir is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
