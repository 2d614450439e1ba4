"""Raw predictions → the values tags carry: probability, label (or `unknown`), distribution, value, version.

Why a threshold: a predicted gender of 52% is a guess, not a label; below the catalog's confidence
threshold the label is `unknown` while the probability is still kept for those who can use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portrait.models.spec import UNKNOWN

DIGITS = 6


def binary_labels(p: np.ndarray, classes: list[str], threshold: float) -> np.ndarray:
    """Positive when p ≥ threshold, negative when 1 − p ≥ threshold, else unknown."""
    neg, pos = classes
    return np.where(p >= threshold, pos, np.where(1 - p >= threshold, neg, UNKNOWN)).astype(object)


def top_labels(proba: np.ndarray, classes: list[str], threshold: float) -> np.ndarray:
    """The most likely class when its probability reaches the threshold, else unknown."""
    best = proba.argmax(axis=1)
    conf = proba.max(axis=1)
    names = np.asarray(classes, dtype=object)[best]
    return np.where(conf >= threshold, names, UNKNOWN).astype(object)


def tag_values(users: np.ndarray, pred: np.ndarray, task: str, classes: list[str], threshold: float,
               version: str) -> pd.DataFrame:
    """One row per user with a column per output a tag can pick."""
    out = pd.DataFrame({"user_id": users})
    if task == "regression":
        out["value"] = np.round(pred.astype(float), DIGITS)
    elif task == "binary":
        p = np.round(pred.astype(float), DIGITS)
        out["probability"] = p
        out["label"] = binary_labels(p, classes, threshold)
        out["distribution"] = [
            [{"key": classes[1], "weight": float(v)}, {"key": classes[0], "weight": round(1 - float(v), DIGITS)}]
            for v in p
        ]
    else:
        proba = np.round(pred.astype(float), DIGITS)
        out["probability"] = proba.max(axis=1)
        out["label"] = top_labels(proba, classes, threshold)
        order = np.argsort(-proba, axis=1, kind="stable")
        out["distribution"] = [[{"key": classes[j], "weight": float(row[j])} for j in o] for row, o in zip(proba, order)]
    out["version"] = version
    return out
