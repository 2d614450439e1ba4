"""GET /v1/me: the calling key's id and scopes, so a client (the console) can show what it may do."""

from __future__ import annotations

from fastapi import APIRouter, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from portrait.api.auth import api_key, bearer, context
from portrait.api.envelope import JSONBody, ok
from portrait.privacy.access import SCOPES

router = APIRouter(prefix="/v1", tags=["system"])


@router.get("/me", response_class=JSONBody, summary="The calling key: its id and scopes (any valid key)")
async def me(request: Request, key: str | None = Security(api_key),
             token: HTTPAuthorizationCredentials | None = Security(bearer)):
    principal = context(request).access.verify(key or (token.credentials if token else None))
    scopes = sorted(SCOPES if "admin" in principal.scopes else principal.scopes)
    return ok({"key_id": principal.key_id, "scopes": scopes, "declared": sorted(principal.scopes),
               "snapshot_id": context(request).snapshot_id()})
