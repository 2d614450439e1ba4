"""Lookalike on real data: the acceptance case (MovieLens students), the other two cases of the
evaluation table, and the service: saved scored list, drivers, use as an audience."""

from __future__ import annotations

import json

import pytest

from portrait.apps.insight import insight
from portrait.apps.lookalike import lookalike, lookalike_eval
from portrait.apps.lookalike_features import excluded_closure
from portrait.apps.lookalike_store import LookalikeExists, list_saved, load_scores


def _table(name: str, r: dict) -> str:
    return name + ": " + ", ".join(f"{m} precision {v['precision']:.3f} lift {v['lift']:.2f}" for m, v in r["summary"].items())


@pytest.fixture(scope="module")
def table(artifacts):
    rows = {}
    yield rows
    (artifacts / "lookalike_eval.json").write_text(json.dumps(rows, indent=1))


def test_students_beat_the_baseline(ml, table):
    """Occupation hidden; seed = half the students; baseline = LR on TF-IDF(user×movie) + age."""
    r = lookalike_eval(ml.root, "occupation = 'student'", ["occupation"], baseline_tags=["age"], seeds=5,
                       snapshot=ml.current)
    table["movielens occupation = student"] = r["summary"]
    print(_table("student", r))
    assert r["excluded"] == ["occupation"] and r["target_users"] == 196
    pu, base = r["summary"]["pu"], r["summary"]["baseline"]
    assert pu["lift"] >= 4.0
    assert pu["lift"] > base["lift"]
    assert pu["lift"] > r["summary"]["centroid"]["lift"]


def test_young_users(ml, table):
    """Age and everything derived from it (age band, the age-band model's outputs) hidden."""
    r = lookalike_eval(ml.root, "age < 25", ["age"], seeds=5, snapshot=ml.current)
    table["movielens age < 25"] = r["summary"]
    print(_table("age < 25", r))
    assert {"age", "age_band"} <= set(r["excluded"])
    assert r["summary"]["pu"]["lift"] > r["summary"]["baseline"]["lift"] > 1.5


def test_one_country(shop, table):
    r = lookalike_eval(shop.root, "country = 'Germany'", ["country"], seeds=5, snapshot=shop.current)
    table["online retail country = Germany"] = r["summary"]
    print(_table("Germany", r))
    assert r["target_users"] == 95
    assert r["summary"]["pu"]["lift"] >= r["summary"]["baseline"]["lift"] > 5


def test_excluded_closure_follows_rules_and_models():
    cat = [
        {"id": "age", "deps": []},
        {"id": "age_band", "deps": ["age"]},
        {"id": "band_predicted", "deps": ["ratings"], "model": {"target": {"tag": "age_band"}}},
        {"id": "band_version", "deps": ["band_predicted"]},
        {"id": "ratings", "deps": []},
    ]
    assert excluded_closure(cat, {"age"}) == {"age", "age_band", "band_predicted", "band_version"}


def test_lookalike_service_saves_a_scored_list(ml):
    r = lookalike(ml.root, "occupation = 'student'", 150, exclude=["occupation"], save="students_x1",
                  snapshot=ml.current)
    assert r["size"] == 150 and r["seed"]["size"] == 196 and r["candidates"] == 943 - 196
    assert r["drivers"] and r["drivers"][0]["feature"].startswith("age")
    assert set(r["comparison"]) == {"pu", "centroid"}
    assert all("occupation" not in d["feature"] for d in r["drivers"])
    saved = load_scores(_project(ml), "students_x1")
    assert len(saved) == 150 and list(saved["rank"][:3]) == [1, 2, 3]
    assert saved["score"].is_monotonic_decreasing
    assert "students_x1" in [s["name"] for s in list_saved(_project(ml))]
    with pytest.raises(LookalikeExists):
        lookalike(ml.root, "occupation = 'student'", 10, exclude=["occupation"], save="students_x1", compare=False)
    # a saved lookalike is an audience for insight (and campaigns)
    ins = insight(ml.root, "lookalike:students_x1", snapshot=ml.current, tags=["age_band"])
    assert ins["segment"]["size"] == 150 and ins["segment"]["kind"] == "lookalike"


def _project(p):
    from portrait.config import load_project

    return load_project(p.root)
