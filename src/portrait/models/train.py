"""Fitting and applying one model: plain functions from (features, labels, settings) to a fitted model.

Why these three algorithms and this shape: logistic regression over a TF-IDF user×item block is the
strongest known model of demographics from behaviour (which movies, how they were rated); gradient
boosting is strongest on aggregate tags (RFM, gaps, baskets). Tree models get each item block as a
stacked feature: a linear model's out-of-fold score over the block, so both kinds of signal meet in
one model without the trees splitting on thousands of sparse columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from portrait.models.features import FeatureFrame, Featurizer
from portrait.models.spec import ItemMatrix

LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 20,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0,
    "n_jobs": 1, "verbose": -1, "deterministic": True, "force_col_wise": True,  # OpenMP threads spin on busy cores
}
HGB_DEFAULTS: dict[str, Any] = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15}
STACK_FOLDS = 5


@dataclass
class FitSettings:
    """What fitting needs to know, independent of catalogs and files."""

    task: str  # binary | multiclass | regression
    classes: list[str]
    algorithm: str  # lightgbm | logistic_regression | gradient_boosting
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 42
    top_k: int = 50
    enum_values: dict[str, list[str]] = field(default_factory=dict)
    blocks: dict[str, ItemMatrix] = field(default_factory=dict)


@dataclass
class Fitted:
    """A trained model with everything needed to apply it to a later snapshot's features."""

    settings: FitSettings
    featurizer: Featurizer
    estimator: Any
    medians: np.ndarray | None = None
    means: np.ndarray | None = None
    stds: np.ndarray | None = None
    tfidf: dict[str, TfidfTransformer | None] = field(default_factory=dict)
    stackers: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


def _linear(task: str, c: float, seed: int):
    if task == "regression":
        return Ridge(alpha=1.0 / c, random_state=seed)
    return LogisticRegression(C=c, max_iter=5000, random_state=seed)


def _scores(est, x, task: str) -> np.ndarray:
    """A linear model's output as stacking columns: decision value(s) or the regression forecast."""
    if task == "regression":
        return est.predict(x)[:, None]
    d = est.decision_function(x)
    return d[:, None] if d.ndim == 1 else d


def _block_inputs(model: Fitted, frame: FeatureFrame, fit: bool) -> dict[str, sp.csr_matrix]:
    out = {}
    for name, block in model.settings.blocks.items():
        x = model.featurizer.block(frame, name)
        if fit:
            model.tfidf[name] = TfidfTransformer().fit(x) if block.tfidf else None
        t = model.tfidf.get(name)
        out[name] = (t.transform(x) if t is not None else x).tocsr()
    return out


def _stack_oof(x: sp.csr_matrix, y: np.ndarray, s: FitSettings, c: float) -> tuple[np.ndarray, Any]:
    """Out-of-fold block scores for the training rows (no row scores itself), plus the full-data model."""
    split = (KFold(STACK_FOLDS, shuffle=True, random_state=s.seed) if s.task == "regression"
             else StratifiedKFold(STACK_FOLDS, shuffle=True, random_state=s.seed))
    width = len(s.classes) if s.task == "multiclass" else 1
    oof = np.zeros((x.shape[0], width))
    for a, b in split.split(np.zeros(x.shape[0]), y):
        oof[b] = _scores(_linear(s.task, c, s.seed).fit(x[a], y[a]), x[b], s.task)
    return oof, _linear(s.task, c, s.seed).fit(x, y)


def _tree(s: FitSettings):
    if s.algorithm == "lightgbm":
        import lightgbm as lgb

        params = {**LIGHTGBM_DEFAULTS, **s.params, "random_state": s.seed}
        return lgb.LGBMRegressor(**params) if s.task == "regression" else lgb.LGBMClassifier(**params)
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    params = {**HGB_DEFAULTS, **s.params, "random_state": s.seed}
    return HistGradientBoostingRegressor(**params) if s.task == "regression" else HistGradientBoostingClassifier(**params)


def _design(model: Fitted, frame: FeatureFrame, y: np.ndarray | None):
    """The matrix the estimator sees; with `y` the preprocessing is fitted on these rows."""
    s = model.settings
    fit = y is not None
    dense = model.featurizer.dense(frame)
    blocks = _block_inputs(model, frame, fit)
    if s.algorithm == "logistic_regression":
        if fit:
            med = np.nanmedian(np.where(np.isnan(dense).all(axis=0), 0.0, dense), axis=0) if dense.size else np.zeros(0)
            model.medians = np.nan_to_num(med)
            filled = np.where(np.isnan(dense), model.medians, dense)
            model.means, std = filled.mean(axis=0), filled.std(axis=0)
            model.stds = np.where(std > 0, std, 1.0)
        filled = np.where(np.isnan(dense), model.medians, dense)
        scaled = (filled - model.means) / model.stds * float(s.params.get("dense_scale", 1.0))
        parts = [sp.csr_matrix(scaled)] + [blocks[n] * s.blocks[n].scale for n in s.blocks]
        return sp.hstack(parts).tocsr()
    cols = [dense]
    for name, x in blocks.items():
        if fit:
            oof, model.stackers[name] = _stack_oof(x, y, s, s.blocks[name].C)
            cols.append(oof)
        else:
            cols.append(_scores(model.stackers[name], x, s.task))
    return np.hstack(cols)


def _names(model: Fitted) -> list[str]:
    s = model.settings
    names = list(model.featurizer.names)
    if s.algorithm == "logistic_regression":
        for n in s.blocks:
            names += [f"{n}:{it}" for it in model.featurizer.block_items[n]]
    else:
        width = len(s.classes) if s.task == "multiclass" else 1
        for n in s.blocks:
            names += [f"{n}:score"] if width == 1 else [f"{n}:score[{c}]" for c in s.classes]
    return names


def fit(frame: FeatureFrame, y: np.ndarray, settings: FitSettings) -> Fitted:
    """Train on these users' features and labels (class indices, or numbers for regression).

    One thread: BLAS and OpenMP pools spin rather than help on these small matrices and shared cores."""
    with threadpool_limits(limits=1):
        return _fit(frame, y, settings)


def _fit(frame: FeatureFrame, y: np.ndarray, settings: FitSettings) -> Fitted:
    min_users = {n: b.min_users for n, b in settings.blocks.items()}
    featurizer = Featurizer.fit(frame, settings.enum_values, settings.top_k, min_users)
    model = Fitted(settings, featurizer, None)
    y = np.asarray(y, dtype=float if settings.task == "regression" else int)
    x = _design(model, frame, y)
    if settings.algorithm == "logistic_regression":
        model.estimator = _linear(settings.task, float(settings.params.get("C", 1.0)), settings.seed).fit(x, y)
    else:
        model.estimator = _tree(settings).fit(x, y)
    model.names = _names(model)
    return model


def predict(model: Fitted, frame: FeatureFrame) -> np.ndarray:
    """Binary: p(positive class) per user; multiclass: users × classes; regression: the forecast."""
    with threadpool_limits(limits=1):
        return _predict(model, frame)


def _predict(model: Fitted, frame: FeatureFrame) -> np.ndarray:
    x = _design(model, frame, None)
    if model.settings.task == "regression":
        return np.asarray(model.estimator.predict(x), dtype=float)
    proba = model.estimator.predict_proba(x)
    return proba[:, 1] if model.settings.task == "binary" else proba


def importances(model: Fitted, top: int = 25) -> list[dict]:
    """What the model leans on: gain share for LightGBM, |coefficient| on standardised inputs for
    linear models (items show as `block:item_id`); empty for scikit-learn gradient boosting."""
    est = model.estimator
    if model.settings.algorithm == "lightgbm":
        gain = est.booster_.feature_importance("gain")
        values = gain / gain.sum() if gain.sum() > 0 else gain
    elif model.settings.algorithm == "logistic_regression":
        coef = np.atleast_2d(est.coef_)
        values = np.abs(coef).max(axis=0)
    else:
        return []
    order = np.argsort(-values, kind="stable")[:top]
    return [{"feature": model.names[i], "importance": round(float(values[i]), 6)} for i in order if values[i] > 0]
