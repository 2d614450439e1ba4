"""The routes added for the console, over HTTP on the real server: /v1/me, a user's events,
segment insight and lookalike (scopes, 404s, the shapes the console reads)."""

from __future__ import annotations

import httpx

from portrait.privacy.access import AccessStore


def get(server, path: str, key: str | None, **kw):
    headers = {"X-API-Key": key} if key else {}
    return httpx.get(server.url + path, headers=headers, timeout=60, **kw)


def test_me_names_the_key_and_its_scopes(console_server):
    r = get(console_server, "/v1/me", console_server.key)
    assert r.status_code == 200
    assert r.json()["data"]["key_id"] == console_server.key_id
    assert r.json()["data"]["scopes"] == ["profiles:read", "segments:write"]
    admin = get(console_server, "/v1/me", console_server.admin_key).json()["data"]
    assert admin["declared"] == ["admin"] and "pii:read" in admin["scopes"]  # admin implies every scope
    assert get(console_server, "/v1/me", None).status_code == 401


def test_user_events_newest_first_and_props_only_with_pii_read(console_server):
    data = get(console_server, "/v1/profiles/12347/events", console_server.key, params={"limit": 5}).json()["data"]
    assert data["total"] == 182 and len(data["events"]) == 5
    times = [e["event_time"] for e in data["events"]]
    assert times == sorted(times, reverse=True)
    assert all(e["props"] is None for e in data["events"]) and data["props_shown"] is False
    full = get(console_server, "/v1/profiles/12347/events", console_server.admin_key, params={"limit": 1}).json()["data"]
    assert full["events"][0]["props"]["country"] == "Iceland"
    assert get(console_server, "/v1/profiles/no-such-user/events", console_server.key).json()["data"]["events"] == []
    assert get(console_server, "/v1/profiles/12347/events", console_server.key, params={"limit": 0}).status_code == 422


def test_insight_route_404s_an_unknown_segment_with_a_suggestion(console_server):
    httpx.post(console_server.url + "/v1/segments", headers={"X-API-Key": console_server.admin_key}, timeout=60,
               json={"name": "route_test_germany", "expression": "country = 'Germany'", "replace": True})
    r = get(console_server, "/v1/segments/route_test_germani/insight", console_server.key)
    assert r.status_code == 404 and "route_test_germany" in (r.json()["error"]["hint"] or "")
    d = get(console_server, "/v1/segments/route_test_germany/insight", console_server.key).json()["data"]
    assert d["segment"]["size"] == 95 and d["base"]["size"] == 4372
    country = next(t for t in d["tags"] if t["id"] == "country")
    germany = next(v for v in country["values"] if v["value"] == "Germany")
    assert round(germany["tgi"], 1) == round(100 / (95 / 4372), 1)


def test_saving_a_lookalike_needs_segments_write(console_server):
    access = AccessStore(console_server.root / "warehouse")
    reader = access.create_key("console-reader", ["profiles:read"])["key"]
    access.close()
    r = httpx.post(console_server.url + "/v1/segments/route_test_germany/lookalike", headers={"X-API-Key": reader},
                   json={"size": 10, "save": "nope"}, timeout=60)
    assert r.status_code == 403 and "segments:write" in r.json()["error"]["message"]
    r = httpx.post(console_server.url + "/v1/segments/missing_seed/lookalike", headers={"X-API-Key": reader},
                   json={"size": 10}, timeout=60)
    assert r.status_code == 404
