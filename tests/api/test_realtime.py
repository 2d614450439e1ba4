"""Real-time events: validation, dedup, durability, and tags visible through GET at once."""

from __future__ import annotations

import math
import time
import uuid
from datetime import datetime, timedelta, timezone


def h(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def ev(user: str, event_type: str = "purchase", category: str | None = "MUG", ago: timedelta = timedelta(0), **kw) -> dict:
    t = datetime.now(timezone.utc) - ago
    return {"event_id": f"rt-{uuid.uuid4().hex}", "user_id": user, "event_time": t.isoformat(),
            "event_type": event_type, "category": category, "channel": "web", **kw}


def test_events_visible_in_realtime_tags_within_a_second(served):
    c, k = served.client, served.keys
    user = "12348"
    before = c.get(f"/v1/profiles/{user}", headers=h(k.reader)).json()["data"]["realtime"]
    events = [ev(user, "purchase", "MUG"), ev(user, "return", "MUG", timedelta(hours=6)),
              ev(user, "purchase", "CANDLE", timedelta(days=60))]
    t0 = time.perf_counter()
    r = c.post("/v1/events", headers=h(k.writer), json=events)
    assert r.status_code == 202 and r.json()["data"]["accepted"] == 3
    rt = c.get(f"/v1/profiles/{user}", headers=h(k.reader)).json()["data"]["realtime"]
    assert time.perf_counter() - t0 < 1.0
    assert rt["pending_events"] == before["pending_events"] + 3
    assert rt["events_today"] >= before["events_today"] + 1
    assert rt["last_active_at"] is not None
    assert abs(datetime.fromisoformat(rt["last_active_at"]) - datetime.fromisoformat(events[0]["event_time"])) < timedelta(seconds=1)
    # Same weights and half-life as the batch tag (interest_category: half_life_days 60, purchase 1.0, return -1.0).
    weights = {w["key"]: w["weight"] for w in rt["interest"]["interest_category"]}
    decay = lambda days: math.exp(-math.log(2) / 60 * days)  # noqa: E731
    assert math.isclose(weights["MUG"], 1.0 * decay(0) - 1.0 * decay(0.25), abs_tol=1e-3)
    assert math.isclose(weights["CANDLE"], 0.5, abs_tol=1e-3)  # one half-life old


def test_new_user_known_only_from_events(served):
    c, k = served.client, served.keys
    user = f"new-{uuid.uuid4().hex[:8]}"
    assert c.get(f"/v1/profiles/{user}", headers=h(k.reader)).status_code == 404
    assert c.post("/v1/events", headers=h(k.writer), json=ev(user, "view")).status_code == 202
    data = c.get(f"/v1/profiles/{user}", headers=h(k.reader)).json()["data"]
    assert data["in_snapshot"] is False and data["realtime"]["pending_events"] == 1
    assert all(t["value"] is None for g in data["groups"] for t in g["tags"])


def test_event_ids_follow_the_ingest_rule(served):
    """An event for "12350.0" (a float-typed export) lands on customer 12350, as the batch data does."""
    c, k = served.client, served.keys
    before = c.get("/v1/profiles/12350", headers=h(k.reader)).json()["data"]["realtime"]["pending_events"]
    assert c.post("/v1/events", headers=h(k.writer), json=ev(" 12350.0", "view", item_id="85123A.0")).status_code == 202
    data = c.get("/v1/profiles/12350.0", headers=h(k.reader)).json()["data"]
    assert data["user_id"] == "12350" and data["in_snapshot"] is True
    assert data["realtime"]["pending_events"] == before + 1


def test_duplicate_event_id_counted_once(served):
    c, k = served.client, served.keys
    e = ev("12349")
    assert c.post("/v1/events", headers=h(k.writer), json=e).json()["data"]["status"] == "accepted"
    again = c.post("/v1/events", headers=h(k.writer), json=[e, e])
    assert again.status_code == 202
    assert [x["status"] for x in again.json()["data"]["results"]] == ["duplicate", "duplicate"]
    assert served.app.state.ctx.inbox.count(e["event_id"]) == 1


def test_single_invalid_event_is_422_with_field_errors(served):
    c, k = served.client, served.keys
    r = c.post("/v1/events", headers=h(k.writer),
               json={"event_id": "bad-1", "user_id": "", "event_time": "yesterday", "event_type": "view", "amount": "x",
                     "colour": "red"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"]["code"] == "invalid_events"
    locs = {tuple(e["loc"]) for e in body["errors"][0]["errors"]}
    assert {("user_id",), ("event_time",), ("amount",), ("colour",)} <= locs


def test_batch_reports_each_item(served):
    c, k = served.client, served.keys
    good = ev("12352")
    future = ev("12352", ago=-timedelta(days=3))
    r = c.post("/v1/events", headers=h(k.writer), json=[good, {"event_id": "x"}, future, good])
    assert r.status_code == 202
    data = r.json()["data"]
    assert [x["status"] for x in data["results"]] == ["accepted", "rejected", "rejected", "duplicate"]
    assert data["results"][2]["errors"][0]["loc"] == ["event_time"]
    assert (data["accepted"], data["duplicate"], data["rejected"]) == (1, 1, 2)
    all_bad = c.post("/v1/events", headers=h(k.writer), json=[{"event_id": "y"}, {"nope": 1}])
    assert all_bad.status_code == 422 and len(all_bad.json()["errors"]) == 2
    too_many = c.post("/v1/events", headers=h(k.writer), json=[good] * 1001)
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "too_many"
    assert c.post("/v1/events", headers=h(k.writer), json=[]).status_code == 422


def test_inbox_is_durable_wal_full_sync(served):
    con = served.app.state.ctx.inbox._con()
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
