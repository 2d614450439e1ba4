"""Read one source file as a DuckDB table or view of raw columns, keeping each record's line number.

Why: provenance. Every raw row carries `__file` and `__line` so any quarantined or canonical row
points back to the exact record; records the parser itself rejects (bad UTF-8, missing or extra
columns, a truncated last line, malformed JSON) go straight to the quarantine table instead of
failing the whole ingest.

Line numbers follow DuckDB's CSV numbering: physical lines, except that a quoted newline does not
start a new line; with a header the first data record is line 2. Parquet rows are numbered from 1.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from portrait.config import SourceConfig
from portrait.sources.schema import quote_ident, quote_str

ROW = "(row)"  # quarantine `field` for problems with a whole record rather than one column


@dataclass
class RawFile:
    """One file as table or view `table` (columns `__file`, `__line`, raw columns...)."""

    table: str
    read: int  # records seen = rows loaded + records rejected by the parser


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _is_empty(path: Path) -> bool:
    with _open_bytes(path) as f:
        return not f.read(1)


def _header(path: Path, source: SourceConfig) -> list[str]:
    with _open_bytes(path) as f:
        first = f.readline()
    text = first.decode(source.csv.encoding, errors="replace").lstrip("\ufeff").rstrip("\r\n")
    kwargs = {"quotechar": source.csv.quote} if source.csv.quote else {"quoting": csv.QUOTE_NONE}
    names = next(csv.reader([text], delimiter=source.csv.delimiter, **kwargs), [])
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names):
        name = raw.strip() or f"column{i + 1}"
        n = seen.get(name.lower(), 0)
        seen[name.lower()] = n + 1
        out.append(name if n == 0 else f"{name}_{n + 1}")
    return out


def _blank_lines(path: Path, source: SourceConfig, first: int) -> list[int]:
    """DuckDB skips blank lines but still counts them; find them so accepted rows get the right numbers.

    A cheap byte scan rules them out for almost every file; only then are records parsed in Python.
    """
    found, tail = False, b""
    with _open_bytes(path) as f:
        if f.read(1) in (b"\n", b"\r"):
            found = True
        f.seek(0)
        while not found and (chunk := f.read(1 << 22)):
            block = tail + chunk
            found = b"\n\n" in block or b"\n\r\n" in block
            tail = block[-2:]
    if not found:
        return []
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a quoted field may span many lines
    blanks = []
    with _open_bytes(path) as f:
        text = io.TextIOWrapper(f, encoding="latin-1", newline="")  # byte-transparent; delimiters are ASCII
        kwargs = {"quotechar": source.csv.quote, "doublequote": True} if source.csv.quote else {"quoting": csv.QUOTE_NONE}
        reader = csv.reader(text, delimiter=source.csv.delimiter, strict=False, **kwargs)
        for n, row in enumerate(reader, start=1):  # record 1 is the header when there is one
            if not row and n >= first:
                blanks.append(n)
    return blanks


def _empty_table(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:
    cols = "".join(f", NULL::VARCHAR AS {quote_ident(c)}" for c in columns)
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT NULL::VARCHAR AS __file, NULL::BIGINT AS __line{cols} LIMIT 0")


def read_csv(
    con: duckdb.DuckDBPyConnection, path: Path, display: str, source: SourceConfig, table: str, quarantine: str,
    fallback_columns: list[str],
) -> RawFile:
    """All columns as VARCHAR; parser rejects → `quarantine`; line numbers rebuilt from DuckDB's reject numbering."""
    opts = source.csv
    if _is_empty(path):
        _empty_table(con, table, fallback_columns)
        return RawFile(table, 0)
    names = _header(path, source) if opts.header else list(source.columns)
    first = 2 if opts.header else 1
    struct = "{" + ", ".join(f"{quote_str(n)}: 'VARCHAR'" for n in names) + "}"
    quote = quote_str(opts.quote)
    rejects, scan = f"{table}_rej", f"{table}_scan"
    con.execute(
        f"""CREATE TEMP TABLE {table}_load AS SELECT * FROM read_csv({quote_str(str(path))},
            columns={struct}, all_varchar=true, auto_detect=false, header={str(opts.header).lower()},
            delim={quote_str(opts.delimiter)}, quote={quote}, escape={quote}, encoding={quote_str(opts.encoding)},
            ignore_errors=true, store_rejects=true, rejects_table={quote_str(rejects)}, rejects_scan={quote_str(scan)})"""
    )
    # One quarantine entry per rejected record (a record can fail several checks).
    con.execute(
        f"""CREATE TEMP TABLE {table}_bad AS
            SELECT DISTINCT ON (line) line::BIGINT AS line, coalesce(column_name, '{ROW}') AS field,
                   lower(error_type::VARCHAR) || ': ' || error_message AS reason, csv_line AS raw
            FROM {rejects} ORDER BY line, column_idx"""
    )
    con.execute(
        f"INSERT INTO {quarantine} SELECT ?, ?, line, field, reason, raw FROM {table}_bad", [source.name, display]
    )
    blanks = _blank_lines(path, source, first)
    n_bad = con.execute(f"SELECT count(*) FROM {table}_bad").fetchone()[0]
    con.execute(f"DROP TABLE IF EXISTS {rejects}")
    con.execute(f"DROP TABLE IF EXISTS {scan}")
    if not blanks and not n_bad:  # the common case: row i (insertion order = file order) is line first + i
        con.execute(
            f"""CREATE TEMP VIEW {table} AS SELECT {quote_str(display)} AS __file,
                ({first} + rowid)::BIGINT AS __line, * FROM {table}_load"""
        )
        return RawFile(table, con.execute(f"SELECT count(*) FROM {table}_load").fetchone()[0])
    # Accepted row i sits at line first + i + k, k = excluded (rejected or blank) lines before it.
    # With excluded lines e_1 < e_2 < ... that is k = max{j : e_j - j + 1 - first <= i} (ASOF join).
    con.execute(f"CREATE TEMP TABLE {table}_skip (line BIGINT)")
    if blanks:
        con.execute(f"INSERT INTO {table}_skip SELECT unnest(?::BIGINT[])", [blanks])
    con.execute(
        f"""CREATE TEMP TABLE {table} AS
            WITH ex AS (SELECT line, row_number() OVER (ORDER BY line) AS j
                        FROM (SELECT line FROM {table}_bad UNION SELECT line FROM {table}_skip)),
                 k AS (SELECT line - j + 1 - {first} AS t, max(j) AS j FROM ex GROUP BY ALL)
            SELECT ?::VARCHAR AS __file, ({first} + r.rowid + coalesce(k.j, 0))::BIGINT AS __line, r.* EXCLUDE (rowid)
            FROM (SELECT rowid, * FROM {table}_load) r ASOF LEFT JOIN k ON r.rowid >= k.t""",
        [display],
    )
    read = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] + n_bad
    for t in ("_load", "_bad", "_skip"):
        con.execute(f"DROP TABLE {table}{t}")
    return RawFile(table, read)


def read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, display: str, source: SourceConfig, table: str, quarantine: str,
    fallback_columns: list[str],
) -> RawFile:
    """Typed columns as stored; `file_row_number` gives the row number (1-based).

    A view: the file is streamed when ingest reads it, never copied (the row count comes from its footer)."""
    con.execute(
        f"""CREATE TEMP VIEW {table} AS
            SELECT {quote_str(display)}::VARCHAR AS __file, (file_row_number + 1)::BIGINT AS __line,
                   * EXCLUDE (file_row_number)
            FROM read_parquet({quote_str(str(path))}, file_row_number=true)"""
    )
    return RawFile(table, con.execute(f"SELECT count(*) FROM read_parquet({quote_str(str(path))})").fetchone()[0])


def _json_structure(con: duckdb.DuckDBPyConnection, texts: str) -> dict[str, object]:
    row = con.execute(f"SELECT json_group_structure(__text::JSON) FROM {texts}").fetchone()
    structure = json.loads(row[0]) if row and row[0] else {}
    if not isinstance(structure, dict):
        return {}
    # Keys whose values mix types (JSON) or are always null stay text, like CSV columns.
    return {k: ("VARCHAR" if v in ("JSON", "NULL") else v) for k, v in structure.items()}


def read_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, display: str, source: SourceConfig, table: str, quarantine: str,
    fallback_columns: list[str],
) -> RawFile:
    """Lines are checked one by one in Python (DuckDB cannot reject single JSON lines); DuckDB types the rest."""
    lines, texts, bad = [], [], []
    with _open_bytes(path) as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                bad.append((n, ROW, f"invalid encoding: {e.reason} at byte {e.start}", raw.decode("utf-8", "replace").rstrip("\r\n")))
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as e:
                bad.append((n, ROW, f"invalid json: {e.msg} at column {e.colno}", text.rstrip("\r\n")))
                continue
            if not isinstance(value, dict):
                bad.append((n, ROW, f"not a json object: {type(value).__name__}", text.rstrip("\r\n")))
                continue
            lines.append(n)
            texts.append(text)
    for n, field, reason, raw in bad:
        con.execute(f"INSERT INTO {quarantine} VALUES (?, ?, ?, ?, ?, ?)", [source.name, display, n, field, reason, raw])
    if not texts:
        _empty_table(con, table, fallback_columns)
        return RawFile(table, len(bad))
    arrow = pa.table({"__line": pa.array(lines, pa.int64()), "__text": pa.array(texts, pa.string())})
    con.register(f"{table}_arrow", arrow)
    structure = _json_structure(con, f"{table}_arrow")
    if structure:
        spec = quote_str(json.dumps(structure))
        body = f", unnest(json_transform(__text, {spec}))"
    else:
        body = ""
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT ?::VARCHAR AS __file, __line{body} FROM {table}_arrow ORDER BY __line",
        [display],
    )
    con.unregister(f"{table}_arrow")
    return RawFile(table, len(texts) + len(bad))


READERS = {"csv": read_csv, "parquet": read_parquet, "jsonl": read_jsonl}
