"""Exception handlers: every failure, ours or FastAPI's own 404/405/422, leaves in the envelope.

Why also FastAPI's: clients (and schemathesis) must be able to rely on one error shape,
including for an unknown route, a wrong method or a malformed body.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from portrait.api.envelope import fail, from_error
from portrait.errors import PortraitError

log = logging.getLogger("portrait.api")

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 413: "too_large", 415: "unsupported_media_type"}


def install(app: FastAPI) -> None:
    @app.exception_handler(PortraitError)
    async def portrait_error(_: Request, e: PortraitError):
        return from_error(e)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, e: RequestValidationError):
        errors = [{"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
                  for err in e.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(x) for x in first["loc"])
        return fail(422, "validation", f"{where}: {first['msg']}" if where else first["msg"],
                    hint="see `errors` for every invalid field", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException):
        message = e.detail if isinstance(e.detail, str) else "HTTP error"
        if e.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}"
        hint = "GET /openapi.json lists the routes" if e.status_code in (404, 405) else None
        return fail(e.status_code, HTTP_CODES.get(e.status_code, "http_error"), message, hint,
                    headers=getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, e: Exception):
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return fail(500, "internal", "internal server error", hint="the server log has the details")
