"""Saved lookalike audiences: a scored member list per name, kept in the warehouse.

    warehouse/lookalike/<name>/members.parquet   user_id, score, rank (best first)
    warehouse/lookalike/<name>/meta.json         seed, size, method, snapshot, drivers, ...

The segments package saves expression and split segments only; a lookalike is an explicit,
scored list, so it lives here and is addressed as `lookalike:<name>` by insight and campaigns.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd

from portrait.apps import names
from portrait.config import Project
from portrait.errors import NotFound, PortraitError
from portrait.snapshot.store import write_atomic


class LookalikeError(PortraitError):
    status = 400
    code = "lookalike"


class LookalikeExists(LookalikeError):
    status = 409
    code = "lookalike_exists"


def root(project: Project) -> Path:
    return Path(project.warehouse) / "lookalike"


def check_name(name: str) -> None:
    names.check_name(name, "lookalike", LookalikeError)


def save_scores(project: Project, name: str, members: pd.DataFrame, meta: dict, replace: bool = False) -> dict:
    """Write the scored list and its metadata (a new folder renamed into place: all or nothing)."""
    check_name(name)
    final = root(project) / name
    if final.exists() and not replace:
        raise LookalikeExists(f"lookalike `{name}` exists", hint="pass --replace to overwrite it")
    tmp = root(project) / f".{name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    members.to_parquet(tmp / "members.parquet", index=False)
    write_atomic(tmp / "meta.json", json.dumps(meta, ensure_ascii=False, indent=1, default=str))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return {"name": name, "path": str(final), "members": len(members)}


def load_scores(project: Project, name: str) -> pd.DataFrame:
    path = root(project) / name / "members.parquet"
    if not path.exists():
        raise NotFound(f"no saved lookalike {name!r}", hint="`portrait lookalike SEED --size N --save NAME` creates one")
    return pd.read_parquet(path)


def load_meta(project: Project, name: str) -> dict:
    path = root(project) / name / "meta.json"
    if not path.exists():
        raise NotFound(f"no saved lookalike {name!r}")
    return json.loads(path.read_text(encoding="utf-8"))


def list_saved(project: Project) -> list[dict]:
    out = []
    base = root(project)
    for d in sorted(base.iterdir()) if base.exists() else []:
        if d.is_dir() and not d.name.startswith(".") and (d / "meta.json").exists():
            m = json.loads((d / "meta.json").read_text(encoding="utf-8"))
            out.append({k: m.get(k) for k in ("name", "seed", "size", "method", "snapshot_id", "created_at")})
    return out
