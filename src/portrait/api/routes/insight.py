"""GET /v1/segments/{name}/insight: a saved segment against all users or another segment (洞察).

A thin shell over `portrait.apps.insight.insight` (the same function as `portrait insight`), on
the snapshot this server serves.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request

from portrait.api.auth import context, require
from portrait.api.envelope import JSONBody, ok
from portrait.apps.insight import insight
from portrait.privacy.access import Principal
from portrait.segments.store import SegmentStore

router = APIRouter(prefix="/v1", tags=["segments"])


@router.get("/segments/{name}/insight", response_class=JSONBody,
            summary="Insight: per-tag distributions, TGI and the tags that set the segment apart")
def segment_insight(request: Request, name: str = Path(..., min_length=1, max_length=128),
                    vs: str = Query("all", min_length=1, max_length=10_000,
                                    description="`all`, another saved segment, or an expression."),
                    min_support: int = Query(30, ge=1, le=1_000_000,
                                             description="Rows with fewer users on either side are flagged low_support."),
                    top: int = Query(30, ge=1, le=500, description="Values kept per tag (the rest fold into (other))."),
                    principal: Principal = require("profiles:read")):
    ctx = context(request)
    SegmentStore(ctx.project.warehouse).get(name)  # 404 with a suggestion, not "unknown tag", for a typo
    return ok(insight(ctx.project, name, vs, ctx.current().id, min_support=min_support, top=top))
