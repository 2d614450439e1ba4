"""Authentication and scopes: one dependency per scope, reading `X-API-Key` or a Bearer token.

Why the headers are read by hand instead of through FastAPI's APIKeyHeader/HTTPBearer
dependencies: each nested dependency costs FastAPI's resolver ~100 µs per request, which was
most of a profile GET. The security schemes are still declared in the OpenAPI document
(`SECURITY_SCHEMES`, `OPENAPI_SECURITY`), so clients and schemathesis see them.
"""

from __future__ import annotations

from typing import Callable

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from portrait.errors import PortraitError
from portrait.online.serving import ServingContext
from portrait.privacy.access import Forbidden, Principal

SECURITY_SCHEMES = {
    "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                     "description": "An API key from `portrait keys create`."},
    "HTTPBearer": {"type": "http", "scheme": "bearer", "description": "The same API key as a Bearer token."},
}

# FastAPI security objects for routes that want them as dependencies (kept for callers; `require`
# reads the same headers directly).
api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description=SECURITY_SCHEMES["APIKeyHeader"]["description"])
bearer = HTTPBearer(auto_error=False, description=SECURITY_SCHEMES["HTTPBearer"]["description"])


def context(request: Request) -> ServingContext:
    return request.app.state.ctx


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class InvalidParameter(PortraitError):
    status = 422
    code = "validation"


async def authorize(request: Request, scope: str) -> Principal:
    """The caller's Principal: 401 without a valid key, 403 without `scope`."""
    principal = context(request).access.verify(presented_key(request))
    if not principal.has(scope):
        raise Forbidden(f"this key lacks the `{scope}` scope",
                        hint=f"key {principal.key_id} has: {', '.join(sorted(principal.scopes))}")
    return principal


def require(scope: str) -> Callable:
    """`authorize` as a FastAPI dependency."""

    async def dependency(request: Request) -> Principal:
        return await authorize(request, scope)

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return Depends(dependency)
