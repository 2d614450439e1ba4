"""Fixtures for the console's end-to-end tests: a real `portrait serve` over a copy of the built
Online Retail example, an API key made with the service's own key functions, and headless Debian
chromium driven by Playwright with every request not to the local server blocked (no network).

Browser tests skip (with the reason) where /usr/bin/chromium or the playwright package is missing;
see README.md. The route tests (test_console_routes.py) need neither.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PORTRAIT_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "test-artifacts" / "console"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`; see tests/console/README.md)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (`pip install playwright`; see tests/console/README.md)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason:
        for item in items:
            in_browser = {"page", "browser", "session_context"} & set(getattr(item, "fixturenames", ()))
            if in_browser and "tests/console" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Console:
    root: Path  # the served project (a copy of the built example)
    url: str
    key: str
    key_id: str
    admin_key: str
    proc: subprocess.Popen = field(repr=False)


@pytest.fixture(scope="session")
def console_server(retail, tmp_path_factory):
    """`portrait serve` on a free loopback port over a copy of the built Online Retail project
    (segments saved by the tests stay out of the shared fixture's warehouse)."""
    from portrait.privacy.access import AccessStore

    root = tmp_path_factory.mktemp("console") / "retail"
    shutil.copytree(retail.root, root)
    access = AccessStore(root / "warehouse")
    analyst = access.create_key("console-e2e", ["profiles:read", "segments:write"])
    admin = access.create_key("console-e2e-admin", ["admin"])
    access.close()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = "import sys; from portrait.cli import main; sys.argv[0] = 'portrait'; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--project", str(root), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"portrait serve exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("portrait serve did not start within 30 s")
        time.sleep(0.05)
    yield Console(root, url, analyst["key"], analyst["key_id"], admin["key"], proc)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class Watch:
    """What a page did wrong: console errors, uncaught exceptions, requests that left the machine."""

    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # substrings of console errors a test expects

    def problems(self) -> list[str]:
        errs = [e for e in self.errors if not any(a in e for a in self.allowed)]
        return errs + [f"request to the network: {u}" for u in self.blocked]


@pytest.fixture(scope="session")
def session_context(browser, console_server):
    """One browser context for the whole run (the sign-in is remembered in its localStorage)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True, locale="en-GB")
    yield ctx
    ctx.close()


@pytest.fixture
def page(session_context, console_server):
    """A fresh tab with the network off: anything not addressed to the local server is aborted."""
    watch = Watch()
    local = console_server.url

    def route(r):
        if r.request.url.startswith(local) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            watch.blocked.append(r.request.url)
            r.abort()

    pg = session_context.new_page()
    pg.route("**/*", route)
    pg.on("console", lambda m: watch.errors.append(f"console {m.type}: {m.text} ({m.location.get('url', '')})")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: watch.errors.append(f"page error: {e}"))
    pg.set_default_timeout(15_000)
    pg.watch = watch
    yield pg
    problems = watch.problems()
    pg.close()
    assert not problems, "the console logged errors or tried the network:\n" + "\n".join(problems)


@pytest.fixture
def shoot():
    """shoot(page, "tags") saves a full-page screenshot as test-artifacts/console/tags.png."""

    def save(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
