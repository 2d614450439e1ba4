"""Fixtures for the profile service: the Online Retail example (plus a PII tag) built once, small
synthetic projects for tests that change their warehouse, API keys, and a real uvicorn server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from portrait.api import create_app
from portrait.pipeline import build
from portrait.privacy.access import AccessStore

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "src" / "portrait" / "examples"

PII_TAGS = """
- id: email
  name: {en: E-mail, zh: 邮箱}
  taxonomy: [人口属性, 联系方式]
  kind: fact
  type: string
  owner: crm-data
  pii: true
  sql: SELECT user_id, 'Customer.' || user_id || '@Example.com' AS email FROM events GROUP BY user_id
"""

TINY_CONFIG = """
name: tiny-serve
timezone: UTC
clock: data
sources:
  - name: clicks
    table: events
    path: events.csv
    columns: {ts: TIMESTAMP, amount: DOUBLE}
    fields: {user_id: uid, event_time: ts, event_type: kind, item_id: item, category: cat, amount: amount}
"""
TINY_TAGS = """
- id: spend
  name: {en: Spend}
  taxonomy: [value]
  kind: statistic
  type: number
  owner: test
  sql: SELECT user_id, sum(amount) AS spend FROM events GROUP BY user_id
- id: interest_category
  name: {en: Category interest}
  taxonomy: [interests]
  kind: statistic
  type: weighted_set
  owner: test
  builtin: interest
  output: weights
  params: {dimension: category, half_life_days: 7, top_n: 5}
"""
FORGET_ME = "forget-me-7f3a9c"


@dataclass
class Keys:
    admin: str
    reader: str  # profiles:read
    pii_reader: str  # profiles:read + pii:read
    writer: str  # events:write
    segments: str  # profiles:read + segments:write
    ids: dict[str, str] = field(default_factory=dict)


def make_keys(warehouse: Path) -> Keys:
    access = AccessStore(warehouse)
    made = {name: access.create_key(name, scopes) for name, scopes in {
        "admin": ["admin"], "reader": ["profiles:read"], "pii_reader": ["profiles:read", "pii:read"],
        "writer": ["events:write"], "segments": ["profiles:read", "segments:write"]}.items()}
    access.close()
    return Keys(**{k: v["key"] for k, v in made.items()}, ids={k: v["key_id"] for k, v in made.items()})


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_tiny(root: Path, users: int = 200, n: int = 5_000, seed: int = 1) -> Path:
    """A small synthetic project (spend, interest and a PII e-mail tag) that builds in about a second."""
    rng = np.random.default_rng(seed)
    (root / "tags").mkdir(parents=True, exist_ok=True)
    (root / "portrait.yaml").write_text(TINY_CONFIG)
    (root / "tags" / "t.yaml").write_text(TINY_TAGS + PII_TAGS)
    uids = np.array([f"u{i}" for i in range(users)] + [FORGET_ME])
    pd.DataFrame({
        "uid": rng.choice(uids, n),
        "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 60, n), unit="s"),
        "kind": rng.choice(["view", "purchase", "cart"], n),
        "item": rng.integers(0, 100, n).astype(str),
        "cat": rng.choice(["books", "games", "music"], n),
        "amount": rng.random(n).round(2),
    }).to_csv(root / "events.csv", index=False)
    return root


@dataclass
class Served:
    root: Path
    keys: Keys
    app: object
    client: object


@pytest.fixture(scope="session")
def served(datasets, tmp_path_factory) -> Served:
    """Online Retail (real data) with an extra PII tag, built once; an in-process client on the app."""
    from fastapi.testclient import TestClient

    root = tmp_path_factory.mktemp("serve") / "retail"
    shutil.copytree(EXAMPLES / "online-retail", root, ignore=shutil.ignore_patterns("__pycache__", "warehouse"))
    (root / "tags" / "contact.yaml").write_text(PII_TAGS)
    build(root)
    keys = make_keys(root / "warehouse")
    app = create_app(root)
    with TestClient(app) as client:
        yield Served(root, keys, app, client)


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A freshly built tiny project (its own warehouse: tests may change it)."""
    root = make_tiny(tmp_path / "tiny")
    build(root)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`portrait serve` in a real subprocess (uvicorn), so tests can SIGKILL and restart it."""

    def __init__(self, root: Path, port: int | None = None):
        self.root = root
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "Server":
        env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        code = "import sys; from portrait.cli import main; sys.argv[0] = 'portrait'; main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--project", str(self.root), "--port", str(self.port), "--poll", "0.1"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_factory():
    started: list[Server] = []

    def start(root: Path, port: int | None = None) -> Server:
        s = Server(root, port).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def keys_for():
    """make_keys as a fixture: tests get API keys for a warehouse of their own."""
    return make_keys


@pytest.fixture
def tiny_factory():
    """make_tiny as a fixture: an unbuilt tiny project in a folder of the test's choice."""
    return make_tiny
