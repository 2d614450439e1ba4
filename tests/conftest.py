"""Shared fixtures: the two example projects built once per session on the real data sets."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portrait.pipeline import BuildResult, build

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "src" / "portrait" / "examples"


def data_home() -> Path:
    home = os.environ.get("PORTRAIT_DATA_HOME") or str(REPO.parent / "shared" / "datasets")
    path = Path(home)
    if not (path / "online-retail" / "online_retail.csv.gz").exists():
        pytest.fail(f"real data sets not found in {path}: set PORTRAIT_DATA_HOME (see README)")
    os.environ["PORTRAIT_DATA_HOME"] = str(path)
    return path


@dataclass
class Built:
    root: Path
    result: BuildResult

    @property
    def snapshot(self):
        return self.result.snapshot


def init_example(name: str, target: Path) -> Path:
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("__pycache__", "warehouse"))
    return target


@pytest.fixture(scope="session")
def datasets() -> Path:
    return data_home()


@pytest.fixture(scope="session")
def retail(datasets, tmp_path_factory) -> Built:
    root = init_example("online-retail", tmp_path_factory.mktemp("retail") / "project")
    return Built(root, build(root))


@pytest.fixture(scope="session")
def movielens(datasets, tmp_path_factory) -> Built:
    root = init_example("movielens", tmp_path_factory.mktemp("movielens") / "project")
    return Built(root, build(root))


@pytest.fixture(scope="session")
def retail_raw(datasets):
    """The raw Online Retail file read independently of Portrait (pandas only)."""
    import pandas as pd

    df = pd.read_csv(datasets / "online-retail" / "online_retail.csv.gz",
                     dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    df["CustomerID"] = df["CustomerID"].str.replace(r"\.0$", "", regex=True)
    return df


CONFIG = """
name: tiny
timezone: UTC
clock: data
sources:
  - name: clicks
    table: events
    path: events.csv
    columns: {ts: TIMESTAMP, amount: DOUBLE}
    fields: {user_id: uid, event_time: ts, event_type: kind, item_id: item, category: cat, amount: amount}
"""
TAGS = """
- id: spend
  name: {en: Spend}
  taxonomy: [value]
  kind: statistic
  type: number
  owner: test
  sql: SELECT user_id, sum(amount) AS spend FROM events GROUP BY user_id
- id: slow_tag
  name: {en: Deliberately slow}
  taxonomy: [value]
  kind: statistic
  type: integer
  owner: test
  sql: |
    SELECT e.user_id, count(*) AS n
    FROM events e, range({spin}) r
    WHERE (r.range + hash(e.event_id)) % 7 = 0
    GROUP BY e.user_id
"""


def _make_project(root: Path, n: int = 20_000, spin: int = 1, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "tags").mkdir(exist_ok=True)
    (root / "portrait.yaml").write_text(CONFIG)
    (root / "tags" / "t.yaml").write_text(TAGS.replace("{spin}", str(spin)))
    pd.DataFrame({
        "uid": rng.integers(0, 500, n).astype(str),
        "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 90, n), unit="s"),
        "kind": rng.choice(["view", "purchase"], n),
        "item": rng.integers(0, 100, n).astype(str),
        "cat": rng.choice(["a", "b", "c"], n),
        "amount": rng.random(n).round(2),
    }).to_csv(root / "events.csv", index=False)
    return root


@pytest.fixture
def make_project():
    """A tiny synthetic project (one CSV of events, two SQL tags); `spin` makes one tag slow."""
    return _make_project
