"""Campaigns on Online Retail: a notional campaign launched on 2011-09-01 (audience from the as-of
snapshot), measured on the current snapshot's later events. Nobody was contacted, so treatment
and control differ by chance only: no significant uplift."""

from __future__ import annotations

import pandas as pd
import pytest

from portrait.apps import campaigns as C
from portrait.apps.campaign_outcome import OutcomeError, check_outcome
from portrait.apps.campaign_stats import two_proportions

SEGMENT = "lifecycle_stage IN ('growing', 'mature')"


@pytest.fixture(scope="module")
def launched(shop):
    return C.create(shop.root, "autumn", SEGMENT, control=0.1, seed=42, snapshot=shop.historical, replace=True)


def test_create_freezes_the_audience_at_launch(shop, launched):
    assert launched["launch"].startswith("2011-09-01T00:00:00")
    assert launched["snapshot_id"] == shop.historical
    assert launched["treatment_size"] + launched["control_size"] == launched["segment"]["size"] > 1000
    assert 0.07 < launched["control_share"] < 0.13


def test_split_is_the_segments_split(shop, launched):
    """Same users in control as `segment split` with the same seed would give (md5 of seed:user_id)."""
    from portrait.segments.service import split_bounds
    from portrait.segments.table import split_bucket

    lo, _hi = split_bounds([0.9, 0.1])[1]
    mem = pd.read_parquet(shop.root / "warehouse" / "campaigns" / "autumn" / "members.parquet")
    expected = mem["user_id"].map(lambda u: "control" if split_bucket(42, u) >= lo else "treatment")
    assert (mem["group"] == expected).all()
    again = C.create(shop.root, "autumn_again", SEGMENT, control=0.1, seed=42, snapshot=shop.historical, replace=True)
    assert again["control_size"] == launched["control_size"]


def test_notional_campaign_has_no_uplift(shop, launched):
    m = C.measure(shop.root, "autumn", outcome="event_type = 'purchase'", window=30, snapshot=shop.current)
    print(f"treatment {m['treatment']['rate']:.3f} control {m['control']['rate']:.3f} uplift {m['uplift']:+.3f} "
          f"[{m['ci_low']:+.3f}, {m['ci_high']:+.3f}] p={m['p_value']:.3f}")
    assert m["treatment"]["users"] == launched["treatment_size"] and m["control"]["users"] == launched["control_size"]
    assert 0 < m["control"]["rate"] < 1 and m["warnings"] == []
    assert m["p_value"] > 0.05 and not m["significant"]
    assert m["ci_low"] < 0 < m["ci_high"]


def test_p_values_are_calibrated_over_seeds(shop):
    """20 seeds of the same untouched audience: about 1 in 20 splits should look significant by chance."""
    significant = 0
    for seed in range(20):
        C.create(shop.root, "calibration", SEGMENT, control=0.1, seed=seed, snapshot=shop.historical, replace=True)
        significant += C.measure(shop.root, "calibration", window=30, snapshot=shop.current)["significant"]
    assert significant <= 4


def test_export_treatment_with_tags(shop, launched, tmp_path):
    d = C.export(shop.root, "autumn", tmp_path / "t.csv", tags=["country", "interest_category"])
    df = pd.read_csv(tmp_path / "t.csv", dtype={"user_id": str})
    assert d["rows"] == len(df) == launched["treatment_size"] and set(df["group"]) == {"treatment"}
    assert list(df.columns) == ["user_id", "group", "country", "interest_category"]
    p = C.export(shop.root, "autumn", tmp_path / "c.parquet", format="parquet", group="control", tags=["monetary"])
    assert p["rows"] == launched["control_size"] and "monetary" in pd.read_parquet(tmp_path / "c.parquet").columns


def test_outcome_is_checked():
    assert check_outcome("event_type = 'purchase' AND amount > 10 -- comment") == "event_type = 'purchase' AND amount > 10"
    for bad in ("1=1; DROP TABLE events", "user_id IN (SELECT user_id FROM events)", "nope = 1", "read_csv('x') IS NULL"):
        with pytest.raises(OutcomeError):
            check_outcome(bad)


def test_two_proportions():
    r = two_proportions(120, 1000, 100, 1000)
    assert r["uplift"] == pytest.approx(0.02) and r["ci_low"] < 0.02 < r["ci_high"]
    assert r["z"] == pytest.approx(1.4293, abs=1e-4)  # pooled p = 0.11, se = 0.013994
    assert r["p_value"] == pytest.approx(0.1529, abs=1e-4)
    assert two_proportions(0, 10, 0, 10)["p_value"] == 1.0
