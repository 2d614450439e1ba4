"""Segment routes: they call the segments service on the served snapshot, with scopes and paging."""

from __future__ import annotations

import uuid


def h(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


EXPR = "lifecycle_stage IN ('mature', 'growing') AND country = 'United Kingdom'"


def test_count_save_list_page_explain(served):
    c, k = served.client, served.keys
    counted = c.post("/v1/segments:count", headers=h(k.reader), json={"expression": EXPR})
    assert counted.status_code == 200, counted.text
    size = counted.json()["data"]["size"]
    assert 0 < size < counted.json()["data"]["users"]

    name = f"uk_{uuid.uuid4().hex[:6]}"
    assert c.post("/v1/segments", headers=h(k.reader), json={"name": name, "expression": EXPR}).status_code == 403
    saved = c.post("/v1/segments", headers=h(k.segments), json={"name": name, "expression": EXPR})
    assert saved.status_code == 201, saved.text
    assert name in [s["name"] for s in c.get("/v1/segments", headers=h(k.reader)).json()["data"]]
    assert c.get(f"/v1/segments/{name}", headers=h(k.reader)).json()["data"]["name"] == name

    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = c.get(f"/v1/segments/{name}/users", headers=h(k.reader), params=params).json()["data"]
        seen += page["users"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == size

    member = seen[0]
    why = c.get(f"/v1/segments/{name}/explain/{member}", headers=h(k.reader))
    assert why.status_code == 200, why.text
    assert why.json()["data"]["member"] is True
    audit = served.app.state.ctx.access.audit_log(20)
    assert any(a["action"] == "segments.save" and a["target"] == f"segment:{name}" for a in audit)


def test_segment_errors_use_the_envelope(served):
    c, k = served.client, served.keys
    bad = c.post("/v1/segments:count", headers=h(k.reader), json={"expression": "lifecycle_stage = "})
    assert bad.status_code == 400 and bad.json()["ok"] is False and bad.json()["error"]["code"]
    missing = c.get("/v1/segments/no_such_segment/users", headers=h(k.reader))
    assert missing.status_code in (400, 404) and missing.json()["ok"] is False
    cursor = c.get("/v1/segments/no_such_segment/users", headers=h(k.reader), params={"cursor": "%%%"})
    assert cursor.status_code in (400, 404)
