"""One conformance suite for every OnlineStore backend (SQLite always; Redis when reachable)."""

from __future__ import annotations

import json
import math
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import pytest

from portrait.online.base import OnlineStore, backend_for, open_store, store_class
from portrait.online.codec import decode, row_json_sql
from portrait.snapshot import SnapshotStore
from portrait.apps.profiles import get_profile, jsonable

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_reason() -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as e:  # noqa: BLE001 - any failure means: no server to test against
        return f"no Redis server on 127.0.0.1:6379 ({type(e).__name__})"
    return None


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "redis":
        reason = _redis_reason()
        if reason:
            pytest.skip(reason)
        spec = {"backend": "redis", "location": REDIS_URL, "namespace": f"portrait:test:{uuid.uuid4().hex}"}
    else:
        spec = {"backend": "sqlite", "location": "online.sqlite", "namespace": ""}
    s = open_store(spec, tmp_path, writable=True)
    yield s
    s.drop()
    s.close()


ROWS = [(f"u{i}", json.dumps({"user_id": f"u{i}", "n": i}).encode()) for i in range(2_500)]


def test_put_get(store: OnlineStore):
    assert store.put_many(iter(ROWS)) == len(ROWS)
    assert store.count() == len(ROWS)
    assert decode(store.get("u7")) == {"user_id": "u7", "n": 7}
    assert store.get("nobody") is None


def test_get_many_skips_missing_and_duplicates(store: OnlineStore):
    store.put_many(ROWS)
    got = store.get_many(["u1", "nobody", "u2", "u1"] + [f"u{i}" for i in range(1000, 2000)])
    assert set(got) == {"u1", "u2"} | {f"u{i}" for i in range(1000, 2000)}
    assert decode(got["u2"])["n"] == 2
    assert store.get_many([]) == {}


def test_put_replaces(store: OnlineStore):
    store.put_many(ROWS[:3])
    store.put_many([("u1", b'{"n": 100}')])
    assert decode(store.get("u1")) == {"n": 100}
    assert store.count() == 3


def test_unicode_and_odd_ids(store: OnlineStore):
    odd = ["用户-1", "a b", "x'y\"z", "%2F/", "é" * 200]
    store.put_many([(u, json.dumps({"u": u}, ensure_ascii=False).encode()) for u in odd])
    for u in odd:
        assert decode(store.get(u)) == {"u": u}


def test_delete_and_drop(store: OnlineStore):
    store.put_many(ROWS[:10])
    assert store.delete("u3") is True
    assert store.delete("u3") is False
    assert store.get("u3") is None and store.count() == 9
    store.drop()
    assert store.count() == 0


def test_backend_names():
    assert backend_for(None) == "sqlite" and backend_for("sqlite") == "sqlite"
    assert backend_for("redis://127.0.0.1:6379/0") == "redis"
    assert issubclass(store_class("redis"), OnlineStore)
    from portrait.errors import ConfigError

    with pytest.raises(ConfigError):
        backend_for("memcached://x")


def test_built_store_matches_profiles(served):
    """The store built with the snapshot holds every user, with the values `portrait profile` shows."""
    snap = SnapshotStore(served.root / "warehouse").open()
    spec = json.loads(snap.file("serving").read_text())["online_store"]
    store = open_store(spec, snap.path)
    assert store.count() == snap.manifest.users
    for uid in ("12347", "12346", "18287"):
        row = decode(store.get(uid))
        want = get_profile(snap, uid)
        for group in want["groups"]:
            for tag in group["tags"]:
                assert row[tag["id"]] == tag["value"], (uid, tag["id"])
    # every row, every tag: the body equals the Python conversion of the profiles.parquet row
    table = pq.read_table(snap.file("profiles"))
    for i, f in enumerate(table.schema):  # shown in the project's zone
        if pa.types.is_timestamp(f.type) and f.type.tz:
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp(f.type.unit, tz=snap.manifest.timezone)))
    bodies = store.get_many(table.column("user_id").to_pylist())
    assert len(bodies) == table.num_rows
    for row in table.to_pylist():
        assert decode(bodies[row["user_id"]]) == {k: jsonable(v) for k, v in row.items()}, row["user_id"]
    store.close()


def _cli_value(v):
    """What the CLI shows, with JSON's null for the numbers JSON lacks."""
    v = jsonable(float(v) if isinstance(v, Decimal) else v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [_cli_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _cli_value(x) for k, x in v.items()}
    return v


@pytest.mark.parametrize("tz", ["UTC", "Europe/London", "Asia/Kolkata", "America/St_Johns"])
def test_row_json_sql_equals_cli_values(tmp_path, tz):
    """Every value type a tag can have encodes in SQL exactly as the CLI shows it, in the project's zone."""
    utc = timezone.utc
    table = pa.table({
        "user_id": ["a", "b", "c"],
        "x": pa.array([1 / 3, float("nan"), float("-inf")]),
        "n": pa.array([1, None, -(2**62)], pa.int64()),
        "ok": [True, False, None],
        "at": pa.array([datetime(2025, 1, 13, 2, 35, 54, 312299, utc), datetime(2025, 7, 13, tzinfo=utc), None],
                       pa.timestamp("us", tz="UTC")),
        "naive": pa.array([datetime(1969, 12, 31, 23, 59, 59, 100000), None, datetime(2025, 3, 1, 0, 0, 0, 10)],
                          pa.timestamp("us")),
        "day": pa.array([date(2024, 2, 29), None, date(1999, 1, 1)]),
        "dec": pa.array([Decimal("12.3456789"), None, Decimal("-0.5")], pa.decimal128(18, 7)),
        "w": pa.array([[{"key": "Books", "weight": 0.123456789}, {"key": "名", "weight": -1.0}], None, []],
                      pa.list_(pa.struct([("key", pa.string()), ("weight", pa.float64())]))),
        "tags": pa.array([["a", "b'c"], [], None], pa.list_(pa.string())),
        "s": ['quote " and \\ back', "换行\n", None],
    })
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    con = duckdb.connect()
    con.execute("SET TimeZone = ?", [tz])
    got = con.execute(f"SELECT {row_json_sql(table.schema)} FROM read_parquet('{path}')").fetchall()
    con.close()
    local = table.set_column(4, "at", table.column("at").cast(pa.timestamp("us", tz=tz)))
    for (body,), row in zip(got, local.to_pylist()):
        assert decode(body) == {k: _cli_value(v) for k, v in row.items()}


def test_redis_backend_end_to_end(tmp_path, keys_for, tiny_factory):
    """`online_store: redis://…` builds the snapshot's rows into Redis and the API reads them there."""
    reason = _redis_reason()
    if reason:
        pytest.skip(reason)
    from fastapi.testclient import TestClient

    from portrait.api import create_app
    from portrait.pipeline import build
    root = tiny_factory(tmp_path / "p")
    (root / "portrait.yaml").write_text((root / "portrait.yaml").read_text() + f"online_store: {REDIS_URL}\n")
    snap = build(root).snapshot
    spec = json.loads(snap.file("serving").read_text())["online_store"]
    assert spec["backend"] == "redis" and not (snap.path / "online.sqlite").exists()
    keys = keys_for(root / "warehouse")
    try:
        with TestClient(create_app(root)) as c:
            r = c.get("/v1/profiles/u1", headers={"X-API-Key": keys.reader})
            assert r.status_code == 200, r.text
            assert r.json()["data"]["in_snapshot"] is True
    finally:
        open_store(spec, snap.path).drop()
