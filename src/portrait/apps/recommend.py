"""Recommendation driven by the profile (千人千面): `recommend(project, user_id, k)`.

Candidates come from the user's interest tag (the catalog's `interest` built-in: genres or
categories → items popular within them, recency-weighted) and from item co-occurrence with the
user's history; they are ranked by a blend and filtered of what the user already consumed.
`recommend_eval` measures hit rate and NDCG at k on a time split: the model is built from an
as-of snapshot, the truth is what each user consumed after that date in a later snapshot,
against global popularity on the same users.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from portrait.apps.audience import project_of
from portrait.apps.lookalike import NEGATIVE_EVENTS, item_titles
from portrait.apps.profiles import catalog, jsonable
from portrait.apps.recommend_model import WEIGHTS, RecData, build, parts, popularity, score, top_k
from portrait.config import Project
from portrait.errors import NotFound, PortraitError
from portrait.snapshot import Snapshot, SnapshotStore, connect


class RecommendError(PortraitError):
    status = 400
    code = "recommend"


_DATA: "OrderedDict[str, RecData]" = OrderedDict()
_LOCK = threading.Lock()


def interest_tag(snapshot: Snapshot) -> dict | None:
    """The catalog's interest weighted set (built-in `interest`, output `weights`), if any."""
    for t in catalog(snapshot):
        if t["type"] == "weighted_set" and t.get("builtin") == "interest" and t.get("output", "weights") == "weights":
            return t
    return None


def _item_keys(con, dimension: str) -> pd.DataFrame:
    if dimension == "genre":
        sql = "SELECT item_id, unnest(genres) AS key FROM items WHERE genres IS NOT NULL"
    elif dimension in ("brand", "item_category"):
        col = "brand" if dimension == "brand" else "category"
        sql = f"SELECT item_id, {col} AS key FROM items WHERE {col} IS NOT NULL"
    else:
        sql = "SELECT DISTINCT item_id, category AS key FROM events WHERE category IS NOT NULL AND item_id IS NOT NULL"
    return con.execute(sql).df()


def load(snapshot: Snapshot) -> tuple[RecData, dict | None]:
    """The recommendation data of a snapshot (cached per process: snapshots are immutable)."""
    tag = interest_tag(snapshot)
    key = str(snapshot.path)
    with _LOCK:
        if key in _DATA:
            _DATA.move_to_end(key)
            return _DATA[key], tag
    params = (tag or {}).get("params") or {}
    con = connect(snapshot, ("events", "items"))
    try:
        neg = ", ".join(f"'{e}'" for e in NEGATIVE_EVENTS)
        as_of = snapshot.manifest.as_of.isoformat()
        inter = con.execute(
            f"SELECT user_id, item_id, epoch(TIMESTAMPTZ '{as_of}' - max(event_time)) / 86400.0 AS age_days "
            f"FROM events WHERE item_id IS NOT NULL AND event_type NOT IN ({neg}) GROUP BY ALL").df()
        keys = _item_keys(con, params.get("dimension", "category")) if tag else pd.DataFrame(columns=["item_id", "key"])
    finally:
        con.close()
    profiles = pq.read_table(snapshot.file("profiles"), columns=["user_id"] + ([tag["id"]] if tag else [])).to_pandas()
    rows = []
    if tag:
        for uid, v in zip(profiles["user_id"].astype(str), profiles[tag["id"]]):
            for e in (v if v is not None and not isinstance(v, float) else []):
                if e and e.get("key") is not None and e.get("weight") is not None:
                    rows.append((uid, e["key"], float(e["weight"])))
    interests = pd.DataFrame(rows, columns=["user_id", "key", "weight"])
    data = build(inter, keys, interests, profiles["user_id"].astype(str).to_numpy())
    with _LOCK:
        _DATA[key] = data
        while len(_DATA) > 4:
            _DATA.popitem(last=False)
    return data, tag


def recommend(project: Project | str | Path, user_id: str, k: int = 10, snapshot: str | None = None) -> dict:
    """The top-k items for one user, each with the recall path that found it and why."""
    t0 = time.perf_counter()
    if k <= 0:
        raise RecommendError("--k must be positive")
    proj = project_of(project)
    snap = SnapshotStore(proj.warehouse).open(snapshot)
    data, tag = load(snap)
    pos = data.position(user_id)
    if pos is None:
        raise NotFound(f"no user {user_id!r} in snapshot {snap.id}")
    rows = np.array([pos])
    p = parts(data, rows)
    s = score(data, rows)
    chosen = [c for c in top_k(s, k)[0] if np.isfinite(s[0, c])]
    titles = item_titles(snap)
    hist = data.history[pos]
    weights = data.interests[pos]
    items = []
    for rank, c in enumerate(chosen, 1):
        contrib = {name: float(WEIGHTS[name] * p[name][0, c]) for name in WEIGHTS}
        because = None
        if hist.nnz:
            via = hist.multiply(data.sim[:, c].T).tocsr()
            if via.nnz:
                j = via.indices[np.argmax(via.data)]
                because = {"item_id": str(data.item_ids[j]), "title": titles.get(str(data.item_ids[j]))}
        key = None
        if weights.nnz:
            via = weights.multiply(data.key_items[:, c].T).tocsr()
            if via.nnz:
                key = data.keys[via.indices[np.argmax(via.data)]]
        items.append({
            "rank": rank, "item_id": str(data.item_ids[c]), "title": titles.get(str(data.item_ids[c])),
            "score": float(s[0, c]), "source": max(contrib, key=contrib.get), "contributions": contrib,
            "because_of": because, "interest": key, "consumers": int(data.count[c]),
        })
    top_interests = sorted(((data.keys[j], float(w)) for j, w in zip(weights.indices, weights.data)), key=lambda x: -x[1])
    return jsonable({
        "user_id": str(user_id), "snapshot_id": snap.id, "as_of": snap.manifest.as_of.isoformat(), "k": k,
        "interest_tag": tag["id"] if tag else None,
        "interests": [{"key": key, "weight": w} for key, w in top_interests[:10]],
        "consumed": int(data.seen[pos].nnz), "items": items, "weights": WEIGHTS,
        "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1),
    })


def _metrics(ranked: np.ndarray, truth: list[set[int]], k: int) -> dict:
    hits, ndcg = [], []
    for r, rel in zip(ranked, truth):
        gains = [1.0 / math.log2(i + 2) for i, c in enumerate(r[:k]) if c in rel]
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(rel))))
        hits.append(1.0 if gains else 0.0)
        ndcg.append(sum(gains) / ideal if ideal else 0.0)
    return {"hit_rate": float(np.mean(hits)) if hits else 0.0, "ndcg": float(np.mean(ndcg)) if ndcg else 0.0}


def recommend_eval(project: Project | str | Path, train: str, test: str | None = None, k: int = 10) -> dict:
    """HR@k and NDCG@k of `recommend` and of global popularity, on one time split.

    `train` is an as-of snapshot (e.g. `portrait build --as-of 1998-03-01`); the truth for each
    user is the set of items they consumed after its as-of time in `test` (default: current),
    new to them. Users without history before the cut or without new items after it are skipped."""
    t0 = time.perf_counter()
    proj = project_of(project)
    store = SnapshotStore(proj.warehouse)
    train_snap, test_snap = store.open(train), store.open(test)
    cut = train_snap.manifest.as_of
    if test_snap.manifest.as_of <= cut:
        raise RecommendError(f"the test snapshot ({test_snap.manifest.as_of}) is not later than the train one ({cut})")
    data, _tag = load(train_snap)
    con = connect(test_snap, ("events",))
    try:
        neg = ", ".join(f"'{e}'" for e in NEGATIVE_EVENTS)
        later = con.execute(f"SELECT DISTINCT user_id, item_id FROM events WHERE item_id IS NOT NULL AND "
                            f"event_type NOT IN ({neg}) AND event_time >= TIMESTAMPTZ '{cut.isoformat()}'").df()
    finally:
        con.close()
    item_pos = pd.Series(np.arange(len(data.item_ids)), index=pd.Index(data.item_ids))
    user_pos = pd.Series(np.arange(len(data.user_ids)), index=pd.Index(data.user_ids))
    later = later[later["user_id"].astype(str).isin(user_pos.index) & later["item_id"].astype(str).isin(item_pos.index)]
    rows, truth = [], []
    for uid, g in later.groupby(later["user_id"].astype(str)):
        r = int(user_pos[uid])
        if data.seen[r].nnz == 0:
            continue
        new = set(item_pos[g["item_id"].astype(str)].tolist()) - set(data.seen[r].indices.tolist())
        if new:
            rows.append(r)
            truth.append(new)
    if not rows:
        raise RecommendError("no user has history before the cut and new items after it")
    rows_arr = np.array(rows)
    ours = _metrics(top_k(score(data, rows_arr), k), truth, k)
    base = _metrics(top_k(popularity(data, rows_arr), k), truth, k)
    return jsonable({
        "train_snapshot": train_snap.id, "test_snapshot": test_snap.id, "cut": cut.isoformat(), "k": k,
        "users": len(rows), "relevant_per_user": float(np.mean([len(t) for t in truth])),
        "recommend": ours, "popularity": base,
        "hit_rate_ratio": ours["hit_rate"] / base["hit_rate"] if base["hit_rate"] else None,
        "ndcg_ratio": ours["ndcg"] / base["ndcg"] if base["ndcg"] else None,
        "weights": WEIGHTS, "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1),
    })
