"""Campaigns with a control group (精准营销 with a holdout): create, export, measure.

    create(project, "winback", segment="@at_risk", control=0.1, seed=7)   audience frozen at launch
    export(project, "winback", "treatment.csv", tags=["country"])        who to contact
    measure(project, "winback", outcome="event_type = 'purchase'", window=30)

The audience is evaluated once, on the launch snapshot (e.g. one built with `--as-of` the
launch date), and frozen with the campaign; users go to control by the segments package's
split hash (md5 of seed and user id), so the assignment is deterministic and the same a
`segment split` with that seed gives. `measure` reads a later snapshot's events in
[launch, launch + window) and compares how many users of each group had a matching event.

    warehouse/campaigns/<name>/campaign.json    definition, launch time, sizes
    warehouse/campaigns/<name>/members.parquet  user_id, group (treatment | control)
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from portrait.apps.audience import context, project_of, resolve
from portrait.apps.campaign_stats import two_proportions
from portrait.apps.names import check_name
from portrait.apps.campaign_outcome import check_outcome
from portrait.apps.insight_index import members as ordinals
from portrait.apps.profiles import jsonable
from portrait.config import Project
from portrait.errors import NotFound, PortraitError
from portrait.snapshot import SnapshotStore, connect
from portrait.snapshot.store import write_atomic


class CampaignError(PortraitError):
    status = 400
    code = "campaign"


class CampaignExists(CampaignError):
    status = 409
    code = "campaign_exists"


def _root(project: Project) -> Path:
    return Path(project.warehouse) / "campaigns"


def _check_name(name: str) -> None:
    check_name(name, "campaign", CampaignError)


def _read(project: Project, name: str) -> dict:
    path = _root(project) / name / "campaign.json"
    if not path.exists():
        raise NotFound(f"no campaign {name!r}", hint="`portrait campaign create NAME --segment S` creates one")
    return json.loads(path.read_text(encoding="utf-8"))


def _members(project: Project, name: str) -> pd.DataFrame:
    return pd.read_parquet(_root(project) / name / "members.parquet")


def _parse_time(text: str | None, tz: str) -> datetime | None:
    if not text:
        return None
    t = pd.Timestamp(text)
    return (t.tz_localize(tz) if t.tzinfo is None else t).to_pydatetime()


def create(project: Project | str | Path, name: str, segment: str, control: float = 0.1, seed: int = 0,
           snapshot: str | None = None, launch: str | None = None, description: str = "",
           replace: bool = False) -> dict:
    """Freeze SEGMENT's members in the launch snapshot and split them into treatment and control."""
    from portrait.segments.service import split_bounds

    _check_name(name)
    if not 0 < control < 1:
        raise CampaignError(f"--control must be between 0 and 1 (got {control})")
    proj = project_of(project)
    final = _root(proj) / name
    if final.exists() and not replace:
        raise CampaignExists(f"campaign `{name}` exists", hint="pass --replace to recreate it")
    ctx = context(proj, snapshot)
    aud = resolve(ctx, segment)
    if len(aud.members) == 0:
        raise CampaignError(f"segment {segment!r} is empty in snapshot {ctx.snapshot.id}")
    m = ctx.snapshot.manifest
    launch_at = _parse_time(launch, m.timezone) or m.as_of
    warnings = []
    if launch_at < m.as_of - timedelta(days=1):
        warnings.append(f"the audience comes from snapshot {ctx.snapshot.id} as of {m.as_of.date()}, after the launch: "
                        "build `--as-of` the launch date and pass that snapshot with -s for an unbiased audience")
    ords = ordinals(aud.members)
    lo, hi = split_bounds([1 - control, control])[1]  # control is the last range: [lo, 2^64)
    bucket = ctx.table.hashes(int(seed))[ords]
    in_control = bucket >= np.uint64(lo)
    ids = ctx.index.take(aud.members) if ctx.index.root else pa.array(_user_ids(ctx.snapshot)[ords])
    table = pd.DataFrame({"user_id": pd.Series(ids.to_pylist(), dtype=str),
                          "group": np.where(in_control, "control", "treatment")})
    definition = {
        "name": name, "description": description, "segment": aud.describe(),
        "snapshot_id": ctx.snapshot.id, "snapshot_as_of": m.as_of.isoformat(), "launch": launch_at.isoformat(),
        "timezone": m.timezone, "control": float(control), "seed": int(seed),
        "split": {"method": "segments split hash md5(seed:user_id)", "control_range": [str(lo), str(hi)]},
        "treatment_size": int((~in_control).sum()), "control_size": int(in_control.sum()),
        "created_at": datetime.now(timezone.utc).isoformat(), "warnings": warnings,
    }
    tmp = _root(proj) / f".{name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    table.to_parquet(tmp / "members.parquet", index=False)
    write_atomic(tmp / "campaign.json", json.dumps(definition, ensure_ascii=False, indent=1))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return jsonable({**definition, "size": len(table), "control_share": float(in_control.mean())})


def _user_ids(snapshot) -> np.ndarray:
    from portrait.apps.audience import user_ids

    return user_ids(snapshot)


def show(project: Project | str | Path, name: str) -> dict:
    return _read(project_of(project), name)


def list_campaigns(project: Project | str | Path) -> list[dict]:
    proj = project_of(project)
    root = _root(proj)
    out = []
    for d in sorted(root.iterdir()) if root.exists() else []:
        if d.is_dir() and not d.name.startswith(".") and (d / "campaign.json").exists():
            c = json.loads((d / "campaign.json").read_text(encoding="utf-8"))
            out.append({k: c.get(k) for k in ("name", "launch", "treatment_size", "control_size", "seed", "control")})
    return out


def export(project: Project | str | Path, name: str, out: str | Path, format: str = "csv", tags: list[str] | None = None,
           group: str = "treatment", snapshot: str | None = None) -> dict:
    """Write one group (default: treatment, the users to contact) with chosen tags to CSV or Parquet.

    Tags are read from the campaign's launch snapshot unless another snapshot is given."""
    proj = project_of(project)
    c = _read(proj, name)
    fmt = format.lower()
    if fmt not in ("csv", "parquet"):
        raise CampaignError(f"unknown format {format!r}", hint="use csv or parquet")
    if group not in ("treatment", "control", "all"):
        raise CampaignError(f"unknown group {group!r}", hint="treatment, control or all")
    snap = SnapshotStore(proj.warehouse).open(snapshot or c["snapshot_id"])
    mem = _members(proj, name)
    if group != "all":
        mem = mem[mem["group"] == group]
    tags = [t for t in (tags or []) if t]
    if tags:
        schema = pq.read_schema(snap.file("profiles"))
        unknown = [t for t in tags if t not in schema.names or t == "user_id"]
        if unknown:
            raise CampaignError(f"unknown tag(s) {unknown}", hint="`portrait tags list` shows the catalog")
        prof = pq.read_table(snap.file("profiles"), columns=["user_id", *tags]).to_pandas()
        prof["user_id"] = prof["user_id"].astype(str)
        mem = mem.merge(prof, on="user_id", how="left")
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "parquet":
        mem.to_parquet(tmp, index=False)
    else:
        for col in mem.columns:  # CSV has no lists: weighted sets become JSON text
            if mem[col].map(lambda v: isinstance(v, (list, np.ndarray))).any():
                mem[col] = mem[col].map(lambda v: None if v is None else json.dumps(
                    [dict(e) for e in v], ensure_ascii=False, default=str))
        mem.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return {"campaign": name, "group": group, "rows": int(len(mem)), "path": str(path), "format": fmt,
            "columns": list(mem.columns), "snapshot_id": snap.id}


def measure(project: Project | str | Path, name: str, outcome: str = "event_type = 'purchase'", window: int = 30,
            snapshot: str | None = None, confidence: float = 0.95) -> dict:
    """Share of each group with ≥ 1 event matching OUTCOME in [launch, launch + window days), from a
    later snapshot's events; uplift = treatment − control with its interval and a z-test p-value."""
    proj = project_of(project)
    c = _read(proj, name)
    if window <= 0:
        raise CampaignError("--window must be a positive number of days")
    snap = SnapshotStore(proj.warehouse).open(snapshot)
    condition = check_outcome(outcome, snap)
    start = datetime.fromisoformat(c["launch"])
    end = start + timedelta(days=window)
    warnings = []
    if snap.manifest.as_of < end:
        warnings.append(f"snapshot {snap.id} ends at {snap.manifest.as_of.isoformat()}, before the window closes "
                        f"({end.isoformat()}): events after it are not counted")
    if snap.manifest.as_of <= start:
        raise CampaignError(f"snapshot {snap.id} (as of {snap.manifest.as_of.isoformat()}) has no events after launch",
                            hint="measure on a snapshot built after the launch")
    mem = _members(proj, name)
    con = connect(snap, ("events",))
    try:
        con.register("members", mem)
        rows = con.execute(
            f"SELECT m.\"group\", count(DISTINCT m.user_id) AS users, count(DISTINCT e.user_id) AS converted, "
            f"count(e.user_id) AS events FROM members m LEFT JOIN (SELECT user_id FROM events "
            f"WHERE event_time >= ? AND event_time < ? AND ({condition})) e ON e.user_id = m.user_id GROUP BY ALL",
            [start, end]).fetchall()
    finally:
        con.close()
    by = {g: {"users": u, "converted": x, "events": n} for g, u, x, n in rows}
    t, k = by.get("treatment", {"users": 0, "converted": 0}), by.get("control", {"users": 0, "converted": 0})
    stats = two_proportions(t["converted"], t["users"], k["converted"], k["users"], confidence)
    return jsonable({
        "campaign": name, "outcome": outcome, "window_days": window, "launch": c["launch"], "window_end": end.isoformat(),
        "snapshot_id": snap.id, "as_of": snap.manifest.as_of.isoformat(), **stats,
        "events": {g: by.get(g, {}).get("events", 0) for g in ("treatment", "control")}, "warnings": warnings,
    })
