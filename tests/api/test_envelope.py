"""One JSON envelope on every route, for our errors and for FastAPI's own 404 / 405 / 422."""

from __future__ import annotations


def h(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _is_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    assert "hint" in body["error"]
    if code:
        assert body["error"]["code"] == code, body
    return body


def test_success_envelopes(served):
    c, k = served.client, served.keys.admin
    for path in ("/healthz", "/v1/tags", "/v1/tags/country", "/v1/profiles/12347", "/v1/profiles/12347?tags=country"):
        r = c.get(path, headers=h(k))
        assert r.status_code == 200 and r.json()["ok"] is True and "data" in r.json(), path
    r = c.post("/v1/profiles:batch", headers=h(k), json={"user_ids": ["12347", "nobody"], "tags": ["country"]})
    data = r.json()["data"]
    assert [p["user_id"] for p in data["profiles"]] == ["12347"] and data["missing"] == ["nobody"]
    # ids spelled as floats (a spreadsheet export) find the customer, as ingest normalised them
    r = c.post("/v1/profiles:batch", headers=h(k), json={"user_ids": ["12347.0", "12347", "99.0"], "tags": ["country"]})
    data = r.json()["data"]
    assert [p["user_id"] for p in data["profiles"]] == ["12347"] and data["missing"] == ["99.0"]
    assert c.get("/v1/profiles/12347.0", headers=h(k)).json()["data"]["user_id"] == "12347"


def test_profile_shape(served):
    data = served.client.get("/v1/profiles/12347", headers=h(served.keys.reader)).json()["data"]
    assert data["user_id"] == "12347" and data["in_snapshot"] is True
    assert data["snapshot_id"] == served.app.state.ctx.current().id
    assert {"taxonomy", "tags"} <= set(data["groups"][0])
    assert {"pending_events", "last_active_at", "events_today", "interest"} <= set(data["realtime"])
    only = served.client.get("/v1/profiles/12347?tags=country", headers=h(served.keys.reader)).json()["data"]
    assert [t["id"] for g in only["groups"] for t in g["tags"]] == ["country"]


def test_error_envelopes(served):
    c, k = served.client, served.keys.admin
    _is_error(c.get("/nope"), 404, "not_found")
    _is_error(c.put("/v1/tags", headers=h(k)), 405, "method_not_allowed")
    _is_error(c.get("/v1/profiles/nobody-here", headers=h(k)), 404, "not_found")
    body = _is_error(c.get("/v1/profiles/12347?tags=countyr", headers=h(k)), 404, "not_found")
    assert "country" in body["error"]["hint"]
    _is_error(c.get("/v1/tags/nope", headers=h(k)), 404, "not_found")
    body = _is_error(c.post("/v1/profiles:batch", headers=h(k), json={"user_ids": []}), 422, "validation")
    assert body["errors"][0]["loc"][-1] == "user_ids"
    _is_error(c.post("/v1/profiles:batch", headers=h(k), json={"user_ids": [str(i) for i in range(1001)]}), 422)
    _is_error(c.post("/v1/profiles:batch", headers={**h(k), "Content-Type": "application/json"},
                     content=b"{not json"), 422, "validation")
    _is_error(c.post("/v1/events", headers={**h(k), "Content-Type": "application/json"}, content=b"[1,"), 422,
              "validation")
    _is_error(c.post("/v1/events", headers=h(k), content=b"[1,"), 422, "invalid_events")


def test_openapi_served(served):
    spec = served.client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/v1/profiles/{user_id}", "/v1/profiles:batch", "/v1/tags", "/v1/tags/{tag}", "/v1/events",
            "/healthz", "/metrics"} <= paths
    assert {"APIKeyHeader", "HTTPBearer"} <= set(spec["components"]["securitySchemes"])


def test_metrics(served):
    c = served.client
    c.get("/v1/profiles/12347", headers=h(served.keys.reader))
    text = c.get("/metrics").text
    assert 'portrait_http_requests_total{method="GET",route="/v1/profiles/{user_id}",status="200"}' in text
    assert 'portrait_http_request_duration_seconds_bucket{route="/v1/profiles/{user_id}",le="+Inf"}' in text
    assert 'portrait_events_total{result="accepted"}' in text
    assert f'portrait_snapshot_info{{snapshot_id="{served.app.state.ctx.current().id}"}} 1' in text
