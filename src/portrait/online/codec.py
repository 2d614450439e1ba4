"""How a profile row is encoded in the online store: compact UTF-8 JSON of {tag id: value}.

Why JSON and not msgpack: no extra dependency, and values are already JSON-ready (the same
`jsonable` conversion `portrait.apps.profiles` uses, so the API and the CLI show equal values).
Rows are converted column by column from Arrow, which is what keeps a 1M-user build fast.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.types as pt

from portrait.apps.profiles import jsonable

ALIAS_KEY = "@person"  # a row that only points an alias (OneID) at its person's row


def _default(value: Any) -> Any:
    """Values json cannot encode natively (DECIMAL columns, dates inside structs): number or text."""
    if isinstance(value, Decimal):
        return float(value)
    return jsonable(value) if isinstance(value, (datetime, date)) else str(value)


def encode(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=_default).encode("utf-8")


try:  # optional accelerator for the per-request decode; rows are plain JSON either way
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads


def decode(body: bytes) -> dict[str, Any]:
    return _loads(body)


def _column_values(col: pa.ChunkedArray) -> list:
    values = col.to_pylist()
    t = col.type
    if pt.is_floating(t) or pt.is_decimal(t):
        return [None if v is None else round(float(v), 6) for v in values]
    if pt.is_timestamp(t) or pt.is_date(t):
        return [None if v is None else v.isoformat() for v in values]
    if pt.is_list(t) or pt.is_large_list(t) or pt.is_struct(t) or pt.is_map(t):
        return [jsonable(v) for v in values]
    return values


def rows_from_arrow(table: pa.Table, key: str = "user_id") -> Iterator[tuple[str, bytes]]:
    """(user_id, encoded row) for every row of an Arrow table of profiles."""
    names = table.column_names
    columns = [_column_values(table.column(n)) for n in names]
    ki = names.index(key)
    for values in zip(*columns):
        yield str(values[ki]), encode(dict(zip(names, values)))
