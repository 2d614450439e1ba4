"""Feature design: tag values and feature SQL at one instant → a numeric matrix plus sparse item blocks.

Why: models see numbers, tags are enums, weighted sets and timestamps. The expansion (enum values,
weighted-set keys, item vocabularies) is learned on the training users only and stored with the
model, so a later build applies exactly the columns the model was trained on, whatever new users,
keys or items have appeared since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp

DECIMALS = 6  # features are rounded so float summation order in SQL cannot change a prediction


@dataclass
class ItemBlock:
    """Users × items (rows aligned with the frame's users), with the item ids of the columns."""

    matrix: sp.csr_matrix
    items: np.ndarray

    def rows(self, idx: np.ndarray) -> "ItemBlock":
        return ItemBlock(self.matrix[idx], self.items)


@dataclass
class FeatureFrame:
    """Raw feature inputs of a set of users at one instant (the as-of time they were computed at)."""

    users: np.ndarray  # user ids, sorted, as str
    as_of: datetime
    values: pd.DataFrame  # one row per user (same order), one column per tag or SQL feature
    types: dict[str, str]  # column → tag value type (bool, integer, number, enum, string, timestamp, weighted_set)
    blocks: dict[str, ItemBlock] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.users)

    def rows(self, idx: np.ndarray) -> "FeatureFrame":
        idx = np.asarray(idx)
        return FeatureFrame(self.users[idx], self.as_of, self.values.iloc[idx].reset_index(drop=True), self.types,
                            {k: b.rows(idx) for k, b in self.blocks.items()})

    def only(self, users) -> "FeatureFrame":
        """The rows of these users, in this frame's order."""
        return self.rows(np.flatnonzero(np.isin(self.users, np.asarray(list(users), dtype=object))))


def item_block(long: pd.DataFrame, users: np.ndarray) -> ItemBlock:
    """(user_id, item_id, weight) rows → a users × items matrix; users without rows get empty rows."""
    items = np.array(sorted(long["item_id"].astype(str).unique()), dtype=object)
    pos_user = {u: i for i, u in enumerate(users)}
    pos_item = {it: j for j, it in enumerate(items)}
    keep = long["user_id"].astype(str).map(pos_user)
    ok = keep.notna().to_numpy()
    rows = keep[ok].astype(int).to_numpy()
    cols = long["item_id"].astype(str)[ok].map(pos_item).to_numpy()
    vals = long["weight"].astype(float).to_numpy()[ok]
    m = sp.csr_matrix((vals, (rows, cols)), shape=(len(users), len(items)))
    m.sum_duplicates()
    return ItemBlock(m, items)


def _wset(cell) -> dict[str, float]:
    """A weighted-set cell (list of {key, weight}) as a dict; None and NaN are empty."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return {}
    return {str(e["key"]): float(e["weight"]) for e in cell if e is not None and e.get("weight") is not None}


def infer_type(col: pd.Series) -> str:
    """Value type of a feature-SQL column, from its pandas dtype."""
    if pd.api.types.is_bool_dtype(col):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(col):
        return "timestamp"
    if pd.api.types.is_numeric_dtype(col):
        return "number"
    sample = col.dropna()
    if len(sample) and isinstance(sample.iloc[0], (list, np.ndarray)):
        return "weighted_set"
    return "string"


def _numeric(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col.astype("object").where(col.notna(), np.nan), errors="coerce").astype(float).to_numpy()


@dataclass
class Featurizer:
    """Column plan learned on training users: (source column, kind, vocabulary) per source."""

    plan: list[tuple[str, str, list[str]]]
    block_items: dict[str, np.ndarray]
    names: list[str]

    @classmethod
    def fit(cls, frame: FeatureFrame, enum_values: dict[str, list[str]], top_k: int = 50,
            min_users: dict[str, int] | None = None) -> "Featurizer":
        plan: list[tuple[str, str, list[str]]] = []
        names: list[str] = []
        for name in frame.values.columns:
            kind = frame.types[name]
            col = frame.values[name]
            if kind in ("bool", "integer", "number"):
                plan.append((name, "num", []))
                names.append(name)
            elif kind == "timestamp":
                plan.append((name, "days_before", []))
                names.append(f"{name}__days_ago")
            elif kind in ("enum", "string"):
                vocab = list(enum_values.get(name) or col.dropna().astype(str).value_counts().index[:top_k])
                vocab = sorted(vocab) if name not in enum_values else vocab
                plan.append((name, "onehot", vocab))
                names.extend(f"{name}={v}" for v in vocab)
            elif kind == "weighted_set":
                counts: dict[str, int] = {}
                for cell in col:
                    for k in _wset(cell):
                        counts[k] = counts.get(k, 0) + 1
                vocab = sorted(sorted(counts), key=lambda k: -counts[k])[:top_k]
                plan.append((name, "wset", vocab))
                names.extend(f"{name}[{v}]" for v in vocab)
        block_items: dict[str, np.ndarray] = {}
        for bname, block in frame.blocks.items():
            seen = np.asarray((block.matrix != 0).sum(axis=0)).ravel()
            block_items[bname] = block.items[seen >= (min_users or {}).get(bname, 1)]
        return cls(plan, block_items, names)

    def dense(self, frame: FeatureFrame) -> np.ndarray:
        """users × features, NaN where a value is missing (tree models use it; linear ones impute)."""
        cols: list[np.ndarray] = []
        n = len(frame)
        for name, kind, vocab in self.plan:
            col = frame.values[name] if name in frame.values.columns else pd.Series([None] * n)
            if kind == "num":
                cols.append(_numeric(col)[:, None])
            elif kind == "days_before":
                ts = pd.to_datetime(col, utc=True)
                days = (pd.Timestamp(frame.as_of).tz_convert("UTC") - ts).dt.total_seconds() / 86400
                cols.append(days.astype(float).to_numpy()[:, None])
            elif kind == "onehot":
                s = col.astype("object").where(col.notna(), None).map(lambda v: None if v is None else str(v))
                cols.append(np.stack([(s == v).to_numpy(dtype=float) for v in vocab], axis=1)
                            if vocab else np.zeros((n, 0)))
            elif kind == "wset":
                pos = {k: j for j, k in enumerate(vocab)}
                m = np.zeros((n, len(vocab)))
                for i, cell in enumerate(col):
                    for k, w in _wset(cell).items():
                        if k in pos:
                            m[i, pos[k]] = w
                cols.append(m)
        x = np.hstack(cols) if cols else np.zeros((n, 0))
        return np.round(x.astype(float), DECIMALS)

    def block(self, frame: FeatureFrame, name: str) -> sp.csr_matrix:
        """The frame's item block restricted and ordered to the training vocabulary."""
        vocab = self.block_items[name]
        block = frame.blocks.get(name)
        if block is None:
            return sp.csr_matrix((len(frame), len(vocab)))
        pos = {it: j for j, it in enumerate(block.items)}
        src = np.array([pos.get(it, -1) for it in vocab], dtype=int)
        cols = np.flatnonzero(src >= 0)
        coo = block.matrix[:, src[cols]].tocoo()
        return sp.csr_matrix((coo.data, (coo.row, cols[coo.col])), shape=(len(frame), len(vocab)))
