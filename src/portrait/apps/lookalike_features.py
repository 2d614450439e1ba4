"""Features for lookalike expansion: profile tags plus behaviour (which items a user touched).

Pure functions: a profile DataFrame, the catalog and (user, item) pairs in; a sparse matrix with
column names out. Two blocks, each scaled so neither drowns the other:

- tags: one-hot enums/bools/strings (top values), numbers and timestamps as ranks in [0, 1]
  plus decile indicators and a missing flag, weighted-set keys with their weights;
- behaviour: a user × item TF-IDF matrix (sublinear tf, smoothed idf, rows L2-normalised): what
  people consumed says more about who they are than any single tag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

MAX_ONE_HOT = 50
DECILES = 10


def _num(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e6 else f"{v:.3g}"


@dataclass
class Features:
    X: sp.csr_matrix
    names: list[str]
    blocks: dict[str, slice]  # block name → its columns

    def block(self, name: str) -> sp.csr_matrix:
        return self.X[:, self.blocks[name]]


def excluded_closure(catalog: list[dict], exclude: set[str]) -> set[str]:
    """The excluded tags plus every tag derived from them: through `deps` (transitively) and
    through models trained on them (a model's target tag), so a hidden attribute cannot leak
    back through a rule or a predicted tag."""
    out = set(exclude)
    changed = True
    while changed:
        changed = False
        for t in catalog:
            if t["id"] in out:
                continue
            target = ((t.get("model") or {}).get("target") or {})
            parents = set(t.get("deps") or []) | ({target["tag"]} if isinstance(target, dict) and target.get("tag") else set())
            if parents & out:
                out.add(t["id"])
                changed = True
    return out


def _rank01(x: np.ndarray) -> np.ndarray:
    """Average rank scaled to [0, 1]; robust to heavy tails (monetary) and to units."""
    s = pd.Series(x)
    r = s.rank(method="average", pct=True).to_numpy()
    return np.nan_to_num(r, nan=0.0)


def tag_block(profiles: pd.DataFrame, catalog: list[dict], skip: set[str], as_of_epoch: float | None = None
              ) -> tuple[sp.csr_matrix, list[str]]:
    """The tags of every user as columns (PII tags and `skip` left out)."""
    cols: list[sp.csr_matrix] = []
    names: list[str] = []
    n = len(profiles)
    for t in catalog:
        tag, typ = t["id"], t["type"]
        if tag in skip or t.get("pii") or tag not in profiles.columns:
            continue
        s = profiles[tag]
        if typ in ("enum", "bool", "string"):
            v = s.astype("object").where(s.notna(), None).map(lambda x: None if x is None else str(x))
            top = v.value_counts().index[:MAX_ONE_HOT]
            if len(top) <= 1 and v.notna().all():
                continue  # constant: no information
            codes = pd.Index(top).get_indexer(v)  # -1: missing or past the top values
            rows = np.flatnonzero(codes >= 0)
            cols.append(sp.csr_matrix((np.ones(rows.size), (rows, codes[rows])), shape=(n, len(top))))
            names += [f"{tag}={c}" for c in top]
        elif typ in ("integer", "number", "timestamp"):
            if typ == "timestamp":
                x = (pd.to_datetime(s, utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(
                    dtype=np.float64, na_value=np.nan)
            else:
                x = pd.to_numeric(s).to_numpy(dtype=np.float64, na_value=np.nan)
            if np.all(np.isnan(x)) or np.nanmin(x) == np.nanmax(x):
                continue
            missing = np.isnan(x)
            r = _rank01(x)
            cols.append(sp.csr_matrix(np.column_stack([r, missing]) if missing.any() else r[:, None]))
            names += [tag] + ([f"{tag} missing"] if missing.any() else [])
            # decile indicators: lets a linear model learn a bump (students: 18-24), not only a slope
            edges = np.unique(np.nanquantile(x, np.linspace(0, 1, DECILES + 1)))
            if len(edges) > 2:
                k = len(edges) - 1
                code = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, k - 1)
                rows = np.flatnonzero(~missing)
                cols.append(sp.csr_matrix((np.ones(rows.size), (rows, code[rows])), shape=(n, k)))
                names += [f"{tag} in [{_num(edges[i])}, {_num(edges[i + 1])}{']' if i == k - 1 else ')'}"
                          for i in range(k)]
        elif typ == "weighted_set":
            rows, keys, weights = [], [], []
            for i, v in enumerate(s.tolist()):
                if v is None or (isinstance(v, float) and np.isnan(v)):
                    continue
                for e in v:
                    if e and e.get("key") is not None and e.get("weight") is not None:
                        rows.append(i)
                        keys.append(e["key"])
                        weights.append(float(e["weight"]))
            if not rows:
                continue
            codes, uniques = pd.factorize(pd.Series(keys), sort=True)
            m = sp.csr_matrix((weights, (rows, codes)), shape=(n, len(uniques)))
            m.sum_duplicates()
            cols.append(m)
            names += [f"{tag}[{k}]" for k in uniques]
    if not cols:
        return sp.csr_matrix((n, 0)), []
    return sp.hstack(cols, format="csr"), names


def behaviour_block(user_ids: np.ndarray, pairs: pd.DataFrame, min_users: int = 2) -> tuple[sp.csr_matrix, list[str]]:
    """User × item TF-IDF from (user_id, item_id[, n]) rows: tf = 1 + log(count), idf = log((1+N)/(1+df)) + 1,
    rows L2-normalised. Items touched by fewer than `min_users` users are dropped (they cannot
    connect two people)."""
    n = len(user_ids)
    pos = pd.Series(np.arange(n), index=pd.Index(user_ids.astype(str)))
    df = pairs.assign(user_id=pairs["user_id"].astype(str))
    df = df[df["user_id"].isin(pos.index) & df["item_id"].notna()]
    if "n" not in df.columns:
        df = df.groupby(["user_id", "item_id"], as_index=False).size().rename(columns={"size": "n"})
    users_per_item = df.groupby("item_id")["user_id"].nunique()
    keep = users_per_item[users_per_item >= min_users]
    df = df[df["item_id"].isin(keep.index)]
    if df.empty:
        return sp.csr_matrix((n, 0)), []
    codes, items = pd.factorize(df["item_id"].astype(str), sort=True)
    rows = pos.loc[df["user_id"]].to_numpy()
    tf = 1.0 + np.log(df["n"].to_numpy(dtype=np.float64))
    m = sp.csr_matrix((tf, (rows, codes)), shape=(n, len(items)))
    dfreq = np.bincount(codes, minlength=len(items))
    idf = np.log((1.0 + n) / (1.0 + dfreq)) + 1.0
    m = m @ sp.diags(idf)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    m = sp.diags(1.0 / norms) @ m
    return sp.csr_matrix(m), [f"item:{i}" for i in items]


def build_features(profiles: pd.DataFrame, catalog: list[dict], pairs: pd.DataFrame | None, skip: set[str]
                   ) -> Features:
    """Both blocks side by side, rows in `profiles` order (weights are set per seed: `weigh`)."""
    user_ids = profiles["user_id"].astype(str).to_numpy()
    tags, tag_names = tag_block(profiles, catalog, skip)
    blocks, names, spans = [tags], list(tag_names), {"tags": slice(0, tags.shape[1])}
    if pairs is not None:
        beh, beh_names = behaviour_block(user_ids, pairs)
        spans["behaviour"] = slice(len(names), len(names) + beh.shape[1])
        blocks.append(beh)
        names += beh_names
    else:
        spans["behaviour"] = slice(len(names), len(names))
    return Features(sp.hstack(blocks, format="csr"), names, spans)


def distinctiveness(X: sp.csr_matrix, seed_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: |seed mean − rest mean| / population sd (a standardised mean difference), and the sd."""
    mean = np.asarray(X.mean(axis=0)).ravel()
    sq = np.asarray(X.multiply(X).mean(axis=0)).ravel()
    sd = np.sqrt(np.maximum(sq - mean ** 2, 0.0))
    a = np.asarray(X[seed_mask].mean(axis=0)).ravel()
    b = np.asarray(X[~seed_mask].mean(axis=0)).ravel()
    safe = np.where(sd > 0, sd, 1.0)
    return np.where(sd > 0, np.abs(a - b) / safe, 0.0), safe


def weigh(F: Features, seed_mask: np.ndarray, tag_scale: float) -> sp.csr_matrix:
    """The matrix a model sees for this seed: tag columns standardised and weighted by their
    squared distinctiveness (tags that barely separate the seed from everyone fade out instead
    of adding noise), times `tag_scale`; behaviour columns as they are."""
    tags = F.block("tags")
    if tags.shape[1] == 0:
        return F.X
    d, sd = distinctiveness(tags, seed_mask)
    scaled = tags @ sp.diags(tag_scale * d ** 2 / sd)
    return sp.hstack([scaled, F.block("behaviour")], format="csr")
