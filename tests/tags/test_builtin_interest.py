"""The interest built-in against an independent pandas implementation (hand-made, random and MovieLens)."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from portrait.tags.builtins.testing import events_frame, run_builtin

AS_OF = datetime(2024, 6, 1, tzinfo=ZoneInfo("UTC"))
MOVIELENS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "movielens-100k"
BEHAVIOUR = {"purchase": 1.0, "cart": 0.6, "favorite": 0.5, "search": 0.3, "view": 0.2, "return": -1.0}
RATING = {1: -1.0, 2: -0.5, 3: 0.1, 4: 0.6, 5: 1.0}


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def reference(ev, items=None, as_of=AS_OF, *, dimension="category", behaviour=BEHAVIOUR, rating=RATING,
              channel=None, half_life=30.0, idf=True, top_n=10, rating_prop="rating"):
    """{user: [(key, weight), ...]} and {user: top}, computed with pandas."""
    ev = ev[(ev["event_time"] < as_of) & ev["user_id"].notna()].copy()
    r = ev["props"].map(lambda p: _num(p.get(rating_prop)) if isinstance(p, dict) else np.nan) if rating else pd.Series(np.nan, index=ev.index)
    base = ev["event_type"].map(behaviour).astype(float)
    keep = base.notna() | r.notna()
    factor = pd.Series(1.0, index=ev.index)
    if rating:
        keys = np.array(sorted(rating), dtype=float)
        vals = np.array([rating[k] for k in sorted(rating)])
        rated = r.notna()
        nearest = np.argmin(np.abs(r[rated].to_numpy()[:, None] - keys[None, :]), axis=1)  # ties → lower key
        factor[rated] = vals[nearest]
    age_days = (pd.Timestamp(as_of) - ev["event_time"]).dt.total_seconds() / 86400
    decay = 0.5 ** (age_days / half_life) if half_life else 1.0
    ch = ev["channel"].map(channel or {}).fillna(1.0) if channel else 1.0
    ev["w"] = base.fillna(1.0) * factor * decay * ch
    ev = ev[keep]
    if dimension == "category":
        ev["key"] = ev["category"]
    else:
        col = {"genre": "genres", "brand": "brand", "item_category": "category"}[dimension]
        ev = ev.drop(columns=["category"], errors="ignore").merge(items[["item_id", col]], on="item_id", how="inner")
        ev = ev.explode(col) if dimension == "genre" else ev
        ev["key"] = ev[col]
    ev = ev[ev["key"].notna()]
    per = ev.groupby(["user_id", "key"])["w"].sum().reset_index()
    if idf:
        n = per["user_id"].nunique()
        df = per.groupby("key")["user_id"].transform("size")
        per["w"] = per["w"] * (np.log((1 + n) / (1 + df)) + 1)
    weights, tops = {}, {}
    for u, g in per.groupby("user_id"):
        m = g["w"].abs().max()
        if m == 0:
            continue
        pairs = [(k, round(w / m, 9)) for k, w in zip(g["key"], g["w"]) if round(w / m, 9) != 0]
        if not pairs:
            continue
        pairs.sort(key=lambda kw: (-kw[1], kw[0]))
        weights[u] = pairs[:top_n]
        tops[u] = pairs[0][0] if pairs[0][1] > 0 else None
    return weights, tops


def assert_same(got: pd.DataFrame, want: tuple[dict, dict]) -> None:
    weights, tops = want
    assert list(got["user_id"]) == sorted(weights)
    for u, ws, top in zip(got["user_id"], got["weights"], got["top"]):
        assert [w["key"] for w in ws] == [k for k, _ in weights[u]], u
        assert np.allclose([w["weight"] for w in ws], [w for _, w in weights[u]], rtol=0, atol=2e-9), u
        assert (None if pd.isna(top) else top) == tops[u], u
        assert all(-1 <= w["weight"] <= 1 for w in ws)


def random_events(seed, n_max=300):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, n_max))
    types = rng.choice(["purchase", "cart", "favorite", "view", "return", "rate", "share"], n)
    return pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": [f"u{u}" for u in rng.integers(0, 15, n)],
        "event_time": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.choice([0, 1, 86400, 86400 * 30, 86400 * 45], n)
                                                            + rng.integers(0, 2, n) * 3600, unit="s"),
        "event_type": types,
        "item_id": [f"i{i}" for i in rng.integers(0, 12, n)],
        "category": rng.choice(["Books", "Games", "Toys", "Home", None], n),
        "channel": rng.choice(["app", "web", None], n),
        "props": [{"rating": float(rng.choice([1, 2, 2.5, 3, 4, 4.5, 5]))} if t in ("rate", "purchase") and rng.random() < 0.7
                  else ({"rating": "n/a"} if rng.random() < 0.05 else None) for t in types],
    })


ITEMS = pd.DataFrame({
    "item_id": [f"i{i}" for i in range(12)],
    "genres": [["Drama"], ["Comedy", "Drama"], [], ["Action"], ["Action", "Sci-Fi", "Drama"], ["Comedy"],
               None, ["Horror"], ["Drama"], ["Sci-Fi"], ["Comedy", "Romance"], ["Romance"]],
    "brand": ["b1", "b2", "b1", None, "b3", "b2", "b1", "b4", "b4", "b1", "b2", "b3"],
    "category": ["Books", "Books", "Toys", "Toys", None, "Games", "Games", "Home", "Home", "Books", "Toys", "Toys"],
})


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dimension", ["category", "genre", "brand"])
def test_random_against_pandas(seed, dimension):
    ev = random_events(seed)
    got = run_builtin("interest", {"dimension": dimension}, events=ev, items=ITEMS, as_of=AS_OF)
    assert_same(got, reference(ev, ITEMS, dimension=dimension))


@pytest.mark.parametrize("params", [
    {"half_life_days": None, "idf": False},
    {"half_life_days": 2.5, "channel_weights": {"app": 1.5, "web": 0.5}, "top_n": 2},
    {"rating_weights": {}, "behaviour_weights": {"view": 1.0, "return": -2.0}},
    {"behaviour_weights": {}, "rating_weights": {"1": -2.0, "3": 0.0, "5": 2.0}, "rating_prop": "rating"},
    {"top_n": 1, "dimension": "genre"},
    {"dimension": "item_category", "half_life_days": 7},
])
def test_params_against_pandas(params):
    ev = random_events(42, n_max=400)
    got = run_builtin("interest", params, events=ev, items=ITEMS, as_of=AS_OF)
    want = reference(
        ev, ITEMS, dimension=params.get("dimension", "category"),
        behaviour=params.get("behaviour_weights", BEHAVIOUR),
        rating={float(k): v for k, v in params.get("rating_weights", RATING).items()},
        channel=params.get("channel_weights"), half_life=params.get("half_life_days", 30.0),
        idf=params.get("idf", True), top_n=params.get("top_n", 10),
    )
    assert_same(got, want)


def test_hand_made_decay_idf_ties_and_negatives():
    rows = [
        # a bought a book a day ago and viewed a game one half-life (30 days) before that: 1.0 vs 0.2 × 0.5
        {"user_id": "a", "event_time": "2024-05-31 00:00", "event_type": "purchase", "category": "Books"},
        {"user_id": "a", "event_time": "2024-05-01 00:00", "event_type": "view", "category": "Games"},
        # b: two keys with identical histories → a tie broken by key; plus a returned toy (negative)
        {"user_id": "b", "event_time": "2024-05-31 00:00", "event_type": "cart", "category": "Games"},
        {"user_id": "b", "event_time": "2024-05-31 00:00", "event_type": "cart", "category": "Books"},
        {"user_id": "b", "event_time": "2024-05-31 00:00", "event_type": "return", "category": "Toys"},
        # c: only negatives → a set, but no top
        {"user_id": "c", "event_time": "2024-05-20 00:00", "event_type": "return", "category": "Toys"},
        {"user_id": "c", "event_time": "2024-05-20 00:00", "event_type": "rate", "category": "Books",
         "props": {"rating": 2}},
        # d: a purchase cancelled by a return at the same instant → weight 0 → no row
        {"user_id": "d", "event_time": "2024-05-20 00:00", "event_type": "purchase", "category": "Toys"},
        {"user_id": "d", "event_time": "2024-05-20 00:00", "event_type": "return", "category": "Toys"},
        # e: an unweighted event type without a rating → nothing
        {"user_id": "e", "event_time": "2024-05-20 00:00", "event_type": "share", "category": "Toys"},
    ]
    ev = events_frame(rows)
    got = run_builtin("interest", {}, events=ev, as_of=AS_OF).set_index("user_id")
    assert list(got.index) == ["a", "b", "c"]
    n = 4  # users with a keyed weighted event: a, b, c, d
    idf = {k: math.log((1 + n) / (1 + df)) + 1 for k, df in {"Books": 3, "Games": 2, "Toys": 3}.items()}
    a_books, a_games = 1.0 * idf["Books"], 0.2 * 0.5 * idf["Games"]
    assert [w["key"] for w in got.loc["a", "weights"]] == ["Books", "Games"]
    assert got.loc["a", "weights"][1]["weight"] == pytest.approx(round(a_games / a_books, 9))
    b = got.loc["b", "weights"]
    assert [w["key"] for w in b] == ["Games", "Books", "Toys"]  # Games scores higher: rarer (idf)
    assert b[2]["weight"] < 0 and got.loc["b", "top"] == "Games"
    assert [w["key"] for w in got.loc["c", "weights"]] == ["Books", "Toys"]
    assert all(w["weight"] < 0 for w in got.loc["c", "weights"]) and pd.isna(got.loc["c", "top"])
    assert_same(got.reset_index(), reference(ev))

    # equal histories on keys with equal document frequency tie exactly: key order decides
    tie = events_frame([
        {"user_id": "x", "event_time": "2024-05-31", "event_type": "view", "category": k} for k in ("Zeta", "Alpha", "Mid")
    ])
    out = run_builtin("interest", {"top_n": 2}, events=tie, as_of=AS_OF)
    assert [w["key"] for w in out.loc[0, "weights"]] == ["Alpha", "Mid"]
    assert [w["weight"] for w in out.loc[0, "weights"]] == [1.0, 1.0] and out.loc[0, "top"] == "Alpha"


def test_empty_inputs():
    assert len(run_builtin("interest", {}, events=events_frame([]), as_of=AS_OF)) == 0
    ev = random_events(1)
    assert len(run_builtin("interest", {"dimension": "genre"}, events=ev, items=ITEMS.iloc[:0], as_of=AS_OF)) == 0


def test_params_are_checked():
    from portrait.catalog.builtin_spec import SqlContext
    from portrait.tags.builtins import builtins
    from portrait.tags.builtins.interest import InterestParams

    for bad in ({"dimension": "colour"}, {"half_life_days": 0}, {"top_n": 0}, {"behaviour_weights": {"view": "x"}},
                {"halflife": 3}):
        with pytest.raises(ValueError):
            InterestParams.model_validate(bad)
    with pytest.raises(ValueError, match="genres"):
        builtins()["interest"].sql({"dimension": "genre"}, SqlContext("UTC", item_columns=frozenset({"item_id"})))


def load_movielens():
    genres = [line.split("|")[0] for line in (MOVIELENS / "u.genre").read_text().splitlines() if line]
    items = pd.read_csv(MOVIELENS / "u.item", sep="|", header=None, encoding="latin-1")
    flags = items.iloc[:, 5:5 + len(genres)].to_numpy()
    items = pd.DataFrame({
        "item_id": items[0].astype(str),
        "genres": [[g for g, f in zip(genres, row) if f] for row in flags],
    })
    ratings = pd.read_csv(MOVIELENS / "u.data", sep="\t", names=["user_id", "item_id", "rating", "ts"])
    events = pd.DataFrame({
        "event_id": ratings.index.astype(str),
        "user_id": ratings["user_id"].astype(str),
        "event_time": pd.to_datetime(ratings["ts"], unit="s", utc=True),
        "event_type": "rate",
        "item_id": ratings["item_id"].astype(str),
        "props": [{"rating": int(r)} for r in ratings["rating"]],
    })
    return events, items


def test_movielens_every_user_gets_genres():
    if not (MOVIELENS / "u.data").exists():
        pytest.skip(f"MovieLens 100K not found at {MOVIELENS}")
    events, items = load_movielens()
    as_of = datetime(1998, 4, 23, tzinfo=ZoneInfo("UTC"))
    got = run_builtin("interest", {"dimension": "genre"}, events=events, items=items, as_of=as_of)
    assert len(got) == 943 and got["weights"].map(len).min() >= 1
    assert got["top"].notna().sum() > 900
    assert_same(got, reference(events, items, as_of, dimension="genre"))
