"""POST /v1/events: one event or a batch of up to 1,000, stored durably before the 202."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from portrait.api.auth import context, require
from portrait.api.envelope import JSONBody, ok
from portrait.privacy.access import Principal
from portrait.realtime.model import EventIn
from portrait.realtime.service import MAX_BATCH, ingest_events

router = APIRouter(prefix="/v1", tags=["events"])

_EVENT = EventIn.model_json_schema()
_BODY = {"oneOf": [_EVENT, {"type": "array", "items": _EVENT, "minItems": 1, "maxItems": MAX_BATCH}]}


@router.post(
    "/events", response_class=JSONBody, status_code=202,
    summary="Ingest real-time events (fsync'd before 202; deduplicated by event_id)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY}}}},
    responses={422: {"description": "Invalid event(s): field errors per item in `errors`"},
               413: {"description": "More than 1,000 events"}},
)
def post_events(request: Request, payload: Any = Body(...), principal: Principal = require("events:write")):
    return ok(ingest_events(context(request), payload, principal), status=202)
