"""Check a campaign outcome before it reaches SQL: a predicate over event columns, nothing else.

`event_type = 'purchase' AND amount > 0` or `props->>'coupon' IS NOT NULL` are fine; a
sub-query, a second statement, a table function or an unknown column is refused with the
offending text, so `--outcome` can never run anything but a filter on the events table.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from portrait.errors import PortraitError
from portrait.snapshot import Snapshot

ALLOWED = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Not, exp.And, exp.Or,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike,
    exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Cast, exp.TryCast, exp.DataType, exp.Lower, exp.Upper,
    exp.Coalesce, exp.JSONExtract, exp.JSONExtractScalar, exp.JSONPath, exp.JSONPathRoot, exp.JSONPathKey,
    exp.Tuple, exp.Abs, exp.Length, exp.Trim, exp.Substring, exp.Star,
)
EVENT_COLUMNS = ("event_id", "user_id", "event_time", "event_type", "order_id", "item_id", "category", "quantity",
                 "amount", "channel", "props", "source")


class OutcomeError(PortraitError):
    status = 400
    code = "campaign_outcome"


def check_outcome(outcome: str, snapshot: Snapshot | None = None) -> str:
    """The outcome re-written by sqlglot (comments dropped), or OutcomeError unless it is a plain
    boolean expression over the events' columns. Only the re-written text ever reaches DuckDB."""
    columns = set(EVENT_COLUMNS)
    if snapshot is not None:
        import pyarrow.parquet as pq

        columns = set(pq.read_schema(snapshot.file("events")).names)
    try:
        statements = sqlglot.parse(f"SELECT 1 FROM events WHERE {outcome}", read="duckdb")
    except ParseError as e:
        raise OutcomeError(f"cannot parse outcome {outcome!r}: {e.errors[0]['description'] if e.errors else e}") from e
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise OutcomeError(f"outcome {outcome!r} must be one condition, not several statements")
    where = statements[0].args.get("where")
    if where is None or statements[0].args.get("group") or statements[0].args.get("limit"):
        raise OutcomeError(f"outcome {outcome!r} must be a condition such as event_type = 'purchase'")
    for node in where.this.walk():
        if not isinstance(node, ALLOWED):
            raise OutcomeError(f"outcome may not use {node.sql(dialect='duckdb')!r} ({type(node).__name__})",
                               hint="compare event columns with literals: AND, OR, NOT, IN, BETWEEN, LIKE, IS NULL")
        if isinstance(node, exp.Column) and (node.table or node.name not in columns):
            raise OutcomeError(f"unknown event column {node.sql()!r} in outcome",
                               hint=f"columns: {', '.join(sorted(columns))}")
    return where.this.sql(dialect="duckdb", comments=False)
