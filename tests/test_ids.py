"""One id rule: the Python lookup and the SQL ingest agree on every spelling."""

import duckdb
from hypothesis import given, settings, strategies as st

from portrait.ids import canonical_id, canonical_id_sql


def _sql(values: list[str]) -> list[str | None]:
    con = duckdb.connect()
    try:
        return [r[0] for r in con.execute(f"SELECT {canonical_id_sql('v')} FROM (SELECT unnest(?::VARCHAR[]) AS v, "
                                          "generate_subscripts(?::VARCHAR[], 1) AS i) ORDER BY i",
                                          [values, values]).fetchall()]
    finally:
        con.close()


def test_known_spellings():
    cases = {"12346.0": "12346", " 12346.00 ": "12346", "-5.": "-5", "1.5": "1.5", "u1": "u1", "12.0.0": "12.0.0",
             ".0": ".0", "007.0": "007", "a b": "a b", "\u00a0u1": "u1", "12\u3000": "12", "\u00a012": "12",
             "12.0\n": "12.0\n", "\tu1": "\tu1", "用户1\u2003": "用户1"}
    assert [canonical_id(v) for v in cases] == list(cases.values())
    assert _sql(list(cases)) == list(cases.values())
    assert _sql(["", "   "]) == [None, None]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.- ab\t\n\u00a0\u3000\u2009\u200b用", min_size=1, max_size=8),
                min_size=1, max_size=30))
def test_python_equals_sql(values):
    assert _sql(values) == [canonical_id(v) or None for v in values]
