"""Insight on real data equals an independent pandas computation; the maths on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portrait.apps.insight import insight
from portrait.apps.insight_compute import compute_insight
from portrait.apps.insight_index import Categorical, InsightIndex, Numeric, WeightedSet, to_bitmap
from portrait.apps.insight_stats import js_divergence, tgi_interval, wilson
from portrait.apps.profiles import catalog


def _profiles(project) -> pd.DataFrame:
    from portrait.snapshot import SnapshotStore

    snap = SnapshotStore(project.root / "warehouse").open(project.current)
    return pd.read_parquet(snap.file("profiles")), catalog(snap)


def _check_enum_tags(result: dict, profiles: pd.DataFrame, cat: list[dict], seg: pd.Series, base: pd.Series) -> int:
    """Every value of every enum tag: counts, shares and TGI as pandas computes them."""
    checked = 0
    by_id = {t["id"]: t for t in result["tags"]}
    for t in cat:
        if t["type"] != "enum" or t["id"] not in by_id:
            continue
        col = profiles[t["id"]]
        seg_counts = col[seg].value_counts()
        base_counts = col[base].value_counts()
        n_seg, n_base = int(seg.sum()), int(base.sum())
        rows = {r["value"]: r for r in by_id[t["id"]]["values"]}
        assert set(rows) == set(col.dropna().astype(str).unique()), t["id"]
        for value, r in rows.items():
            a, b = int(seg_counts.get(value, 0)), int(base_counts.get(value, 0))
            assert (r["segment_count"], r["base_count"]) == (a, b), (t["id"], value)
            assert r["segment_share"] == pytest.approx(a / n_seg, abs=1e-6)
            assert r["base_share"] == pytest.approx(b / n_base, abs=1e-6)
            if b:
                assert r["tgi"] == pytest.approx(100 * (a / n_seg) / (b / n_base), rel=1e-5), (t["id"], value)
            assert r["low_support"] == (a < result["min_support"] or b < result["min_support"])
            assert r["significant"] == (not r["low_support"] and r["tgi_low"] is not None
                                        and (r["tgi_low"] > 100 or r["tgi_high"] < 100)), (t["id"], value)
            checked += 1
        cov = by_id[t["id"]]["coverage"]
        assert cov["segment"] == pytest.approx(col[seg].notna().mean(), abs=1e-6)
    return checked


def test_tgi_equals_pandas_on_online_retail(shop):
    profiles, cat = _profiles(shop)
    result = insight(shop.root, "country = 'Germany'", snapshot=shop.current)
    seg = profiles["country"] == "Germany"
    assert result["segment"]["size"] == int(seg.sum()) == 95
    assert result["base"]["size"] == len(profiles)
    checked = _check_enum_tags(result, profiles, cat, seg, pd.Series(True, index=profiles.index))
    assert checked >= 20  # rfm_segment, lifecycle_stage, purchasing_power, price sensitivity, weekday, ...
    assert result["ranking"][0]["tag"] == "country" and result["ranking"][0]["top_value"] == "Germany"


def test_tgi_against_another_segment(shop):
    profiles, cat = _profiles(shop)
    result = insight(shop.root, "country = 'Germany'", vs="country != 'United Kingdom'", snapshot=shop.current)
    seg = profiles["country"] == "Germany"
    base = profiles["country"].notna() & (profiles["country"] != "United Kingdom")
    assert result["base"]["size"] == int(base.sum())
    assert _check_enum_tags(result, profiles, cat, seg, base) >= 20


def test_movielens_against_u_user(ml, datasets):
    """Segment and tag values from the raw u.user file, not from Portrait's profiles."""
    users = pd.read_csv(datasets / "movielens-100k" / "u.user", sep="|", names=["user_id", "age", "gender", "occupation", "zip"],
                        dtype={"user_id": str})
    result = insight(ml.root, "occupation = 'student'", snapshot=ml.current)
    seg = users["occupation"] == "student"
    by_id = {t["id"]: t for t in result["tags"]}
    for tag in ("gender", "occupation"):
        rows = {r["value"]: r for r in by_id[tag]["values"]}
        for value, n in users.loc[seg, tag].value_counts().items():
            share, base_share = n / seg.sum(), (users[tag] == value).mean()
            assert rows[value]["segment_count"] == n
            assert rows[value]["tgi"] == pytest.approx(100 * share / base_share, rel=1e-6)
    # numeric tag: exact quantiles and mean of the segment's ages
    age = by_id["age"]
    ages = users.loc[seg, "age"]
    for q, name in ((0.05, "p5"), (0.25, "p25"), (0.5, "p50"), (0.75, "p75"), (0.95, "p95")):
        assert age["quantiles"]["segment"][name] == pytest.approx(ages.quantile(q), abs=1e-6)
    assert age["mean"]["segment"] == pytest.approx(ages.mean(), abs=1e-6)  # JSON keeps 6 decimals
    assert sum(r["segment_count"] for r in age["histogram"]) == seg.sum()
    # weighted set: users holding each genre
    profiles, _ = _profiles(ml)
    members = profiles["occupation"] == "student"
    holds = profiles.loc[members, "genre_interest"].map(lambda v: {e["key"] for e in v})
    for r in by_id["genre_interest"]["values"]:
        assert r["segment_count"] == int(holds.map(lambda keys: r["value"] in keys).sum())
    ranked = [r["tag"] for r in result["ranking"]]
    assert ranked[0] == "occupation" and set(ranked[1:3]) == {"age", "age_band"}


def test_enum_rows_in_declared_order(ml):
    result = insight(ml.root, "gender = 'F'", snapshot=ml.current, tags=["age_band", "tough_critic"])
    by_id = {t["id"]: t for t in result["tags"]}
    assert [r["value"] for r in by_id["age_band"]["values"]] == ["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"]
    assert [r["value"] for r in by_id["tough_critic"]["values"]] == ["false", "true"]


def test_small_segment_is_flagged_not_hidden(ml):
    result = insight(ml.root, "occupation = 'doctor'", snapshot=ml.current, tags=["gender", "age"])
    assert result["segment"]["size"] == 7 and result["warnings"]
    rows = [r for t in result["tags"] for r in t.get("values") or t.get("histogram")]
    assert rows and all(r["low_support"] and not r["significant"] for r in rows)
    assert all(r["tgi_low"] is None or r["tgi_low"] <= r["tgi"] <= r["tgi_high"] for r in rows if r["tgi"] is not None)


# -- the maths ------------------------------------------------------------------------------------

def test_wilson_and_tgi_interval():
    lo, hi = wilson(0, 10)
    assert lo == 0 and 0.27 < hi < 0.28  # the textbook 0/10 upper bound 0.2775
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    lo, hi = tgi_interval(89, 1000, 66, 1000, base_exact=True)
    assert lo < 100 * 0.089 / 0.066 < hi
    lo, hi = tgi_interval(89, 1000, 660, 10000, base_exact=False)  # Katz: symmetric on the log scale
    assert math.log(lo / 134.848) == pytest.approx(-math.log(hi / 134.848), rel=1e-3)


def test_js_divergence_bounds():
    assert js_divergence(np.array([5, 5]), np.array([1, 1])) == pytest.approx(0.0)
    assert js_divergence(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(50, 3000), st.integers(1, 12))
def test_bitmap_insight_equals_numpy(seed, n, k):
    """Counts, exact quantiles and BSI means equal numpy on random columns with NULLs and ties."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(-1, k, n)
    ints = np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 5, n).astype(float))
    floats = np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(2, 1, n).round(3))
    seg_mask = rng.random(n) < rng.uniform(0.01, 0.9)
    owners = rng.integers(0, n, n)
    keys = rng.integers(0, 7, n)
    pairs = np.unique(owners * 10 + keys)
    index = InsightIndex(np.arange(n).astype(str), {
        "e": Categorical.from_codes("e", [f"v{i}" for i in range(k)], codes),
        "i": Numeric.from_values("i", ints), "f": Numeric.from_values("f", floats),
        "w": WeightedSet.from_pairs("w", n, pairs // 10, [f"k{x}" for x in pairs % 10]),
    })
    seg = to_bitmap(np.flatnonzero(seg_mask))
    out = {t["tag"]: t for t in compute_insight(index, seg, min_support=5)["tags"]}
    got = {r["value"]: r["segment_count"] for r in out["e"]["values"]}
    want = np.bincount(codes[seg_mask & (codes >= 0)], minlength=k)
    assert all(got.get(f"v{i}", 0) == want[i] for i in range(k))
    for tag, values in (("i", ints), ("f", floats)):
        v = values[seg_mask]
        v = v[~np.isnan(v)]
        q = out[tag]["quantiles"]["segment"]
        if v.size == 0:
            assert q["p50"] is None
            continue
        assert [q[p] for p in ("p5", "p25", "p50", "p75", "p95")] == pytest.approx(
            np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95]), abs=1e-9)
        assert out[tag]["mean"]["segment"] == pytest.approx(v.mean(), abs=1e-3)
    held = {f"k{x}": 0 for x in range(7)}
    for p in pairs:
        if seg_mask[p // 10]:
            held[f"k{p % 10}"] += 1
    assert {r["value"]: r["segment_count"] for r in out["w"]["values"]} == {k_: c for k_, c in held.items()
                                                                              if k_ in {r["value"] for r in out["w"]["values"]}}
