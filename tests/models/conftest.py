"""Example projects of our own (training adds snapshots and models), with their models trained once."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from portrait.models.registry import ModelVersion
from portrait.models.service import train
from portrait.pipeline import build

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "portrait" / "examples"


def copy_example(name: str, target: Path) -> Path:
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("__pycache__", "warehouse"))
    return target


@dataclass
class Trained:
    root: Path
    versions: dict[str, ModelVersion]


@pytest.fixture(scope="session")
def ml_trained(datasets, tmp_path_factory) -> Trained:
    """MovieLens with gender trained twice (same data, same seed) and age band once (1 CV repeat)."""
    root = copy_example("movielens", tmp_path_factory.mktemp("ml-models") / "project")
    build(root)
    return Trained(root, {
        "gender": train(root, "gender", repeats=1),
        "gender_again": train(root, "gender_p_female", repeats=1),
        "age_band": train(root, "age_band", repeats=1),
    })


@pytest.fixture(scope="session")
def retail_trained(datasets, tmp_path_factory) -> Trained:
    """Online Retail with churn and CLV trained at 2011-06-11, tested out-of-time at 2011-09-09."""
    root = copy_example("online-retail", tmp_path_factory.mktemp("retail-models") / "project")
    return Trained(root, {"churn": train(root, "churn"), "clv_90d": train(root, "clv_90d")})
