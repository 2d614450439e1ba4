"""Treatment vs control on a yes/no outcome: uplift, its interval, and a p-value (pure).

Two-proportion z-test with the pooled proportion under H0 (equal rates); the interval of the
difference is Newcombe's hybrid score interval (method 10), built from the two Wilson
intervals: it keeps its coverage when a group is small or a rate is near 0 or 1, where the
plain Wald interval does not.
"""

from __future__ import annotations

import math

from scipy.stats import norm

from portrait.apps.insight_stats import wilson


def two_proportions(x_t: int, n_t: int, x_c: int, n_c: int, confidence: float = 0.95) -> dict:
    """Rates, absolute and relative uplift (treatment − control), interval and two-sided p-value."""
    z = float(norm.ppf(0.5 + confidence / 2))
    p_t = x_t / n_t if n_t else 0.0
    p_c = x_c / n_c if n_c else 0.0
    diff = p_t - p_c
    out = {"treatment": {"users": n_t, "converted": x_t, "rate": p_t},
           "control": {"users": n_c, "converted": x_c, "rate": p_c},
           "uplift": diff, "relative_uplift": diff / p_c if p_c else None, "confidence": confidence,
           "ci_low": None, "ci_high": None, "z": None, "p_value": None, "significant": False}
    if not n_t or not n_c:
        return out
    lt, ut = wilson(x_t, n_t, z)
    lc, uc = wilson(x_c, n_c, z)
    out["ci_low"] = diff - math.sqrt((p_t - lt) ** 2 + (uc - p_c) ** 2)
    out["ci_high"] = diff + math.sqrt((ut - p_t) ** 2 + (p_c - lc) ** 2)
    pooled = (x_t + x_c) / (n_t + n_c)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    if se > 0:
        out["z"] = diff / se
        out["p_value"] = float(2 * norm.sf(abs(out["z"])))
    else:
        out["z"], out["p_value"] = 0.0, 1.0
    out["significant"] = out["p_value"] < 1 - confidence
    return out
