"""Ingest of the two real data sets, checked against figures computed independently with pandas."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from portrait.config import load_project
from portrait.sources import canonical_schema, ingest, quarantine_summary

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURES = HERE / "fixtures"


def _shared() -> Path:
    path = Path(os.environ.get("PORTRAIT_DATA_HOME") or REPO.parent / "shared" / "datasets")
    if not (path / "online-retail" / "online_retail.csv.gz").exists():
        pytest.fail(f"real data sets not found in {path}: set PORTRAIT_DATA_HOME")
    return path


@pytest.fixture(scope="module")
def shared():
    path = _shared()
    mp = pytest.MonkeyPatch()
    mp.setenv("PORTRAIT_DATA_HOME", str(path))
    yield path
    mp.undo()


def _sql(path: Path, query: str):
    con = duckdb.connect()
    try:
        return con.execute(query.replace("$t", f"read_parquet('{path}')")).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------ Online Retail


@pytest.fixture(scope="module")
def retail_raw(shared) -> pd.DataFrame:
    return pd.read_csv(shared / "online-retail" / "online_retail.csv.gz", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def retail(shared, tmp_path_factory):
    out = tmp_path_factory.mktemp("retail")
    return ingest(load_project(FIXTURES / "online_retail"), out), out


def test_retail_counts_add_up(retail, retail_raw):
    result, out = retail
    (stats,) = result.stats
    assert stats.read == len(retail_raw) == 541_909
    assert stats.read == stats.accepted + stats.quarantined
    no_customer = int((retail_raw["CustomerID"].str.strip() == "").sum())
    assert no_customer == 135_080
    assert stats.quarantined == no_customer  # nothing else is wrong in this file
    q = out / "quarantine.parquet"
    assert _sql(q, "SELECT field, reason, count(*) FROM $t GROUP BY ALL") == [
        ("user_id", "missing required field", no_customer)
    ]
    assert quarantine_summary(q, source="retail") == [
        {"source": "retail", "field": "user_id", "reason_kind": "missing required field", "count": no_customer}
    ]
    assert _sql(out / "events.parquet", "SELECT count(*) FROM $t")[0][0] == stats.accepted


def test_retail_quarantined_lines_are_the_rows_without_customer(retail, retail_raw):
    _, out = retail
    lines = [r[0] for r in _sql(out / "quarantine.parquet", "SELECT source_line FROM $t ORDER BY 1")]
    expected = (retail_raw.index[retail_raw["CustomerID"] == ""] + 2).tolist()  # header is line 1
    assert lines == expected


def test_retail_users_are_normalised_ids(retail, retail_raw):
    _, out = retail
    ids = {r[0] for r in _sql(out / "events.parquet", "SELECT DISTINCT user_id FROM $t")}
    raw_ids = set(retail_raw.loc[retail_raw["CustomerID"] != "", "CustomerID"].str.replace(r"\.0$", "", regex=True))
    assert len(ids) == len(raw_ids) == 4_372
    assert ids == raw_ids
    assert "12346" in ids and "12346.0" not in ids


def test_retail_values_match_raw(retail, retail_raw):
    result, out = retail
    raw = retail_raw[retail_raw["CustomerID"] != ""].copy()
    qty, price = raw["Quantity"].astype(float), raw["UnitPrice"].astype(float)
    (n, amount, returns, first, last) = _sql(
        out / "events.parquet",
        "SELECT count(*), sum(amount), count(*) FILTER (event_type = 'return'), min(event_time), max(event_time) FROM $t",
    )[0]
    assert n == len(raw)
    assert amount == pytest.approx((qty * price).sum(), rel=1e-9)
    assert returns == int(raw["InvoiceNo"].str.startswith("C").sum())
    london = pd.to_datetime(raw["InvoiceDate"]).dt.tz_localize("Europe/London")
    assert first == london.min().to_pydatetime() == result.min_event_time
    assert last == london.max().to_pydatetime() == result.max_event_time


def test_retail_props_are_queryable_json(retail, retail_raw):
    _, out = retail
    got = dict(_sql(out / "events.parquet", "SELECT props->>'country', count(*) FROM $t GROUP BY 1"))
    raw = retail_raw[retail_raw["CustomerID"] != ""]
    assert got == raw["Country"].value_counts().to_dict()
    (price,) = _sql(out / "events.parquet", "SELECT sum((props->>'unit_price')::DOUBLE) FROM $t")[0]
    assert price == pytest.approx(raw["UnitPrice"].astype(float).sum(), rel=1e-9)


def test_retail_event_ids_point_at_their_line(retail, retail_raw):
    _, out = retail
    rows = _sql(out / "events.parquet", "SELECT event_id, source_line, order_id, item_id FROM $t USING SAMPLE 2000 ROWS")
    for event_id, line, order_id, item_id in rows:
        assert event_id == f"retail:{line}"
        src = retail_raw.iloc[line - 2]
        assert (src["InvoiceNo"], src["StockCode"]) == (order_id, item_id)


def test_retail_output_schema_matches_canonical_schema(retail):
    _, out = retail
    schema = canonical_schema(load_project(FIXTURES / "online_retail"))
    for table in ("events", "users", "items"):
        cols = _sql(out / f"{table}.parquet", "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM $t)")
        norm = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
        assert cols == [(c, norm.get(t, t)) for c, t in schema[table].items()]
    assert _sql(out / "users.parquet", "SELECT count(*) FROM $t")[0][0] == 0  # written even when empty


# ------------------------------------------------------------------ MovieLens


@pytest.fixture(scope="module")
def ml_raw(shared):
    folder = shared / "movielens-100k"
    genres = [line.split("|")[0] for line in (folder / "u.genre").read_text().splitlines() if line.strip()]
    return {
        "ratings": pd.read_csv(folder / "u.data", sep="\t", names=["user_id", "item_id", "rating", "ts"]),
        "users": pd.read_csv(folder / "u.user", sep="|", names=["user_id", "age", "gender", "occupation", "zip"],
                             dtype={"user_id": str, "zip": str}),
        "items": pd.read_csv(folder / "u.item", sep="|", header=None, encoding="latin-1",
                             names=["item_id", "title", "release", "video", "url", *genres], dtype={"item_id": str}),
        "genres": genres,
    }


@pytest.fixture(scope="module")
def movielens(shared, tmp_path_factory):
    out = tmp_path_factory.mktemp("movielens")
    return ingest(load_project(FIXTURES / "movielens"), out), out


def test_movielens_ratings(movielens, ml_raw):
    result, out = movielens
    ratings = ml_raw["ratings"]
    by_name = {s.name: s for s in result.stats}
    assert by_name["ratings"].read == by_name["ratings"].accepted == len(ratings) == 100_000
    got = dict(_sql(out / "events.parquet", "SELECT (props->>'rating')::INTEGER, count(*) FROM $t WHERE event_type = 'rate' GROUP BY 1"))
    assert got == ratings["rating"].value_counts().to_dict()
    times = pd.to_datetime(ratings["ts"], unit="s", utc=True)
    assert result.min_event_time == times.min().to_pydatetime()
    assert result.max_event_time == times.max().to_pydatetime()
    pairs = _sql(out / "events.parquet", "SELECT user_id, item_id, epoch(event_time)::BIGINT, source_line FROM $t")
    assert sorted((int(u), int(i), t) for u, i, t, _ in pairs) == sorted(
        ratings[["user_id", "item_id", "ts"]].itertuples(index=False, name=None))
    line = {ln: (u, i) for u, i, _, ln in pairs}
    assert line[1] == tuple(str(v) for v in ratings.iloc[0][["user_id", "item_id"]])


def test_movielens_users(movielens, ml_raw):
    _, out = movielens
    got = pd.read_parquet(out / "users.parquet").sort_values("user_id").reset_index(drop=True)
    want = ml_raw["users"].sort_values("user_id").reset_index(drop=True)
    assert len(got) == len(want) == 943
    for col in ("user_id", "age", "gender", "occupation", "zip"):
        assert got[col].tolist() == want[col].tolist(), col


def test_movielens_items_have_genres(movielens, ml_raw):
    _, out = movielens
    items = ml_raw["items"]
    got = {r[0]: r[1:] for r in _sql(out / "items.parquet", "SELECT item_id, genres, category, title FROM $t")}
    assert len(got) == len(items) == 1_682
    for _, row in items.iterrows():
        want = [g for g in ml_raw["genres"] if row[g] == 1]
        genres, category, title = got[row["item_id"]]
        assert genres == want
        assert category == (want[0] if want else None)
        assert title == row["title"]
    assert any("Misérables" in t for _, _, t in got.values())  # latin-1 decoded


def test_movielens_as_of_leaves_later_events_out(shared, tmp_path, ml_raw):
    as_of = datetime(1998, 1, 1, tzinfo=timezone.utc)
    result = ingest(load_project(FIXTURES / "movielens"), tmp_path, as_of=as_of)
    ratings = ml_raw["ratings"]
    later = int((ratings["ts"] >= int(as_of.timestamp())).sum())
    stats = {s.name: s for s in result.stats}["ratings"]
    assert stats.after_as_of == later > 0
    assert stats.read == stats.accepted + stats.quarantined == len(ratings)
    assert _sql(tmp_path / "events.parquet", "SELECT count(*) FROM $t")[0][0] == len(ratings) - later
    assert result.max_event_time < as_of
