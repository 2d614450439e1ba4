"""Evaluate lookalike expansion on a known attribute (pure functions).

Protocol: the attribute is hidden from the features (with every tag derived from it); a random
half of the users who have it is the seed; the expansion is asked for as many users as the
hidden other half; precision = hidden users found ÷ users chosen; lift = precision ÷ base rate
(hidden users ÷ candidates). Repeated over seeds; a plain baseline runs on the same splits:
logistic regression, seed against everyone else, on the TF-IDF user×item matrix (sklearn's
TfidfTransformer on who-touched-what) plus a few standardised numeric tags.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from portrait.apps.lookalike_expand import choose, expand
from portrait.apps.lookalike_features import Features
from portrait.apps.lookalike_model import seed_vs_rest, top_n


def baseline_matrix(F: Features, profiles: pd.DataFrame, numeric_tags: list[str]) -> sp.csr_matrix:
    """TF-IDF of the binary user×item matrix, plus the given numeric tags z-scored (NaN → mean)."""
    binary = (F.block("behaviour") > 0).astype(np.float64)
    blocks = [TfidfTransformer().fit_transform(binary)] if binary.shape[1] else []
    for tag in numeric_tags:
        x = pd.to_numeric(profiles[tag]).to_numpy(dtype=np.float64, na_value=np.nan)
        x = np.where(np.isnan(x), np.nanmean(x), x)
        sd = x.std() or 1.0
        blocks.append(sp.csr_matrix(((x - x.mean()) / sd)[:, None]))
    return sp.hstack(blocks, format="csr")


def split_seed(target: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random half of the target users as the seed mask, the other half as the hidden mask."""
    rows = np.random.default_rng(seed).permutation(np.flatnonzero(target))
    half = len(rows) // 2
    seed_mask = np.zeros(len(target), dtype=bool)
    hidden = np.zeros(len(target), dtype=bool)
    seed_mask[rows[:half]] = True
    hidden[rows[half:]] = True
    return seed_mask, hidden


def _score(chosen: np.ndarray, hidden: np.ndarray, seed_mask: np.ndarray) -> dict:
    precision = float(hidden[chosen].mean()) if len(chosen) else 0.0
    base_rate = float(hidden.sum() / (~seed_mask).sum())
    return {"precision": precision, "lift": precision / base_rate if base_rate else 0.0, "base_rate": base_rate}


def evaluate(F: Features, target: np.ndarray, baseline_X: sp.csr_matrix | None, seeds=range(5),
             methods=("pu", "centroid")) -> dict:
    """Precision and lift per seed for each method and the baseline, with their means."""
    runs = []
    for seed in seeds:
        seed_mask, hidden = split_seed(target, seed)
        n = int(hidden.sum())
        row = {"seed": int(seed), "seed_size": int(seed_mask.sum()), "hidden": n,
               "candidates": int((~seed_mask).sum())}
        t0 = time.perf_counter()
        choice = choose(F, seed_mask, random_state=seed)
        row["choice_seconds"] = round(time.perf_counter() - t0, 2)
        for method in methods:
            t0 = time.perf_counter()
            e = expand(F, seed_mask, n, method=method, random_state=seed, choice=choice)
            row[method] = {**_score(e.rows, hidden, seed_mask), "tag_scale": e.tag_scale, "C": e.C,
                           "seconds": round(time.perf_counter() - t0, 2)}
        if baseline_X is not None:
            chosen = top_n(seed_vs_rest(baseline_X, seed_mask, C=1.0, random_state=seed).scores, n)
            row["baseline"] = _score(chosen, hidden, seed_mask)
        runs.append(row)
    names = list(methods) + (["baseline"] if baseline_X is not None else [])
    summary = {m: {"precision": float(np.mean([r[m]["precision"] for r in runs])),
                   "lift": float(np.mean([r[m]["lift"] for r in runs])),
                   "lift_min": float(np.min([r[m]["lift"] for r in runs])),
                   "lift_max": float(np.max([r[m]["lift"] for r in runs]))} for m in names}
    return {"target_users": int(target.sum()), "users": int(len(target)), "runs": runs, "summary": summary}
