"""The `model:` block is checked before any data is read; every error names the tag (and the leak)."""

from pathlib import Path

import pytest

from portrait.catalog import EVENT_COLUMNS, compile_catalog, load_tags
from portrait.errors import CatalogError, CatalogErrors
from portrait.models.spec import resolve_models

TABLES = {
    "events": EVENT_COLUMNS,
    "users": {"user_id": "VARCHAR", "gender": "VARCHAR", "age": "INTEGER"},
    "items": {"item_id": "VARCHAR"},
}
HEAD = "  name: {en: X}\n  taxonomy: [a]\n  owner: me\n"
BASE = (
    "- id: gender\n" + HEAD + "  kind: fact\n  type: enum\n  values: [M, F]\n  sql: SELECT user_id, gender FROM users\n"
    "- id: age\n" + HEAD + "  kind: fact\n  type: integer\n  sql: SELECT user_id, age FROM users\n"
    "- id: is_adult\n" + HEAD + "  kind: rule\n  type: bool\n  sql: age >= 18\n"
    "- id: gender_code\n" + HEAD + "  kind: rule\n  type: integer\n  sql: CASE WHEN gender = 'F' THEN 1 ELSE 0 END\n"
    "- id: code_twice\n" + HEAD + "  kind: rule\n  type: integer\n  sql: gender_code * 2\n"
    "- id: n_events\n" + HEAD + "  kind: statistic\n  type: integer\n"
    "  sql: SELECT user_id, count(*) AS n FROM events GROUP BY user_id\n"
    "- id: secret\n" + HEAD + "  kind: statistic\n  type: number\n  pii: true\n"
    "  sql: SELECT user_id, sum(amount) AS s FROM events GROUP BY user_id\n"
)


def _model_tag(tag_id: str, model: str, type_: str = "number", extra: str = "") -> str:
    return f"- id: {tag_id}\n{HEAD}  kind: model\n  type: {type_}\n{extra}  model: {model}\n"


def _resolve(tmp_path: Path, text: str):
    tags = tmp_path / "tags"
    tags.mkdir(exist_ok=True)
    (tags / "t.yaml").write_text(BASE + text)
    return resolve_models(compile_catalog(load_tags(tags, tmp_path), TABLES, {}))


def test_default_features_leave_out_target_and_everything_derived_from_it(tmp_path):
    m = _resolve(tmp_path, _model_tag("p_female", "{name: gender, output: probability, target: {tag: gender, positive: F}}"))
    model = m["gender"]
    assert model.task == "binary" and model.classes == ["M", "F"]
    # gender_code derives from gender, code_twice from gender_code (transitively); secret is PII
    assert model.feature_tags == ["age", "is_adult", "n_events"]


def test_explicit_feature_derived_from_target_is_refused(tmp_path):
    with pytest.raises(CatalogError, match=r"'code_twice' cannot be a feature: it is derived from the target 'gender'") as e:
        _resolve(tmp_path, _model_tag(
            "p_female", "{name: gender, output: probability, target: {tag: gender, positive: F}, features: [n_events, code_twice]}"))
    assert e.value.location.tag == "p_female" and e.value.location.file == "tags/t.yaml"


def test_tag_the_target_is_computed_from_is_refused(tmp_path):
    with pytest.raises(CatalogError, match=r"'age' cannot be a feature: the target 'is_adult' is derived from it"):
        _resolve(tmp_path, _model_tag("p_adult", "{name: adult, output: probability, target: {tag: is_adult}, features: [age]}"))


def test_feature_sql_reading_the_target_column_is_refused(tmp_path):
    model = ("{name: gender, output: probability, target: {tag: gender, positive: F}, "
             "features: [{name: g, sql: \"SELECT user_id, gender = 'F' AS g FROM users\"}]}")
    with pytest.raises(CatalogError, match=r"reads users.gender, which the target 'gender' is computed from"):
        _resolve(tmp_path, _model_tag("p_female", model))


def test_label_window_before_the_cutoff_is_refused(tmp_path):
    model = ("{name: churn, output: probability, target: {sql: 'SELECT user_id, 1 AS x FROM events GROUP BY user_id', "
             "window: 90d, start: -7d, missing: 0}}")
    with pytest.raises(CatalogError, match=r"label window starts 7 day\(s\) before the feature cutoff.*leakage") as e:
        _resolve(tmp_path, _model_tag("churn_risk", model))
    assert e.value.location.tag == "churn_risk"


def test_training_labels_must_end_before_the_test_cutoff(tmp_path):
    model = ("{name: churn, output: probability, target: {sql: 'SELECT user_id, 1 AS x FROM events GROUP BY user_id', "
             "window: 90d, missing: 0}, cutoff: 2011-06-11, evaluation: {method: out_of_time, test_cutoff: 2011-08-01}}")
    with pytest.raises(CatalogError, match="after the test cutoff 2011-08-01"):
        _resolve(tmp_path, _model_tag("churn_risk", model))


def test_label_sql_needs_a_window(tmp_path):
    with pytest.raises(CatalogError, match="model.target: .*needs a `window`"):
        _resolve(tmp_path, _model_tag("churn_risk", "{name: churn, output: probability, target: {sql: 'SELECT 1'}}"))


def test_unknown_key_names_the_tag_and_key(tmp_path):
    with pytest.raises(CatalogError, match=r"model.algoritm: Extra inputs are not permitted") as e:
        _resolve(tmp_path, _model_tag("p", "{name: g, output: probability, target: {tag: gender, positive: F}, algoritm: x}"))
    assert e.value.location.tag == "p"


def test_shared_model_tags_and_output_types(tmp_path):
    text = (_model_tag("p_female", "{name: gender, output: probability, target: {tag: gender, positive: F}, threshold: 0.7}")
            + _model_tag("gender_label", "{name: gender, output: label}", "enum", "  values: [F, M, unknown]\n")
            + _model_tag("gender_version", "{name: gender, output: version}", "string"))
    m = _resolve(tmp_path, text)["gender"]
    assert m.outputs == {"p_female": "probability", "gender_label": "label", "gender_version": "version"}
    assert m.spec.threshold == 0.7 and m.declared_by.id == "p_female"


def test_label_tag_must_allow_unknown(tmp_path):
    text = (_model_tag("p_female", "{name: gender, output: probability, target: {tag: gender, positive: F}}")
            + _model_tag("gender_label", "{name: gender, output: label}", "enum", "  values: [F, M]\n"))
    with pytest.raises(CatalogError, match=r"must allow the values \['M', 'F', 'unknown'\]; missing \['unknown'\]") as e:
        _resolve(tmp_path, text)
    assert e.value.location.tag == "gender_label"


def test_output_type_mismatch_and_unknown_model(tmp_path):
    text = (_model_tag("p_female", "{name: gender, output: probability, target: {tag: gender, positive: F}}", "integer")
            + _model_tag("orphan", "{name: nothing, output: label}", "enum", "  values: [a, unknown]\n"))
    with pytest.raises(CatalogErrors) as e:
        _resolve(tmp_path, text)
    messages = {err.location.tag: err.message for err in e.value.errors}
    assert "output 'probability' is number; the tag declares integer" in messages["p_female"]
    assert "no tag declares model 'nothing'" in messages["orphan"]


def test_two_full_declarations_of_one_model(tmp_path):
    text = (_model_tag("a", "{name: gender, output: probability, target: {tag: gender, positive: F}}")
            + _model_tag("b", "{name: gender, output: probability, target: {tag: gender, positive: F}}"))
    with pytest.raises(CatalogError, match="model 'gender' is already declared by tag 'a'"):
        _resolve(tmp_path, text)


def test_multiclass_and_regression_tasks(tmp_path):
    text = (_model_tag("age_guess", "{name: age, output: value, target: {tag: age}, features: [n_events]}")
            + _model_tag("g_dist", "{name: g, output: distribution, target: {tag: gender}, features: [n_events]}",
                         "weighted_set"))
    m = _resolve(tmp_path, text)
    assert m["age"].task == "regression" and m["g"].task == "multiclass" and m["g"].classes == ["M", "F"]


def test_example_catalogs_resolve():
    from portrait.config import load_project
    from portrait.pipeline import load_catalog

    examples = Path(__file__).resolve().parents[2] / "src" / "portrait" / "examples"
    ml = resolve_models(load_catalog(load_project(examples / "movielens")))
    assert set(ml) == {"gender", "age_band"}
    for m in ml.values():  # behaviour only: no declared demographics
        assert not {"gender", "age", "age_band", "occupation"} & set(m.feature_tags)
        assert [b.name for b in m.item_blocks] == ["movies"]
    retail = resolve_models(load_catalog(load_project(examples / "online-retail")))
    assert retail["churn"].task == "binary" and retail["clv_90d"].task == "regression"


def test_default_features_computed_after_the_model_are_named(tmp_path):
    tags = tmp_path / "tags"
    tags.mkdir()
    (tags / "a.yaml").write_text(_model_tag("p_female", "{name: gender, output: probability, target: {tag: gender, positive: F}}"))
    (tags / "b.yaml").write_text(BASE)
    with pytest.raises(CatalogError, match=r"default features \['age', 'is_adult', 'n_events'\] are computed after") as e:
        resolve_models(compile_catalog(load_tags(tags, tmp_path), TABLES, {}))
    assert "list `features:` explicitly" in e.value.hint
