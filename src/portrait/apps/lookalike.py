"""Lookalike expansion (相似人群扩展): a seed audience grown to N users most like it.

    lookalike(project, "students", size=500, exclude=["occupation"], save="students_x3")
    lookalike_eval(project, "occupation = 'student'", exclude=["occupation"], baseline_tags=["age"])

Features are the profile tags plus behaviour (a user × item TF-IDF of the snapshot's events);
the model is PU bagging over logistic regressions, and cosine similarity to the seed's centroid
runs alongside as the simple method to compare against (a held-out part of the seed says which
finds seed-like users better). The result names the features that drive the expansion. A saved
lookalike is a scored list under the warehouse, usable as `lookalike:NAME` wherever a segment is.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from portrait.apps.audience import context, resolve
from portrait.apps.insight_index import members
from portrait.apps.lookalike_eval import baseline_matrix, evaluate
from portrait.apps.lookalike_expand import choose, expand
from portrait.apps.lookalike_features import build_features, excluded_closure
from portrait.apps.lookalike_model import drivers
from portrait.apps.lookalike_store import LookalikeError, check_name, save_scores
from portrait.apps.profiles import catalog, jsonable
from portrait.config import Project
from portrait.snapshot import Snapshot, connect

NEGATIVE_EVENTS = ("return", "refund", "unfavorite", "unfavourite", "dislike")
MIN_SEED = 5


def behaviour_pairs(snapshot: Snapshot) -> pd.DataFrame:
    """(user_id, item_id, n): how often each user touched each item, negative events left out."""
    con = connect(snapshot, ("events",))
    try:
        neg = ", ".join(f"'{e}'" for e in NEGATIVE_EVENTS)
        return con.execute(
            f"SELECT user_id, item_id, count(*) AS n FROM events WHERE item_id IS NOT NULL "
            f"AND event_type NOT IN ({neg}) GROUP BY ALL").df()
    finally:
        con.close()


def item_titles(snapshot: Snapshot) -> dict[str, str]:
    """item_id → a readable name: items.title, else the events' `description` property (retail lines)."""
    con = connect(snapshot, ("items", "events"))
    try:
        cols = [r[0] for r in con.execute("DESCRIBE items").fetchall()]
        if "title" in cols:
            titles = dict(con.execute("SELECT item_id, title FROM items WHERE title IS NOT NULL").fetchall())
            if titles:
                return {str(k): v for k, v in titles.items()}
        rows = con.execute("SELECT item_id, mode(props->>'description') FROM events "
                           "WHERE item_id IS NOT NULL AND props->>'description' IS NOT NULL GROUP BY item_id").fetchall()
        return {str(k): v for k, v in rows}
    except Exception:  # noqa: BLE001 - no items table or no such property: show item ids
        return {}
    finally:
        con.close()


def _check_tags(cat: list[dict], tags: list[str]) -> None:
    known = {t["id"] for t in cat}
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise LookalikeError(f"unknown tag(s) {unknown}", hint="`portrait tags list` shows the catalog")


def _load(project, snapshot: str | None, exclude: list[str]):
    ctx = context(project, snapshot)
    cat = catalog(ctx.snapshot)
    _check_tags(cat, exclude)
    skip = excluded_closure(cat, set(exclude))
    profiles = pq.read_table(ctx.snapshot.file("profiles")).to_pandas()
    F = build_features(profiles, cat, behaviour_pairs(ctx.snapshot), skip)
    return ctx, cat, skip, profiles, F


def _label(feature: str, titles: dict[str, str]) -> str:
    if feature.startswith("item:") and feature[5:] in titles:
        return f"item {feature[5:]}: {titles[feature[5:]]}"
    return feature


def _holdout(F, seed_mask: np.ndarray, size: int, random_state: int) -> dict:
    """Recall of a held-out third of the seed in each method's top `size`: which method finds seed-like users."""
    rng = np.random.default_rng(random_state)
    rows = rng.permutation(np.flatnonzero(seed_mask))
    held = rows[: max(1, len(rows) // 3)]
    train = seed_mask.copy()
    train[held] = False
    k = max(size, len(held))
    out = {}
    choice = choose(F, train, random_state=random_state)
    for method in ("pu", "centroid"):
        chosen = expand(F, train, k, method=method, random_state=random_state, choice=choice).rows
        out[method] = {"held_out": int(len(held)), "top": int(k), "recall": float(np.isin(held, chosen).mean())}
    return out


def lookalike(project: Project | str | Path, seed: str, size: int, exclude: list[str] | None = None,
              save: str | None = None, method: str = "pu", snapshot: str | None = None, replace: bool = False,
              preview: int = 20, random_state: int = 0, compare: bool = True) -> dict:
    """Expand SEED (saved segment, expression or lookalike:NAME) to `size` users who are not in it."""
    t0 = time.perf_counter()
    if save:
        check_name(save)
    if size <= 0:
        raise LookalikeError("--size must be positive")
    exclude = [t for t in (exclude or []) if t]
    ctx, cat, skip, profiles, F = _load(project, snapshot, exclude)
    aud = resolve(ctx, seed)
    seed_mask = np.zeros(len(profiles), dtype=bool)
    seed_mask[members(aud.members)] = True
    if seed_mask.sum() < MIN_SEED:
        raise LookalikeError(f"the seed has {int(seed_mask.sum())} users in this snapshot; at least {MIN_SEED} are needed")
    e = expand(F, seed_mask, size, method=method, random_state=random_state)
    ids = profiles["user_id"].astype(str).to_numpy()
    candidates = ~seed_mask
    pct = pd.Series(e.scores[candidates]).rank(pct=True).to_numpy()
    percentile = np.full(len(ids), np.nan)
    percentile[candidates] = pct
    chosen = pd.DataFrame({"user_id": ids[e.rows], "score": e.scores[e.rows], "rank": np.arange(1, len(e.rows) + 1),
                           "percentile": percentile[e.rows]})
    titles = item_titles(ctx.snapshot)
    why = []
    if e.coef is not None:
        why = [{**d, "feature": _label(d["feature"], titles)} for d in drivers(e.coef, e.X, seed_mask, F.names, raw=F.X)]
    result = {
        "seed": aud.describe(), "snapshot_id": ctx.snapshot.id, "as_of": ctx.snapshot.manifest.as_of.isoformat(),
        "requested": int(size), "size": int(len(chosen)), "candidates": int(candidates.sum()), "method": method,
        "excluded": {"requested": exclude, "with_derived": sorted(skip)},
        "features": {"tags": F.blocks["tags"].stop - F.blocks["tags"].start,
                     "behaviour_items": F.blocks["behaviour"].stop - F.blocks["behaviour"].start},
        "chosen": {"tag_scale": e.tag_scale, "C": e.C}, "validation": e.validation,
        "drivers": why,
        "members": chosen.head(preview).to_dict(orient="records"),
        "score": {"min_chosen": float(chosen["score"].min()) if len(chosen) else None,
                  "max_chosen": float(chosen["score"].max()) if len(chosen) else None},
    }
    if compare:
        result["comparison"] = _holdout(F, seed_mask, size, random_state)
    if save:
        meta = {**{k: result[k] for k in ("seed", "snapshot_id", "as_of", "requested", "size", "method", "excluded",
                                          "chosen", "drivers")},
                "name": save, "created_at": datetime.now(timezone.utc).isoformat()}
        result["saved"] = save_scores(ctx.project, save, chosen, jsonable(meta), replace=replace)
    result["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    return jsonable(result)


def lookalike_eval(project: Project | str | Path, target: str, exclude: list[str], baseline_tags: list[str] | None = None,
                   seeds: int = 5, snapshot: str | None = None, methods=("pu", "centroid")) -> dict:
    """Hide `exclude` (and what derives from it), seed with half of TARGET's users, expand to the
    other half's size; precision and lift for each method and the TF-IDF baseline, over `seeds` splits."""
    t0 = time.perf_counter()
    baseline_tags = [t for t in (baseline_tags or []) if t]
    ctx, cat, skip, profiles, F = _load(project, snapshot, list(exclude))
    _check_tags(cat, baseline_tags)
    leaked = [t for t in baseline_tags if t in skip]
    if leaked:
        raise LookalikeError(f"baseline tag(s) {leaked} are hidden by --exclude")
    aud = resolve(ctx, target)
    mask = np.zeros(len(profiles), dtype=bool)
    mask[members(aud.members)] = True
    if mask.sum() < 2 * MIN_SEED:
        raise LookalikeError(f"the target has {int(mask.sum())} users; at least {2 * MIN_SEED} are needed")
    report = evaluate(F, mask, baseline_matrix(F, profiles, baseline_tags), seeds=range(seeds), methods=methods)
    return jsonable({
        "target": aud.describe(), "snapshot_id": ctx.snapshot.id, "excluded": sorted(skip),
        "baseline": {"model": "logistic regression, seed vs rest (C=1)",
                     "features": ["tfidf(user x item)"] + baseline_tags},
        **report, "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1),
    })


__all__ = ["lookalike", "lookalike_eval", "behaviour_pairs", "item_titles", "NEGATIVE_EVENTS"]
