"""The main job on Online Retail: every count and every customer's RFM checked against pandas."""

import duckdb
import numpy as np
import pandas as pd

from portrait.apps.profiles import get_profile


def test_rows_read_equal_accepted_plus_quarantined(retail, retail_raw):
    (stats,) = retail.result.ingest.stats
    assert stats.read == len(retail_raw) == 541_909
    assert stats.read == stats.accepted + stats.quarantined
    assert stats.quarantined == retail_raw["CustomerID"].isna().sum() == 135_080


def test_one_profile_per_customer(retail, retail_raw):
    profiles = pd.read_parquet(retail.snapshot.file("profiles"))
    assert len(profiles) == retail_raw["CustomerID"].nunique() == 4_372
    assert profiles["user_id"].is_unique and "12346" in set(profiles["user_id"])


def test_rfm_of_every_customer_equals_pandas(retail, retail_raw):
    df = retail_raw.dropna(subset=["CustomerID"]).copy()
    df["amount"] = df["Quantity"] * df["UnitPrice"]
    df["day"] = pd.to_datetime(df["InvoiceDate"]).dt.normalize()
    is_return = df["InvoiceNo"].str.startswith("C")
    buys = df[~is_return]
    snapshot_day = pd.Timestamp(df["day"].max()) + pd.Timedelta(days=1)
    expected = pd.DataFrame({
        "monetary": df.groupby("CustomerID")["amount"].sum().round(2),
        "frequency": buys.groupby("CustomerID")["InvoiceNo"].nunique(),
        "recency_days": (snapshot_day - buys.groupby("CustomerID")["day"].max()).dt.days,
    })
    expected["frequency"] = expected["frequency"].fillna(0)
    got = pd.read_parquet(retail.snapshot.file("profiles")).set_index("user_id")
    assert len(expected) == 4_372
    joined = expected.join(got[["monetary", "frequency", "recency_days"]], how="outer", suffixes=("", "_got"))
    assert len(joined) == 4_372
    np.testing.assert_allclose(joined["monetary"], joined["monetary_got"], atol=0.005)
    assert (joined["frequency"] == joined["frequency_got"]).all()
    both = joined.dropna(subset=["recency_days"])
    assert (both["recency_days"] == both["recency_days_got"]).all()
    assert joined["recency_days_got"].isna().sum() == joined["recency_days"].isna().sum() == 33
    assert got.loc["12346", "monetary"] == 0.0 and got.loc["12347", "monetary"] == 4310.0


def test_country_and_germany(retail, retail_raw):
    got = pd.read_parquet(retail.snapshot.file("profiles"))
    assert (got["country"] == "Germany").sum() == retail_raw.loc[retail_raw["Country"] == "Germany", "CustomerID"].nunique() == 95


def test_profile_groups_tags_by_taxonomy(retail):
    p = get_profile(retail.snapshot, "12347")
    tags = {t["id"]: t["value"] for g in p["groups"] for t in g["tags"]}
    assert tags["monetary"] == 4310.0 and tags["country"] == "Iceland"
    assert {tuple(g["taxonomy"][:1]) for g in p["groups"]} >= {("用户价值",), ("消费特征",), ("行为特征",)}
    # the id as a spreadsheet export spells it finds the same customer (ingest normalised it the same way)
    assert get_profile(retail.snapshot, " 12347.0")["user_id"] == "12347"


def test_every_tag_has_stats_in_the_manifest(retail):
    m = retail.snapshot.manifest
    assert {t.id for t in m.tags} == set(pd.read_parquet(retail.snapshot.file("profiles")).columns) - {"user_id"}
    assert m.users == 4_372 and m.catalog_hash
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_parquet('{retail.snapshot.file('events')}')").fetchone()[0]
    assert n == m.events == 541_909 - 135_080
