"""The pure parts on small hand-made data: feature expansion, fitting, outputs, metrics, the version store."""

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from portrait.models.evaluate import binary_metrics, calibration, cross_validate
from portrait.models.features import FeatureFrame, Featurizer, item_block
from portrait.models.outputs import tag_values
from portrait.models.registry import ModelStore
from portrait.models.errors import ModelNotFound
from portrait.models.spec import Baseline, ItemMatrix
from portrait.models.train import FitSettings, fit, predict

AS_OF = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _frame(n: int = 200, seed: int = 0) -> tuple[FeatureFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    users = np.array([f"u{i:04d}" for i in range(n)], dtype=object)
    values = pd.DataFrame({
        "score": rng.normal(y * 1.0, 1.0),
        "level": np.where(rng.random(n) < 0.5 + 0.3 * y, "high", "low"),
        "interests": [[{"key": "a", "weight": float(v)}] if v > 0.2 else None for v in rng.random(n)],
        "first_seen": pd.to_datetime("2019-06-01", utc=True) + pd.to_timedelta(rng.integers(0, 100, n), unit="D"),
    })
    types = {"score": "number", "level": "enum", "interests": "weighted_set", "first_seen": "timestamp"}
    rows = [(users[i], f"item{j}", 1.0) for i in range(n) for j in rng.choice(30, 5, replace=False) + 10 * y[i]]
    block = item_block(pd.DataFrame(rows, columns=["user_id", "item_id", "weight"]), users)
    return FeatureFrame(users, AS_OF, values, types, {"items": block, "baseline:tfidf": block}), y


def _settings(algorithm: str, blocks: bool = True) -> FitSettings:
    return FitSettings("binary", ["no", "yes"], algorithm, {"n_estimators": 30} if algorithm == "lightgbm" else {},
                       seed=3, enum_values={"level": ["low", "high"]},
                       blocks={"items": ItemMatrix(min_users=2)} if blocks else {})


def test_featurizer_expands_enums_sets_and_timestamps():
    frame, _ = _frame(20)
    f = Featurizer.fit(frame, {"level": ["low", "high"]})
    assert f.names == ["score", "level=low", "level=high", "interests[a]", "first_seen__days_ago"]
    x = f.dense(frame)
    assert x.shape == (20, 5) and np.allclose(x[:, 1] + x[:, 2], 1)
    assert (x[:, 4] > 100).all()  # days before the as-of instant


def test_item_vocabulary_is_learned_on_training_users_only():
    frame, _ = _frame(50)
    f = Featurizer.fit(frame.rows(np.arange(10)), {}, min_users={"items": 1})
    seen = set(f.block_items["items"])
    assert f.block(frame, "items").shape == (50, len(seen))


@pytest.mark.parametrize("algorithm", ["logistic_regression", "lightgbm", "gradient_boosting"])
def test_fit_is_reproducible_and_learns(algorithm):
    frame, y = _frame()
    train, test = np.arange(150), np.arange(150, 200)
    p1 = predict(fit(frame.rows(train), y[train], _settings(algorithm)), frame.rows(test))
    p2 = predict(fit(frame.rows(train), y[train], _settings(algorithm)), frame.rows(test))
    assert np.array_equal(p1, p2)
    assert binary_metrics(y[test], p1, ["no", "yes"], 0.7)["auc"] > 0.75


def test_labels_below_the_threshold_are_unknown():
    out = tag_values(np.array(["a", "b", "c"], dtype=object), np.array([0.9, 0.5, 0.2]), "binary", ["M", "F"], 0.7, "v3")
    assert out["label"].tolist() == ["F", "unknown", "M"]
    assert out["version"].tolist() == ["v3"] * 3
    assert out["distribution"][0] == [{"key": "F", "weight": 0.9}, {"key": "M", "weight": 0.1}]
    multi = tag_values(np.array(["a", "b"], dtype=object), np.array([[0.6, 0.3, 0.1], [0.4, 0.35, 0.25]]),
                       "multiclass", ["x", "y", "z"], 0.5, "v1")
    assert multi["label"].tolist() == ["x", "unknown"] and multi["probability"].tolist() == [0.6, 0.4]


def test_calibration_of_a_perfectly_calibrated_score():
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(int)
    cal = calibration(y, p)
    assert cal["ece"] < 0.02 and len(cal["table"]) == 10


def test_cross_validation_scores_model_and_baselines_on_the_same_folds():
    frame, y = _frame()
    base = [Baseline(name="tfidf", kind="tfidf_lr", items=ItemMatrix(min_users=1)),
            Baseline(name="score_only", kind="score", feature="score")]
    ev = cross_validate(frame, y, _settings("logistic_regression"), 0.7, folds=4, repeats=2, declared=base)
    assert ev["folds"] == 4 and ev["repeats"] == 2 and len(ev["summary"]["auc"]["runs"]) == 2
    assert set(ev["baselines"]) == {"majority", "tfidf", "score_only"}
    assert ev["baselines"]["majority"]["summary"]["auc"]["mean"] == pytest.approx(0.5, abs=0.05)
    assert ev["summary"]["auc"]["mean"] > ev["baselines"]["score_only"]["summary"]["auc"]["mean"]


def test_store_keeps_every_version(tmp_path):
    store = ModelStore(tmp_path)
    render = lambda r: {"report.txt": f"version {r['version']}"}  # noqa: E731
    v1 = store.save("m", {"w": 1}, {"model": "m"}, render, pd.DataFrame({"user_id": ["a"], "version": [""]}))
    v2 = store.save("m", {"w": 2}, {"model": "m"}, render)
    assert (v1.version, v2.version) == ("v1", "v2") and store.versions("m") == ["v1", "v2"]
    assert store.latest("m").version == "v2"
    assert store.get("m", "v1").load() == {"w": 1} and store.get("m", "1").report()["version"] == "v1"
    assert (v1.path / "report.txt").read_text() == "version v1"
    assert v1.predictions()["version"].tolist() == ["v1"]
    with pytest.raises(ModelNotFound, match="no version 'v9'"):
        store.get("m", "v9")
    assert not list((tmp_path / "models" / "m").glob(".staging-*"))
