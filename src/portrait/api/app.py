"""`create_app(project)`: the FastAPI app over one project's warehouse.

Why a factory around one `ServingContext`: the same object (snapshot state, inbox, keys) serves
uvicorn, the in-process test client and the CLI, so they cannot drift apart (Datasette's lesson).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from portrait import __version__, console
from portrait.api import errors
from portrait.api.auth import SECURITY_SCHEMES
from portrait.api.envelope import JSONBody
from portrait.api.metrics import Metrics, MetricsMiddleware
from portrait.api.routes import events, me, profiles, system, tags, timeline
from portrait.config import Project, load_project
from portrait.online.serving import ServingContext

OPEN_PATHS = {"/healthz", "/metrics"}  # no key needed (liveness probes and scrapers on loopback)
DESCRIPTION = """Profiles (用户画像) of the current snapshot, real-time events and tags, the tag catalog and segments.

Authenticate with an API key (`portrait keys create`) as `X-API-Key: prt_…` or `Authorization: Bearer prt_…`.
Scopes: profiles:read, pii:read, events:write, segments:write, admin (implies all).
Every answer is `{"ok": true, "data": …}` or `{"ok": false, "status": …, "error": {"code", "message", "hint"}}`.
"""


def routers() -> list:
    out = [system.router, me.router, profiles.router, timeline.router, tags.router, events.router]
    try:  # the segments application may not be installed in every build of Portrait
        from portrait.api.routes import insight, lookalike, segments
    except ImportError:
        return out
    return [*out, segments.router, insight.router, lookalike.router]


def create_app(project: Project | str | Path = ".", poll: float = 0.2) -> FastAPI:
    project = project if isinstance(project, Project) else load_project(project)
    ctx = ServingContext(project, poll=poll)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        try:
            ctx.current()  # load the snapshot before the first request, if there is one
        except Exception:
            pass
        # Nothing is closed on shutdown: test clients run several lifespans on one app, and the
        # SQLite connections (WAL, synchronous=FULL) need no shutdown step to stay durable.
        yield

    app = FastAPI(title="Portrait profile service", version=__version__, description=DESCRIPTION,
                  default_response_class=JSONBody, lifespan=lifespan)
    app.state.ctx = ctx
    app.state.metrics = Metrics()
    errors.install(app)
    for router in routers():
        app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    console.mount(app)  # the web console at / (static files; it calls only the routes above)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document plus the API-key security schemes on every /v1 route (they need a key)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for path, ops in doc["paths"].items():
            if path in OPEN_PATHS or not path.startswith("/v1/"):
                continue
            for op in ops.values():
                op["security"] = [{"APIKeyHeader": []}, {"HTTPBearer": []}]
                op.setdefault("responses", {}).update({
                    "401": {"description": "No, unknown or revoked API key"},
                    "403": {"description": "The key lacks the route's scope"}})
        app.openapi_schema = doc
    return app.openapi_schema
