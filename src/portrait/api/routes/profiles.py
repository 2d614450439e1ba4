"""Profiles: GET one, POST a batch, DELETE (forget) one."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from portrait.api.auth import InvalidParameter, authorize, context, require
from portrait.api.envelope import JSONBody, ok
from portrait.online.service import read_profile, read_profiles
from portrait.privacy.access import Principal
from portrait.privacy.forget import forget_user

router = APIRouter(prefix="/v1", tags=["profiles"])

UserId = Path(..., min_length=1, max_length=256, description="The user's id.")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_ids: list[str] = Field(..., min_length=1, max_length=1000, description="1 to 1,000 user ids.")
    tags: list[str] | None = Field(None, description="Tag ids to return (default: all).")


def _tags(tags: str | None) -> list[str] | None:
    wanted = [t.strip() for t in tags.split(",") if t.strip()] if tags else []
    return wanted or None


_GET_PARAMS = [
    {"name": "user_id", "in": "path", "required": True, "description": "The user's id.",
     "schema": {"type": "string", "minLength": 1, "maxLength": 256}},
    {"name": "tags", "in": "query", "required": False, "description": "Comma-separated tag ids (default: all).",
     "schema": {"type": "string"}},
]


@router.get("/profiles/{user_id}", response_class=JSONBody, summary="One user's profile with real-time tags",
            openapi_extra={"parameters": _GET_PARAMS})
async def get_profile(request: Request):
    # The hottest route: parameters are read by hand (declared in `openapi_extra`), which saves
    # FastAPI's per-request parameter and dependency resolution, about half of the route's cost.
    principal = await authorize(request, "profiles:read")
    user_id = request.path_params["user_id"]
    if not 0 < len(user_id) <= 256:
        raise InvalidParameter("user_id must be 1 to 256 characters")
    return ok(read_profile(context(request), user_id, _tags(request.query_params.get("tags")), principal))


@router.post("/profiles:batch", response_class=JSONBody, summary="Up to 1,000 profiles in one call")
def batch_profiles(request: Request, body: BatchRequest, principal: Principal = require("profiles:read")):
    return ok(read_profiles(context(request), body.user_ids, body.tags, principal))


@router.delete("/profiles/{user_id}", response_class=JSONBody, summary="Forget a user (PIPL / GDPR erasure)")
def delete_profile(request: Request, user_id: str = UserId, principal: Principal = require("admin")):
    ctx = context(request)
    report = forget_user(ctx.project, user_id, principal)
    ctx.refresh_forgotten()
    return ok(report)
