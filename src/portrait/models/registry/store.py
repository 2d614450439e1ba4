"""Model versions on the local file system, written once and never changed.

Layout:

    warehouse/models/<model>/v1/   model.pkl, report.json, report.html, report.txt, predictions.parquet
    warehouse/models/<model>/v2/   a retrain: a new folder; v1 stays readable
    warehouse/models/<model>/.staging-<pid>-<n>/   a version being written; renamed into place when complete

Why: a predicted tag is only as trustworthy as the model behind it, so every tag value names its
model version and that version's report stays on disk next to the exact model that produced it.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from portrait.models.errors import ModelNotFound

_VERSION = re.compile(r"^v(\d+)$")
MODEL_FILE = "model.pkl"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    path: Path

    def report(self) -> dict:
        return json.loads((self.path / "report.json").read_text(encoding="utf-8"))

    def load(self) -> Any:
        """The fitted model. Pickle: only load models from a warehouse you trust (your own)."""
        with open(self.path / MODEL_FILE, "rb") as f:
            return pickle.load(f)

    def predictions(self) -> pd.DataFrame | None:
        p = self.path / "predictions.parquet"
        return pd.read_parquet(p) if p.exists() else None


class ModelStore:
    def __init__(self, warehouse: Path | str):
        self.root = Path(warehouse) / "models"

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, name: str) -> list[str]:
        d = self.root / name
        if not d.is_dir():
            return []
        found = [(int(m.group(1)), p.name) for p in d.iterdir() if p.is_dir() and (m := _VERSION.match(p.name))]
        return [v for _, v in sorted(found)]

    def latest(self, name: str) -> ModelVersion | None:
        vs = self.versions(name)
        return ModelVersion(name, vs[-1], self.root / name / vs[-1]) if vs else None

    def get(self, name: str, version: str | None = None) -> ModelVersion:
        if version is None:
            mv = self.latest(name)
            if mv is None:
                raise ModelNotFound(f"model {name!r} has no trained version", hint=f"run `portrait model train {name}`")
            return mv
        version = version if version.startswith("v") else f"v{version}"
        if version not in self.versions(name):
            raise ModelNotFound(f"model {name!r} has no version {version!r}",
                                hint=f"versions: {', '.join(self.versions(name)) or 'none'}")
        return ModelVersion(name, version, self.root / name / version)

    def next_version(self, name: str) -> str:
        vs = self.versions(name)
        return f"v{int(vs[-1][1:]) + 1 if vs else 1}"

    def save(self, name: str, model: Any, report: dict, render: Callable[[dict], dict[str, str]],
             predictions: pd.DataFrame | None = None) -> ModelVersion:
        """Write a complete version folder, then rename it into place under the next free number."""
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        staging = base / f".staging-{os.getpid()}-{id(model)}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            with open(staging / MODEL_FILE, "wb") as f:
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
            for _ in range(100):
                version = self.next_version(name)
                report = {**report, "version": version}
                (staging / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str),
                                                     encoding="utf-8")
                for fname, text in render(report).items():  # readable forms carry the version too
                    (staging / fname).write_text(text, encoding="utf-8")
                if predictions is not None:
                    predictions.assign(version=version).to_parquet(staging / "predictions.parquet", index=False)
                try:
                    os.rename(staging, base / version)  # fails if another trainer took the number
                    return ModelVersion(name, version, base / version)
                except OSError:
                    continue
            raise OSError(f"could not allocate a version for model {name!r}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
