"""Authentication and scopes: one dependency per scope, resolved from `X-API-Key` or a Bearer token.

Why async dependencies: a sync dependency would cost a threadpool hop on every request; key
verification is an in-memory cache hit almost always (a SQLite lookup on a miss).
"""

from __future__ import annotations

from typing import Callable

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from portrait.online.serving import ServingContext
from portrait.privacy.access import Forbidden, Principal

api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from `portrait keys create`.")
bearer = HTTPBearer(auto_error=False, description="The same API key as a Bearer token.")


def context(request: Request) -> ServingContext:
    return request.app.state.ctx


def require(scope: str) -> Callable:
    """A dependency returning the caller's Principal: 401 without a valid key, 403 without `scope`."""

    async def dependency(request: Request, key: str | None = Security(api_key),
                         token: HTTPAuthorizationCredentials | None = Security(bearer)) -> Principal:
        principal = context(request).access.verify(key or (token.credentials if token else None))
        if not principal.has(scope):
            raise Forbidden(f"this key lacks the `{scope}` scope",
                            hint=f"key {principal.key_id} has: {', '.join(sorted(principal.scopes))}")
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return Depends(dependency)
