"""Segments (人群圈选): count an expression, list / save / show saved segments, page members, explain.

Every route calls the segments application's service functions (`portrait.segments.service`,
`portrait.segments.report`) on the snapshot this server serves.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from portrait.api.auth import context, require
from portrait.api.envelope import JSONBody, ok
from portrait.online.segment_users import MAX_LIMIT, segment_users
from portrait.privacy.access import Principal
from portrait.segments import report, service

router = APIRouter(prefix="/v1", tags=["segments"])
Name = Path(..., min_length=1, max_length=128, description="A saved segment's name.")


class CountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(..., min_length=1, max_length=10_000,
                            description="e.g. lifecycle_stage = 'mature' AND interest_category['MUG'] >= 0.2")


class SaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=128)
    expression: str = Field(..., min_length=1, max_length=10_000)
    description: str = Field("", max_length=2_000)
    replace: bool = False


@router.post("/segments:count", response_class=JSONBody, summary="Size and share of an expression's audience")
def count_segment(request: Request, body: CountRequest, principal: Principal = require("profiles:read")):
    ctx = context(request)
    return ok(service.count(ctx.project, body.expression, ctx.current().id))


@router.get("/segments", response_class=JSONBody, summary="Saved segments")
def list_segments(request: Request, principal: Principal = require("profiles:read")):
    return ok(service.list_segments(context(request).project))


@router.post("/segments", response_class=JSONBody, status_code=201, summary="Save (or replace) a named segment")
def save_segment(request: Request, body: SaveRequest, principal: Principal = require("segments:write")):
    ctx = context(request)
    data = service.save(ctx.project, body.name, body.expression, body.description, body.replace)
    ctx.access.audit(principal.key_id, "segments.save", f"segment:{body.name}", {"replace": body.replace})
    return ok(data, status=201)


@router.get("/segments/{name}", response_class=JSONBody, summary="A saved segment: definition, sizes, references")
def show_segment(request: Request, name: str = Name, principal: Principal = require("profiles:read")):
    return ok(service.show(context(request).project, name))


@router.get("/segments/{name}/users", response_class=JSONBody, summary="Members of a saved segment, paged")
def get_segment_users(request: Request, name: str = Name,
                      cursor: str | None = Query(None, max_length=512, description="`next_cursor` of the previous page."),
                      limit: int = Query(1000, ge=1, le=MAX_LIMIT),
                      principal: Principal = require("profiles:read")):
    return ok(segment_users(context(request), name, cursor, limit))


@router.get("/segments/{name}/explain/{user_id}", response_class=JSONBody,
            summary="Why a user is (or is not) in a segment, clause by clause")
def explain_user(request: Request, name: str = Name, user_id: str = Path(..., min_length=1, max_length=256),
                 principal: Principal = require("profiles:read")):
    ctx = context(request)
    return ok(report.explain(ctx.project, name, user_id, ctx.current().id))
