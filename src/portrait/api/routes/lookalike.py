"""POST /v1/segments/{name}/lookalike: grow a saved segment to N users most like it (相似人群扩展).

A thin shell over `portrait.apps.lookalike.lookalike` (the same function as `portrait lookalike`),
on the snapshot this server serves. Saving the scored list is a write: it needs segments:write.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from portrait.api.auth import context, require
from portrait.api.envelope import JSONBody, ok
from portrait.apps.lookalike import lookalike
from portrait.privacy.access import Forbidden, Principal
from portrait.segments.store import SegmentStore

router = APIRouter(prefix="/v1", tags=["segments"])


class LookalikeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(..., ge=1, le=10_000_000, description="How many users to add (never seed members).")
    exclude: list[str] = Field(default_factory=list, max_length=200,
                               description="Tags kept out of the features (and the tags derived from them).")
    method: Literal["pu", "centroid"] = Field("pu", description="PU bagging (default) or centroid similarity.")
    compare: bool = Field(False, description="Also measure both methods on a held-out third of the seed (slower).")
    preview: int = Field(20, ge=0, le=1000, description="How many of the chosen users to return.")
    save: str | None = Field(None, max_length=63, description="Save the scored list as `lookalike:NAME`.")
    replace: bool = False


@router.post("/segments/{name}/lookalike", response_class=JSONBody,
             summary="Lookalike: the users most like a saved segment, with the features that drive it")
def segment_lookalike(request: Request, body: LookalikeRequest, name: str = Path(..., min_length=1, max_length=128),
                      principal: Principal = require("profiles:read")):
    if body.save and not principal.has("segments:write"):
        raise Forbidden("saving a lookalike needs the `segments:write` scope",
                        hint=f"key {principal.key_id} has: {', '.join(sorted(principal.scopes))}")
    ctx = context(request)
    SegmentStore(ctx.project.warehouse).get(name)  # 404 with a suggestion for an unknown seed
    result = lookalike(ctx.project, name, body.size, exclude=body.exclude, save=body.save, method=body.method,
                       snapshot=ctx.current().id, replace=body.replace, preview=body.preview, compare=body.compare)
    if body.save:
        ctx.access.audit(principal.key_id, "lookalike.save", f"lookalike:{body.save}", {"seed": name, "size": body.size})
    return ok(result)
