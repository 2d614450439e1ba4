"""Expand a seed to N lookalikes: pick the tag/behaviour blend on held-out seed users, then score.

Pure: a `Features` matrix and a seed mask in, the chosen rows and every score out. The blend
(how much the tags weigh against behaviour) and the regularisation are chosen per seed: each
candidate is trained on two thirds of the seed and judged by how high it ranks the held-out
third among the unlabelled users it did not train on (average precision). A country seed on a retail site is found by
what people buy; a student seed on a film site mostly by age: one setting cannot serve both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from portrait.apps.lookalike_features import Features, distinctiveness, weigh
from portrait.apps.lookalike_model import Scores, centroid_similarity, pu_bagging, top_n

GRID = tuple((scale, C) for scale in (0.0, 0.25, 0.5, 1.0, 2.0) for C in (0.3, 1.0, 3.0))
METHODS = ("pu", "centroid")


@dataclass
class Expansion:
    rows: np.ndarray  # chosen rows, best first
    scores: np.ndarray  # per row; NaN for the seed
    method: str
    tag_scale: float
    C: float
    validation: list[dict] = field(default_factory=list)
    coef: np.ndarray | None = None
    X: object = None  # the weighted matrix the model saw (for drivers)


def sample_size(n_seed: int, n_rest: int) -> int:
    """Unlabelled users per model: ≥ 1,000 (or 3 per seed user), at most half of them (the rest is out of bag)."""
    return max(1, min(max(3 * n_seed, 1000), n_rest // 2))


def _fit_scores(X_train, y, X_judged, C: float, random_state: int) -> np.ndarray:
    w = np.where(y == 1, (y == 0).sum() / max((y == 1).sum(), 1), 1.0)
    model = LogisticRegression(C=C, solver="liblinear", max_iter=200, random_state=random_state)
    return model.fit(X_train, y, sample_weight=w).decision_function(X_judged)


def validate(F: Features, seed_mask: np.ndarray, grid=GRID, folds: int = 3, random_state: int = 0) -> list[dict]:
    """Average precision of held-out seed users under each (tag_scale, C), mean over folds.

    Each fold trains one model per setting the way PU bagging does (the remaining seed against a
    sample of the unlabelled users) and ranks the held-out seed users among the unlabelled users
    outside the sample, who count as negatives: biased, but equally for every setting."""
    rng = np.random.default_rng(random_state)
    seed_rows = rng.permutation(np.flatnonzero(seed_mask))
    parts = np.array_split(seed_rows, min(folds, max(2, len(seed_rows))))
    unl = np.flatnonzero(~seed_mask)
    tags, behaviour = F.block("tags"), F.block("behaviour")
    aps: dict[tuple, list[float]] = {g: [] for g in grid}
    for part in parts:
        train = seed_mask.copy()
        train[part] = False
        if train.sum() == 0:
            continue
        pos = np.flatnonzero(train)
        pick = rng.choice(unl, size=sample_size(len(pos), len(unl)), replace=False)
        out_of_bag = np.setdiff1d(unl, pick)
        rows = np.concatenate([pos, pick])
        judged = np.concatenate([part, out_of_bag])
        y = np.concatenate([np.ones(len(pos)), np.zeros(len(pick))])
        y_judged = np.concatenate([np.ones(len(part)), np.zeros(len(out_of_bag))])
        d, sd = distinctiveness(tags, train)
        weighted = tags @ sp.diags(d ** 2 / sd)
        for scale, C in grid:
            X = sp.hstack([weighted * scale, behaviour], format="csr")
            s = _fit_scores(X[rows], y, X[judged], C, random_state)
            aps[(scale, C)].append(float(average_precision_score(y_judged, s)))
    return [{"tag_scale": scale, "C": C, "average_precision": float(np.mean(v)) if v else 0.0}
            for (scale, C), v in aps.items()]


def choose(F: Features, seed_mask: np.ndarray, grid=GRID, random_state: int = 0) -> dict:
    """The (tag_scale, C) with the best held-out average precision, with the whole table."""
    table = validate(F, seed_mask, grid, random_state=random_state) if len(grid) > 1 else []
    best = max(table, key=lambda r: r["average_precision"]) if table else {"tag_scale": grid[0][0], "C": grid[0][1]}
    return {"tag_scale": best["tag_scale"], "C": best["C"], "validation": table}


def expand(F: Features, seed_mask: np.ndarray, size: int, method: str = "pu", random_state: int = 0,
           grid=GRID, bags: int = 25, choice: dict | None = None) -> Expansion:
    """The `size` non-seed rows most like the seed under `method` (`pu` or `centroid`).

    `choice` (from `choose`) skips the validation when several methods share one seed."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    choice = choice or choose(F, seed_mask, grid, random_state)
    X = weigh(F, seed_mask, choice["tag_scale"])
    if method == "pu":
        n_seed, n_rest = int(seed_mask.sum()), int((~seed_mask).sum())
        ratio = sample_size(n_seed, n_rest) / max(n_seed, 1)
        res: Scores = pu_bagging(X, seed_mask, bags=bags, ratio=ratio, C=choice["C"], random_state=random_state)
    else:
        res = centroid_similarity(X, seed_mask)
    return Expansion(top_n(res.scores, size), res.scores, method, choice["tag_scale"], choice["C"],
                     choice["validation"], res.coef, X)
