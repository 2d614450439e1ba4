"""The one JSON envelope every route answers with, serialised without FastAPI's encoder.

Why bypass `jsonable_encoder`/response models: service functions already return JSON-ready
dicts, and encoding them once (orjson when installed, else `json.dumps`) is several times cheaper
per request, which is what keeps profile GETs close to a trivial endpoint's throughput.

    {"ok": true, "data": ...}
    {"ok": false, "status": 404, "error": {"code", "message", "hint", ...}, "errors": [...]}
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Response

from portrait.errors import PortraitError


try:  # optional accelerator: ~10x faster encoding of the same JSON; the stdlib is the fallback
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None


def dumps(content: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(content, default=str, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # e.g. integers beyond 64 bits: let the stdlib encoder handle them
            pass
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def ok(data: Any, status: int = 200) -> JSONBody:
    return JSONBody({"ok": True, "data": data}, status_code=status)


def fail(status: int, code: str, message: str, hint: str | None = None, errors: list | None = None,
         headers: dict | None = None, **extra: Any) -> JSONBody:
    body: dict[str, Any] = {"ok": False, "status": status,
                            "error": {"code": code, "message": message, "hint": hint, **extra}}
    if errors is not None:
        body["errors"] = errors
    return JSONBody(body, status_code=status, headers=headers)


def from_error(e: PortraitError) -> JSONBody:
    err = e.to_dict()
    details = err.pop("details", None)
    body = {"ok": False, "status": e.status, "error": err}
    if details is not None:
        body["errors"] = details
    headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
    return JSONBody(body, status_code=e.status, headers=headers)
