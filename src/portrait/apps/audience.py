"""Who an application is about: a saved segment, a segment expression, or a saved lookalike.

Everything resolves to a bitmap of ordinals of one snapshot (the segments package's ordinal
space: the row order of profiles.parquet), so insight, lookalike and campaigns share it.

    students                         a saved segment (by name)
    @students AND gender = 'F'       any segment expression
    lookalike:students_x3            a lookalike result saved with `portrait lookalike --save`
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pyroaring import BitMap

from portrait.apps.insight_index import Categorical, InsightIndex, WeightedSet, index_from_profiles, to_bitmap
from portrait.apps.profiles import catalog
from portrait.config import Project, load_project
from portrait.snapshot import Snapshot

LOOKALIKE_PREFIX = "lookalike:"


@dataclass
class Audience:
    """A resolved audience: its members in `snapshot` and how it was named."""

    members: BitMap
    spec: str
    kind: str  # segment | expression | lookalike | all
    expression: str | None = None

    def describe(self) -> dict:
        return {"spec": self.spec, "kind": self.kind, "expression": self.expression, "size": len(self.members)}


def project_of(project: Project | str | Path) -> Project:
    return project if isinstance(project, Project) else load_project(project)


def context(project: Project | str | Path, snapshot: str | None = None):
    """The segments package's view of a snapshot (catalog, bitmap index, saved segments)."""
    from portrait.segments.service import context as seg_context

    return seg_context(project_of(project), snapshot)


def resolve(ctx, spec: str) -> Audience:
    """A saved segment name, a `lookalike:NAME`, `all`, or an expression → members in ctx.snapshot."""
    from portrait.segments.service import members_of

    spec = spec.strip()
    if spec == "all":
        return Audience(BitMap(range(ctx.index.n)), spec, "all")
    if spec.startswith(LOOKALIKE_PREFIX):
        from portrait.apps.lookalike_store import load_scores

        scores = load_scores(ctx.project, spec[len(LOOKALIKE_PREFIX):])
        return Audience(ordinals_of(ctx.snapshot, scores["user_id"].astype(str).tolist()), spec, "lookalike")
    saved = ctx.store.all()
    if spec in saved:
        return Audience(members_of(ctx, spec), spec, "segment", saved[spec].get("expression"))
    members = ctx.planner(ctx.bind(spec)).evaluate()
    return Audience(members, spec, "expression", spec)


# -- the snapshot's profile table and insight index, cached per process (snapshots are immutable) --

_INDEX: "OrderedDict[str, InsightIndex]" = OrderedDict()
_IDS: "OrderedDict[str, np.ndarray]" = OrderedDict()
_LOCK = threading.Lock()  # the API server calls these from worker threads


def _remember(cache: OrderedDict, key: str, value, size: int = 4):
    with _LOCK:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > size:
            cache.popitem(last=False)
    return value


def _cached(cache: OrderedDict, key: str):
    with _LOCK:
        return cache.get(key)


def user_ids(snapshot: Snapshot) -> np.ndarray:
    """ordinal → user_id (profiles.parquet row order)."""
    key = str(snapshot.path)
    hit = _cached(_IDS, key)
    if hit is not None:
        return hit
    ids = pq.read_table(snapshot.file("profiles"), columns=["user_id"]).column(0).to_numpy(zero_copy_only=False)
    return _remember(_IDS, key, ids.astype(str))


def ordinals_of(snapshot: Snapshot, ids: list[str]) -> BitMap:
    """Ordinals of the given user ids in `snapshot` (ids it does not hold are dropped)."""
    s = pd.Series(np.arange(len(user_ids(snapshot))), index=user_ids(snapshot))
    found = s.reindex(pd.Index(ids)).dropna().to_numpy(dtype=np.uint32)
    return to_bitmap(np.sort(found))


def tag_types(snapshot: Snapshot) -> dict[str, str]:
    return {t["id"]: t["type"] for t in catalog(snapshot)}


def insight_index(snapshot: Snapshot, bitmaps=None) -> InsightIndex:
    """The snapshot's InsightIndex; value and key bitmaps are taken from the segments package's
    index when one is given (same ordinals), the rest is built from profiles.parquet."""
    key = str(snapshot.path)
    hit = _cached(_INDEX, key)
    if hit is not None:
        return hit
    types = tag_types(snapshot)
    profiles = pq.read_table(snapshot.file("profiles")).to_pandas()
    index = index_from_profiles(profiles, types)
    if bitmaps is not None and getattr(bitmaps, "root", None) is not None:
        for tag, col in list(index.columns.items()):
            kind = bitmaps.kind(tag)
            if isinstance(col, Categorical) and kind == "eq":
                labels = [str(v).lower() if isinstance(v, bool) else str(v) for v in bitmaps.values(tag)]
                bms = [bitmaps.eq(tag, v) for v in bitmaps.values(tag)]
                if sorted(labels) == sorted(col.labels):  # same values: share the index's bitmaps
                    order = {lab: i for i, lab in enumerate(labels)}
                    col.bitmaps = [bms[order[lab]] for lab in col.labels]
            elif isinstance(col, WeightedSet) and kind == "wset" and sorted(bitmaps.keys(tag)) == col.keys:
                col.bitmaps = [bitmaps.has(tag, k) for k in col.keys]
    return _remember(_INDEX, key, index)


__all__ = ["Audience", "resolve", "context", "insight_index", "user_ids", "ordinals_of", "tag_types"]
