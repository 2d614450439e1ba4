"""The web console (标签管理 · 用户画像 · 人群圈选 · 洞察): static files the API app serves at `/`.

Plain HTML and vanilla JS modules, no build step; charts use the ECharts copy vendored under
static/vendor/, so the console works with no internet. It calls only the public HTTP API with the
API key the user signs in with, so it can never do more than that key's scopes allow.

    from portrait.console import mount
    mount(app)        # GET / → the console, /console/* → its assets
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"

# Everything the page loads comes from this server: no CDN, no inline script, no third-party calls.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}


class _Assets(StaticFiles):
    """Static files that revalidate (so an upgrade is picked up) and never get sniffed."""

    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount(app: FastAPI) -> None:
    """Serve the console on `app`: `/` is the page, `/console/…` its scripts, styles and ECharts."""
    index = STATIC / "index.html"

    @app.get("/", include_in_schema=False)
    async def console_index():
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=HEADERS)

    app.mount("/console", _Assets(directory=STATIC), name="console")
