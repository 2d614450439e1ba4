"""Ingest on hand-made inputs: malformed CSV, JSONL, Parquet, config errors, and line numbering."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from portrait.config import load_project
from portrait.errors import SourceError
from portrait.sources import canonical_schema, format_entry, ingest, quarantine_examples, quarantine_summary

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# What each line of fixtures/malformed/orders.csv was written to exercise: line → (field, reason kind).
# Lines are DuckDB record numbers: the header is 1, a quoted newline (line 7) does not start a new line,
# and the blank line 8 is counted but is no record.
EXPECTED_BAD = {
    3: ("ts", "not a TIMESTAMP (%Y-%m-%d %H:%M:%S)"),  # month 13
    4: ("amount", "not a DOUBLE"),  # text in a number field
    5: ("user_id", "missing required field"),
    6: ("item", "invalid encoding"),  # bytes \xe9\xff are not UTF-8
    9: ("amount_not_negative", "rule 'amount_not_negative' failed"),
    10: ("country", "missing columns"),
    11: ("(row)", "too many columns"),
    13: ("amount", "missing columns"),  # truncated last line without newline
}
EXPECTED_GOOD = {2: "u1", 7: "12346", 12: "u7"}


def rows(path: Path, query: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(query.replace("$t", f"read_parquet('{path}')")).fetchall()
    finally:
        con.close()


def write_project(root: Path, yaml: str, files: dict[str, bytes | str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "portrait.yaml").write_text(yaml)
    for name, data in (files or {}).items():
        (root / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    return root


# ------------------------------------------------------------------ malformed CSV fixture


@pytest.fixture(scope="module")
def malformed(tmp_path_factory):
    out = tmp_path_factory.mktemp("malformed")
    return ingest(load_project(FIXTURES / "malformed"), out), out


def _records(path: Path) -> list[list[str]]:
    """Records of a CSV as Python's csv module sees them (latin-1 keeps every byte)."""
    with path.open(encoding="latin-1", newline="") as f:
        return list(csv.reader(f))


def test_malformed_counts_add_up(malformed):
    result, out = malformed
    stats = {s.name: s for s in result.stats}
    records = _records(FIXTURES / "malformed" / "orders.csv")
    non_blank = [r for r in records[1:] if r]
    orders = stats["orders"]
    assert orders.read == len(non_blank) == len(EXPECTED_BAD) + len(EXPECTED_GOOD)
    assert orders.quarantined == len(EXPECTED_BAD) and orders.accepted == len(EXPECTED_GOOD)
    assert orders.read == orders.accepted + orders.quarantined
    assert orders.files == ["orders.csv"]
    empty = stats["empty"]
    assert (empty.read, empty.accepted, empty.quarantined) == (0, 0, 0)
    assert sorted(empty.files) == ["empty.csv", "empty_header.csv"]
    assert rows(out / "quarantine.parquet", "SELECT count(*) FROM $t")[0][0] == orders.quarantined


def test_malformed_every_bad_row_in_quarantine(malformed):
    _, out = malformed
    got = rows(out / "quarantine.parquet", "SELECT source, file, source_line, field, reason, raw FROM $t ORDER BY source_line")
    assert {line: (field, reason.split(": ")[0]) for _, _, line, field, reason, _ in got} == EXPECTED_BAD
    for source, file, line, field, reason, raw in got:
        assert (source, file) == ("orders", "orders.csv")
        assert line and field and reason and raw
        assert format_entry({"file": file, "source_line": line, "field": field, "reason": reason}).startswith(
            f"orders.csv:{line}: {field}: "
        )
    by_line = {g[2]: g for g in got}
    assert by_line[4][4] == "not a DOUBLE: 'abc'"
    assert json.loads(by_line[4][5])["amount"] == "abc"  # raw values kept
    assert by_line[13][5] == "u8,2021-01-10 1"  # parser rejects keep the CSV text


def test_malformed_accepted_rows(malformed):
    result, out = malformed
    got = rows(out / "events.parquet", "SELECT event_id, source_line, user_id, event_time, amount, props->>'country' FROM $t")
    assert {line: user for _, line, user, *_ in got} == EXPECTED_GOOD
    # Python's csv records (a blank line is an empty record) are numbered like DuckDB's lines.
    records = _records(FIXTURES / "malformed" / "orders.csv")
    ny = ZoneInfo("America/New_York")
    for event_id, line, user, ts, amount, country in got:
        rec = records[line - 1]
        assert event_id == f"orders:{line}"
        assert user == rec[0].strip().removesuffix(".0")
        assert ts == datetime.strptime(rec[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ny)  # naive = project tz
        assert amount == float(rec[2]) and country == rec[4]
    assert result.min_event_time == datetime(2021, 1, 1, 10, tzinfo=ny)


def test_quarantine_summary_groups_by_kind(malformed):
    _, out = malformed
    summary = quarantine_summary(out / "quarantine.parquet")
    assert sum(s["count"] for s in summary) == len(EXPECTED_BAD)
    kinds = {(s["field"], s["reason_kind"]) for s in summary}
    assert kinds == set(EXPECTED_BAD.values())
    assert quarantine_summary(out / "quarantine.parquet", source="empty") == []


def test_quarantine_examples_cover_each_kind_first(malformed):
    _, out = malformed
    first = quarantine_examples(out / "quarantine.parquet", "orders", limit=len(EXPECTED_BAD))
    assert {e["source_line"] for e in first} == set(EXPECTED_BAD)  # every kind occurs once here
    assert all(e["file"] == "orders.csv" and e["field"] and e["reason"] for e in first)
    assert len(quarantine_examples(out / "quarantine.parquet", limit=3)) == 3


# ------------------------------------------------------------------ JSONL and Parquet


JSONL = b"\n".join([
    b'{"uid": "a", "ts": 1600000000, "kind": "view", "price": 1.5, "tags": ["x"]}',  # 1 ok
    b'{"uid": "b", "ts": 1600000100, "kind": "view", "price": "cheap"}',  # 2 price not a DOUBLE
    b'{"uid": "c", "ts": 1600000200, "kind": "view"',  # 3 malformed JSON
    b"",  # 4 blank: skipped, not a record
    b"[1, 2, 3]",  # 5 not an object
    b'{"uid": 42.0, "ts": 1600000300, "kind": "buy", "price": 2}',  # 6 ok, id 42.0 -> 42
    b'{"ts": 1600000400, "kind": "buy"}',  # 7 no uid
    b'{"uid": "d", "ts": 1600000500, "kind": "caf\xff"}',  # 8 invalid UTF-8
    b'{"uid": "e", "ts": 1600000600, "kind": "view", "extra": {"k": 1}}',  # 9 ok
]) + b"\n"

MIXED = """
name: mixed
timezone: UTC
sources:
  - name: clicks
    table: events
    path: clicks.jsonl
    columns: {price: DOUBLE}
    fields: {user_id: uid, event_time: to_timestamp(ts), event_type: kind, amount: price}
    props: {tags: tags}
  - name: profiles
    table: users
    path: "profiles/*.parquet"
    columns: {age: INTEGER}
    fields: {user_id: id, age: age, city: city}
  - name: catalog
    table: items
    path: items.parquet
    fields: {item_id: sku, price: price, genres: tags, category: "tags[1]", brand: "upper(brand)"}
"""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("mixed") / "project", MIXED, {"clicks.jsonl": JSONL})
    (root / "profiles").mkdir()
    pq.write_table(pa.table({"id": [1.0, 2.0, 3.0], "age": ["31", "x", None], "city": ["Oslo", "Rome", "Lima"]}),
                   root / "profiles" / "a.parquet")
    pq.write_table(pa.table({"id": [1.0, 4.0], "age": ["50", "22"], "city": ["Dup", "Kyiv"]}),
                   root / "profiles" / "b.parquet")
    pq.write_table(pa.table({"sku": ["s1", "s2", None], "price": [9.5, 3.0, 1.0],
                             "tags": [["toy", "gift"], [], ["x"]], "brand": ["acme", None, "z"]}),
                   root / "items.parquet")
    calls = []
    result = ingest(load_project(root), root / "out", progress=lambda *a: calls.append(a))
    assert calls[:3] == [("clicks", 0, 3), ("profiles", 1, 3), ("catalog", 2, 3)]
    return result, root / "out"


def test_jsonl_source(mixed):
    result, out = mixed
    stats = {s.name: s for s in result.stats}["clicks"]
    assert (stats.read, stats.accepted, stats.quarantined) == (8, 3, 5)
    q = rows(out / "quarantine.parquet", "SELECT source_line, field, reason FROM $t WHERE source = 'clicks' ORDER BY 1")
    assert [(line, field, reason.split(": ")[0]) for line, field, reason in q] == [
        (2, "price", "not a DOUBLE"),
        (3, "(row)", "invalid json"),
        (5, "(row)", "not a json object"),
        (7, "user_id", "missing required field"),
        (8, "(row)", "invalid encoding"),
    ]
    ev = rows(out / "events.parquet", "SELECT source_line, user_id, epoch(event_time), amount, props->>'tags' FROM $t ORDER BY 1")
    assert ev == [(1, "a", 1600000000, 1.5, '["x"]'), (6, "42", 1600000300, 2.0, None), (9, "e", 1600000600, None, None)]


def test_parquet_sources(mixed):
    result, out = mixed
    stats = {s.name: s for s in result.stats}
    prof = stats["profiles"]
    # a.parquet row 2 has age 'x'; b.parquet row 1 repeats user 1 → duplicate.
    assert (prof.read, prof.accepted, prof.quarantined) == (5, 3, 2)
    assert rows(out / "users.parquet", "SELECT user_id, age, city FROM $t ORDER BY 1") == [
        ("1", 31, "Oslo"), ("3", None, "Lima"), ("4", 22, "Kyiv")]
    q = rows(out / "quarantine.parquet", "SELECT file, source_line, field, reason FROM $t WHERE source = 'profiles' ORDER BY 1, 2")
    assert q == [
        ("profiles/a.parquet", 2, "age", "not an INTEGER: 'x'"),
        ("profiles/b.parquet", 1, "user_id", "duplicate user_id: '1' (first at profiles/a.parquet:1)"),
    ]
    cat = stats["catalog"]
    assert (cat.read, cat.accepted, cat.quarantined) == (3, 2, 1)
    assert rows(out / "items.parquet", "SELECT item_id, category, price, brand, genres FROM $t ORDER BY 1") == [
        ("s1", "toy", 9.5, "ACME", ["toy", "gift"]), ("s2", None, 3.0, None, [])]


def test_schema_from_config_only(tmp_path):
    root = write_project(tmp_path, MIXED)  # no data files at all
    schema = canonical_schema(load_project(root))
    assert schema["users"] == {"user_id": "VARCHAR", "age": "INTEGER", "city": "VARCHAR"}
    assert list(schema["items"]) == ["item_id", "category", "price", "brand", "genres"]
    assert list(schema["events"])[:3] == ["event_id", "user_id", "event_time"]


def test_all_four_files_written_with_columns(mixed):
    _, out = mixed
    for name, first in [("events", "event_id"), ("users", "user_id"), ("items", "item_id"), ("quarantine", "source")]:
        cols = rows(out / f"{name}.parquet", "SELECT column_name FROM (DESCRIBE SELECT * FROM $t)")
        assert cols[0][0] == first


# ------------------------------------------------------------------ config errors


BASE = """
name: err
sources:
  - name: s1
    table: events
    path: {path}
    fields: {fields}
"""


@pytest.mark.parametrize(
    "fields, message",
    [
        ("{user_id: uid, event_time: ts, event_type: kindd}", r"source 's1': field 'event_type' reads unknown column 'kindd'; did you mean 'kind'"),
        ("{user_id: uid, event_time: ts}", r"source 's1' \(table events\): required field 'event_type'"),
        ("{user_id: uid, event_time: ts, event_type: kind, colour: kind}", r"unknown events field 'colour'"),
        ("{user_id: uid, event_time: ts, event_type: 'nosuchfn(kind)'}", r"source 's1': field 'event_type': .*nosuchfn"),
        ("{user_id: uid, event_time: 'length(ts)', event_type: kind}", r"field 'event_time' is BIGINT, not a time"),
        ("{user_id: 'uid::INTEGER', event_time: ts, event_type: kind}", r"source 's1': field 'user_id': Conversion Error"),
    ],
)
def test_config_errors_name_source_and_field(tmp_path, fields, message):
    root = write_project(tmp_path, BASE.format(path="e.csv", fields=fields), {"e.csv": "uid,ts,kind\nu,2020-01-01,v\n"})
    with pytest.raises(SourceError, match=message):
        ingest(load_project(root), tmp_path / "out")


def test_missing_file_is_named(tmp_path):
    root = write_project(tmp_path, BASE.format(path="nope/e.csv", fields="{user_id: a, event_time: b, event_type: c}"))
    with pytest.raises(SourceError, match=r"source 's1': file not found: .*nope/e\.csv"):
        ingest(load_project(root), tmp_path / "out")
    root = write_project(tmp_path, BASE.format(path="'x*.csv'", fields="{user_id: a, event_time: b, event_type: c}"))
    with pytest.raises(SourceError, match=r"no file matches 'x\*\.csv'"):
        ingest(load_project(root), tmp_path / "out")


def test_source_names_must_be_unique(tmp_path):
    one = BASE.format(path="e.csv", fields="{user_id: uid, event_time: ts, event_type: kind}")
    yaml = one + one.split("sources:\n")[1]
    root = write_project(tmp_path, yaml, {"e.csv": "uid,ts,kind\nu,2020-01-01,v\n"})
    with pytest.raises(SourceError, match="source names must be unique: 's1'"):
        ingest(load_project(root), tmp_path / "out")


def test_declared_column_must_exist(tmp_path):
    yaml = BASE.format(path="e.csv", fields="{user_id: uid, event_time: ts, event_type: kind}").replace(
        "    fields:", "    columns: {amount: DOUBLE}\n    fields:")
    root = write_project(tmp_path, yaml, {"e.csv": "uid,ts,kind\nu,2020-01-01,v\n"})
    with pytest.raises(SourceError, match="declared column 'amount' is not in the data"):
        ingest(load_project(root), tmp_path / "out")


# ------------------------------------------------------------------ line numbering


GOOD, SHORT, LONG, BLANK, QUOTED, BADUTF8 = "good", "short", "long", "blank", "quoted", "badutf8"


def _numbered_csv(kinds: list[str], crlf: bool) -> tuple[bytes, set[int], set[int]]:
    """A CSV whose good records carry their own DuckDB line number in `uid` (L<n>)."""
    nl = b"\r\n" if crlf else b"\n"
    out, good, bad = [b"uid,ts,kind" + nl], set(), set()
    for n, kind in enumerate(kinds, start=2):
        uid = b"L%d" % n
        out.append({
            GOOD: uid + b",2020-01-01,v" + nl,
            QUOTED: uid + b',2020-01-01,"multi' + nl + b'line, with comma"' + nl,
            SHORT: uid + b",2020-01-01" + nl,
            LONG: uid + b",2020-01-01,v,extra" + nl,
            BADUTF8: uid + b",2020-01-01,\xff" + nl,
            BLANK: nl,
        }[kind])
        (good if kind in (GOOD, QUOTED) else bad if kind != BLANK else set()).add(n)
    return b"".join(out), good, bad


NUMBERING = """
name: numbering
sources:
  - name: s
    table: events
    path: data.csv
    fields: {user_id: uid, event_time: ts, event_type: kind}
"""


def _check_numbering(root: Path, data: bytes, good: set[int], bad: set[int]) -> None:
    write_project(root, NUMBERING, {"data.csv": data})
    result = ingest(load_project(root), root / "out")
    (stats,) = result.stats
    assert stats.read == len(good) + len(bad) == stats.accepted + stats.quarantined
    ev = rows(root / "out" / "events.parquet", "SELECT user_id, source_line FROM $t")
    assert all(user == f"L{line}" for user, line in ev)
    assert {line for _, line in ev} == good
    assert {r[0] for r in rows(root / "out" / "quarantine.parquet", "SELECT source_line FROM $t")} == bad


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from([GOOD, GOOD, GOOD, QUOTED, SHORT, LONG, BLANK, BADUTF8]), max_size=25),
       crlf=st.booleans())
def test_line_numbers_match_records(kinds, crlf):
    data, good, bad = _numbered_csv(kinds, crlf)
    root = Path(tempfile.mkdtemp())
    try:
        _check_numbering(root, data, good, bad)
    finally:
        shutil.rmtree(root)


def test_line_numbers_on_a_large_file(tmp_path):
    """Big enough for DuckDB's parallel CSV scan; bad and blank lines spread through it."""
    kinds = [[GOOD] * 97 + [SHORT, BLANK, QUOTED][i % 3:i % 3 + 1] + [LONG if i % 5 == 0 else GOOD] for i in range(2500)]
    data, good, bad = _numbered_csv([k for block in kinds for k in block], crlf=False)
    assert len(data) > 4_000_000 // 2
    _check_numbering(tmp_path, data, good, bad)


# ------------------------------------------------------------------ errors deep in large sources (staged views)


DEEP = 5000  # rows: the bad value sits near the end, far past any first-row check


def _deep_csv(header: str, row) -> str:
    return header + "\n" + "".join(row(i, "x" if i == DEEP - 3 else str(i)) + "\n" for i in range(DEEP))


@pytest.mark.parametrize("table, fields, field", [
    ("events", "{user_id: id, event_time: ts, event_type: kind, channel: 'CAST(CAST(p AS INT) AS VARCHAR)'}", "channel"),
    ("users", "{user_id: id, city: 'CAST(CAST(p AS INT) AS VARCHAR)'}", "city"),
    ("items", "{item_id: id, brand: 'CAST(CAST(p AS INT) AS VARCHAR)'}", "brand"),
    ("links", "{user_id: id, alias_id: 'CAST(CAST(p AS INT) AS VARCHAR)'}", "alias_id"),
])
def test_a_field_failing_deep_in_a_source_is_named(tmp_path, table, fields, field):
    """Sources are streamed lazily; a field expression that fails on row 4,998 still names source and field."""
    data = _deep_csv("id,ts,kind,p", lambda i, p: f"u{i},2024-01-01 00:00:00,view,{p}")
    yaml = f"name: deep\nsources:\n  - name: s\n    table: {table}\n    path: s.csv\n    fields: {fields}\n"
    root = write_project(tmp_path, yaml, {"s.csv": data})
    with pytest.raises(SourceError, match=rf"source 's': field '{field}': Conversion Error.*'x'"):
        ingest(load_project(root), tmp_path / "out")


def test_raw_column_names_never_clash_with_private_ones(tmp_path):
    """A raw column named like a staging alias (`__r_0`) does not scramble the quarantined row's raw values."""
    yaml = BASE.format(path="e.csv", fields="{user_id: uid, event_time: ts, event_type: kind}")
    root = write_project(tmp_path, yaml, {"e.csv": "uid,ts,kind,__r_0\n,2020-01-01,v,b\n"})
    ingest(load_project(root), tmp_path / "out")
    (raw,) = rows(tmp_path / "out" / "quarantine.parquet", "SELECT raw FROM $t")[0]
    assert json.loads(raw) == {"uid": None, "ts": "2020-01-01", "kind": "v", "__r_0": "b"}


def test_a_nondeterministic_rule_fails_instead_of_miscounting(tmp_path):
    """Ingest reads a source twice (quarantine, then the store): rules must answer the same both times."""
    data = "uid,ts,kind\n" + "".join(f"u{i},2020-01-01,v\n" for i in range(2000))
    yaml = BASE.format(path="e.csv", fields="{user_id: uid, event_time: ts, event_type: kind}") + \
        "    rules: [{name: coin, check: 'random() < 0.5'}]\n"
    root = write_project(tmp_path, yaml, {"e.csv": data})
    with pytest.raises(SourceError, match="source 's1': .* rows passed validation but .* were stored"):
        ingest(load_project(root), tmp_path / "out")
