"""Labels: a target tag's values, or label SQL over a window after the cutoff, encoded for fitting.

Why separate: what counts as "known" decides who trains. A user whose target tag is empty has no
label and is only scored; a population user absent from the label window's SQL gets the declared
`missing` label (no purchase in 90 days → churned), because silence is the label there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from portrait.models.errors import ModelError


@dataclass
class Labels:
    known: np.ndarray  # bool per user of the frame
    y: np.ndarray  # class index (or value) per user; meaningless where not known

    def summary(self, task: str, classes: list[str]) -> dict:
        y = self.y[self.known]
        if task == "regression":
            return {"known": int(self.known.sum()), "mean": round(float(y.mean()), 4) if len(y) else None,
                    "zero_share": round(float((y == 0).mean()), 4) if len(y) else None}
        return {"known": int(self.known.sum()), **{c: int((y == i).sum()) for i, c in enumerate(classes)}}


def from_tag(values: pd.Series, task: str, classes: list[str], positive: str | None) -> Labels:
    """Labels from a tag read at the cutoff (e.g. the gender users declared)."""
    v = values.astype("object").where(values.notna(), None)
    known = v.notna().to_numpy()
    if task == "regression":
        y = pd.to_numeric(v, errors="coerce").astype(float).to_numpy()
        return Labels(known & np.isfinite(y), np.nan_to_num(y))
    text = v.map(lambda x: None if x is None else str(x).lower() if isinstance(x, bool) else str(x))
    if task == "binary" and positive is None:  # a bool tag
        return Labels(known, (text == "true").to_numpy().astype(int))
    if task == "binary":
        return Labels(known, (text == positive).to_numpy().astype(int))
    pos = {c: i for i, c in enumerate(classes)}
    idx = text.map(pos)
    return Labels(idx.notna().to_numpy(), idx.fillna(-1).astype(int).to_numpy())


def from_sql(users: np.ndarray, rows: pd.DataFrame, task: str, missing: float | None) -> Labels:
    """Labels from (user_id, label) rows computed over the label window; absent users get `missing`."""
    if rows.shape[1] != 2:
        raise ModelError("label SQL returns exactly two columns: user_id and the label")
    rows = rows.set_axis(["user_id", "label"], axis=1)
    if rows["user_id"].duplicated().any():
        raise ModelError(f"label SQL returned several rows for user {rows['user_id'][rows['user_id'].duplicated()].iloc[0]!r}")
    s = pd.Series(rows["label"].to_numpy(), index=rows["user_id"].astype(str)).reindex(users)
    if missing is not None:
        s = s.astype("object").where(s.notna(), missing)
    known = s.notna().to_numpy()
    vals = pd.to_numeric(s.map(lambda x: float(x) if isinstance(x, (bool, np.bool_)) else x), errors="coerce")
    y = vals.astype(float).fillna(0).to_numpy()
    if task == "binary":
        y = (y != 0).astype(int)
    return Labels(known, y)


def check_window(window: tuple[datetime, datetime], feature_cutoff: datetime, data_until: datetime) -> None:
    """Refuse a label window that starts before the features' cutoff or runs past the data."""
    start, end = window
    if start < feature_cutoff:
        raise ModelError(f"label window starts {start.isoformat()}, before the feature cutoff "
                         f"{feature_cutoff.isoformat()}: the labels would overlap what the features saw (leakage)",
                         hint="start the label window at or after the cutoff")
    if end > data_until:
        raise ModelError(f"label window {start.date()} → {end.date()} is not fully observed: the data runs to "
                         f"{data_until.isoformat()}", hint="choose an earlier --cutoff or build a newer snapshot")
