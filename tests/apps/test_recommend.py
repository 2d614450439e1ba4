"""Recommendation on MovieLens: a time split (model from the 1998-03-01 snapshot, truth from what
each user rated later) against global popularity; single-user answers exclude consumed items."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from portrait.apps.recommend import recommend, recommend_eval
from portrait.errors import NotFound


def test_time_split_beats_popularity(ml, artifacts):
    r = recommend_eval(ml.root, ml.historical, ml.current, k=10)
    (artifacts / "recommend_eval.json").write_text(json.dumps(r, indent=1))
    print(f"users {r['users']} · HR@10 {r['recommend']['hit_rate']:.3f} vs popularity {r['popularity']['hit_rate']:.3f} "
          f"({r['hit_rate_ratio']:.2f}×) · NDCG@10 {r['recommend']['ndcg']:.3f} vs {r['popularity']['ndcg']:.3f}")
    assert r["cut"].startswith("1998-03-01") and r["users"] >= 100
    assert r["recommend"]["hit_rate"] >= 1.2 * r["popularity"]["hit_rate"]
    assert r["recommend"]["ndcg"] > r["popularity"]["ndcg"]


def test_recommend_excludes_consumed(ml, datasets):
    ratings = pd.read_csv(datasets / "movielens-100k" / "u.data", sep="\t", names=["user", "item", "rating", "ts"],
                          dtype={"user": str, "item": str})
    seen = set(ratings.loc[ratings["user"] == "1", "item"])
    r = recommend(ml.root, "1", k=10, snapshot=ml.current)
    assert len(r["items"]) == 10 and [i["rank"] for i in r["items"]] == list(range(1, 11))
    assert not {i["item_id"] for i in r["items"]} & seen
    assert r["interest_tag"] == "genre_interest" and r["interests"]
    assert all(i["title"] for i in r["items"])
    scores = [i["score"] for i in r["items"]]
    assert scores == sorted(scores, reverse=True)
    assert r["consumed"] == len(seen)


def test_unknown_user(ml):
    with pytest.raises(NotFound):
        recommend(ml.root, "no-such-user", snapshot=ml.current)


def test_retail_recommendations_use_categories(shop):
    r = recommend(shop.root, "12347", k=5, snapshot=shop.current)
    assert r["interest_tag"] == "interest_category" and len(r["items"]) == 5


def test_cli_reason_follows_the_path_that_found_each_item(ml):
    """A row found by popularity says so, not "because of" some item the user happened to rate."""
    from portrait.cli.apps import _because

    sources = set()
    for user in map(str, range(1, 41)):
        for item in recommend(ml.root, user, k=10, snapshot=ml.current)["items"]:
            sources.add(item["source"])
            reason = _because(item)
            if item["source"] == "popularity":
                assert reason == f"popular: {item['consumers']:,} consumers"
            elif item["source"] == "cooccurrence":
                assert reason in (item["because_of"]["title"], item["because_of"]["item_id"])
            else:
                assert reason == f"interest in {item['interest']}"
    assert len(sources) >= 2, f"the 40 users' lists mix paths (else this test shows nothing): {sources}"
