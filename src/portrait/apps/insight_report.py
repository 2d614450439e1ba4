"""The insight report as one self-contained HTML file, and PNG charts rendered from it.

The HTML inlines ECharts (apps/static/echarts.min.js, Apache-2.0) and the insight JSON, and a
Content-Security-Policy forbids every fetch, so it opens offline and can be mailed as one file.
PNGs are screenshots of the same charts taken by headless Chromium (Playwright): one rendering
path, so the PNGs match the report.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from importlib import resources
from pathlib import Path

from portrait.errors import PortraitError

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TOKENS = ("__TITLE__", "__ECHARTS__", "__DATA__")


class ReportError(PortraitError):
    status = 500
    code = "report"


def _asset(*parts: str) -> str:
    return resources.files("portrait.apps").joinpath(*parts).read_text(encoding="utf-8")


def _script_json(data: dict) -> str:
    """JSON safe inside <script>: no '</script>' or '<!--' can end or confuse the element."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(result: dict) -> str:
    """The report for an `insight()` result. Each token is filled exactly once, in template order,
    so a tag value that happens to contain a token's text is never substituted."""
    template = _asset("templates", "insight.html")
    fill = {"__TITLE__": html.escape(str(result["segment"]["spec"])),
            "__ECHARTS__": _asset("static", "echarts.min.js"),
            "__DATA__": _script_json(result)}
    out, rest = [], template
    while True:
        found = [(rest.find(t), t) for t in TOKENS if rest.find(t) >= 0]
        if not found:
            out.append(rest)
            break
        pos, token = min(found)
        out.append(rest[:pos])
        out.append(fill[token])
        rest = rest[pos + len(token):]
    return "".join(out)


def write_html(result: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(result), encoding="utf-8")
    os.replace(tmp, path)
    return path


def chromium_path() -> str | None:
    """$PORTRAIT_CHROMIUM, else a Chromium or Chrome on PATH."""
    explicit = os.environ.get("PORTRAIT_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launch(playwright):
    """Headless Chromium for offline pages (no sandbox: it runs in containers as root)."""
    exe = chromium_path()
    if exe is None:
        raise ReportError("no Chromium found to render PNG charts",
                          hint="install it (Debian: apt-get install chromium) or set PORTRAIT_CHROMIUM")
    return playwright.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)


def open_offline(browser, html_path: Path, width: int = 1280):
    """A page with the report loaded and every non-file request aborted (the report needs none);
    returns (page, blocked URLs, script errors)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    blocked: list[str] = []
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def guard(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(Path(html_path).resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page, blocked, errors


def write_pngs(html_path: str | Path, out_dir: str | Path, limit: int | None = None) -> list[str]:
    """Screenshot each chart of a written report into out_dir (ranking.png, <tag>.png), plus the
    whole page as report.png. Returns the file names."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:  # an optional dependency: only PNG export needs it
        raise ReportError("PNG charts need Playwright", hint="pip install playwright (no browser download needed)") from e
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page, _blocked, _errors = open_offline(browser, Path(html_path))
            charts = page.query_selector_all("[data-chart]")
            for el in charts[:limit] if limit else charts:
                name = "".join(c if c.isalnum() or c in "-_" else "_" for c in el.get_attribute("data-chart")) + ".png"
                el.scroll_into_view_if_needed()
                el.screenshot(path=str(out / name))
                written.append(name)
            page.screenshot(path=str(out / "report.png"), full_page=True)
            written.append("report.png")
        finally:
            browser.close()
    return written
