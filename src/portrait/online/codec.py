"""How a profile row is encoded in the online store: compact UTF-8 JSON of {tag id: value}.

Why JSON and not msgpack: values are JSON-ready and every client reads JSON. The values equal
what `portrait.apps.profiles.jsonable` gives the CLI (floats rounded to 6 places, times in ISO
8601). A build encodes whole snapshots in DuckDB (`row_json_sql`); single rows use orjson.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.types as pt

from portrait.apps.profiles import jsonable

ALIAS_KEY = "@person"  # a row that only points an alias (OneID) at its person's row
DIGITS = 6


def _default(value: Any) -> Any:
    """Values orjson cannot encode natively (DECIMAL columns, big integers): number or text."""
    if isinstance(value, Decimal):
        return float(value)
    return jsonable(value) if isinstance(value, (datetime, date)) else str(value)


def encode(row: dict[str, Any]) -> bytes:
    """One row; NaN and ±inf become null (JSON has no such numbers)."""
    return orjson.dumps(row, default=_default, option=orjson.OPT_NON_STR_KEYS)


def decode(body: bytes) -> dict[str, Any]:
    return orjson.loads(body)


def _value_sql(ref: str, t: pa.DataType) -> str:
    """DuckDB SQL for one value as the CLI shows it (`jsonable`): floats to 6 places, NaN/±inf as null,
    times as ISO 8601 in the connection's time zone (the project's, as the CLI shows them)."""
    if pt.is_floating(t) or pt.is_decimal(t):
        return f"CASE WHEN isfinite({ref}) THEN round_even({ref}::DOUBLE, {DIGITS}) END"  # ties to even, as Python
    if pt.is_timestamp(t) and t.tz is None:
        return f"regexp_replace(strftime({ref}, '%Y-%m-%dT%H:%M:%S.%f'), '\\.000000$', '')"
    if pt.is_timestamp(t):  # in the session's zone; isoformat writes +01:00 where strftime's %z gives +01
        text = f"regexp_replace(strftime({ref}, '%Y-%m-%dT%H:%M:%S.%f%z'), '\\.000000([+-])', '\\1')"
        return f"regexp_replace({text}, '([+-][0-9][0-9])$', '\\1:00')"
    if (pt.is_list(t) or pt.is_large_list(t)) and _needs_sql(t.value_type):
        return f"list_transform({ref}, lambda __e: {_value_sql('__e', t.value_type)})"
    if pt.is_struct(t) and _needs_sql(t):
        fields = ", ".join(f"{_quote(f.name)}: {_value_sql(f'{ref}.{_ident(f.name)}', f.type)}" for f in t)
        return f"{{{fields}}}"
    return ref


def _needs_sql(t: pa.DataType) -> bool:
    if pt.is_floating(t) or pt.is_decimal(t) or pt.is_timestamp(t):
        return True
    if pt.is_list(t) or pt.is_large_list(t):
        return _needs_sql(t.value_type)
    return pt.is_struct(t) and any(_needs_sql(f.type) for f in t)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def row_json_sql(schema: pa.Schema) -> str:
    """DuckDB SQL encoding a profiles row as the online store's JSON body (BLOB).

    Why in SQL: DuckDB writes 3M rows of JSON in a few seconds; Python dicts and datetimes took ~30 µs a row."""
    pairs = ", ".join(f"{_quote(f.name)}, {_value_sql(_ident(f.name), f.type)}" for f in schema)
    return f"encode(CAST(json_object({pairs}) AS VARCHAR))"
