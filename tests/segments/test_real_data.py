"""Segments on the real example data sets, checked against independent pandas computations."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from portrait.segments import service

pytestmark = pytest.mark.slow

AGE_BANDS = [("<18", 0, 17), ("18-24", 18, 24), ("25-34", 25, 34), ("35-44", 35, 44), ("45-49", 45, 49),
             ("50-55", 50, 55), ("56+", 56, 200)]


@pytest.fixture(scope="module")
def users(seg_movielens):
    import os

    path = os.path.join(os.environ["PORTRAIT_DATA_HOME"], "movielens-100k", "u.user")
    return pd.read_csv(path, sep="|", header=None, names=["user_id", "age", "gender", "occupation", "zip"])


def test_retail_germany_is_95(seg_retail):
    d = service.count(seg_retail.root, "country = 'Germany'")
    assert d["size"] == 95
    assert d["plan"] == {"predicates": 1, "bitmap": 1, "sql": 0}
    assert d["users"] == seg_retail.snapshot.manifest.users


def test_movielens_gender(seg_movielens, users):
    for g in ("F", "M"):
        assert service.count(seg_movielens.root, f"gender = '{g}'")["size"] == int((users.gender == g).sum())


def test_movielens_age_bands(seg_movielens, users):
    for band, lo, hi in AGE_BANDS:
        expected = int(users.age.between(lo, hi).sum())
        assert service.count(seg_movielens.root, f"age_band = '{band}'")["size"] == expected, band
        assert service.count(seg_movielens.root, f"age BETWEEN {lo} AND {hi}")["size"] == expected, band


def test_movielens_three_clause(seg_movielens, users):
    expr = "gender = 'F' AND (occupation IN ('student', 'educator') OR age >= 50)"
    expected = users[(users.gender == "F") & (users.occupation.isin(["student", "educator"]) | (users.age >= 50))]
    assert service.count(seg_movielens.root, expr)["size"] == len(expected)
    expr = "NOT gender = 'M' OR occupation = 'programmer' AND age < 30"
    expected = users[(users.gender != "M") | ((users.occupation == "programmer") & (users.age < 30))]
    assert service.count(seg_movielens.root, expr)["size"] == len(expected)


def _retail_members(raw: pd.DataFrame, as_of: datetime, days: int) -> set[str]:
    """Germans active in the `days` before `as_of`, from the raw file (country of the latest order)."""
    d = raw[raw.InvoiceDate < pd.Timestamp(as_of)]
    last = d.groupby("CustomerID").InvoiceDate.max()
    country = d.sort_values("InvoiceDate", kind="stable").groupby("CustomerID").Country.last()
    active = last[last >= pd.Timestamp(as_of) - pd.Timedelta(days=days)].index
    return set(country[(country == "Germany")].index) & set(active)


@pytest.fixture(scope="module")
def retail_raw(seg_retail):
    import os

    path = os.path.join(os.environ["PORTRAIT_DATA_HOME"], "online-retail", "online_retail.csv.gz")
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    df = df[df.CustomerID.notna()].copy()
    df["CustomerID"] = df.CustomerID.str.replace(r"\.0$", "", regex=True)
    df["InvoiceDate"] = pd.to_datetime(df.InvoiceDate)
    return df


def test_retail_diff_between_snapshots(seg_retail, retail_raw):
    root = seg_retail.root
    service.save(root, "de_active", "country = 'Germany' AND last_active_at >= snapshot_time - INTERVAL 90 DAY",
                 description="German customers active in the last 90 days", replace=True)
    hist, cur = seg_retail.historical.manifest, seg_retail.snapshot.manifest
    d = service.diff(root, "de_active", hist.snapshot_id, cur.snapshot_id, limit=10_000)
    before = _retail_members(retail_raw, hist.as_of.replace(tzinfo=None), 90)
    after = _retail_members(retail_raw, cur.as_of.replace(tzinfo=None), 90)
    assert d["from"]["size"] == len(before) and d["to"]["size"] == len(after)
    assert set(d["entered"]["user_ids"]) == after - before
    assert set(d["left"]["user_ids"]) == before - after
    assert d["stayed"] == len(before & after)
    assert d["from"]["members"] == "evaluated" and d["to"]["members"] == "stored"
    assert d["entered"]["count"] > 0 and d["left"]["count"] > 0


def test_retail_explain(seg_retail, retail_raw):
    root = seg_retail.root
    service.save(root, "uk_big", "country = 'United Kingdom' AND monetary > 1000 AND NOT spend_90d > 100",
                 replace=True)
    members = set()
    sample = ["12346", "12747", "13047", "17850", "12347"]
    for uid in sample:
        d = service.explain(root, "uk_big", uid)
        tree = d["explanation"]
        assert tree["kind"] == "AND" and len(tree["children"]) == 3
        country, monetary, not_spend = tree["children"]
        raw = retail_raw[retail_raw.CustomerID == uid]
        expected_country = raw.sort_values("InvoiceDate", kind="stable").Country.iloc[-1]
        assert country["value"] == expected_country
        assert country["result"] == ("true" if expected_country == "United Kingdom" else "false")
        m = monetary["value"]
        assert monetary["result"] == ("unknown" if m is None else "true" if m > 1000 else "false")
        spend = not_spend["children"][0]["value"]
        assert not_spend["result"] == ("unknown" if spend is None else "true" if not spend > 100 else "false")
        results = [c["result"] for c in tree["children"]]
        member = all(r == "true" for r in results)
        assert d["member"] == member and tree["result"] == (
            "true" if member else "false" if "false" in results else "unknown")
        if member:
            members.add(uid)
    # a NULL makes a clause UNKNOWN, never TRUE: 12346 has no purchases in the last 90 days
    d = service.explain(root, "uk_big", "12346")
    assert d["explanation"]["children"][2]["children"][0]["value"] is None
    assert d["explanation"]["children"][2]["result"] == "unknown" and d["member"] is False
