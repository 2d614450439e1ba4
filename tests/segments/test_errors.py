"""Bad expressions fail with a SegmentError (HTTP 400) that points at the problem; nothing runs."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from portrait.segments.bind import SegmentSource, bind
from portrait.segments.clock import Clock
from portrait.segments.errors import SegmentError
from portrait.segments.expr import parse
from portrait.segments.service import split_bounds



@pytest.fixture
def env(synth_factory):
    s = synth_factory(0)
    segs = dict(s.segments)
    segs["loop_a"] = SegmentSource("loop_a", "@loop_b AND flag")
    segs["loop_b"] = SegmentSource("loop_b", "tier = 'gold' OR @loop_a")
    return s, segs


def err(env, text: str) -> SegmentError:
    s, segs = env
    with pytest.raises(SegmentError) as info:
        bind(text, s.tags, s.clock, segs)
    e = info.value
    assert e.status == 400
    assert e.location is not None and e.location.line >= 1 and e.location.col >= 1
    assert e.span is not None
    d = e.to_dict()
    assert d["location"]["col"] == e.location.col and d["span"] == list(e.span)
    return e


@pytest.mark.parametrize("text, col, message, hint", [
    ("tierr = 'gold'", 1, "unknown tag `tierr`", "did you mean `tier`?"),
    ("age > 3 AND intrests HAS 'Books'", 13, "unknown tag `intrests`", "did you mean `interests`?"),
    ("tier = 'gld'", 8, "'gld' is not a value of enum `tier`", "did you mean 'gold'?"),
    ("tier IN ('gold', 'Silver')", 18, "'Silver' is not a value of enum `tier`", "did you mean 'silver'?"),
    ("age = 'thirty'", 7, "`age` is an integer tag: compare it with a number", None),
    ("score > TRUE", 9, "`score` is a number tag", None),
    ("flag = 'yes'", 8, "`flag` is a bool tag", None),
    ("seen_at > 5", 11, "`seen_at` is a timestamp tag", None),
    ("seen_at > '2021-02-30'", 11, "'2021-02-30' is not a timestamp", None),
    ("tier > 'gold'", 1, "`>` does not apply to enum tag `tier`", "enum values have no order"),
    ("interests >= 0.2", 1, "`interests` is a weighted set", "interests['key'] >= 0.2"),
    ("city['x'] = 1", 1, "`city` is a string tag, not a weighted set", None),
    ("age", 1, "`age` is an integer tag: a condition needs a comparison", None),
    ("age LIKE '1%'", 1, "`LIKE` does not apply to integer tag `age`", None),
    ("(age > 3 AND flag", 1, "unbalanced parentheses: this `(` is never closed", None),
    ("age > 3) OR flag", 8, "unbalanced parentheses: this `)` has no matching `(`", None),
    ("age IN (1, 2", 8, "unbalanced parentheses", None),
    ("@nobody", 1, "unknown segment `nobody`", None),
    ("@yung", 1, "unknown segment `yung`", "did you mean `@young`?"),
    ("@loop_a", 1, "segment reference cycle: loop_a -> loop_b -> loop_a", None),
    ("1=1; DROP TABLE profiles", 3, "expected a tag after `=`", None),
    ("tier = 'gold'; DROP TABLE profiles", 14, "unexpected `;`", None),
    ("tier = 'gold' OR 1=1 --", 20, "expected a tag after `=`", None),
    ("age > (SELECT max(age) FROM profiles)", 7, "expected a value", None),
    ("tier = 'gold' UNION SELECT * FROM profiles", 15, "unexpected `UNION`", None),
    ("age > 3 AND", 12, "the expression ends where a condition was expected", None),
    ("tier = 'gold", 8, "unterminated string", None),
    ("age BETWEEN 1 OR 3", 15, "expected AND in BETWEEN", None),
    ("seen_at > snapshot_time - INTERVAL 3 dayz", 38, "unknown interval unit `dayz`", "did you mean `DAY`?"),
    ("", 1, "empty expression", None),
    ("age INN (1)", 5, "unknown operator `INN`", "did you mean `IN`?"),
    ("tier = NULL", 8, "NULL is not a value to compare with", "IS NULL"),
    ("'Books' IN interests", 1, "a value cannot be tested against a tag with IN", "HAS"),
    ("age = tier", 7, "expected a value, found the name `tier`", None),
])
def test_bad_expressions(env, text, col, message, hint):
    e = err(env, text)
    assert message in e.message, e.message
    assert e.location.col == col, (e.location.col, str(e))
    if hint:
        assert hint in (e.hint or ""), e.hint
    assert "^" in str(e)  # the snippet underlines the spot


def test_cycle_through_saved_definition(env):
    s, segs = env
    segs = dict(segs, a=SegmentSource("a", "age > 3"))
    # redefining `a` to use `young_fans` is fine; making `young` use `young_fans` is a cycle
    bind("@young_fans OR flag", s.tags, s.clock, segs, name="a")
    segs["young"] = SegmentSource("young", "@young_fans")
    with pytest.raises(SegmentError, match="cycle: young -> young_fans -> young"):
        bind("@young_fans", s.tags, s.clock, segs, name="young")


def test_injection_never_reaches_sql(env, tmp_path):
    """Even literal text that looks like SQL is only ever an escaped string literal."""
    from portrait.segments.planner import Planner
    from portrait.segments.sqlgen import where

    s, segs = env
    text = "city = 'x''; DROP TABLE profiles; --' OR city LIKE '%''--'"
    b = bind(text, s.tags, s.clock, segs)
    assert "'x''; DROP TABLE profiles; --'" in where(b)
    planner = Planner(s.index, b, lambda p: s.table.fallback(p, s.clock))
    assert len(planner.evaluate()) == len(s.table.ordinals(where(b)))
    assert s.profiles.exists()


def test_parse_positions_multiline():
    with pytest.raises(SegmentError) as info:
        parse("age > 3\n  AND tier = 'gold'\n  AND )")
    assert (info.value.location.line, info.value.location.col) == (3, 7)


def test_split_ratios():
    assert split_bounds([0.9, 0.1]) == [(0, 2**64 * 9 // 10), (2**64 * 9 // 10, 2**64)]
    assert split_bounds([1 / 3, 1 / 3, 1 / 3])[-1][1] == 2**64
    with pytest.raises(SegmentError, match="add up to 1"):
        split_bounds([0.5, 0.4])
    with pytest.raises(SegmentError, match="positive"):
        split_bounds([1.2, -0.2])
