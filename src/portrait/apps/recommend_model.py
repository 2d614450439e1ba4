"""Profile-driven recommendation: two recall paths and one ranking (pure functions over arrays).

- interest recall: the user's interest tag (a weighted set of genres / categories) → the items
  most popular within each key, popularity weighted by recency (half-life decay), so a genre's
  new favourites beat its old ones;
- co-occurrence recall: items consumed together with what the user consumed (cosine over the
  user × item matrix), each history item weighted by how recent it is for the user.

The ranking blends the two (each scaled to its best candidate) with a little recency-weighted
popularity, and never returns an item the user already consumed. `popularity` is the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from portrait.ids import canonical_id

WEIGHTS = {"cooccurrence": 0.5, "interest": 0.5, "popularity": 1.0}
NEIGHBOURS = 100  # kept per item in the similarity matrix
PER_KEY = 200  # candidate items per interest key
SIM_ALPHA = 1.0  # co(j, i) / pop(j): how likely i is given j (0.5 would be cosine, which favours niche items)
HALF_LIFE_DAYS = 14.0  # recency of touches: what is popular now, and what the user did lately


@dataclass
class RecData:
    """Everything scoring needs, over dense user and item positions."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    seen: sp.csr_matrix  # users × items, 1 where consumed
    history: sp.csr_matrix  # users × items, recency weight of the user's last touch
    sim: sp.csr_matrix  # items × items cosine of co-occurrence (top NEIGHBOURS per row, no diagonal)
    popularity: np.ndarray  # items: recency-weighted users
    count: np.ndarray  # items: users who consumed it (plain popularity)
    key_items: sp.csr_matrix  # keys × items: recency popularity within the key, top PER_KEY, max 1
    interests: sp.csr_matrix  # users × keys: interest weights (positive part)
    keys: list[str]

    def position(self, user_id: str) -> int | None:
        hit = np.flatnonzero(self.user_ids == canonical_id(user_id))
        return int(hit[0]) if hit.size else None


def _top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of each row (ties by column)."""
    m = m.tocsr()
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        if hi == lo:
            continue
        c, v = m.indices[lo:hi], m.data[lo:hi]
        keep = np.lexsort((c, -v))[:k]
        rows.append(np.full(keep.size, r))
        cols.append(c[keep])
        vals.append(v[keep])
    if not rows:
        return sp.csr_matrix(m.shape)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=m.shape)


def build(interactions: pd.DataFrame, item_keys: pd.DataFrame, interests: pd.DataFrame, user_ids: np.ndarray,
          half_life_days: float = HALF_LIFE_DAYS) -> RecData:
    """interactions: user_id, item_id, age_days (since the user's last touch of the item, at as-of);
    item_keys: item_id, key; interests: user_id, key, weight. Users are `user_ids` (profile order)."""
    users = pd.Index(np.asarray(user_ids).astype(str))
    inter = interactions.assign(user_id=interactions["user_id"].astype(str), item_id=interactions["item_id"].astype(str))
    inter = inter[inter["user_id"].isin(users)]
    items = pd.Index(np.sort(inter["item_id"].unique()))
    u = users.get_indexer(inter["user_id"])
    i = items.get_indexer(inter["item_id"])
    decay = np.power(0.5, inter["age_days"].to_numpy(dtype=np.float64) / half_life_days)
    shape = (len(users), len(items))
    seen = sp.csr_matrix((np.ones(len(u)), (u, i)), shape=shape)
    seen.data[:] = 1.0
    history = sp.csr_matrix((decay, (u, i)), shape=shape)
    count = np.asarray(seen.sum(axis=0)).ravel()
    popularity = np.asarray(history.sum(axis=0)).ravel()
    # item-item co-occurrence, each pair weighted by how recent both touches are
    co = (history.T @ history).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    norm = np.power(np.maximum(popularity, 1e-9), SIM_ALPHA)
    sim = _top_per_row(sp.diags(1 / norm) @ co @ sp.diags(1 / np.power(np.maximum(popularity, 1e-9), 1 - SIM_ALPHA)),
                       NEIGHBOURS)
    # key → items by recency popularity
    ik = item_keys.assign(item_id=item_keys["item_id"].astype(str))
    ik = ik[ik["item_id"].isin(items)].drop_duplicates()
    keys = sorted(set(ik["key"].astype(str)) | set(interests["key"].astype(str)))
    kidx = pd.Index(keys)
    km = sp.csr_matrix((popularity[items.get_indexer(ik["item_id"])], (kidx.get_indexer(ik["key"].astype(str)),
                                                                       items.get_indexer(ik["item_id"]))),
                       shape=(len(keys), len(items)))
    km = _top_per_row(km, PER_KEY)
    best = np.asarray(km.max(axis=1).todense()).ravel()
    km = sp.diags(1 / np.where(best > 0, best, 1.0)) @ km
    it = interests.assign(user_id=interests["user_id"].astype(str), key=interests["key"].astype(str))
    it = it[it["user_id"].isin(users) & (it["weight"] > 0)]
    im = sp.csr_matrix((it["weight"].to_numpy(dtype=np.float64), (users.get_indexer(it["user_id"]),
                                                                  kidx.get_indexer(it["key"]))),
                       shape=(len(users), len(keys)))
    return RecData(users.to_numpy(), items.to_numpy(), seen, history, sim.tocsr(), popularity, count,
                   sp.csr_matrix(km), im, keys)


def _row_scale(m: np.ndarray) -> np.ndarray:
    top = m.max(axis=1, keepdims=True)
    return np.divide(m, top, out=np.zeros_like(m), where=top > 0)


def parts(data: RecData, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Each recall path's scores for the given user positions (dense: len(rows) × items)."""
    cooc = np.asarray((data.history[rows] @ data.sim).todense())
    w = data.interests[rows]
    total = np.asarray(w.sum(axis=1)).ravel()
    w = sp.diags(1 / np.where(total > 0, total, 1.0)) @ w
    interest = np.asarray((w @ data.key_items).todense())
    pop = np.tile(data.popularity / (data.popularity.max() or 1.0), (len(rows), 1))
    return {"cooccurrence": _row_scale(cooc), "interest": _row_scale(interest), "popularity": pop}


def score(data: RecData, rows: np.ndarray, weights: dict[str, float] = WEIGHTS) -> np.ndarray:
    """Blended scores (len(rows) × items); consumed items get -inf."""
    p = parts(data, rows)
    s = sum(weights[k] * p[k] for k in weights)
    seen = data.seen[rows].toarray() > 0
    s[seen] = -np.inf
    return s


def popularity(data: RecData, rows: np.ndarray) -> np.ndarray:
    """The baseline: items by how many users consumed them, consumed items excluded."""
    s = np.tile(data.count.astype(np.float64), (len(rows), 1))
    s[data.seen[rows].toarray() > 0] = -np.inf
    return s


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first (ties by column); -inf never chosen."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    out = np.empty_like(part)
    for r in range(scores.shape[0]):
        c = part[r]
        out[r] = c[np.lexsort((c, -scores[r, c]))]
    return out
