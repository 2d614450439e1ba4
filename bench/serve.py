"""Benchmark of the profile service on a synthetic 1M-user snapshot (loopback only, bounded).

    python bench/serve.py [--users 1000000] [--seconds 10] [--rate 500] [--keep DIR]

1. Builds a snapshot of N synthetic users (profiles parquet → the real online-store builder,
   `portrait.online.artifact.build_online_store`, → published with the real SnapshotStore).
2. Starts `portrait serve` (uvicorn, one process) on 127.0.0.1.
3. Profile GET at a fixed 500 requests/s (open loop: latency is measured from the scheduled send
   time, so a stall counts against every request queued behind it) → p50 / p99.
4. Closed-loop throughput, profile GET vs the trivial GET /healthz of the same server, with wrk
   if installed (random user ids via a Lua script), else with the built-in asyncio client.
5. Durable event ingest: POST /v1/events in batches of 1,000 (each batch fsync'd) → events/s.
Every phase is bounded in requests and seconds. Results are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from portrait import __version__  # noqa: E402
from portrait.engine.duckdb_engine import DuckDBEngine  # noqa: E402
from portrait.online.artifact import build_online_store  # noqa: E402
from portrait.privacy.access import AccessStore  # noqa: E402
from portrait.snapshot.manifest import Manifest, TagEntry  # noqa: E402
from portrait.snapshot.store import SnapshotStore  # noqa: E402

TAGS = [  # id, type, taxonomy, sql over range i
    ("events_total", "integer", ["行为特征", "活跃度"], "CAST(i % 997 AS BIGINT)"),
    ("active_days_30d", "integer", ["行为特征", "活跃度"], "CAST(i % 31 AS BIGINT)"),
    ("spend_90d", "number", ["消费特征", "金额"], "round((i % 10007) * 1.37, 2)::DOUBLE"),
    ("avg_order_value", "number", ["消费特征", "金额"], "round((i % 503) * 2.11, 2)::DOUBLE"),
    ("purchasing_power", "enum", ["消费特征", "购买力"], "['low', 'mid', 'high'][1 + i % 3]"),
    ("lifecycle_stage", "enum", ["生命周期"], "['new', 'growing', 'mature', 'dormant', 'churned'][1 + i % 5]"),
    ("high_value", "bool", ["用户价值"], "i % 7 = 0"),
    ("last_active_at", "timestamp", ["行为特征", "活跃度"], "TIMESTAMPTZ '2026-01-01 00:00:00+00' - to_seconds(i % 8640000)"),
    ("country", "string", ["人口属性", "地域"], "['United Kingdom', 'Germany', 'France', 'Spain'][1 + i % 4]"),
    ("email", "string", ["人口属性", "联系方式"], "'user' || i || '@example.com'"),
    ("interest_category", "weighted_set", ["兴趣偏好", "品类偏好"],
     "[{'key': 'BAG', 'weight': 1.0}, {'key': 'MUG', 'weight': round((i % 100) / 100.0, 2)::DOUBLE}, "
     "{'key': 'CANDLE', 'weight': round((i % 37) / 37.0, 2)::DOUBLE}]"),
    ("top_category", "string", ["兴趣偏好", "品类偏好"], "'BAG'"),
]
ENUMS = {"purchasing_power": ["low", "mid", "high"], "lifecycle_stage": ["new", "growing", "mature", "dormant", "churned"]}


def make_snapshot(root: Path, users: int) -> tuple[str, dict]:
    """A project folder with one published snapshot of `users` synthetic profiles; returns (id, timings)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "portrait.yaml").write_text("name: bench\ntimezone: UTC\nsources: []\n")
    store = SnapshotStore(root / "warehouse")
    as_of = datetime(2026, 1, 1, tzinfo=timezone.utc)
    staging = store.begin(datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ"))
    timings = {}
    t = time.perf_counter()
    cols = ", ".join(f'{sql} AS "{tid}"' for tid, _, _, sql in TAGS)
    with DuckDBEngine(timezone="UTC", as_of=as_of, temp_dir=str(root / "tmp")) as engine:
        engine.create_table("profiles", f"SELECT 'u' || i AS user_id, {cols} FROM range({users}) r(i)")
        engine.write_parquet("SELECT * FROM profiles", str(staging.file("profiles.parquet")))
        timings["profiles_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        files = build_online_store(staging.path, None, engine)
        timings["online_store_seconds"] = time.perf_counter() - t
    catalog = [{"id": tid, "name": {"en": tid}, "taxonomy": tax, "kind": "statistic", "type": ty, "owner": "bench",
                "pii": tid == "email", "values": ENUMS.get(tid), "sql": sql} for tid, ty, tax, sql in TAGS]
    staging.file("catalog.json").write_text(json.dumps(catalog, ensure_ascii=False))
    staging.file("tag_stats.json").write_text(json.dumps({tid: {"coverage": 1.0} for tid, *_ in TAGS}))
    now = datetime.now(timezone.utc)
    manifest = Manifest(
        snapshot_id=staging.snapshot_id, project="bench", created_at=now, as_of=as_of, as_of_requested=False,
        timezone="UTC", engine="duckdb", portrait_version=__version__, parent=None, catalog_hash="bench",
        users=users, events=0, quarantined=0, sources=[],
        tags=[TagEntry(id=tid, definition_hash="bench", depends_on=[], coverage=1.0, computed_at=now) for tid, *_ in TAGS],
        files={"profiles": "profiles.parquet", "catalog": "catalog.json", "tag_stats": "tag_stats.json", **files},
        build_seconds=sum(timings.values()))
    store.publish(staging, manifest)
    timings["online_store_mb"] = (staging.path.parent / staging.snapshot_id / "online.sqlite").stat().st_size / 1e6
    return staging.snapshot_id, timings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    """A keep-alive HTTP/1.1 connection with just enough parsing for our JSON answers (low client overhead)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, port: int) -> "Conn":
        r, w = await asyncio.open_connection("127.0.0.1", port)
        return cls(r, w, f"127.0.0.1:{port}")

    async def request(self, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            if k.lower() == "content-length":
                length = int(v)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def fixed_rate(port: int, key: str, users: int, rate: float, seconds: float, conns: int = 16) -> dict:
    """Open-loop load at `rate` requests/s for `seconds`; latency from the scheduled send time."""
    pool: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(conns):
        pool.put_nowait(await Conn.open(port))
    headers = {"X-API-Key": key}
    n = int(rate * seconds)
    lat: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        at = start + i / rate
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        c = await pool.get()
        try:
            status, _ = await c.request("GET", f"/v1/profiles/u{random.randrange(users)}", headers)
            errors += status != 200
        finally:
            pool.put_nowait(c)
        lat.append(time.perf_counter() - at)

    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    lat.sort()
    return {"requests": n, "errors": errors, "achieved_rps": n / elapsed,
            "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[int(len(lat) * 0.99)],
            "max_ms": 1000 * lat[-1], "mean_ms": 1000 * statistics.fmean(lat)}


async def closed_loop(port: int, key: str, path_fn, seconds: float, conns: int = 8) -> dict:
    """As many requests as `conns` connections complete in `seconds` (fallback when wrk is absent)."""
    deadline = time.perf_counter() + seconds
    counts, errors = [0] * conns, [0] * conns

    async def worker(k: int) -> None:
        c = await Conn.open(port)
        while time.perf_counter() < deadline:
            status, _ = await c.request("GET", path_fn(), {"X-API-Key": key})
            counts[k] += 1
            errors[k] += status != 200
        c.close()

    t = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(conns)))
    return {"rps": sum(counts) / (time.perf_counter() - t), "requests": sum(counts), "errors": sum(errors), "tool": "asyncio"}


WRK_LUA = """
math.randomseed(42)
request = function()
  return wrk.format("GET", "/v1/profiles/u" .. math.random(0, %d), {["X-API-Key"] = "%s"})
end
"""


def wrk(port: int, path: str, key: str, seconds: int, users: int | None, workdir: Path, conns: int = 8) -> dict:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-H", f"X-API-Key: {key}"]
    if users:
        script = workdir / "random_profile.lua"
        script.write_text(WRK_LUA % (users - 1, key))
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    non2xx = next((int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line), 0)
    p99 = next((line.split()[1] for line in out.splitlines() if line.strip().startswith("99%")), None)
    return {"rps": rps, "errors": non2xx, "p99": p99, "tool": "wrk"}


async def ingest(port: int, key: str, batches: int, size: int, seconds: float) -> dict:
    c = await Conn.open(port)
    now = datetime.now(timezone.utc)
    run = f"{time.time_ns():x}"  # fresh ids every run: a reused warehouse would count them as duplicates
    bodies = [json.dumps([{"event_id": f"bench-{run}-{b}-{i}", "user_id": f"u{random.randrange(1000)}",
                           "event_time": (now - timedelta(seconds=i)).isoformat(), "event_type": "purchase",
                           "category": "MUG", "amount": 3.5} for i in range(size)]).encode() for b in range(batches)]
    accepted, sent = 0, 0
    t = time.perf_counter()
    for body in bodies:
        status, resp = await c.request("POST", "/v1/events", {"X-API-Key": key}, body)
        assert status == 202, resp[:300]
        accepted += json.loads(resp)["data"]["accepted"]
        sent += 1
        if time.perf_counter() - t > seconds:
            break
    elapsed = time.perf_counter() - t
    c.close()
    return {"batches": sent, "batch_size": size, "accepted": accepted, "events_per_s": accepted / elapsed}


def server_histogram(port: int, route: str) -> dict[str, int]:
    """Cumulative bucket counts of the server's own latency histogram for one route (from /metrics)."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    prefix = f'portrait_http_request_duration_seconds_bucket{{route="{route}",le="'
    return {line[len(prefix):].split('"')[0]: int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith(prefix)}


def server_quantile(before: dict[str, int], after: dict[str, int], q: float) -> str:
    """Upper bound of the histogram bucket holding quantile q of the requests between two scrapes."""
    diff = {le: after[le] - before.get(le, 0) for le in after}
    total = diff.get("+Inf", 0)
    for le, n in diff.items():
        if total and n >= q * total:
            return "≤ +Inf" if le == "+Inf" else f"≤ {float(le) * 1000:g} ms"
    return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the fixed-rate phase")
    ap.add_argument("--throughput-seconds", type=int, default=5)
    ap.add_argument("--keep", type=Path, default=None, help="keep the synthetic project here (reused if present)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "serve-results.json")
    args = ap.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="portrait-bench-"))
    root = workdir / "project"
    results: dict = {"users": args.users}
    if (root / "warehouse" / "CURRENT").exists():
        print(f"reusing the snapshot in {root}")
    else:
        print(f"building a {args.users:,}-user snapshot in {root} …", flush=True)
        sid, timings = make_snapshot(root, args.users)
        results["build"] = timings
        print(f"  snapshot {sid}: {timings}", flush=True)
    access = AccessStore(root / "warehouse")
    reader = access.create_key("bench-reader", ["profiles:read"])["key"]
    writer = access.create_key("bench-writer", ["events:write"])["key"]
    access.close()

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    code = "import sys; from portrait.cli import main; sys.argv[0] = 'portrait'; main()"
    server = subprocess.Popen([sys.executable, "-c", code, "serve", "-p", str(root), "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        r = httpx.get(f"http://127.0.0.1:{port}/v1/profiles/u12345", headers={"X-API-Key": reader})
        assert r.status_code == 200, r.text
        asyncio.run(closed_loop(port, reader, lambda: f"/v1/profiles/u{random.randrange(args.users)}", 1.0))  # warm-up

        print(f"profile GET at {args.rate:.0f} req/s for {args.seconds:.0f} s …", flush=True)
        results["load_average_before"] = os.getloadavg()
        before = server_histogram(port, "/v1/profiles/{user_id}")
        results["fixed_rate"] = asyncio.run(fixed_rate(port, reader, args.users, args.rate, args.seconds))
        after = server_histogram(port, "/v1/profiles/{user_id}")
        results["fixed_rate"]["server_p50"] = server_quantile(before, after, 0.50)
        results["fixed_rate"]["server_p99"] = server_quantile(before, after, 0.99)
        results["load_average_after"] = os.getloadavg()
        print(f"  {results['fixed_rate']}", flush=True)

        print("closed-loop throughput: profile GET vs GET /healthz …", flush=True)
        if shutil.which("wrk"):
            results["throughput_profile"] = wrk(port, "/v1/profiles/u1", reader, args.throughput_seconds, args.users, workdir)
            results["throughput_trivial"] = wrk(port, "/healthz", reader, args.throughput_seconds, None, workdir)
        else:
            results["throughput_profile"] = asyncio.run(closed_loop(
                port, reader, lambda: f"/v1/profiles/u{random.randrange(args.users)}", args.throughput_seconds))
            results["throughput_trivial"] = asyncio.run(closed_loop(port, reader, lambda: "/healthz", args.throughput_seconds))
        ratio = results["throughput_profile"]["rps"] / results["throughput_trivial"]["rps"]
        results["cpu_count"] = os.cpu_count()
        results["profile_vs_trivial"] = ratio
        print(f"  profile {results['throughput_profile']}\n  trivial {results['throughput_trivial']}\n  ratio {ratio:.2f}")

        print("durable event ingest, batches of 1,000 …", flush=True)
        results["ingest"] = asyncio.run(ingest(port, writer, batches=40, size=1000, seconds=10))
        print(f"  {results['ingest']}", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)

    fr = results["fixed_rate"]
    results["targets"] = {
        "p99_le_10ms_at_500rps": fr["p99_ms"] <= 10 and fr["errors"] == 0 and fr["achieved_rps"] >= 0.95 * args.rate,
        "profile_ge_50pct_of_trivial": results["profile_vs_trivial"] >= 0.5,
        "ingest_ge_5000_events_per_s": results["ingest"]["events_per_s"] >= 5000,
    }
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results["targets"], indent=1))


if __name__ == "__main__":
    main()
