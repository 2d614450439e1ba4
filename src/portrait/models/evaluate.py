"""Honest evaluation: user-level K-fold cross-validation or an out-of-time test, baselines in the same run.

Why: every number in a report must be measured on users the model did not train on, at an instant
after its features were taken (out-of-time), and beside baselines fitted on exactly the same rows,
so "better than the baseline" is a like-for-like statement. Plain functions: data in, metrics out.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, log_loss, mean_absolute_error, mean_squared_error,
                             r2_score, roc_auc_score)
from sklearn.model_selection import KFold, StratifiedKFold

from portrait.models.baselines import default_baselines, fit_baseline, predict_baseline
from portrait.models.features import FeatureFrame
from portrait.models.outputs import binary_labels, top_labels
from portrait.models.spec import UNKNOWN, Baseline
from portrait.models.train import FitSettings, fit, predict

BINS = 10


def _r(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 4)


def calibration(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> dict:
    """Predicted vs observed rate in equal-width probability bins, and the expected calibration error."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        m = idx == b
        if not m.any():
            continue
        pred, obs = float(p[m].mean()), float(y[m].mean())
        ece += m.mean() * abs(pred - obs)
        rows.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()), "predicted": _r(pred),
                     "observed": _r(obs)})
    return {"table": rows, "ece": _r(ece)}


def binary_metrics(y: np.ndarray, p: np.ndarray, classes: list[str], threshold: float) -> dict:
    y = y.astype(int)
    pc = np.clip(p, 1e-6, 1 - 1e-6)
    labels = binary_labels(p, classes, threshold)
    confident = labels != UNKNOWN
    truth = np.asarray(classes, dtype=object)[y]
    return {
        "n": int(len(y)), "positive_rate": _r(y.mean()),
        "auc": _r(roc_auc_score(y, p)) if len(set(y)) > 1 else None,
        "accuracy": _r(accuracy_score(y, p >= 0.5)),
        "log_loss": _r(log_loss(y, pc, labels=[0, 1])),
        "brier": _r(np.mean((p - y) ** 2)),
        "calibration": calibration(y, p),
        "confusion": {"labels": classes, "matrix": confusion_matrix(y, (p >= 0.5).astype(int), labels=[0, 1]).tolist()},
        "threshold": threshold,
        "labelled_share": _r(confident.mean()),
        "labelled_accuracy": _r((labels[confident] == truth[confident]).mean()) if confident.any() else None,
    }


def multiclass_metrics(y: np.ndarray, proba: np.ndarray, classes: list[str], threshold: float) -> dict:
    y = y.astype(int)
    k = len(classes)
    present = np.unique(y)
    pc = np.clip(proba, 1e-9, 1)
    pc = pc / pc.sum(axis=1, keepdims=True)
    best = proba.argmax(axis=1)
    labels = top_labels(proba, classes, threshold)
    confident = labels != UNKNOWN
    truth = np.asarray(classes, dtype=object)[y]
    try:
        auc = roc_auc_score(y, pc[:, present] / pc[:, present].sum(axis=1, keepdims=True), multi_class="ovr",
                            average="macro", labels=present) if len(present) > 2 else None
    except ValueError:
        auc = None
    return {
        "n": int(len(y)), "class_shares": {c: _r((y == i).mean()) for i, c in enumerate(classes)},
        "auc": _r(auc) if auc is not None else None, "auc_kind": "one-vs-rest macro",
        "accuracy": _r(accuracy_score(y, best)),
        "within_one_class": _r((np.abs(best - y) <= 1).mean()),  # ordered classes (bands): off by one band
        "log_loss": _r(log_loss(y, pc, labels=list(range(k)))),
        "calibration": calibration((best == y).astype(float), proba.max(axis=1)),
        "confusion": {"labels": classes, "matrix": confusion_matrix(y, best, labels=list(range(k))).tolist()},
        "threshold": threshold,
        "labelled_share": _r(confident.mean()),
        "labelled_accuracy": _r((labels[confident] == truth[confident]).mean()) if confident.any() else None,
    }


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    return {
        "n": int(len(y)), "mean_actual": _r(y.mean()), "mean_predicted": _r(pred.mean()),
        "mae": _r(mean_absolute_error(y, pred)), "rmse": _r(np.sqrt(mean_squared_error(y, pred))),
        "r2": _r(r2_score(y, pred)),
    }


def metrics(y: np.ndarray, pred: np.ndarray, s: FitSettings, threshold: float) -> dict:
    if s.task == "binary":
        return binary_metrics(y, pred, s.classes, threshold)
    if s.task == "multiclass":
        return multiclass_metrics(y, pred, s.classes, threshold)
    return regression_metrics(y, pred)


HEADLINE = {"binary": ("auc", "accuracy", "log_loss"), "multiclass": ("accuracy", "auc", "log_loss"),
            "regression": ("mae", "rmse", "r2")}


def summarise(per_run: list[dict], task: str) -> dict:
    """Mean and spread (population sd) of each headline metric over repeats."""
    out = {}
    for key in HEADLINE[task]:
        vals = [r[key] for r in per_run if r.get(key) is not None]
        if vals:
            out[key] = {"mean": _r(np.mean(vals)), "sd": _r(np.std(vals)), "runs": vals}
    return out


Predictor = Callable[[FeatureFrame, np.ndarray, FeatureFrame], np.ndarray]


def _fitters(s: FitSettings, baselines: list[Baseline]) -> dict[str, Predictor]:
    out: dict[str, Predictor] = {"model": lambda tr, y, te: predict(fit(tr, y, s), te)}
    for b in baselines:
        out[f"baseline:{b.name}"] = (lambda b: lambda tr, y, te: predict_baseline(fit_baseline(b, tr, y, s), te, s))(b)
    return out


def cross_validate(frame: FeatureFrame, y: np.ndarray, s: FitSettings, threshold: float, folds: int, repeats: int,
                   declared: list[Baseline]) -> dict:
    """Repeated user-level K-fold CV: each user is scored once per repeat by a model that never saw it;
    the model and every baseline share the folds."""
    baselines = default_baselines(s.task, declared)
    runs: dict[str, list[dict]] = {}
    t0 = time.perf_counter()
    for rep in range(repeats):
        seed = s.seed + rep
        split = (KFold(folds, shuffle=True, random_state=seed) if s.task == "regression"
                 else StratifiedKFold(folds, shuffle=True, random_state=seed))
        oof: dict[str, np.ndarray] = {}
        for train_idx, test_idx in split.split(np.zeros(len(y)), y):
            tr, te = frame.rows(train_idx), frame.rows(test_idx)
            for name, run in _fitters(s, baselines).items():
                p = run(tr, y[train_idx], te)
                if name not in oof:
                    oof[name] = np.zeros((len(y), *p.shape[1:]))
                oof[name][test_idx] = p
        for name, p in oof.items():
            runs.setdefault(name, []).append(metrics(y, p, s, threshold))
    return _assemble("cv", runs, s, {"folds": folds, "repeats": repeats, "users": int(len(y)),
                                     "seconds": round(time.perf_counter() - t0, 2)})


def out_of_time(train: FeatureFrame, y_train: np.ndarray, test: FeatureFrame, y_test: np.ndarray, s: FitSettings,
                threshold: float, declared: list[Baseline]) -> dict:
    """Fit at the training cutoff, score users at the later test cutoff with their later labels."""
    baselines = default_baselines(s.task, declared)
    t0 = time.perf_counter()
    runs = {name: [metrics(y_test, run(train, y_train, test), s, threshold)]
            for name, run in _fitters(s, baselines).items()}
    return _assemble("out_of_time", runs, s, {"train_users": int(len(y_train)), "test_users": int(len(y_test)),
                                              "seconds": round(time.perf_counter() - t0, 2)})


def _assemble(method: str, runs: dict[str, list[dict]], s: FitSettings, sizes: dict) -> dict:
    model_runs = runs.pop("model")
    baselines = {name.split(":", 1)[1]: {"summary": summarise(r, s.task), "detail": r[0]} for name, r in runs.items()}
    summary = summarise(model_runs, s.task)
    key = HEADLINE[s.task][0]
    better = (lambda a, b: a - b) if key != "mae" else (lambda a, b: b - a)
    lift = {name: _r(better(summary[key]["mean"], b["summary"][key]["mean"]))
            for name, b in baselines.items() if key in b["summary"] and key in summary}
    return {"method": method, **sizes, "headline": key, "summary": summary, "detail": model_runs[0],
            "runs": model_runs if len(model_runs) > 1 else None, "baselines": baselines,
            "lift_over_baselines": lift}
