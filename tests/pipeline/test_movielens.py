"""The main job on MovieLens 100k: facts equal u.user, every user has genre interests."""

import pandas as pd


def test_counts(movielens):
    m = movielens.snapshot.manifest
    assert m.users == 943 and m.events == 100_000
    by_name = {s.name: s for s in m.sources}
    assert by_name["ratings"].read == by_name["ratings"].accepted == 100_000
    assert by_name["movies"].accepted == 1_682


def test_fact_tags_equal_u_user(movielens, datasets):
    users = pd.read_csv(datasets / "movielens-100k" / "u.user", sep="|",
                        names=["user_id", "age", "gender", "occupation", "zip"], dtype={"user_id": str})
    bands = pd.cut(users["age"], [0, 17, 24, 34, 44, 49, 55, 200],
                   labels=["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"]).astype(str)
    got = pd.read_parquet(movielens.snapshot.file("profiles")).set_index("user_id").loc[users["user_id"]]
    assert (got["gender"].values == users["gender"].values).all()
    assert (got["age"].values == users["age"].values).all()
    assert (got["occupation"].values == users["occupation"].values).all()
    assert (got["age_band"].values == bands.values).all()


def test_genre_interest_for_every_user(movielens, datasets):
    got = pd.read_parquet(movielens.snapshot.file("profiles"))
    assert got["genre_interest"].map(lambda v: v is not None and len(v) > 0).all()
    genres = {line.split("|")[0] for line in (datasets / "movielens-100k" / "u.genre").read_text().splitlines() if line}
    keys = {e["key"] for v in got["genre_interest"] for e in v}
    assert keys <= genres
