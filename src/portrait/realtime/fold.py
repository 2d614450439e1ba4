"""Folding the inbox into a build, exactly once, and filtering forgotten users out of it.

How: right after ingest, `fold_inbox` (registered in `portrait.pipeline.EVENT_FOLDS`) notes the
inbox's last seq S, exports events with seq <= S to Parquet (`inbox_to_parquet`), and rewrites
the staging `events.parquet` as  source events ∪ inbox events whose event_id is not already
there. Every build folds the whole inbox (it is the system of record for API events, which no
source file holds), so each accepted event is in every later snapshot exactly once: the inbox
keys on event_id and the union drops ids the sources already have. S is written to the
snapshot's `serving.json`; real-time tags then overlay only events with seq > S.

Forgotten users (salted hashes in access.sqlite) are filtered out of events and users here,
so a source file that still holds them never brings them back.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from portrait.catalog.compile import EVENT_COLUMNS
from portrait.config import Project
from portrait.online.base import backend_for
from portrait.privacy.access import AccessStore
from portrait.realtime.inbox import Inbox

SERVING_FILE = "serving.json"

ARROW_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("user_id", pa.string()), ("event_time", pa.timestamp("us", tz="UTC")),
    ("event_type", pa.string()), ("order_id", pa.string()), ("item_id", pa.string()), ("category", pa.string()),
    ("quantity", pa.float64()), ("amount", pa.float64()), ("channel", pa.string()), ("props", pa.string()),
    ("source", pa.string()), ("source_line", pa.int64()),
])


def _batch(rows: list[tuple]) -> pa.RecordBatch:
    # rows: seq, event_id, user_id, event_time_us, event_type, order_id, item_id, category, quantity, amount, channel, props
    cols = list(zip(*rows))
    arrays = [
        pa.array(cols[1], pa.string()), pa.array(cols[2], pa.string()),
        pa.array(cols[3], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        *[pa.array(cols[i], pa.string()) for i in (4, 5, 6, 7)],
        pa.array(cols[8], pa.float64()), pa.array(cols[9], pa.float64()),
        pa.array(cols[10], pa.string()), pa.array(cols[11], pa.string()),
        pa.array(["api"] * len(rows), pa.string()), pa.array(cols[0], pa.int64()),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=ARROW_SCHEMA)


def inbox_to_parquet(project: Project, path: str | Path, through_seq: int | None = None) -> int:
    """Write the inbox's events (seq <= through_seq, default all) with EVENT_COLUMNS to Parquet.

    Event ids are unique in the inbox, so the file holds each accepted event once; forgotten
    users are left out. Returns the number of events written.
    """
    inbox = Inbox(project.warehouse, create=False)
    access = AccessStore(project.warehouse)
    forgotten = set(access.forgotten_hashes())
    seq = inbox.max_seq() if through_seq is None and inbox.exists else (through_seq or 0)
    n = 0
    with pq.ParquetWriter(str(path), ARROW_SCHEMA, compression="zstd") as writer:
        if inbox.exists:
            for rows in inbox.scan(seq):
                if forgotten:
                    rows = [r for r in rows if access.user_hash(r[2]) not in forgotten]
                if rows:
                    writer.write_batch(_batch(rows))
                    n += len(rows)
        inbox.close()
    access.close()
    return n


def _replace_parquet(con: duckdb.DuckDBPyConnection, sql: str, params: list, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.fold.tmp")
    con.execute(f"COPY ({sql}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)", params)
    os.replace(tmp, target)


def fold_inbox(project: Project, staging: Path, as_of: datetime | None = None) -> datetime | None:
    """Append the inbox to the staging events and drop forgotten users; returns the newest folded event time.

    The pipeline uses the returned time so a project on the data clock counts inbox events too.
    """
    staging = Path(staging)
    inbox = Inbox(project.warehouse, create=False)
    through = inbox.max_seq() if inbox.exists else 0
    inbox.close()
    events = staging / "events.parquet"
    extra = staging / ".inbox.parquet"
    folded = inbox_to_parquet(project, extra, through)
    access = AccessStore(project.warehouse)
    keep, keep_params = access.forgotten_sql("user_id")
    keep_i, _ = access.forgotten_sql("i.user_id")
    access.close()
    latest = None
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if folded or keep != "TRUE":
            cols = ", ".join(f'CAST(i."{c}" AS {t}) AS "{c}"' for c, t in EVENT_COLUMNS.items())
            before, as_of_params = ("TRUE", []) if as_of is None else ("i.event_time < ?", [as_of])
            new = (f"SELECT {cols} FROM read_parquet('{extra}') i WHERE {before} AND {keep_i} "
                   f"AND i.event_id NOT IN (SELECT event_id FROM read_parquet('{events}'))")
            new_params = [*as_of_params, *keep_params]
            latest = con.execute(f"SELECT max(event_time) FROM ({new})", new_params).fetchone()[0]
            sql = (f"SELECT * FROM (SELECT * FROM read_parquet('{events}') WHERE {keep} "
                   f"UNION ALL BY NAME {new})")
            _replace_parquet(con, sql, [*keep_params, *new_params], events)
            users = staging / "users.parquet"
            if keep != "TRUE" and users.exists():
                _replace_parquet(con, f"SELECT * FROM read_parquet('{users}') WHERE {keep}", keep_params, users)
    finally:
        con.close()
        extra.unlink(missing_ok=True)
    url = project.config.online_store
    backend = backend_for(url)
    spec = {"backend": backend, "location": "online.sqlite" if backend == "sqlite" else url,
            "namespace": f"portrait:{project.config.name}:{staging.name.removeprefix('.staging-')}"}
    (staging / SERVING_FILE).write_text(json.dumps({
        "online_store": spec, "inbox_through_seq": through, "inbox_folded": folded,
        "folded_at": datetime.now(timezone.utc).isoformat()}, indent=1))
    return latest
