"""Baselines measured in the same run as the model, so its lift is honest.

Why: a model's AUC means little alone. Majority class says what guessing earns; a one-feature score
(recency for churn) says what the obvious rule earns; "same as the last window" is the forecast
every analyst makes for spend; LR over a TF-IDF user×item matrix is the known strong baseline for
demographics from behaviour. Each baseline fits on the same training rows and predicts the same
test rows as the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from portrait.models.features import FeatureFrame, Featurizer
from portrait.models.spec import Baseline
from portrait.models.train import FitSettings, Fitted, fit, predict


@dataclass
class Fit:
    baseline: Baseline
    state: Any


def _column(frame: FeatureFrame, name: str) -> np.ndarray:
    f = Featurizer.fit(frame.__class__(frame.users, frame.as_of, frame.values[[name]], frame.types), {})
    return f.dense(frame)[:, 0]


def fit_baseline(b: Baseline, frame: FeatureFrame, y: np.ndarray, s: FitSettings) -> Fit:
    if b.kind == "majority":
        if s.task == "regression":
            return Fit(b, float(np.median(y)))
        counts = np.bincount(y.astype(int), minlength=len(s.classes)).astype(float)
        return Fit(b, counts / counts.sum())
    if b.kind == "forecast":
        return Fit(b, None)
    if b.kind == "score":
        x = _column(frame, b.feature or "")
        med = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
        x = np.where(np.isnan(x), med, x)
        mu, sd = x.mean(), x.std() or 1.0
        lr = LogisticRegression(max_iter=1000).fit(((x - mu) / sd)[:, None], y)  # calibrated, sign learned
        return Fit(b, (med, mu, sd, lr))
    # tfidf_lr: LR over the TF-IDF user×item block alone (the block as the baseline declares it)
    assert b.items is not None
    sub = FitSettings(s.task, s.classes, "logistic_regression", {"C": b.C, "dense_scale": 0.0}, s.seed,
                      blocks={"items": b.items})
    only_items = FeatureFrame(frame.users, frame.as_of, frame.values.iloc[:, :0], {},
                              {"items": frame.blocks[f"baseline:{b.name}"]})
    return Fit(b, fit(only_items, y, sub))


def predict_baseline(f: Fit, frame: FeatureFrame, s: FitSettings) -> np.ndarray:
    b = f.baseline
    n = len(frame)
    if b.kind == "majority":
        if s.task == "regression":
            return np.full(n, f.state)
        return np.tile(f.state, (n, 1))[:, 1] if s.task == "binary" else np.tile(f.state, (n, 1))
    if b.kind == "forecast":
        return np.nan_to_num(_column(frame, b.feature or ""), nan=0.0)
    if b.kind == "score":
        med, mu, sd, lr = f.state
        x = _column(frame, b.feature or "")
        x = np.where(np.isnan(x), med, x)
        proba = lr.predict_proba(((x - mu) / sd)[:, None])
        return proba[:, 1] if s.task == "binary" else proba
    fitted: Fitted = f.state
    only_items = FeatureFrame(frame.users, frame.as_of, frame.values.iloc[:, :0], {},
                              {"items": frame.blocks[f"baseline:{b.name}"]})
    return predict(fitted, only_items)


def default_baselines(task: str, declared: list[Baseline]) -> list[Baseline]:
    """Majority class (or the median for regression) always runs; declared ones follow."""
    if any(b.kind == "majority" for b in declared):
        return list(declared)
    return [Baseline(name="majority" if task != "regression" else "median", kind="majority"), *declared]
