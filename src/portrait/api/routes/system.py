"""GET /healthz (liveness, no key) and GET /metrics (Prometheus text, no key: scrape from loopback)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from portrait.api.auth import context
from portrait.api.envelope import JSONBody, ok

router = APIRouter(tags=["system"])


@router.get("/healthz", response_class=JSONBody, summary="Liveness and the snapshot being served")
async def healthz(request: Request):
    return ok({"status": "ok", "snapshot_id": context(request).snapshot_id()})


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics (text format 0.0.4)")
def metrics(request: Request):
    ctx = context(request)
    body = request.app.state.metrics.render(ctx.counters, ctx.snapshot_id(), ctx.inbox.max_seq())
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")
