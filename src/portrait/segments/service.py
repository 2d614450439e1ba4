"""Segment services: what the CLI and the HTTP API call. Each returns a JSON-ready dict.

    count(project, expression, snapshot=None)
    save(project, name, expression, description="", replace=False)
    list_segments(project)
    show(project, name)
    delete(project, name)
    split(project, name, ratios, seed, names=None)
    export(project, name, out, format="csv", tags=None, snapshot=None)      (report.py)
    diff(project, name, from_snapshot, to_snapshot, limit=100, out=None)     (report.py)
    explain(project, name, user_id, snapshot=None, expression=None)        (report.py)
    refresh(project, snapshot)                     every build, after publishing (POST_PUBLISH)

`project` is a Project, or a path to a project folder.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from pyroaring import BitMap

from portrait.apps.profiles import catalog_tags
from portrait.config import Project, load_project
from portrait.errors import PortraitError
from portrait.segments.bind import Bound, SegmentSource, SplitSpec, bind
from portrait.segments.clock import Clock
from portrait.segments.errors import SegmentError
from portrait.segments.expr import SEGMENT_NAME, parse
from portrait.segments.index import BitmapIndex, open_index
from portrait.segments.planner import Planner
from portrait.segments.store import SegmentStore, source
from portrait.segments.table import ProfileTable
from portrait.snapshot import Snapshot, SnapshotStore


class SegmentConflict(SegmentError):
    status = 409
    code = "segment_conflict"


@dataclass
class Context:
    """One snapshot as segments see it: catalog, bitmap index, profile table, saved segments."""

    project: Project
    snapshot: Snapshot
    tags: dict
    index: BitmapIndex
    table: ProfileTable
    store: SegmentStore

    @property
    def clock(self) -> Clock:
        m = self.snapshot.manifest
        return Clock(m.as_of, m.timezone)

    def bind(self, expression: str, name: str | None = None, segments: dict | None = None) -> Bound:
        where = f"segment {name}" if name else "<expression>"
        expr = parse(expression, where)
        return bind(expr, self.tags, self.clock, self.store.sources() if segments is None else segments, name)

    def planner(self, bound: Bound, members: dict | None = None) -> Planner:
        p = Planner(self.index, bound, lambda preds: self.table.fallback(preds, self.clock), self.table.hashes)
        if members:
            p.members.update(members)
        return p


def _project(project: Project | str | Path) -> Project:
    return project if isinstance(project, Project) else load_project(project)


_TAGS: dict[str, dict] = {}  # snapshot path → validated catalog (snapshots are immutable)


def context(project: Project | str | Path, snapshot: str | None = None) -> Context:
    proj = _project(project)
    snap = SnapshotStore(proj.warehouse).open(snapshot)
    index = open_index(snap.path / "bitmaps", snap.manifest.users)
    key = str(snap.path)
    if key not in _TAGS:
        if len(_TAGS) > 32:
            _TAGS.clear()
        _TAGS[key] = catalog_tags(snap)
    return Context(proj, snap, _TAGS[key], index, ProfileTable(snap.file("profiles"), snap.manifest.timezone),
                   SegmentStore(proj.warehouse))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _share(size: int, users: int) -> float:
    return round(size / users, 6) if users else 0.0


def _snap_info(ctx: Context) -> dict:
    return {"snapshot_id": ctx.snapshot.id, "as_of": ctx.snapshot.manifest.as_of.isoformat()}


def _source_bound(ctx: Context, name: str, segments: dict) -> Bound:
    """A saved segment as an expression (`@name`), so splits and plain segments evaluate alike."""
    return ctx.bind(f"@{name}", None, segments)


def members_of(ctx: Context, name: str, cache: dict | None = None) -> BitMap:
    """Who is in a saved segment in this context's snapshot (current definition)."""
    bound = _source_bound(ctx, name, ctx.store.sources())
    return ctx.planner(bound, cache).evaluate()


# -- count ---------------------------------------------------------------------------------------

def count(project: Project | str | Path, expression: str, snapshot: str | None = None) -> dict:
    """Size and share of an expression's audience; bitmap cardinality only, no user ids."""
    t0 = time.perf_counter()
    ctx = context(project, snapshot)
    bound = ctx.bind(expression)
    planner = ctx.planner(bound)
    size = len(planner.evaluate())
    n = ctx.index.n
    return {
        "expression": expression, **_snap_info(ctx), "size": size, "users": n, "share": _share(size, n),
        "plan": planner.stats, "warnings": planner.warnings, "references": list(bound.refs),
        "elapsed_ms": round((time.perf_counter() - t0) * 1000, 2),
    }


# -- saved segments ------------------------------------------------------------------------------

def _check_name(name: str) -> None:
    if not SEGMENT_NAME.match(name or ""):
        raise SegmentError(f"`{name}` is not a valid segment name",
                           hint="lower-case letters, digits and _, starting with a letter (it is written @name)")


def _definition_hash(d: dict) -> str:
    body = d.get("expression") or repr(sorted((d.get("split") or {}).items()))
    return hashlib.sha256(body.encode()).hexdigest()[:12]


def _record(store: SegmentStore, segments: dict, name: str, ctx: Context, members: BitMap | None,
            error: str | None = None) -> dict:
    """Append (or replace) this snapshot's entry in a segment's size history; store the members."""
    d = segments[name]
    entry = {**_snap_info(ctx), "evaluated_at": _now(), "definition_hash": _definition_hash(d),
             "users": ctx.index.n}
    if error is not None:
        entry["error"] = error
    else:
        entry.update(size=len(members), share=_share(len(members), ctx.index.n))
        store.save_members(ctx.snapshot.id, name, members)
    d["history"] = [h for h in d.get("history", []) if h.get("snapshot_id") != ctx.snapshot.id] + [entry]
    return entry


def save(project: Project | str | Path, name: str, expression: str, description: str = "",
         replace: bool = False) -> dict:
    """Validate, evaluate on the current snapshot and store a named segment."""
    _check_name(name)
    ctx = context(project)
    if name in ctx.tags:
        raise SegmentError(f"`{name}` is a tag id; give the segment another name")
    existing = ctx.store.all()
    if name in existing and not replace:
        raise SegmentConflict(f"segment `{name}` exists", hint="pass --replace to redefine it")
    if name in existing and existing[name].get("split"):
        raise SegmentConflict(f"`{name}` is a split of `{existing[name]['split']['parent']}`; it has no expression")
    segments = ctx.store.sources()
    segments[name] = SegmentSource(name, expression)
    bound = ctx.bind(expression, name, segments)  # errors, unknown references and cycles stop here
    members = ctx.planner(bound).evaluate()
    with ctx.store.edit() as stored:
        now = _now()
        d = stored.get(name) or {"name": name, "created_at": now, "history": []}
        d.update(name=name, kind="expression", expression=expression, description=description,
                 references=list(bound.expr.refs), split=None, updated_at=now)
        stored[name] = d
        _record(ctx.store, stored, name, ctx, members)
    return show(ctx.project, name)


def _summary(d: dict) -> dict:
    last = next((h for h in reversed(d.get("history", [])) if "size" in h), None)
    return {
        "name": d["name"], "kind": d.get("kind", "expression"), "expression": d.get("expression"),
        "description": d.get("description", ""), "split": d.get("split"),
        "size": last["size"] if last else None, "share": last["share"] if last else None,
        "snapshot_id": last["snapshot_id"] if last else None, "updated_at": d.get("updated_at"),
    }


def list_segments(project: Project | str | Path) -> list[dict]:
    proj = _project(project)
    return [_summary(d) for _, d in sorted(SegmentStore(proj.warehouse).all().items())]


def show(project: Project | str | Path, name: str) -> dict:
    """Definition, references both ways, and the size in every snapshot it was evaluated on."""
    proj = _project(project)
    store = SegmentStore(proj.warehouse)
    d = store.get(name)
    referenced_by = sorted(n for n, o in store.all().items()
                           if name in (o.get("references") or []) or (o.get("split") or {}).get("parent") == name)
    return {**_summary(d), "created_at": d.get("created_at"), "references": d.get("references") or [],
            "referenced_by": referenced_by, "history": d.get("history", [])}


def delete(project: Project | str | Path, name: str) -> dict:
    proj = _project(project)
    store = SegmentStore(proj.warehouse)
    store.get(name)
    users = show(proj, name)["referenced_by"]
    if users:
        raise SegmentConflict(f"segment `{name}` is used by {', '.join(users)}", hint="delete or redefine those first")
    with store.edit() as stored:
        stored.pop(name, None)
    store.delete_members(name)
    return {"deleted": name}


# -- split ---------------------------------------------------------------------------------------

def split_bounds(ratios: Sequence[float]) -> list[tuple[int, int]]:
    """Hash ranges [lo, hi) over 0..2^64 for each ratio (exact arithmetic, contiguous, covering)."""
    fracs = [Fraction(str(r)) for r in ratios]
    if not fracs or any(f <= 0 for f in fracs):
        raise SegmentError("ratios must be positive, e.g. --ratios 0.9,0.1")
    total = sum(fracs)
    if abs(total - 1) > Fraction(1, 10**6):
        raise SegmentError(f"ratios must add up to 1 (they add up to {float(total):g})")
    bounds, cum = [], Fraction(0)
    for i, f in enumerate(fracs):
        lo = int(cum / total * 2**64)
        cum += f
        hi = 2**64 if i == len(fracs) - 1 else int(cum / total * 2**64)
        bounds.append((lo, hi))
    return bounds


def split(project: Project | str | Path, name: str, ratios: Sequence[float], seed: int,
          names: Sequence[str] | None = None) -> dict:
    """Split a segment into disjoint children by hashing user ids with a seed (e.g. 90% target,
    10% control). A user's child depends only on (seed, user_id): it is stable across snapshots
    for as long as the user stays in the parent. Children are saved segments of kind `split`."""
    ctx = context(project)
    ctx.store.get(name)
    bounds = split_bounds(ratios)
    names = list(names) if names else [f"{name}_{i + 1}" for i in range(len(bounds))]
    if len(names) != len(bounds):
        raise SegmentError(f"{len(bounds)} ratios but {len(names)} names")
    existing = ctx.store.all()
    for child in names:
        _check_name(child)
        if child in existing or child in ctx.tags:
            raise SegmentConflict(f"`{child}` exists", hint="choose other names with --names")
    parent = members_of(ctx, name)
    cache = {name: parent}
    out = []
    with ctx.store.edit() as stored:
        for child, (lo, hi), ratio in zip(names, bounds, ratios):
            now = _now()
            stored[child] = {"name": child, "kind": "split", "expression": None, "references": [name],
                             "description": f"{float(ratio):g} of {name} (seed {seed})", "created_at": now,
                             "updated_at": now, "history": [],
                             "split": {"parent": name, "seed": int(seed), "ratio": float(ratio), "lo": lo, "hi": hi}}
        segments = {n: source(d) for n, d in stored.items()}
        for child in names:
            members = ctx.planner(_source_bound(ctx, child, segments), cache).evaluate()
            _record(ctx.store, stored, child, ctx, members)
            out.append({"name": child, "ratio": stored[child]["split"]["ratio"], "size": len(members),
                        "share_of_parent": _share(len(members), len(parent))})
    return {"parent": name, "seed": int(seed), "parent_size": len(parent), **_snap_info(ctx), "children": out}


# -- every build ---------------------------------------------------------------------------------

def refresh(project: Project | str | Path, snapshot: Snapshot | str | None = None) -> list[dict]:
    """Re-evaluate every saved segment on a snapshot and record sizes and members. A segment
    that no longer evaluates (a tag was removed) gets an error entry instead of failing the build."""
    proj = _project(project)
    if not SegmentStore(proj.warehouse).file.exists():
        return []  # nothing saved: a build pays nothing
    snap_id = snapshot.id if isinstance(snapshot, Snapshot) else snapshot
    ctx = context(proj, snap_id)
    store = ctx.store
    results, cache = [], {}
    with store.edit() as stored:
        segments = {n: source(d) for n, d in stored.items()}
        for name in sorted(stored):
            try:
                planner = ctx.planner(_source_bound(ctx, name, segments), cache)
                members = planner.evaluate()
                cache.update(planner.members)
                entry = _record(store, stored, name, ctx, members)
            except PortraitError as e:
                entry = _record(store, stored, name, ctx, None, error=e.message)
            results.append({"name": name, **{k: entry.get(k) for k in ("size", "share", "error") if k in entry}})
    store.prune_members(set(SnapshotStore(proj.warehouse).ids()))
    return results


from portrait.segments.report import diff, explain, export  # noqa: E402  (re-exported service functions)

__all__ = ["count", "save", "list_segments", "show", "delete", "split", "export", "diff", "explain", "refresh",
           "context", "members_of", "Context", "SegmentConflict"]
