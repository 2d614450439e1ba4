"""GET /v1/profiles/{user_id}/events: one user's recent events (the console's timeline)."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request

from portrait.api.auth import context, require
from portrait.api.envelope import JSONBody, ok
from portrait.apps.timeline import MAX_LIMIT, recent_events
from portrait.errors import NotFound
from portrait.privacy.access import Principal

router = APIRouter(prefix="/v1", tags=["profiles"])


@router.get("/profiles/{user_id}/events", response_class=JSONBody,
            summary="One user's recent events, newest first (none: an empty list; props need pii:read)")
def get_user_events(request: Request, user_id: str = Path(..., min_length=1, max_length=256),
                    limit: int = Query(50, ge=1, le=MAX_LIMIT, description="How many events (1-500)."),
                    principal: Principal = require("profiles:read")):
    ctx = context(request)
    if ctx.is_forgotten(user_id):
        raise NotFound(f"no user {user_id!r}")
    state = ctx.current()
    return ok(recent_events(state.snapshot, ctx.inbox, state.through_seq, user_id, limit, principal.has("pii:read")))
