"""Forget a user: afterwards no store in the warehouse holds the id, and future builds leave it out."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from portrait.api import create_app
from portrait.cli import app as cli
from portrait.online.artifact import serving_spec
from portrait.online.base import open_store
from portrait.pipeline import build
from portrait.privacy.access import AccessStore
from portrait.snapshot import SnapshotStore

FORGET_ME = "forget-me-7f3a9c"  # in the tiny project's events.csv


def h(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _files_holding(warehouse: Path, needle: str) -> list[str]:
    return [str(p.relative_to(warehouse)) for p in warehouse.rglob("*")
            if p.is_file() and needle.encode() in p.read_bytes()]


def _event(eid: str, user: str) -> dict:
    return {"event_id": eid, "user_id": user, "event_time": datetime.now(timezone.utc).isoformat(),
            "event_type": "purchase", "category": "books", "amount": 2.5}


def _assert_gone(root: Path) -> None:
    warehouse = root / "warehouse"
    assert _files_holding(warehouse, FORGET_ME) == []
    for snap in SnapshotStore(warehouse).list():
        for name in ("events", "profiles", "users"):
            n = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{snap.file(name)}') WHERE user_id = ?",
                               [FORGET_ME]).fetchone()[0]
            assert n == 0, (snap.id, name)
        store = open_store(serving_spec(snap.path)["online_store"], snap.path)
        assert store.get(FORGET_ME) is None
        store.close()


def test_forget_removes_user_everywhere(tiny, keys_for):
    keys = keys_for(tiny / "warehouse")
    with TestClient(create_app(tiny, poll=0.0)) as c:
        assert c.post("/v1/events", headers=h(keys.writer), json=_event("fm-1", FORGET_ME)).status_code == 202
        build(tiny)  # folds fm-1 into a second snapshot: the user is now in two snapshots, and the inbox
        assert c.post("/v1/events", headers=h(keys.writer), json=_event("fm-2", FORGET_ME)).status_code == 202
        assert c.get(f"/v1/profiles/{FORGET_ME}", headers=h(keys.reader)).status_code == 200
        warehouse = tiny / "warehouse"
        assert _files_holding(warehouse, FORGET_ME)  # the check below is not vacuous
        everyone = c.post("/v1/segments", headers=h(keys.segments), json={"name": "buyers", "expression": "spend > 0"})
        assert everyone.status_code == 201, everyone.text
        users = c.get("/v1/segments/buyers/users", headers=h(keys.reader), params={"limit": 10000}).json()["data"]
        assert FORGET_ME in users["users"]
        before = c.post("/v1/segments:count", headers=h(keys.reader), json={"expression": "spend > 0"}).json()["data"]

        assert c.delete(f"/v1/profiles/{FORGET_ME}", headers=h(keys.reader)).status_code == 403
        r = c.delete(f"/v1/profiles/{FORGET_ME}", headers=h(keys.admin))
        assert r.status_code == 200, r.text
        report = r.json()["data"]
        assert report["removed"]["inbox"] == 2 and report["removed"]["online_store"] == 2
        assert report["snapshots"] == 2
        _assert_gone(tiny)
        assert c.get(f"/v1/profiles/{FORGET_ME}", headers=h(keys.reader)).status_code == 404
        # New events of a forgotten user are refused (they would be filtered out of builds anyway).
        r = c.post("/v1/events", headers=h(keys.writer), json=_event("fm-3", FORGET_ME))
        assert r.status_code == 422 and r.json()["errors"][0]["errors"][0]["type"] == "forgotten"
        # Bitmaps and saved-segment members no longer hold the user; counts drop by exactly one.
        after = c.post("/v1/segments:count", headers=h(keys.reader), json={"expression": "spend > 0"}).json()["data"]
        assert after["size"] == before["size"] - 1
        users = c.get("/v1/segments/buyers/users", headers=h(keys.reader), params={"limit": 10000}).json()["data"]
        assert FORGET_ME not in users["users"] and len(users["users"]) == after["size"]
        members = list((warehouse / "segments" / "members").rglob("*.roaring"))
        assert members and report["removed"].get("bitmap_bits", 0) > 0
        # Other users are untouched.
        assert c.get("/v1/profiles/u1", headers=h(keys.reader)).status_code == 200

    # The source file still holds the user: the next build leaves them out.
    assert FORGET_ME in (tiny / "events.csv").read_text()
    build(tiny)
    _assert_gone(tiny)
    access = AccessStore(tiny / "warehouse")
    assert access.filter_forgotten(["u1", FORGET_ME, "u2"]) == ["u1", "u2"]
    audit = [a for a in access.audit_log() if a["action"] == "profiles.forget"]
    assert audit and audit[0]["target"].startswith("user:") and FORGET_ME not in json.dumps(audit)


def test_forget_cli(tiny):
    r = CliRunner().invoke(cli, ["forget", FORGET_ME, "--project", str(tiny), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["ok"] is True and body["data"]["removed"]["online_store"] == 1
    _assert_gone(tiny)


def test_keys_cli(tiny):
    runner = CliRunner()
    made = json.loads(runner.invoke(cli, ["keys", "create", "--name", "crm", "--scopes", "profiles:read,pii:read",
                                          "--project", str(tiny), "--json"]).output)["data"]
    assert made["key"].startswith(f"prt_{made['key_id']}_") and made["scopes"] == ["pii:read", "profiles:read"]
    listed = json.loads(runner.invoke(cli, ["keys", "list", "--project", str(tiny), "--json"]).output)["data"]
    assert [k["key_id"] for k in listed] == [made["key_id"]] and "key" not in listed[0]
    assert runner.invoke(cli, ["keys", "revoke", made["key_id"], "--project", str(tiny)]).exit_code == 0
    bad = runner.invoke(cli, ["keys", "create", "--name", "x", "--scopes", "root", "--project", str(tiny)])
    assert bad.exit_code != 0
