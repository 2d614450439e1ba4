"""The statistics behind insight (画像洞察): TGI with intervals, divergence, exact quantiles from bins.

Pure functions over counts and arrays; nothing here reads a file or knows what a snapshot is.
TGI = (share of the segment with a trait ÷ share of the base with it) × 100 (8.9% vs 6.6% → 134.9).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Z95 = 1.959963984540054


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for x successes in n: stays inside [0, 1] and behaves at x = 0 or small n."""
    if n <= 0:
        return (0.0, 1.0)
    p = x / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, center - half), min(1.0, center + half))


def tgi_interval(a: int, n1: int, b: int, n2: int, base_exact: bool, z: float = Z95) -> tuple[float | None, float | None]:
    """95% interval of TGI = (a/n1) / (b/n2) × 100.

    When the base is the whole population its share is known exactly, so only the segment share
    varies: the Wilson interval divided by the base share. Against another segment both shares
    are samples: Katz's log interval of a ratio of two proportions (0.5 added to empty cells).
    """
    if b == 0 or n2 == 0 or n1 == 0:
        return (None, None)
    if base_exact:
        lo, hi = wilson(a, n1, z)
        q = b / n2
        return (100 * lo / q, 100 * hi / q)
    a_, b_ = (a + 0.5, b + 0.5) if a == 0 else (a, b)
    n1_, n2_ = (n1 + 0.5, n2 + 0.5) if a == 0 else (n1, n2)
    ratio = (a_ / n1_) / (b_ / n2_)
    se = math.sqrt(max(0.0, 1 / a_ - 1 / n1_ + 1 / b_ - 1 / n2_))
    return (100 * ratio * math.exp(-z * se), 100 * ratio * math.exp(z * se))


def value_rows(labels: Sequence, seg_counts: np.ndarray, base_counts: np.ndarray, seg_n: int, base_n: int,
               min_support: int, base_exact: bool) -> list[dict]:
    """One row per value: counts, shares, TGI with its interval, and flags.

    `low_support` marks rows where the segment or the base has fewer than `min_support` users with
    the value: they are shown (never hidden) but kept out of rankings. `significant` means the
    interval excludes 100 on a row with enough support: the interval's normal approximation is
    not trusted on a few users, so a low-support row is never called significant.
    """
    rows = []
    for label, a, b in zip(labels, seg_counts.tolist(), base_counts.tolist()):
        s = a / seg_n if seg_n else 0.0
        q = b / base_n if base_n else 0.0
        tgi = 100 * s / q if q > 0 else None
        lo, hi = tgi_interval(a, seg_n, b, base_n, base_exact)
        low = a < min_support or b < min_support
        rows.append({
            "value": label, "segment_count": int(a), "segment_share": s, "base_count": int(b), "base_share": q,
            "tgi": tgi, "tgi_low": lo, "tgi_high": hi, "low_support": bool(low),
            "significant": bool(not low and lo is not None and (lo > 100 or hi < 100)),
        })
    return rows


def js_divergence(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Jensen–Shannon divergence in bits between two count vectors (0 = same shape, 1 = disjoint).

    Symmetric and finite even where one side has zero counts, which a KL divergence is not.
    """
    p = np.asarray(p_counts, dtype=np.float64)
    q = np.asarray(q_counts, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return 0.0
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def pooled_divergence(a: np.ndarray, b: np.ndarray, min_expected: float = 5.0) -> float:
    """JS divergence after pooling the categories the segment is too small to measure.

    A category whose expected count in the segment (base share × segment size) is under
    `min_expected` joins one pooled category: otherwise a small segment over a tag with many
    rare values (a favourite-product string) looks distinctive from sampling noise alone.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.sum() <= 0 or b.sum() <= 0:
        return 0.0
    rare = b / b.sum() * a.sum() < min_expected
    if rare.any():
        a = np.append(a[~rare], a[rare].sum())
        b = np.append(b[~rare], b[rare].sum())
    return js_divergence(a, b)


def strongest(rows: list[dict]) -> dict | None:
    """The supported row with the largest |log TGI|: what a reader should look at first."""
    best, best_score = None, -1.0
    for r in rows:
        if r["low_support"] or not r["tgi"]:
            continue
        score = abs(math.log(r["tgi"] / 100))
        if score > best_score:
            best, best_score = r, score
    return best
