"""Insight over an `InsightIndex`: per tag coverage, distributions, TGI, and a ranking of tags.

Pure: (index, segment bitmap, base bitmap) in, a JSON-ready dict out. Value counts are bitmap
intersection cardinalities, or a gather of value codes by the segment's ordinals when the index
estimates that cheaper (tags with many sparse values, small segments). Numeric quantiles are
exact: cumulative bitmaps at the base's ventiles locate each rank, and only the bin holding it
is read; means come from a bit-sliced index.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
from pyroaring import BitMap

from portrait.apps.insight_index import (
    COST_GATHER, COST_SLOT, QUANTILES, Categorical, InsightIndex, Numeric, WeightedSet, members,
)
from portrait.apps.insight_stats import pooled_divergence, strongest, value_rows

OTHER = "(other)"


class Side:
    """One side of the comparison (the segment or the base): its bitmap and, lazily, its ordinals."""

    def __init__(self, bm: BitMap | None, n: int):
        self.bm = bm  # None: every user
        self.n = n
        self._idx: np.ndarray | None = None

    @property
    def idx(self) -> np.ndarray:
        if self._idx is None:
            self._idx = members(self.bm)
        return self._idx


def _cat_counts(col: Categorical, side: Side) -> np.ndarray:
    if side.bm is None:
        return col.counts
    if col.codes is not None and side.n * COST_GATHER < col.bitmap_cost:
        return np.bincount(np.take(col.codes, side.idx), minlength=len(col.labels) + 1)[1:].astype(np.int64)
    bm = side.bm
    return np.fromiter((bm.intersection_cardinality(b) for b in col.bitmaps), dtype=np.int64, count=len(col.bitmaps))


def _time(v):
    return None if v is None else datetime.fromtimestamp(v, tz=timezone.utc).isoformat()


def _label(v: float, is_time: bool, span: float) -> str:
    """A bin edge as people read it (the exact edges stay in `lo` and `hi`)."""
    if is_time:
        t = datetime.fromtimestamp(v, tz=timezone.utc)
        return t.strftime("%Y-%m-%d") if span >= 2 * 86400 else t.strftime("%Y-%m-%d %H:%M")
    if v == int(v):
        return f"{int(v):,}"
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"


def _coverage(seg_cov: int, seg_n: int, base_cov: int, base_n: int) -> dict:
    return {
        "segment": seg_cov / seg_n if seg_n else 0.0, "base": base_cov / base_n if base_n else 0.0,
        "segment_missing": seg_n - seg_cov, "base_missing": base_n - base_cov,
    }


def categorical(col: Categorical, seg: Side, base: Side, min_support: int, top: int) -> dict:
    """Every value's shares and TGI; values past `top` (by share on either side) fold into (other)."""
    a, b = _cat_counts(col, seg), _cat_counts(col, base)
    seg_cov, base_cov = int(a.sum()), int(b.sum())
    divergence = pooled_divergence(np.append(a, seg.n - seg_cov), np.append(b, base.n - base_cov))
    labels = list(col.labels)
    if len(labels) > top:
        weight = np.maximum(a / max(seg.n, 1), b / max(base.n, 1))
        keep = np.sort(np.argsort(-weight, kind="stable")[:top])
        rest = np.setdiff1d(np.arange(len(labels)), keep)
        labels = [labels[i] for i in keep] + [OTHER]
        a, b = np.append(a[keep], a[rest].sum()), np.append(b[keep], b[rest].sum())
    return {"summary": "categorical", "coverage": _coverage(seg_cov, seg.n, base_cov, base.n),
            "divergence": divergence, "values": value_rows(labels, a, b, seg.n, base.n, min_support, base.bm is None),
            "distinct_values": len(col.labels)}


def _icard(bm: BitMap, bitmaps: list[BitMap]) -> np.ndarray:
    return np.fromiter((bm.intersection_cardinality(b) for b in bitmaps), dtype=np.int64, count=len(bitmaps))


def _numeric_side(col: Numeric, side: Side) -> tuple[np.ndarray, list, float | None]:
    """Users per bin, exact quantiles and the mean of one side, all from bitmaps.

    Cumulative bitmaps give the counts, hence the bin of every rank a quantile needs; only those
    bins' members are read, with one partial sort per bin. The mean is Σ 2^i·|side ∩ slice_i| / scale.
    """
    if side.bm is None:
        return col.counts, list(col.base_quantiles), col.base_mean
    bm = side.bm
    cum = _icard(bm, col.below)
    counts = np.diff(cum, prepend=0)
    n = int(cum[-1]) if cum.size else 0
    if n == 0:
        return counts, [None] * len(QUANTILES), None
    ranks = []
    for q in QUANTILES:
        h = (n - 1) * q
        ranks.append((h, math.floor(h), math.ceil(h)))
    wanted: dict[int, set[int]] = {}
    for _, lo, hi in ranks:
        for r in (lo, hi):
            j = int(np.searchsorted(cum, r, side="right"))
            wanted.setdefault(j, set()).add(r - int(cum[j] - counts[j]))
    value_at: dict[int, float] = {}
    for j, offsets in wanted.items():
        start = int(cum[j] - counts[j])
        if col.constant[j] is not None:  # every value in the bin is the same (integers): nothing to read
            value_at.update({start + k: col.constant[j] for k in offsets})
            continue
        vals = col.values[members(bm & col.parts[j])]
        ks = sorted(offsets)
        part = np.partition(vals, ks)
        value_at.update({start + k: float(part[k]) for k in ks})
    qs = [value_at[lo] + (h - lo) * (value_at[hi] - value_at[lo]) if hi != lo else value_at[lo] for h, lo, hi in ranks]
    total = sum(int(c) << i for i, c in enumerate(_icard(bm, col.slices)))
    return counts, qs, total / col.scale / n + col.offset


def numeric(col: Numeric, seg: Side, base: Side, min_support: int) -> dict:
    """Quantiles and mean on both sides, a histogram at the base's deciles with TGI per bar."""
    fa, seg_q, seg_mean = _numeric_side(col, seg)
    fb, base_q, base_mean = _numeric_side(col, base)
    bars = len(col.shown_edges) - 1
    a = np.bincount(col.bar_of, weights=fa, minlength=bars).astype(np.int64)
    b = np.bincount(col.bar_of, weights=fb, minlength=bars).astype(np.int64)
    seg_cov, base_cov = int(a.sum()), int(b.sum())
    fmt = _time if col.is_time else float
    edges = [fmt(float(e)) for e in col.shown_edges]
    span = float(col.shown_edges[-1] - col.shown_edges[0])
    short = [_label(float(e), col.is_time, span) for e in col.shown_edges]
    labels = [f"[{short[i]}, {short[i + 1]}{']' if i == bars - 1 else ')'}" for i in range(bars)]
    rows = value_rows(labels, a, b, seg.n, base.n, min_support, base.bm is None)
    for i, r in enumerate(rows):
        r["lo"], r["hi"] = edges[i], edges[i + 1]
    names = [f"p{round(q * 100)}" for q in QUANTILES]
    opt = (lambda v: None if v is None else fmt(v))
    return {
        "summary": "numeric", "time": col.is_time,
        "coverage": _coverage(seg_cov, seg.n, base_cov, base.n),
        "divergence": pooled_divergence(np.append(fa, seg.n - seg_cov), np.append(fb, base.n - base_cov)),
        "quantiles": {"segment": dict(zip(names, map(opt, seg_q))), "base": dict(zip(names, map(opt, base_q)))},
        "mean": {"segment": opt(seg_mean), "base": opt(base_mean)},
        "histogram": rows,
    }


def weighted_set(col: WeightedSet, seg: Side, base: Side, min_support: int, top: int) -> dict:
    """Keys as traits ("holds key k"): TGI per key; listed by lift, well-supported keys first."""

    def counts(side: Side) -> tuple[np.ndarray, int]:
        if side.bm is None:
            return col.counts, len(col.covered)
        bm = side.bm
        if col.slots is not None and side.n * (COST_GATHER + col.slots.shape[1] * COST_SLOT) < col.bitmap_cost:
            rows = np.take(col.slots, side.idx, axis=0).ravel()  # key code + 1; 0 = empty slot
            got = np.bincount(rows, minlength=len(col.keys) + 1)[1:].astype(np.int64)
        else:
            got = np.fromiter((bm.intersection_cardinality(k) for k in col.bitmaps), dtype=np.int64,
                              count=len(col.bitmaps))
        return got, bm.intersection_cardinality(col.covered)

    (a, seg_cov), (b, base_cov) = counts(seg), counts(base)
    rows = value_rows(col.keys, a, b, seg.n, base.n, min_support, base.bm is None)
    rows.sort(key=lambda r: (r["low_support"], -(r["tgi"] or 0.0), str(r["value"])))
    return {"summary": "weighted_set", "coverage": _coverage(seg_cov, seg.n, base_cov, base.n),
            "divergence": pooled_divergence(a, b), "values": rows[:top], "distinct_values": len(col.keys)}


def compute_insight(index: InsightIndex, seg: BitMap, base: BitMap | None = None, *, min_support: int = 30,
                    top: int = 30, tags: list[str] | None = None) -> dict:
    """Insight of `seg` against `base` (None: every user). Returns {segment_size, base_size, tags, ranking}.

    Tags are ranked by Jensen–Shannon divergence between the segment's and the base's distribution
    (missing values count as a category): the tags whose shape differs most come first; each
    ranking row also names the supported value with the largest |log TGI|.
    """
    s = Side(seg, len(seg))
    b = Side(base, index.n_users if base is None else len(base))
    out = []
    for tag in tags or list(index.columns):
        col = index.columns[tag]
        if isinstance(col, Categorical):
            d = categorical(col, s, b, min_support, top)
        elif isinstance(col, Numeric):
            d = numeric(col, s, b, min_support)
        else:
            d = weighted_set(col, s, b, min_support, top)
        out.append({"tag": tag, **d})
    ranking = []
    for d in sorted(out, key=lambda d: -d["divergence"]):
        best = strongest(d.get("values") or d.get("histogram") or [])
        ranking.append({
            "tag": d["tag"], "divergence": d["divergence"],
            "top_value": None if best is None else best["value"], "top_tgi": None if best is None else best["tgi"],
        })
    return {"segment_size": s.n, "base_size": b.n, "min_support": min_support, "tags": out, "ranking": ranking}
