"""The tag catalog of the served snapshot: list and one tag's definition, coverage and distribution."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request

from portrait.api.auth import context, require
from portrait.api.envelope import JSONBody, ok
from portrait.apps.profiles import list_tags
from portrait.online.service import describe_tag
from portrait.privacy.access import Principal

router = APIRouter(prefix="/v1", tags=["tags"])


@router.get("/tags", response_class=JSONBody, summary="Every tag with taxonomy, kind, type and coverage")
def get_tags(request: Request, principal: Principal = require("profiles:read")):
    return ok(list_tags(context(request).current().snapshot))


@router.get("/tags/{tag}", response_class=JSONBody, summary="One tag: definition, dependencies, coverage, distribution")
def get_tag(request: Request, tag: str = Path(..., min_length=1, max_length=128),
            principal: Principal = require("profiles:read")):
    return ok(describe_tag(context(request), tag, principal))
