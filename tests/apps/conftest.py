"""Fixtures for the application tests: copies of the built examples (so saved lookalikes and
campaigns stay out of the shared fixtures' warehouses), each with one historical snapshot built
with `as_of` (MovieLens cut on 1998-03-01 for the recommendation time split; Online Retail on
2011-09-01, the notional campaign launch)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from portrait.pipeline import build

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "apps"


@dataclass
class Project:
    root: Path
    current: str  # snapshot id
    historical: str  # the as-of snapshot id


def _copy_with_history(built, target: Path, as_of: datetime) -> Project:
    shutil.copytree(built.root, target)
    historical = build(target, as_of=as_of).snapshot.id
    return Project(target, built.snapshot.id, historical)


@pytest.fixture(scope="session")
def ml(movielens, tmp_path_factory) -> Project:
    return _copy_with_history(movielens, tmp_path_factory.mktemp("apps_ml") / "movielens", datetime(1998, 3, 1))


@pytest.fixture(scope="session")
def shop(retail, tmp_path_factory) -> Project:
    return _copy_with_history(retail, tmp_path_factory.mktemp("apps_retail") / "retail", datetime(2011, 9, 1))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
