"""Build benchmark: Portrait's full-catalog build on synthetic events vs three references.

    python bench/build.py                       # 1M and 10M events (the acceptance sizes)
    python bench/build.py --events 1e6 --check  # 1M only, and check the references agree with Portrait
    python bench/build.py --events 1e8          # 100M (pandas skipped above 20M; see --pandas-max)

For each size: generate (or reuse) seeded Parquet events with `portrait.synthetic`, write two
projects over them (the full catalog; and one holding only the rfm/activity/interest tags) and
time, each in its own child process so its peak RSS is its own (os.wait4 rusage, plus psutil
sampling as a cross-check):

  build_full   portrait.pipeline.build of the full catalog (ingest + tags + stats + publish)
  build_tags   the same on the rfm/activity/interest-only catalog; its timings['tags'] is the
               tag-compute phase alone (loading the events store into the engine, the tags, the
               profile table and its Parquet file)
  pandas       (a) plain pandas rfm/activity/interest: read Parquet, groupby/merge, write Parquet
  hand_sql     (b) hand-written DuckDB SQL for the same tags over the same Parquet (the floor)
  scan         (c) one scan-and-aggregate in DuckDB: count, sum(amount), max(event_time) by user

See bench/README.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

TAG_COLUMNS = [
    "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_score", "rfm_segment",
    "active_days_30d", "active_days_90d", "preferred_weekday", "preferred_hour", "first_active_at",
    "last_active_at", "events_total", "interest_category", "top_category",
]
BEHAVIOUR = {"purchase": 1.0, "cart": 0.6, "view": 0.2, "return": -1.0}  # the interest built-in's defaults here
HALF_LIFE_DAYS = 30.0
TOP_N = 10
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# ------------------------------------------------------------------------------------------------
# (b) hand-written DuckDB SQL: what a skilled engineer writes for exactly these tags and this data
# ------------------------------------------------------------------------------------------------

def segment_case(r: str, f: str) -> str:
    from portrait.tags.builtins.rfm import segment_of

    cells = {}
    for ri in range(1, 6):
        for fi in range(1, 6):
            cells.setdefault(segment_of(ri, fi), []).append(ri * 10 + fi)
    whens = " ".join(f"WHEN {r} * 10 + {f} IN ({', '.join(map(str, v))}) THEN '{k}'" for k, v in cells.items())
    return f"CASE {whens} END"


def hand_sql(events_glob: str, as_of: datetime, out: str) -> list[str]:
    """Statements computing the rfm/activity/interest tags into one profile Parquet file."""
    asof_day = as_of.date()  # as_of is local midnight in the project time zone
    day30, day90 = asof_day - timedelta(days=30), asof_day - timedelta(days=90)
    asof_us = int(as_of.timestamp() * 1_000_000)
    k = -math.log(2) / (HALF_LIFE_DAYS * 86400e6)
    bw = " ".join(f"WHEN '{t}' THEN {w}" for t, w in BEHAVIOUR.items())
    weekday = " ".join(f"WHEN {i} THEN '{d}'" for i, d in enumerate(WEEKDAYS, start=1))
    ev = f"read_parquet('{events_glob}')"  # each query reads only its columns (faster than a temp table)
    return [
        # activity: one row per user and 15-minute UTC bucket (integer arithmetic, no time-zone work per
        # event; every zone's offset is a multiple of 15 minutes), buckets → local time, then per user
        f"""CREATE TEMP TABLE act AS
        WITH q AS (
            SELECT user_id, epoch_us(event_time) // 900000000 AS q, count(*) AS n,
                   min(event_time) AS f, max(event_time) AS l
            FROM {ev} GROUP BY ALL
        ), h AS (
            SELECT user_id, to_timestamp(q * 900)::TIMESTAMP AS lq, n, f, l FROM q
        ), d AS (
            SELECT user_id, lq::DATE AS day, sum(n) AS n, min(f) AS f, max(l) AS l FROM h GROUP BY ALL
        ), w AS (
            SELECT user_id, arg_max(dow, n * 8 + (7 - dow)) AS dow FROM (
                SELECT user_id, isodow(day) AS dow, sum(n) AS n FROM d GROUP BY ALL) GROUP BY ALL
        ), hr AS (
            SELECT user_id, arg_max(hh, n * 24 + (23 - hh)) AS hh FROM (
                SELECT user_id, hour(lq) AS hh, sum(n) AS n FROM h GROUP BY ALL) GROUP BY ALL
        ), t AS (
            SELECT user_id, count(*) FILTER (WHERE day >= DATE '{day30}') AS active_days_30d,
                   count(*) FILTER (WHERE day >= DATE '{day90}') AS active_days_90d,
                   min(f) AS first_active_at, max(l) AS last_active_at, sum(n)::BIGINT AS events_total
            FROM d GROUP BY ALL
        )
        SELECT t.user_id, active_days_30d, active_days_90d, CASE w.dow {weekday} END AS preferred_weekday,
               hr.hh::BIGINT AS preferred_hour, first_active_at, last_active_at, events_total
        FROM t JOIN w USING (user_id) JOIN hr USING (user_id)""",
        f"""CREATE TEMP TABLE rfm AS
        WITH a AS (
            SELECT user_id,
                   date_diff('day', (max(event_time) FILTER (WHERE event_type = 'purchase'))::DATE,
                             DATE '{asof_day}') AS recency_days,
                   count(DISTINCT order_id) FILTER (WHERE event_type = 'purchase') AS frequency,
                   round(sum(CASE WHEN event_type = 'purchase' THEN amount ELSE -abs(amount) END), 2) AS monetary
            FROM {ev} WHERE event_type IN ('purchase', 'return') GROUP BY ALL
        ), s AS (
            SELECT user_id,
                   least(5, 1 + floor(percent_rank() OVER (ORDER BY recency_days DESC) * 5))::BIGINT AS r_score,
                   least(5, 1 + floor(percent_rank() OVER (ORDER BY frequency) * 5))::BIGINT AS f_score,
                   least(5, 1 + floor(percent_rank() OVER (ORDER BY monetary) * 5))::BIGINT AS m_score
            FROM a WHERE frequency > 0
        )
        SELECT a.*, r_score, f_score, m_score, r_score::VARCHAR || f_score || m_score AS rfm_score,
               {segment_case('r_score', 'f_score')} AS rfm_segment
        FROM a LEFT JOIN s USING (user_id)""",
        f"""CREATE TEMP TABLE interest AS
        WITH pu AS (
            SELECT user_id, category AS key,
                   sum(CASE event_type {bw} END * exp({k!r} * ({asof_us} - epoch_us(event_time)))) AS w
            FROM {ev} WHERE category IS NOT NULL GROUP BY ALL
        ), df AS (
            SELECT key, ln((1.0 + (SELECT count(DISTINCT user_id) FROM pu)) / (1.0 + count(*))) + 1.0 AS idf
            FROM pu GROUP BY key
        ), sc AS (
            SELECT user_id, key, w * idf AS w FROM pu JOIN df USING (key)
        ), nm AS (
            SELECT user_id, key, round(w / nullif(max(abs(w)) OVER (PARTITION BY user_id), 0), 9) AS w FROM sc
        ), rk AS (
            SELECT user_id, key, w, row_number() OVER (PARTITION BY user_id ORDER BY w DESC, key) AS rn
            FROM nm WHERE w <> 0 QUALIFY rn <= {TOP_N}
        )
        SELECT user_id, list(struct_pack(key := key, weight := w) ORDER BY rn) AS interest_category,
               min(key) FILTER (WHERE rn = 1 AND w > 0) AS top_category
        FROM rk GROUP BY user_id""",
        f"""COPY (
            SELECT act.user_id, {', '.join(c for c in TAG_COLUMNS if c not in ('interest_category', 'top_category'))},
                   interest_category, top_category
            FROM act LEFT JOIN rfm USING (user_id) LEFT JOIN interest USING (user_id)
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)""",
    ]


def scan_sql(events_glob: str) -> str:
    return (f"CREATE TEMP TABLE scan AS SELECT user_id, count(*) AS n, sum(amount) AS amount, "
            f"max(event_time) AS last_at FROM read_parquet('{events_glob}') GROUP BY user_id")


# ------------------------------------------------------------------------------------------------
# (a) plain pandas: what users write today (read_parquet, groupby, merge)
# ------------------------------------------------------------------------------------------------

def pandas_profiles(events_glob: str, as_of: datetime, tz: str, out: str) -> int:
    import numpy as np
    import pandas as pd
    from portrait.tags.builtins.rfm import segment_of

    df = pd.read_parquet(Path(events_glob).parent,
                         columns=["user_id", "event_time", "event_type", "order_id", "category", "amount"])
    asof = pd.Timestamp(as_of)
    local = df["event_time"].dt.tz_convert(tz)

    # RFM
    buys = df[df["event_type"] == "purchase"]
    rets = df[df["event_type"] == "return"]
    g = buys.groupby("user_id")
    rfm = pd.DataFrame({
        "last": g["event_time"].max(),
        "frequency": g["order_id"].nunique(),
        "spend": g["amount"].sum(),
    }).join(rets["amount"].abs().groupby(rets["user_id"]).sum().rename("refund"), how="outer")
    rfm["frequency"] = rfm["frequency"].fillna(0).astype("int64")
    rfm["monetary"] = (rfm["spend"].fillna(0) - rfm["refund"].fillna(0)).round(2)
    last_day = rfm["last"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    rfm["recency_days"] = (pd.Timestamp(asof.tz_convert(tz).date()) - last_day).dt.days.astype("Int64")
    buyers = rfm[rfm["frequency"] > 0]
    n = len(buyers)

    def score(col: str, ascending: bool) -> pd.Series:
        pr = (buyers[col].rank(method="min", ascending=ascending) - 1) / max(n - 1, 1)
        return np.minimum(5, 1 + np.floor(pr * 5)).astype("int64")

    rfm["r_score"] = score("recency_days", False).astype("Int64")
    rfm["f_score"] = score("frequency", True).astype("Int64")
    rfm["m_score"] = score("monetary", True).astype("Int64")
    rfm["rfm_score"] = (rfm["r_score"].astype("string") + rfm["f_score"].astype("string")
                        + rfm["m_score"].astype("string"))
    seg = {(r, f): segment_of(r, f) for r in range(1, 6) for f in range(1, 6)}
    rfm["rfm_segment"] = [seg.get((r, f)) if r is not pd.NA else None
                          for r, f in zip(rfm["r_score"], rfm["f_score"])]

    # activity
    df["day"] = local.dt.normalize()
    g = df.groupby("user_id")
    act = pd.DataFrame({
        "first_active_at": g["event_time"].min(),
        "last_active_at": g["event_time"].max(),
        "events_total": g.size(),
    })
    for days in (30, 90):
        since = asof.tz_convert(tz) - pd.Timedelta(days=days)
        recent = df[df["event_time"] >= since]
        act[f"active_days_{days}d"] = recent.groupby("user_id")["day"].nunique()
        act[f"active_days_{days}d"] = act[f"active_days_{days}d"].fillna(0).astype("int64")
    for col, values in (("dow", local.dt.day_of_week), ("hour", local.dt.hour)):
        counts = df.assign(v=values).groupby(["user_id", "v"]).size().rename("n").reset_index()
        best = counts.sort_values(["user_id", "n", "v"], ascending=[True, False, True]).drop_duplicates("user_id")
        act[col] = best.set_index("user_id")["v"]
    act["preferred_weekday"] = act.pop("dow").map(dict(enumerate(WEEKDAYS)))
    act["preferred_hour"] = act.pop("hour").astype("int64")

    # interest
    ev = df[df["category"].notna()]
    age_us = (asof - ev["event_time"]).dt.total_seconds() * 1e6
    w = ev["event_type"].map(BEHAVIOUR) * np.exp(-math.log(2) / (HALF_LIFE_DAYS * 86400e6) * age_us)
    per = w.groupby([ev["user_id"], ev["category"]]).sum().rename("w").reset_index()
    n_users = per["user_id"].nunique()
    dfk = per.groupby("category")["user_id"].size()
    per["w"] = per["w"] * (np.log((1.0 + n_users) / (1.0 + per["category"].map(dfk))) + 1.0)
    per["w"] = (per["w"] / per["w"].abs().groupby(per["user_id"]).transform("max").replace(0, np.nan)).round(9)
    per = per[per["w"].notna() & (per["w"] != 0)]
    per = per.sort_values(["user_id", "w", "category"], ascending=[True, False, True])
    top = per.groupby("user_id").head(TOP_N)
    gi = top.groupby("user_id")
    interest = pd.DataFrame({"interest_keys": gi["category"].agg(list), "interest_weights": gi["w"].agg(list)})
    first = top.drop_duplicates("user_id").set_index("user_id")
    interest["top_category"] = first["category"].where(first["w"] > 0)

    prof = act.join(rfm.drop(columns=["last", "spend", "refund"]), how="left").join(interest, how="left")
    prof.index.name = "user_id"
    prof.reset_index().to_parquet(out, index=False)
    return len(prof)


# ------------------------------------------------------------------------------------------------
# child processes: each measurement runs alone so its peak RSS is its own
# ------------------------------------------------------------------------------------------------

def _cpu() -> float:
    """CPU seconds (user + system, all threads) of this process so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _child(kind: str, spec: dict) -> dict:
    """One measurement; `seconds` is wall time of the timed work, `cpu_seconds` its CPU time."""
    out = _timed(kind, spec)
    out["cpu_seconds"] = _cpu() - out.pop("_cpu0")
    return out


def _timed(kind: str, spec: dict) -> dict:
    out: dict = {}
    if kind in ("build_full", "build_tags"):
        from portrait.pipeline import build

        marks: list[tuple[str, float, float]] = []  # (step, wall, cpu) at each step start

        def on_step(name: str) -> None:
            marks.append((name, time.perf_counter(), _cpu()))

        out["_cpu0"], t = _cpu(), time.perf_counter()
        result = build(spec["project"], on_step=on_step)
        marks.append(("end", time.perf_counter(), _cpu()))
        out["seconds"] = time.perf_counter() - t
        out["timings"] = dict(result.timings)
        # per step wall and CPU seconds ("compute tags" ≈ timings['tags'], plus engine start-up)
        out["steps"] = {a[0]: {"seconds": b[1] - a[1], "cpu_seconds": b[2] - a[2]} for a, b in zip(marks, marks[1:])}
        out["build_seconds"] = result.seconds
        out["profiles"] = str(result.snapshot.file("profiles"))
        out["users"] = result.snapshot.manifest.users
        out["events"] = result.snapshot.manifest.events
        out["as_of"] = result.snapshot.manifest.as_of.isoformat()
        out["slowest_tags"] = sorted(((r.tag_id, r.seconds) for r in result.runs), key=lambda x: -x[1])[:5]
        return out
    as_of = datetime.fromisoformat(spec["as_of"])
    if kind == "pandas":
        import numpy  # noqa: F401  (imports are not part of the timed work, as for the build)
        import pandas  # noqa: F401

        out["_cpu0"], t = _cpu(), time.perf_counter()
        out["users"] = pandas_profiles(spec["events_glob"], as_of, spec["timezone"], spec["out"])
        out["seconds"] = time.perf_counter() - t
        out["profiles"] = spec["out"]
        return out
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{spec['timezone']}'")
    con.execute(f"SET temp_directory = '{spec['tmp']}'")
    con.execute("SET preserve_insertion_order = false")
    if spec.get("memory_limit"):
        con.execute(f"SET memory_limit = '{spec['memory_limit']}'")
    statements = hand_sql(spec["events_glob"], as_of, spec["out"]) if kind == "hand_sql" else []
    out["_cpu0"], t = _cpu(), time.perf_counter()
    if kind == "hand_sql":
        for stmt in statements:
            con.execute(stmt)
        out["profiles"] = spec["out"]
    elif kind == "scan":
        con.execute(scan_sql(spec["events_glob"]))
    else:
        raise SystemExit(f"unknown child kind {kind}")
    out["seconds"] = time.perf_counter() - t
    return out


def run_child(kind: str, spec: dict, result_file: Path, timeout: float, min_free_disk: float = 0) -> dict:
    """Run one measurement in a fresh interpreter; returns its JSON plus peak RSS (bytes).

    The child runs in the size's work folder, so anything an engine spills to a relative temp
    folder (DuckDB's default `.tmp` for in-memory databases) lands there, not in the repository."""
    import psutil

    result_file.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, json.dumps(spec), str(result_file)], env=env,
                            cwd=result_file.parent)
    ps = psutil.Process(proc.pid)
    sampled, start, load0 = 0, time.monotonic(), os.getloadavg()[0]
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            sampled = max(sampled, ps.memory_info().rss)
        except psutil.Error:
            pass
        stop = None
        if time.monotonic() - start > timeout:
            stop = f"timed out after {timeout:.0f} s"
        elif min_free_disk and shutil.disk_usage(result_file.parent).free < min_free_disk:
            stop = f"stopped after {time.monotonic() - start:.0f} s: free disk below {fmt_bytes(min_free_disk)} (spilling)"
        if stop:
            os.kill(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            # a killed DuckDB leaves its spill files behind (ingest spills to portrait-duckdb-<pid>)
            shutil.rmtree(Path(tempfile.gettempdir()) / f"portrait-duckdb-{proc.pid}", ignore_errors=True)
            return {"error": stop, "peak_rss": usage.ru_maxrss * 1024, "psutil_rss": sampled,
                    "load": [round(load0, 2), round(os.getloadavg()[0], 2)]}
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is KiB on Linux; the load average tells whether other work competed for the cores
    out = {"peak_rss": usage.ru_maxrss * 1024, "psutil_rss": sampled,
           "load": [round(load0, 2), round(os.getloadavg()[0], 2)]}
    if proc.returncode != 0 or not result_file.exists():
        out["error"] = f"exit code {proc.returncode}"
        return out
    out.update(json.loads(result_file.read_text()))
    return out


# ------------------------------------------------------------------------------------------------
# --check: the references compute what Portrait computes
# ------------------------------------------------------------------------------------------------

def check(portrait_file: str, pandas_file: str | None, hand_file: str | None) -> list[str]:
    import numpy as np
    import pandas as pd

    got = pd.read_parquet(portrait_file).set_index("user_id")
    problems: list[str] = []
    refs = [(n, f) for n, f in (("pandas", pandas_file), ("hand_sql", hand_file)) if f]
    for name, file in refs:
        ref = pd.read_parquet(file).set_index("user_id")
        if name == "pandas":
            ref["interest_category"] = [
                None if k is None or (isinstance(k, float)) else [{"key": a, "weight": b} for a, b in zip(k, w)]
                for k, w in zip(ref.pop("interest_keys"), ref.pop("interest_weights"))
            ]
        if set(ref.index) != set(got.index):
            problems.append(f"{name}: users differ ({len(ref)} vs Portrait {len(got)})")
        ref = ref.reindex(got.index)
        lines = []
        for col in TAG_COLUMNS:
            a, b = got[col], ref[col]
            if col == "interest_category":
                bad = sum(not _same_weights(x, y) for x, y in zip(a, b))
            elif col == "top_category":
                bad = sum(not (x == y or (_null(x) and _null(y)) or _tie(w, x, y))
                          for x, y, w in zip(a, b, got["interest_category"]))
            elif col == "monetary":
                bad = int((~(np.isclose(a.astype(float), b.astype(float), atol=0.0105)
                             | (a.isna() & b.isna()))).sum())
            elif col in ("first_active_at", "last_active_at"):
                bad = int((pd.to_datetime(a, utc=True) != pd.to_datetime(b, utc=True)).sum())
            else:
                aa, bb = a.astype(object).where(a.notna(), None), b.astype(object).where(b.notna(), None)
                bad = sum(not (x == y or (x is None and y is None)) for x, y in zip(aa, bb))
            lines.append(f"{col}={bad}")
            if bad:
                problems.append(f"{name}: {col} differs for {bad} of {len(got)} users")
        print(f"  check {name:8s} vs Portrait ({len(got):,} users), mismatches: " + ", ".join(lines))
    return problems


def _null(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _same_weights(x, y) -> bool:
    """Equal weighted sets: same keys, weights within 1e-6 (a key tied at the top-N cut-off may differ)."""
    x = [] if x is None or isinstance(x, float) else list(x)
    y = [] if y is None or isinstance(y, float) else list(y)
    if len(x) != len(y):
        return False
    dx = {e["key"]: e["weight"] for e in x}
    dy = {e["key"]: e["weight"] for e in y}
    if set(dx) == set(dy):
        return all(abs(dx[k] - dy[k]) < 1e-6 for k in dx)
    return all(abs(a - b) < 1e-6 for a, b in zip(sorted(dx.values()), sorted(dy.values())))


def _tie(weights, x, y) -> bool:
    """Two top keys within 1e-6 of each other: either is right up to float summation order."""
    if weights is None or len(weights) < 2:
        return False
    return abs(weights[0]["weight"] - weights[1]["weight"]) < 1e-6


# ------------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------------

def fmt_bytes(n: float | None) -> str:
    return "-" if not n else f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} s"


def bench_size(n: int, args) -> dict:
    from portrait.synthetic import GeneratedData, SyntheticSpec, generate, write_project

    work = Path(args.workdir) / f"events-{n}"
    data_dir = work / "data"
    spec = SyntheticSpec(events=n, seed=args.seed)
    data = None
    if (data_dir / "synthetic.json").exists():
        old = GeneratedData.load(data_dir)
        if old.spec == spec:
            data = old
    print(f"\n=== {n:,} events (seed {args.seed}) ===", flush=True)
    if data is None:
        t = time.perf_counter()
        data = generate(data_dir, n, args.seed)
        print(f"generated {len(data.files)} Parquet files in {time.perf_counter() - t:.1f} s", flush=True)
    else:
        print(f"reusing {data_dir}", flush=True)
    as_of = data.data_clock()
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    full = write_project(work / "project-full", data, threads=args.threads, memory_limit=args.memory_limit)
    tags = write_project(work / "project-tags", data, name=f"synthetic-{n}-builtins", sql_tags=False,
                         threads=args.threads, memory_limit=args.memory_limit)
    common = {"events_glob": data.events_glob, "as_of": as_of.isoformat(), "timezone": data.spec.timezone,
              "tmp": str(tmp), "memory_limit": args.memory_limit}
    plan = [("scan", dict(common)),
            ("hand_sql", dict(common, out=str(work / "hand_sql.parquet"))),
            ("pandas", dict(common, out=str(work / "pandas.parquet"))),
            ("build_tags", {"project": str(tags)}),
            ("build_full", {"project": str(full)})]
    only = set(args.only.split(",")) if args.only else None
    results: dict[str, dict] = {}
    for kind, cspec in plan:
        if only and kind not in only:
            continue
        if kind == "pandas" and n > args.pandas_max:
            print(f"  {kind:10s} skipped (> --pandas-max {args.pandas_max:,} events)", flush=True)
            continue
        runs = [run_child(kind, cspec, work / f"{kind}.json", args.timeout, args.min_free_disk * 2**30)
                for _ in range(args.repeat)]
        ok = [r for r in runs if "error" not in r]
        r = min(ok, key=lambda r: r["seconds"]) if ok else runs[0]
        r["peak_rss"] = max(x["peak_rss"] for x in runs)
        results[kind] = r
        print("  " + line(kind, r), flush=True)
    summary = summarise(n, results)
    if args.check:
        mine = next((r["profiles"] for k in ("build_tags", "build_full") if "profiles" in (r := results.get(k, {}))), None)
        if mine is None:
            problems = ["no Portrait profiles to check (the build failed or was not run)"]
        else:
            problems = check(mine, results.get("pandas", {}).get("profiles"), results.get("hand_sql", {}).get("profiles"))
        summary["check"] = problems or "ok"
        print("  check: " + ("OK, the references compute the same values" if not problems else "; ".join(problems)))
    (work / "results.json").write_text(json.dumps({"results": results, "summary": summary}, indent=1, default=str))
    return summary


def line(kind: str, r: dict) -> str:
    if "error" in r:
        return f"{kind:10s} ERROR {r['error']}  peak RSS {fmt_bytes(r.get('peak_rss'))}"
    text = (f"{kind:10s} {fmt_s(r['seconds']):>9s} wall {fmt_s(r['cpu_seconds']):>9s} CPU"
            f"  peak RSS {fmt_bytes(r['peak_rss']):>9s}  load {r['load'][0]}→{r['load'][1]}")
    if "steps" in r:
        text += "\n" + " " * 14 + ", ".join(
            f"{k} {v['seconds']:.2f}/{v['cpu_seconds']:.2f}" for k, v in r["steps"].items() if v["seconds"] >= 0.01
        ) + "  (s wall/CPU)"
    return text


def summarise(n: int, r: dict) -> dict:
    """Every figure of one size, both in wall seconds and in CPU seconds (robust to a busy machine)."""
    def get(kind: str, key: str, step: str | None = None):
        v = r.get(kind)
        if not v or "error" in v:
            return None
        return v["steps"].get(step, {}).get(key) if step else v.get(key)

    out: dict = {"events": n}
    for key in ("seconds", "cpu_seconds"):
        unit = "s" if key == "seconds" else "cpu_s"
        vals = {
            "build_full": get("build_full", key), "build_tags": get("build_tags", key),
            "tag_phase": get("build_tags", key, "compute tags"),
            "pandas": get("pandas", key), "hand_sql": get("hand_sql", key), "scan": get("scan", key),
        }
        out.update({f"{k}_{unit}": v for k, v in vals.items()})

        def ratio(a, b):
            return vals[a] / vals[b] if vals[a] and vals[b] else None

        out[f"ratios_{unit}"] = {
            "pandas / full build": ratio("pandas", "build_full"),
            "pandas / hand SQL (the floor's lead)": ratio("pandas", "hand_sql"),
            "pandas / rfm+activity+interest build": ratio("pandas", "build_tags"),
            "rfm+activity+interest build / hand SQL": ratio("build_tags", "hand_sql"),
            "tag phase / hand SQL": ratio("tag_phase", "hand_sql"),
            "hand SQL / scan": ratio("hand_sql", "scan"),
            "full build / scan": ratio("build_full", "scan"),
        }
    full = out["build_full_s"]
    out["events_per_s"] = n / full if full else None
    out["build_full_peak_rss"] = get("build_full", "peak_rss")
    out["peak_rss"] = {k: v.get("peak_rss") for k, v in r.items()}
    print(f"  -> full build {fmt_s(full)} = {out['events_per_s'] or 0:,.0f} events/s, "
          f"peak RSS {fmt_bytes(out['build_full_peak_rss'])}; tag phase (rfm/activity/interest only) "
          f"{fmt_s(out['tag_phase_s'])}")
    targets = {"pandas / full build": "target ≥ 10", "rfm+activity+interest build / hand SQL": "target ≤ 1.5",
               "tag phase / hand SQL": "target ≤ 1.5"}
    print(f"     {'ratio':40s} {'wall':>8s} {'CPU':>8s}")
    for label in out["ratios_s"]:
        w, c = out["ratios_s"][label], out["ratios_cpu_s"][label]
        print(f"     {label:40s} {'-' if w is None else f'{w:.2f}×':>8s} {'-' if c is None else f'{c:.2f}×':>8s}"
              f"  {targets.get(label, '')}")
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, kind, spec, result_file = sys.argv
        out = _child(kind, json.loads(spec))
        Path(result_file).write_text(json.dumps(out, default=str))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--events", type=float, nargs="+", default=[1e6, 1e7],
                    help="sizes to run (default: 1e6 1e7); 1e8 for the 100M run")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workdir", default=os.environ.get("PORTRAIT_BENCH_DIR", "/tmp/portrait-bench"),
                    help="data, projects and results (default /tmp/portrait-bench or $PORTRAIT_BENCH_DIR)")
    ap.add_argument("--check", action="store_true",
                    help="compare the pandas and hand-SQL profiles with Portrait's, user by user")
    ap.add_argument("--only", help="comma list of: scan,hand_sql,pandas,build_tags,build_full")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is reported")
    ap.add_argument("--pandas-max", type=float, default=20e6, help="skip pandas above this many events")
    ap.add_argument("--timeout", type=float, default=4 * 3600, help="per measurement, seconds")
    ap.add_argument("--min-free-disk", type=float, default=10,
                    help="GiB: stop a measurement whose spilling leaves less free disk than this (default 10)")
    ap.add_argument("--threads", type=int, help="engine threads for the Portrait projects (default DuckDB's)")
    ap.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 12GB: the Portrait projects' engine and "
                                           "the SQL references (default DuckDB's, 80%% of RAM)")
    ap.add_argument("--report", action="store_true", help="print the last results of each size again, run nothing")
    args = ap.parse_args()
    if args.report:
        for n in args.events:
            file = Path(args.workdir) / f"events-{int(n)}" / "results.json"
            if not file.exists():
                print(f"no results for {int(n):,} events in {file.parent}")
                continue
            saved = json.loads(file.read_text())
            print(f"\n=== {int(n):,} events ({time.ctime(file.stat().st_mtime)}) ===")
            for kind, r in saved["results"].items():
                print("  " + line(kind, r))
            summarise(int(n), saved["results"])
            if "check" in saved["summary"]:
                print(f"  check: {saved['summary']['check']}")
        return
    summaries = [bench_size(int(n), args) for n in args.events]
    out = Path(args.workdir) / "summary.json"
    out.write_text(json.dumps(summaries, indent=1, default=str))
    print(f"\nsummary: {out}")


if __name__ == "__main__":
    main()
