"""Lookalike scoring (相似人群扩展): pure functions over a feature matrix and a seed mask.

- `pu_bagging`: positive-unlabelled bagging (Mordelet & Vert, 2014). The seed is labelled, the
  rest is unlabelled (it holds lookalikes we want to find, so it is not a clean negative class).
  Each bag trains a logistic regression of the seed against a random sample of the unlabelled
  users and scores the unlabelled users it did not sample; a user's score is the mean of its
  out-of-bag scores. Averaging over many samples keeps hidden positives in the "negative" side
  from dominating any one model.
- `centroid_similarity`: cosine similarity to the seed's centroid: the simple method to beat.
- `seed_vs_rest`: plain logistic regression, seed against everyone else (the usual baseline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression


@dataclass
class Scores:
    scores: np.ndarray  # one per row; NaN for seed rows
    coef: np.ndarray | None = None  # mean model coefficients per feature (None for similarity)


def _fit(X, y: np.ndarray, C: float, seed: int) -> LogisticRegression:
    model = LogisticRegression(C=C, solver="liblinear", max_iter=200, random_state=seed)
    return model.fit(X, y)


def pu_bagging(X: sp.csr_matrix, seed_mask: np.ndarray, bags: int = 25, ratio: float = 3.0, C: float = 1.0,
               random_state: int = 0) -> Scores:
    """Mean out-of-bag probability of each unlabelled row under seed-vs-sample models.

    `ratio` unlabelled users are sampled per seed user (class-balanced weights), so each model
    sees a population sample several times the seed, not the seed's own size."""
    rng = np.random.default_rng(random_state)
    pos = np.flatnonzero(seed_mask)
    unl = np.flatnonzero(~seed_mask)
    k = min(len(unl) - 1, max(1, int(round(ratio * len(pos)))))
    total = np.zeros(len(unl))
    hits = np.zeros(len(unl))
    coef = np.zeros(X.shape[1])
    for b in range(bags):
        pick = rng.choice(len(unl), size=k, replace=False)
        rows = np.concatenate([pos, unl[pick]])
        y = np.concatenate([np.ones(len(pos)), np.zeros(k)])
        w = np.where(y == 1, k / len(pos), 1.0)
        model = LogisticRegression(C=C, solver="liblinear", max_iter=200, random_state=random_state + b)
        model.fit(X[rows], y, sample_weight=w)
        oob = np.ones(len(unl), dtype=bool)
        oob[pick] = False
        total[oob] += model.decision_function(X[unl[oob]])
        hits[oob] += 1
        coef += model.coef_.ravel()
    out = np.full(X.shape[0], np.nan)
    out[unl] = np.where(hits > 0, total / np.maximum(hits, 1), -np.inf)
    return Scores(out, coef / bags)


def centroid_similarity(X: sp.csr_matrix, seed_mask: np.ndarray) -> Scores:
    """Cosine similarity of every non-seed row to the seed's mean row."""
    centroid = np.asarray(X[seed_mask].mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid) or 1.0
    row_norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    row_norms[row_norms == 0] = 1.0
    sim = (X @ centroid) / row_norms / norm
    out = np.asarray(sim, dtype=np.float64).ravel()
    out[seed_mask] = np.nan
    return Scores(out)


def seed_vs_rest(X: sp.csr_matrix, seed_mask: np.ndarray, C: float = 1.0, random_state: int = 0) -> Scores:
    """Logistic regression of the seed against all other users, scored on those users."""
    model = _fit(X, seed_mask.astype(int), C, random_state)
    out = model.decision_function(X).astype(np.float64)
    out[seed_mask] = np.nan
    return Scores(out, model.coef_.ravel())


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Row indices of the n best scores (NaN rows — the seed — never chosen), best first, ties by row."""
    s = np.where(np.isnan(scores), -np.inf, scores)
    candidates = np.flatnonzero(~np.isnan(scores))
    n = min(n, candidates.size)
    order = np.lexsort((candidates, -s[candidates]))
    return candidates[order[:n]]


def drivers(coef: np.ndarray, X: sp.csr_matrix, seed_mask: np.ndarray, names: list[str], k: int = 15,
            raw: sp.csr_matrix | None = None) -> list[dict]:
    """The features that push users up the ranking: coefficient × (seed mean − population mean).

    A large coefficient on a feature nobody has explains nothing; weighting by the gap between
    the seed and everyone else names what the model actually uses to pick lookalikes. `X` is
    the matrix the model saw; means are reported on `raw` (the unweighted features) if given."""
    gap = np.asarray(X[seed_mask].mean(axis=0)).ravel() - np.asarray(X.mean(axis=0)).ravel()
    contribution = coef * gap
    shown = X if raw is None else raw
    seed_mean = np.asarray(shown[seed_mask].mean(axis=0)).ravel()
    all_mean = np.asarray(shown.mean(axis=0)).ravel()
    order = np.argsort(-contribution)[:k]
    return [{"feature": names[j], "contribution": float(contribution[j]), "direction": "higher" if gap[j] > 0 else "lower",
             "seed_mean": float(seed_mean[j]), "population_mean": float(all_mean[j])}
            for j in order if contribution[j] > 0]
