"""Building a snapshot's online store: an ARTIFACT_BUILDER run before the snapshot is published.

Why at build time: the store is part of the snapshot (same users, same values as
profiles.parquet), so the API switches to a new snapshot only when its store is complete. The
backend comes from the snapshot's `serving.json`, which `portrait.realtime.fold.fold_inbox`
writes from portrait.yaml (`online_store:`); without it the embedded SQLite file is used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow.parquet as pq

from portrait.online.base import open_store
from portrait.online.codec import ALIAS_KEY, encode, row_json_sql
from portrait.privacy.access import AccessStore

SERVING_FILE = "serving.json"
CHUNK = 100_000


def serving_spec(snapshot_dir: Path) -> dict:
    """The snapshot's serving description (online store spec, inbox seq folded), with defaults."""
    path = Path(snapshot_dir) / SERVING_FILE
    spec = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    spec.setdefault("online_store", {"backend": "sqlite", "location": "online.sqlite", "namespace": ""})
    spec.setdefault("inbox_through_seq", 0)
    return spec


def _alias_rows(staging: Path, keep: str):
    """OneID aliases (identity.parquet: id → person_id) as pointer rows, so any alias finds its person."""
    path = staging / "identity.parquet"
    if not path.exists():
        return
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT id, person_id FROM read_parquet('{path}') WHERE id <> person_id "
                           f"AND {keep.replace('user_id', 'id')} AND {keep.replace('user_id', 'person_id')}").fetchall()
    finally:
        con.close()
    for alias, person in rows:
        yield str(alias), encode({ALIAS_KEY: str(person)})


def _profile_rows(staging: Path, keep: str, timezone: str) -> Iterator[tuple[str, bytes]]:
    """(user_id, body) for every profile in the snapshot's profiles.parquet, streamed in user_id order;
    times in the project's zone, as the engine (and so `portrait profile`) shows them."""
    path = staging / "profiles.parquet"
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = ?", [timezone])
        reader = con.sql(
            f"SELECT CAST(user_id AS VARCHAR), {row_json_sql(pq.read_schema(path))} "
            f"FROM read_parquet('{path}') WHERE {keep}"  # the file is in user_id order
        ).to_arrow_reader(CHUNK)
        for batch in reader:
            yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist())
    finally:
        con.close()


def build_online_store(staging: Path, catalog, engine) -> dict[str, str]:
    """Write every profile row of the snapshot (its profiles.parquet) into the snapshot's online store."""
    staging = Path(staging)
    spec = serving_spec(staging)
    if not (staging / SERVING_FILE).exists():
        (staging / SERVING_FILE).write_text(json.dumps(spec, indent=1))
    warehouse = staging.parent.parent  # <warehouse>/snapshots/.staging-<id>
    access = AccessStore(warehouse)
    keep = access.forgotten_sql_inline("user_id")  # a user forgotten while this build ran
    access.close()
    store = open_store(spec["online_store"], staging, writable=True)
    try:
        store.drop()  # a retried build into the same namespace starts clean
        store.put_many(_profile_rows(staging, keep, engine.timezone))
        store.put_many(_alias_rows(staging, keep))
    finally:
        store.close()
    files = {"serving": SERVING_FILE}
    if spec["online_store"]["backend"] == "sqlite":
        files["online_store"] = spec["online_store"]["location"]
    return files
