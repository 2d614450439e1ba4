"""Gender and age band predicted from behaviour on MovieLens 100k: honest CV, p(female), versions, builds."""

from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd
import pytest

from portrait.config import load_project
from portrait.models.errors import ModelError
from portrait.models.inputs import load_frame
from portrait.models.registry import ModelStore
from portrait.models.service import assert_point_in_time, connect_at
from portrait.models.spec import model_for
from portrait.pipeline import build, load_catalog

from .conftest import copy_example

DEMOGRAPHICS = {"gender", "age", "age_band", "occupation"}


def test_gender_beats_the_tfidf_baseline_in_the_same_run(ml_trained):
    r = ml_trained.versions["gender"].report()
    ev = r["evaluation"]
    assert (ev["method"], ev["folds"], ev["repeats"], ev["users"]) == ("cv", 5, 1, 943)
    auc = ev["summary"]["auc"]["mean"]
    baseline = ev["baselines"]["tfidf_user_movie_lr"]["summary"]["auc"]["mean"]
    assert baseline > 0.75 and auc >= baseline, (auc, baseline)
    assert ev["summary"]["accuracy"]["mean"] > ev["baselines"]["majority"]["summary"]["accuracy"]["mean"]
    cal = ev["detail"]["calibration"]
    assert cal["ece"] < 0.1 and sum(row["n"] for row in cal["table"]) == 943
    assert not DEMOGRAPHICS & set(r["features"]["tags"])
    assert r["train"]["labels"]["F"] == 273 and r["train"]["labels"]["M"] == 670
    html = (ml_trained.versions["gender"].path / "report.html").read_text()
    assert "tfidf_user_movie_lr" in html and "Calibration" in html


def test_gender_is_p_female_with_unknown_under_the_catalog_threshold(ml_trained):
    mv = ml_trained.versions["gender"]
    threshold = model_for(load_catalog(load_project(ml_trained.root)), "gender").spec.threshold
    assert threshold == mv.report()["threshold"] == 0.7
    p = mv.predictions()
    assert len(p) == 943 and p["probability"].between(0, 1).all()
    confident = np.maximum(p["probability"], 1 - p["probability"]) >= threshold
    assert (p.loc[~confident, "label"] == "unknown").all()
    assert (p.loc[confident & (p["probability"] >= 0.5), "label"] == "F").all()
    assert (p.loc[confident & (p["probability"] < 0.5), "label"] == "M").all()
    assert 0 < (~confident).mean() < 1


def test_same_data_and_seed_give_identical_predictions_and_versions_stay(ml_trained):
    first, again = ml_trained.versions["gender"], ml_trained.versions["gender_again"]
    assert (first.version, again.version) == ("v1", "v2")
    a, b = first.predictions(), again.predictions()
    pd.testing.assert_frame_equal(a.drop(columns="version"), b.drop(columns="version"))
    store = ModelStore(load_project(ml_trained.root).warehouse)
    assert store.versions("gender") == ["v1", "v2"] and store.latest("gender").version == "v2"
    old = store.get("gender", "v1")
    assert old.report()["version"] == "v1" and old.load().fitted is not None


def test_age_band_from_behaviour(ml_trained):
    r = ml_trained.versions["age_band"].report()
    ev = r["evaluation"]
    assert r["task"] == "multiclass" and len(r["classes"]) == 7
    assert ev["summary"]["accuracy"]["mean"] > ev["baselines"]["majority"]["summary"]["accuracy"]["mean"] + 0.05
    assert ev["summary"]["auc"]["mean"] > 0.7
    assert not DEMOGRAPHICS & set(r["features"]["tags"])


def test_build_refreshes_predicted_tags_with_the_newest_version(ml_trained):
    snap = build(ml_trained.root).snapshot
    prof = pd.read_parquet(snap.file("profiles")).set_index("user_id").sort_index()
    newest = ml_trained.versions["gender_again"].predictions().set_index("user_id").sort_index()
    assert (prof["gender_model_version"] == "v2").all()
    # the build reads its own t_<tag> tables, training read the snapshot: same features, same predictions
    assert np.allclose(prof["gender_p_female"], newest["probability"], atol=1e-9)
    assert (prof["gender_predicted"] == newest["label"]).all()
    dist = prof["age_band_distribution"].map(lambda v: sum(e["weight"] for e in v))
    assert np.allclose(dist, 1, atol=1e-4) and (prof["age_band_model_version"] == "v1").all()


def _perturbed_project(tmp_path, cutoff: datetime, datasets):
    """The MovieLens example reading a copy of u.data whose events at/after the cutoff are changed."""
    root = copy_example("movielens", tmp_path / "perturbed")
    raw = pd.read_csv(datasets / "movielens-100k" / "u.data", sep="\t", names=["u", "i", "r", "ts"])
    late = raw["ts"] >= int(cutoff.timestamp())
    raw.loc[late, "r"] = 6 - raw.loc[late, "r"]  # every later rating flipped
    extra = pd.DataFrame({"u": np.arange(1, 201), "i": 50, "r": 5, "ts": int(cutoff.timestamp()) + 3600})
    (root / "data").mkdir()
    pd.concat([raw, extra]).to_csv(root / "data" / "u.data", sep="\t", header=False, index=False)
    cfg = root / "portrait.yaml"
    cfg.write_text(cfg.read_text().replace("dataset://movielens-100k/u.data", "data/u.data"))
    return root, int(late.sum())


def _features(root, cutoff):
    project = load_project(root)
    snap = build(project, as_of=cutoff).snapshot
    assert_point_in_time(snap, cutoff)  # the as-of snapshot stores no event at or after the cutoff
    con = duckdb.connect()
    latest = con.execute(f"SELECT max(event_time) FROM read_parquet('{snap.file('events')}')").fetchone()[0]
    assert latest < cutoff
    con = connect_at(snap)
    model = model_for(load_catalog(project), "gender")
    return load_frame(lambda sql: con.execute(sql).df(), model, "profiles", cutoff), snap


def test_features_never_read_events_at_or_after_the_cutoff(ml_trained, datasets, tmp_path):
    cutoff = datetime(1998, 1, 1, tzinfo=timezone.utc)
    root, changed = _perturbed_project(tmp_path, cutoff, datasets)
    assert changed > 10_000
    a, snap = _features(ml_trained.root, cutoff)
    b, _ = _features(root, cutoff)
    assert np.array_equal(a.users, b.users) and len(a) == 943
    pd.testing.assert_frame_equal(a.values, b.values)
    ma, mb = a.blocks["movies"], b.blocks["movies"]
    assert np.array_equal(ma.items, mb.items) and (ma.matrix != mb.matrix).nnz == 0
    # and a snapshot that is not a point-in-time view at the cutoff is refused for training
    current = build(ml_trained.root).snapshot
    with pytest.raises(ModelError, match="not a point-in-time view"):
        assert_point_in_time(current, cutoff)
