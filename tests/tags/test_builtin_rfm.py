"""The rfm built-in against an independent pandas implementation (hand-made, random and real data)."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from portrait.tags.builtins.testing import events_frame, run_builtin

RETAIL = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "online-retail" / "online_retail.csv.gz"

# The standard R/F segment grid, written out cell by cell (rows R = 5..1, columns F = 1..5).
GRID = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"],
    3: ["About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Cannot Lose Them"],
    1: ["Lost", "Lost", "At Risk", "At Risk", "Cannot Lose Them"],
}


def _micro(x: float) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal("0.000001"), ROUND_HALF_UP)


def _score(values: dict, bins: int, descending: bool) -> dict:
    """least(bins, 1 + floor(percent_rank × bins)); percent_rank = (# strictly before) / (n − 1)."""
    vals = list(values.values())
    n = len(vals)
    out = {}
    for u, x in values.items():
        before = sum(1 for v in vals if (v > x if descending else v < x))
        pr = before / (n - 1) if n > 1 else 0.0
        out[u] = min(bins, 1 + math.floor(pr * bins))
    return out


def reference_rfm(ev: pd.DataFrame, as_of: datetime, tz: str, *, purchase=("purchase",), ret=("return",),
                  bins: int = 5) -> pd.DataFrame:
    ev = ev[(ev["event_time"] < as_of) & ev["user_id"].notna()]
    rel = ev[ev["event_type"].isin(purchase + ret)]
    as_of_day = as_of.astimezone(ZoneInfo(tz)).date()
    rows = {}
    for u, g in rel.groupby("user_id"):
        buys = g[g["event_type"].isin(purchase)]
        rets = g[g["event_type"].isin(ret)]
        parts = [_micro(a) for a in buys["amount"].dropna()] + [-abs(_micro(a)) for a in rets["amount"].dropna()]
        monetary = float(sum(parts, Decimal(0)).quantize(Decimal("0.01"), ROUND_HALF_UP)) if parts else None
        keys = {o if isinstance(o, str) else e for o, e in zip(buys["order_id"], buys["event_id"])}
        recency = None
        if len(buys):
            recency = (as_of_day - buys["event_time"].max().tz_convert(tz).date()).days
        rows[u] = {"recency_days": recency, "frequency": len(keys), "monetary": monetary}
    buyers = {u: r for u, r in rows.items() if r["frequency"] > 0}
    r_s = _score({u: r["recency_days"] for u, r in buyers.items()}, bins, descending=True)
    f_s = _score({u: r["frequency"] for u, r in buyers.items()}, bins, descending=False)
    m_s = _score({u: r["monetary"] for u, r in buyers.items() if r["monetary"] is not None}, bins, False)
    r5 = _score({u: r["recency_days"] for u, r in buyers.items()}, 5, descending=True)
    f5 = _score({u: r["frequency"] for u, r in buyers.items()}, 5, descending=False)
    for u, r in rows.items():
        r["r_score"], r["f_score"], r["m_score"] = r_s.get(u), f_s.get(u), m_s.get(u)
        parts = [r["r_score"], r["f_score"], r["m_score"]]
        r["rfm_score"] = "".join(map(str, parts)) if None not in parts else None
        r["segment"] = GRID[r5[u]][f5[u] - 1] if u in r5 else None
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "user_id"
    return out.sort_index().reset_index()


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got["user_id"]) == list(want["user_id"])
    for col in ("recency_days", "frequency", "r_score", "f_score", "m_score"):
        g = [None if pd.isna(v) else int(v) for v in got[col]]
        w = [None if v is None or pd.isna(v) else int(v) for v in want[col]]
        assert g == w, col
    g = [None if pd.isna(v) else float(v) for v in got["monetary"]]
    w = [None if v is None or pd.isna(v) else float(v) for v in want["monetary"]]
    assert g == w, "monetary"
    for col in ("rfm_score", "segment"):
        g = [None if pd.isna(v) else v for v in got[col]]
        w = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in want[col]]
        assert g == w, col


def random_events(seed: int, tz: str, as_of: datetime) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    users = rng.integers(0, max(2, n // 8), n)
    types = rng.choice(["purchase", "return", "view", "cart"], n, p=[0.5, 0.15, 0.25, 0.1])
    # few distinct ages and amounts on a half-cent grid: many ties and .xx5 sums
    age_s = rng.choice([0, 1, 2, 30, 3600 * 5, 86400, 86400 * 3 + 7, 86400 * 40], n) + rng.integers(0, 3, n) * 86400
    amounts = rng.integers(-200, 2000, n) * 0.005
    orders = np.where(rng.random(n) < 0.3, None, np.char.add("o", rng.integers(0, 20, n).astype(str)))
    frame = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": [f"u{u}" for u in users],
        "event_time": [pd.Timestamp(as_of) - pd.Timedelta(seconds=int(s)) for s in age_s],
        "event_type": types,
        "order_id": orders,
        "amount": np.where(rng.random(n) < 0.05, np.nan, amounts),
        "quantity": 1.0,
    })
    frame.loc[rng.random(n) < 0.03, "user_id"] = None
    return frame


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York"])
def test_random_against_pandas(seed, tz):
    as_of = datetime(2024, 3, 11, 0, 0, tzinfo=ZoneInfo(tz))  # the day after the US DST change
    ev = random_events(seed, tz, as_of)
    got = run_builtin("rfm", {}, events=ev, timezone=tz, as_of=as_of)
    assert_same(got, reference_rfm(ev, as_of, tz))


@pytest.mark.parametrize("bins", [2, 3, 7])
def test_score_bins(bins):
    tz = "UTC"
    as_of = datetime(2024, 1, 1, tzinfo=ZoneInfo(tz))
    ev = random_events(99, tz, as_of)
    got = run_builtin("rfm", {"score_bins": bins}, events=ev, timezone=tz, as_of=as_of)
    assert_same(got, reference_rfm(ev, as_of, tz, bins=bins))
    assert got["r_score"].dropna().between(1, bins).all()


def test_custom_event_types():
    tz = "UTC"
    as_of = datetime(2024, 1, 1, tzinfo=ZoneInfo(tz))
    ev = random_events(7, tz, as_of)
    ev["event_type"] = ev["event_type"].map({"purchase": "order", "return": "refund", "view": "purchase"})
    params = {"purchase_types": ["order"], "return_types": ["refund"]}
    got = run_builtin("rfm", params, events=ev, timezone=tz, as_of=as_of)
    assert_same(got, reference_rfm(ev, as_of, tz, purchase=("order",), ret=("refund",)))


def test_hand_made_cases():
    tz = "Asia/Shanghai"
    as_of = datetime(2024, 5, 10, tzinfo=ZoneInfo(tz))
    ev = events_frame([
        # a: three orders (four lines), one return recorded with a positive amount
        {"user_id": "a", "event_time": "2024-05-09 23:30", "event_type": "purchase", "order_id": "o1", "amount": 10.0},
        {"user_id": "a", "event_time": "2024-03-01 08:00", "event_type": "purchase", "order_id": "o3", "amount": 0.25},
        {"user_id": "a", "event_time": "2024-05-09 23:30", "event_type": "purchase", "order_id": "o1", "amount": 5.5},
        {"user_id": "a", "event_time": "2024-05-01 10:00", "event_type": "purchase", "order_id": "o2", "amount": 4.5},
        {"user_id": "a", "event_time": "2024-05-02 10:00", "event_type": "return", "order_id": "o2", "amount": 4.5},
        # b: only returns → frequency 0, negative monetary, no scores
        {"user_id": "b", "event_time": "2024-05-01 10:00", "event_type": "return", "amount": -7.25},
        # c: lines without order ids count one order each; a view is ignored
        {"user_id": "c", "event_time": "2024-04-10 00:00", "event_type": "purchase", "amount": 1.0},
        {"user_id": "c", "event_time": "2024-04-10 00:00", "event_type": "purchase", "amount": 1.0},
        {"user_id": "c", "event_time": "2024-05-09 12:00", "event_type": "view"},
        # d: only views → no row
        {"user_id": "d", "event_time": "2024-05-09 12:00", "event_type": "view"},
        # e: after as_of → not seen
        {"user_id": "e", "event_time": "2024-05-10 00:00", "event_type": "purchase", "amount": 3.0},
    ], tz)
    got = run_builtin("rfm", {}, events=ev, timezone=tz, as_of=as_of).set_index("user_id")
    assert list(got.index) == ["a", "b", "c"]
    assert got.loc["a", "recency_days"] == 1  # 23:30 local on the 9th: one local day before the 10th
    assert got.loc["a", "frequency"] == 3 and got.loc["a", "monetary"] == 15.75
    assert got.loc["b", "frequency"] == 0 and got.loc["b", "monetary"] == -7.25
    assert pd.isna(got.loc["b", "recency_days"]) and pd.isna(got.loc["b", "r_score"])
    assert pd.isna(got.loc["b", "segment"]) and pd.isna(got.loc["b", "rfm_score"])
    assert got.loc["c", "frequency"] == 2 and got.loc["c", "recency_days"] == 30
    # two buyers: a is better on every axis → 5s; c → 1s
    assert got.loc["a", "rfm_score"] == "555" and got.loc["a", "segment"] == "Champions"
    assert got.loc["c", "rfm_score"] == "111" and got.loc["c", "segment"] == "Lost"
    assert_same(got.reset_index(), reference_rfm(ev, as_of, tz))


def test_every_segment_cell():
    from portrait.tags.builtins.rfm import SEGMENTS, segment_of

    assert {segment_of(r, f) for r in range(1, 6) for f in range(1, 6)} == set(SEGMENTS)
    for r in range(1, 6):
        for f in range(1, 6):
            assert segment_of(r, f) == GRID[r][f - 1]


def test_empty_events():
    got = run_builtin("rfm", {}, events=events_frame([]), as_of=datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC")))
    assert len(got) == 0


def test_params_are_checked():
    from portrait.tags.builtins.rfm import RfmParams

    with pytest.raises(ValueError):
        RfmParams.model_validate({"purchase_types": ["x"], "return_types": ["x"]})
    with pytest.raises(ValueError):
        RfmParams.model_validate({"bins": 5})
    with pytest.raises(ValueError):
        RfmParams.model_validate({"purchase_types": []})


def load_retail() -> pd.DataFrame:
    df = pd.read_csv(RETAIL, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str},
                     usecols=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"])
    df = df[df["CustomerID"].notna()].copy()
    df["CustomerID"] = df["CustomerID"].str.replace(r"\.0$", "", regex=True)
    return df


def test_online_retail_real_data():
    if not RETAIL.exists():
        pytest.skip(f"UCI Online Retail not found at {RETAIL}")
    tz = "Europe/London"
    as_of = datetime(2011, 12, 10, tzinfo=ZoneInfo(tz))
    df = load_retail()
    cancel = df["InvoiceNo"].str.startswith("C")
    ev = pd.DataFrame({
        "event_id": df.index.astype(str),
        "user_id": df["CustomerID"],
        "event_time": pd.to_datetime(df["InvoiceDate"], format="%Y-%m-%d %H:%M:%S").dt.tz_localize(tz),
        "event_type": np.where(cancel, "return", "purchase"),
        "order_id": df["InvoiceNo"],
        "item_id": df["StockCode"],
        "quantity": df["Quantity"].astype(float),
        "amount": df["Quantity"] * df["UnitPrice"],
    })
    got = run_builtin("rfm", {}, events=ev, timezone=tz, as_of=as_of).set_index("user_id")
    assert len(got) == 4372 == df["CustomerID"].nunique()

    # pandas groupby reference, written independently of the SQL
    buys = ev[ev["event_type"] == "purchase"]
    last_day = buys.groupby("user_id")["event_time"].max().dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    recency = (pd.Timestamp("2011-12-10") - last_day).dt.days
    frequency = buys.groupby("user_id")["order_id"].nunique().reindex(got.index, fill_value=0)
    micro = np.round(ev["amount"].to_numpy() * 1e6).astype(np.int64)  # exact, like DECIMAL(18, 6)
    net = pd.Series(micro, index=ev.index).groupby(ev["user_id"]).sum().reindex(got.index)
    cents = np.sign(net) * ((net.abs() + 5000) // 10000)  # round half away from zero
    monetary = cents / 100

    pd.testing.assert_series_equal(got["recency_days"].dropna().astype(int), recency.astype(int),
                                   check_names=False, check_index_type=False)
    assert got["recency_days"].isna().sum() == 4372 - buys["user_id"].nunique() == 33
    assert (got["frequency"] == frequency).all()
    assert np.allclose(got["monetary"], monetary, atol=1e-9, rtol=0)
    naive = ev.groupby("user_id")["amount"].sum().round(2).reindex(got.index)
    assert (got["monetary"] - naive).abs().max() <= 0.01 + 1e-9
    assert got.loc["12346", "monetary"] == 0.0 and got.loc["12347", "monetary"] == 4310.0
    assert got.loc["12346", "frequency"] == 1 and got.loc["12347", "frequency"] == 7
    assert got.loc["12347", "recency_days"] == 3  # last bought 2011-12-07

    # scores on real data: same percent-rank formula, vectorised
    b = got[got["frequency"] > 0]
    n = len(b)

    def score(x: pd.Series, ascending: bool) -> pd.Series:
        pr = (x.rank(method="min", ascending=ascending) - 1) / (n - 1)
        return np.minimum(5, 1 + np.floor(pr * 5)).astype(int)

    assert (b["r_score"] == score(b["recency_days"], False)).all()
    assert (b["f_score"] == score(b["frequency"], True)).all()
    assert (b["m_score"] == score(b["monetary"], True)).all()
    seg = [GRID[r][f - 1] for r, f in zip(b["r_score"], b["f_score"])]
    assert list(b["segment"]) == seg
    assert set(b["segment"]) >= {"Champions", "Lost", "At Risk", "New Customers"}
