"""Catalog checks fail before any compute, naming file, tag and position."""

from pathlib import Path

import pytest

from portrait.catalog import EVENT_COLUMNS, compile_catalog, load_tags, transpile
from portrait.errors import CatalogError, CatalogErrors

TABLES = {"events": EVENT_COLUMNS, "users": {"user_id": "VARCHAR", "age": "INTEGER"}, "items": {"item_id": "VARCHAR"}}


def _catalog(tmp_path: Path, text: str):
    tags = tmp_path / "tags"
    tags.mkdir(exist_ok=True)
    (tags / "t.yaml").write_text(text)
    return compile_catalog(load_tags(tags, tmp_path), TABLES, {})


HEAD = "  name: {en: X}\n  taxonomy: [a]\n  owner: me\n"


def _tag(tag_id: str, body: str, kind: str = "statistic", type_: str = "integer") -> str:
    return f"- id: {tag_id}\n{HEAD}  kind: {kind}\n  type: {type_}\n{body}"


def test_orders_by_dependency_and_infers_deps(tmp_path):
    cat = _catalog(tmp_path, _tag("b", "  sql: a + 1\n", "rule") + _tag(
        "a", "  sql: SELECT user_id, count(*) AS n FROM events GROUP BY user_id\n"))
    assert [t.id for t in cat.tags] == ["a", "b"]
    assert cat.by_id["b"].deps == ["a"]
    assert cat.by_id["b"].form == "expression" and cat.by_id["a"].form == "query"


def test_unknown_column_names_file_line_and_suggests(tmp_path):
    text = _tag("n", "  sql: |\n    SELECT user_id,\n      count(*) FILTER (WHERE evnt_type = 'x') AS n\n    FROM events GROUP BY user_id\n")
    with pytest.raises(CatalogError) as e:
        _catalog(tmp_path, text)
    err = e.value
    assert "evnt_type" in err.message and err.location.tag == "n"
    assert err.location.file == "tags/t.yaml" and err.location.line == 9
    assert "event_type" in err.hint


def test_unknown_tag_in_rule(tmp_path):
    with pytest.raises(CatalogError, match="unknown tag 'ag'") as e:
        _catalog(tmp_path, _tag("a", "  sql: SELECT user_id, age FROM users\n") + _tag("r", "  sql: ag > 3\n", "rule", "bool"))
    assert "`a`" in e.value.hint or "`age`" not in e.value.hint


def test_cycle_is_named_as_a_chain(tmp_path):
    with pytest.raises(CatalogError, match=r"dependency cycle: (a -> b -> a|b -> a -> b)"):
        _catalog(tmp_path, _tag("a", "  sql: b + 1\n", "rule") + _tag("b", "  sql: a + 1\n", "rule"))


def test_syntax_error_has_position(tmp_path):
    with pytest.raises(CatalogError, match="syntax error") as e:
        _catalog(tmp_path, _tag("a", "  sql: SELECT user_id, count(* AS n FROM events GROUP BY user_id\n"))
    assert e.value.location.line == 7


def test_enum_value_outside_allowed_values(tmp_path):
    body = "  values: [low, high]\n  sql: CASE WHEN age > 30 THEN 'high' ELSE 'lwo' END\n"
    with pytest.raises(CatalogError, match="'lwo' is not among") as e:
        _catalog(tmp_path, _tag("age", "  sql: SELECT user_id, age FROM users\n") + _tag("band", body, "rule", "enum"))
    assert "`low`" in e.value.hint


def test_unknown_table_and_two_column_contract(tmp_path):
    with pytest.raises(CatalogErrors) as e:
        _catalog(tmp_path, _tag("a", "  sql: SELECT user_id, 1 AS v FROM event\n")
                 + _tag("b", "  sql: SELECT user_id, 1 AS v, 2 AS w FROM events\n"))
    messages = [x.message for x in e.value.errors]
    assert any("unknown table 'event'" in m for m in messages)
    assert any("exactly two columns" in m for m in messages)


def test_schema_errors_collect_every_tag(tmp_path):
    with pytest.raises(CatalogErrors) as e:
        _catalog(tmp_path, "- id: Bad-Id\n" + HEAD + "  kind: statistic\n  type: integer\n  sql: x\n"
                 + _tag("e", "  sql: x\n", "rule", "enum"))
    assert len(e.value.errors) == 2


def test_transpiles_tag_sql_for_spark():
    sql = "SELECT user_id, count(*) FILTER (WHERE event_type = 'purchase') AS n FROM events GROUP BY user_id"
    assert "COUNT_IF" in transpile(sql, "spark").upper() or "FILTER" in transpile(sql, "spark").upper()


def test_file_reading_table_functions_are_refused(tmp_path):
    with pytest.raises(CatalogError, match="table function 'read_csv' is not allowed"):
        _catalog(tmp_path, _tag("a", "  sql: SELECT user_id, 1 AS v FROM read_csv('/etc/passwd')\n"))
