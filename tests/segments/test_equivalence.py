"""Property: the bitmap planner selects exactly the rows DuckDB selects for the same expression.

Random profiles (every tag type, NULLs, duplicate and NULL weighted-set elements, NaN/±inf,
a high-cardinality string that falls back to SQL, DST-crossing timestamps in Europe/London)
and random expressions (every operator, NOT/AND/OR nesting, saved-segment references including
a split child). The reference is DuckDB evaluating sqlgen's WHERE over profiles.parquet.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portrait.segments.bind import bind
from portrait.segments.planner import Planner
from portrait.segments.sqlgen import where



def q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


NUM_LITS = ["0", "1", "-1", "30", "30.5", "29.999", "1e1", "2.5e1", "-3", "89", "100", "0.5", "50.25", "50.005",
            "-12.75", "1000000000000", "1099511627779", "-10000000000000", "7", "0.2", "0.25", "0.33", "0.999", "1.5"]
UNITS = ["DAY", "HOUR", "MINUTE", "WEEK", "MONTH", "SECOND"]


@st.composite
def times(draw, seen):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return f"snapshot_time - INTERVAL {draw(st.integers(0, 40))} {draw(st.sampled_from(UNITS))}"
    if kind == 1:
        return q(draw(st.sampled_from(seen)))
    if kind == 2:
        return "TIMESTAMP " + q(draw(st.sampled_from(["2021-03-28 01:30:00", "2021-03-28 00:59:59", "2021-03-25",
                                                        "2021-04-01 00:00:00", "2021-03-21 12:00:00"])))
    return f"{q(draw(st.sampled_from(['2021-03-27 01:30', '2021-03-30'])))} + INTERVAL {draw(st.integers(0, 3))} DAY"


def values_in(draw, pool, k_max=3):
    vals = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=k_max))
    return "(" + ", ".join(vals) + ")"


@st.composite
def predicate(draw, synth):
    which = draw(st.sampled_from(["flag", "tier", "city", "handle", "age", "big", "score", "ratio", "seen_at",
                                  "wkey", "has", "isnull", "ref"]))
    neg = draw(st.sampled_from(["", "NOT "]))
    if which == "flag":
        return draw(st.sampled_from(["flag", "flag = TRUE", "flag != FALSE", "flag = FALSE", "flag IN (TRUE, FALSE)",
                                     "flag != TRUE", "flag IN (FALSE)"]))
    if which == "isnull":
        col = draw(st.sampled_from(["flag", "tier", "city", "handle", "age", "score", "ratio", "seen_at", "interests",
                                    "interests['Books']", "interests['Nope']", "big"]))
        return f"{col} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if which == "ref":
        return "@" + draw(st.sampled_from(sorted(synth.segments)))
    if which in ("tier", "city", "handle"):
        pool = {"tier": synth.tiers, "city": synth.cities + ["Nowhere"], "handle": [f"h{i}" for i in range(0, 70, 3)]}[which]
        lits = [q(v) for v in pool]
        form = draw(st.integers(0, 3))
        if form == 0:
            return f"{which} {draw(st.sampled_from(['=', '!=']))} {draw(st.sampled_from(lits))}"
        if form == 1:
            return f"{which} {neg}IN {values_in(draw, lits)}"
        pattern = draw(st.sampled_from(["B%", "%o%", "_a%", "%", "h1%", "h_", "%''%", "a\\_b", "50%", "g%", "%er"]))
        return f"{which} {neg}LIKE '{pattern}'"
    if which in ("age", "big", "score", "ratio", "wkey"):
        col = which if which != "wkey" else f"interests[{q(draw(st.sampled_from(synth.keys + ['Nope'])))}]"
        pool = NUM_LITS + ([repr(r)[:17] for r in synth.ratios[:8]] if which == "ratio" else [])
        form = draw(st.integers(0, 3))
        if form <= 1:
            op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
            lit = draw(st.sampled_from(pool))
            return f"{col} {op} {lit}" if form == 0 else f"{lit} {op} {col}"
        if form == 2:
            a, b = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
            return f"{col} {neg}BETWEEN {a} AND {b}"
        return f"{col} {neg}IN {values_in(draw, pool)}"
    if which == "seen_at":
        form = draw(st.integers(0, 1))
        if form == 0:
            return f"seen_at {draw(st.sampled_from(['=', '!=', '<', '<=', '>', '>=']))} {draw(times(synth.seen))}"
        return f"seen_at {neg}BETWEEN {draw(times(synth.seen))} AND {draw(times(synth.seen))}"
    return f"interests HAS {q(draw(st.sampled_from(synth.keys + ['Nope'])))}"


def expression(synth):
    leaf = predicate(synth)

    def extend(inner):
        return st.one_of(
            st.builds(lambda a: f"NOT ({a})", inner),
            st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
            st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
            st.builds(lambda a, b, c: f"{a} AND {b} OR NOT {c}", inner, inner, inner),
        )

    return st.recursive(leaf, extend, max_leaves=8)


@st.composite
def case(draw, factory):
    seed = draw(st.integers(0, 5))
    synth = factory(seed, "Europe/London" if seed % 2 == 0 else "UTC")
    return synth, draw(expression(synth))


def check(synth, text: str) -> None:
    b = bind(text, synth.tags, synth.clock, synth.segments)
    planner = Planner(synth.index, b, lambda preds: synth.table.fallback(preds, synth.clock), synth.table.hashes)
    got = np.array(sorted(planner.evaluate()), dtype=np.int64)
    ref = synth.table.ordinals(where(b))
    assert np.array_equal(got, ref), (text, where(b), len(got), len(ref),
                                      sorted(set(got.tolist()) ^ set(ref.tolist()))[:10])


def test_bitmaps_equal_duckdb(synth_factory):
    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case(synth_factory))
    def run(c):
        synth, text = c
        check(synth, text)

    run()


def test_known_edge_cases(synth_factory):
    synth = synth_factory(0)
    for text in [
        "NOT tier = 'gold'", "NOT (tier = 'gold' OR age > 30)", "NOT NOT city = 'Paris'", "ratio > 1e300",
        "ratio >= -1e300 AND NOT ratio < 0", "interests['Books'] = 0.2 OR interests['Books'] != 0.2",
        "NOT interests HAS 'Books'", "age NOT IN (1, 2, 30.5)", "score NOT BETWEEN 20 AND 10",
        "seen_at BETWEEN snapshot_time - INTERVAL 2 WEEK AND snapshot_time", "NOT @young_a", "@young_fans",
        "handle LIKE 'h1%' AND NOT handle = 'h12'", "city = ''", "city LIKE '50%'", "big > 1099511627775",
    ]:
        check(synth, text)


def test_without_an_index_everything_falls_back_to_sql(synth_factory):
    """A snapshot built before the index existed still answers, through DuckDB alone."""
    from portrait.segments.index import BitmapIndex

    synth = synth_factory(3)
    bare = BitmapIndex(None, synth.n)
    for text in ["tier = 'gold' AND NOT age > 30", "interests['Books'] >= 0.2 OR city LIKE 'B%'",
                 "@young_fans OR @young_a", "NOT (flag AND seen_at >= snapshot_time - INTERVAL 3 DAY)"]:
        b = bind(text, synth.tags, synth.clock, synth.segments)
        planner = Planner(bare, b, lambda preds: synth.table.fallback(preds, synth.clock), synth.table.hashes)
        assert planner.stats["bitmap"] == 0
        assert np.array_equal(np.array(sorted(planner.evaluate()), dtype=np.int64), synth.table.ordinals(where(b)))
        assert planner.count() == len(planner.evaluate())


def test_count_matches_evaluate(synth_factory):
    """`count` takes shortcuts on the last clause of an AND; it must agree with the bitmap."""
    synth = synth_factory(1)
    for text in ["tier = 'gold' AND age BETWEEN 10 AND 60", "flag AND interests['Toys'] > 0.3",
                 "city IN ('Paris', 'Rome') AND score > 40", "age > 20 AND tier != 'gold'", "ratio < 0 AND age < 50"]:
        b = bind(text, synth.tags, synth.clock, synth.segments)
        planner = Planner(synth.index, b, lambda preds: synth.table.fallback(preds, synth.clock))
        assert planner.count() == len(synth.table.ordinals(where(b))), text
