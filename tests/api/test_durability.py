"""Acknowledged events survive SIGKILL; a re-sent id counts once; the next builds fold each exactly once."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import duckdb
import httpx

from portrait.pipeline import build
from portrait.realtime.inbox import Inbox
from portrait.snapshot import SnapshotStore


def h(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _events(prefix: str, n: int, user: str) -> list[dict]:
    now = datetime.now(timezone.utc)
    return [{"event_id": f"{prefix}-{i}", "user_id": user, "event_time": (now - timedelta(minutes=i)).isoformat(),
             "event_type": "purchase", "category": "books", "amount": 1.0} for i in range(n)]


def _count_in_snapshot(root, ids: list[str]) -> dict[str, int]:
    snap = SnapshotStore(root / "warehouse").open()
    rows = duckdb.connect().execute(f"SELECT event_id, count(*) FROM read_parquet('{snap.file('events')}') "
                          "WHERE event_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY event_id", [ids]).fetchall()
    return dict(rows)


def test_sigkill_after_202_loses_nothing_and_build_folds_once(tiny, keys_for, server_factory):
    keys = keys_for(tiny / "warehouse")
    server = server_factory(tiny)
    acked: list[str] = []
    with httpx.Client(base_url=server.url, headers=h(keys.writer), timeout=10) as c:
        for b in range(5):  # 5 batches of 200, then single events
            batch = _events(f"b{b}", 200, "u1")
            r = c.post("/v1/events", json=batch)
            assert r.status_code == 202
            acked += [x["event_id"] for x in r.json()["data"]["results"] if x["status"] == "accepted"]
        for i in range(20):
            e = _events(f"s{i}", 1, "u2")[0]
            r = c.post("/v1/events", json=e)
            assert r.status_code == 202
            acked.append(e["event_id"])
        t0 = time.perf_counter()
        rt = c.get("/v1/profiles/u2", headers=h(keys.reader)).json()["data"]["realtime"]
        assert rt["pending_events"] == 20 and time.perf_counter() - t0 < 1.0
    server.kill()  # SIGKILL right after the last 202: no shutdown hook runs
    assert len(acked) == 1020

    server = server_factory(tiny)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        inbox = Inbox(tiny / "warehouse")
        assert all(inbox.count(eid) == 1 for eid in acked)
        assert inbox.count() == 1020
        data = c.get("/v1/profiles/u1", headers=h(keys.reader)).json()["data"]
        assert data["realtime"]["pending_events"] == 1000
        # A re-sent event id is counted once.
        again = c.post("/v1/events", headers=h(keys.writer), json=_events("b0", 3, "u1"))
        assert [x["status"] for x in again.json()["data"]["results"]] == ["duplicate"] * 3
        assert inbox.count() == 1020
        server.stop()

    # The next build includes each acknowledged event exactly once, and the one after it too.
    build(tiny)
    counts = _count_in_snapshot(tiny, acked)
    assert len(counts) == len(acked) and set(counts.values()) == {1}
    build(tiny)
    counts = _count_in_snapshot(tiny, acked)
    assert len(counts) == len(acked) and set(counts.values()) == {1}
    snap = SnapshotStore(tiny / "warehouse").open()
    assert snap.read_json("serving")["inbox_through_seq"] == 1020


def test_folded_events_leave_the_overlay(tiny, keys_for):
    """After a build, real-time tags only count events newer than the snapshot's inbox seq."""
    from fastapi.testclient import TestClient

    from portrait.api import create_app

    keys = keys_for(tiny / "warehouse")
    with TestClient(create_app(tiny, poll=0.0)) as c:
        assert c.post("/v1/events", headers=h(keys.writer), json=_events("f", 5, "u3")).status_code == 202
        assert c.get("/v1/profiles/u3", headers=h(keys.reader)).json()["data"]["realtime"]["pending_events"] == 5
        build(tiny)
        data = c.get("/v1/profiles/u3", headers=h(keys.reader)).json()["data"]
        assert data["realtime"]["pending_events"] == 0 and data["realtime"]["events_today"] >= 1
        spend = next(t for g in data["groups"] for t in g["tags"] if t["id"] == "spend")["value"]
        assert spend is not None
