"""Forget a user (PIPL art. 47 / GDPR art. 17): remove them from every store we keep.

What is removed, in this order:
1. the forgotten list gets the salted hash (so every future build, through
   `portrait.realtime.fold.fold_inbox`, and every export, through `AccessStore.filter_forgotten`,
   leaves the user out even though source files still hold them);
2. the inbox (rows deleted, file vacuumed, WAL truncated);
3. in every snapshot kept in the warehouse: each Parquet file with a `user_id` column (events,
   users, profiles, and any per-snapshot member lists) is rewritten without the user's rows,
   quarantine rows whose raw text names the id are dropped, the online store row is deleted;
4. every other Parquet file under the warehouse with a `user_id` column (saved segment members,
   campaign exports) is rewritten the same way;
5. `FORGET_HOOKS`: stores owned by other stages (e.g. bitmap files, where a user is an ordinal
   bit) register a function here; each returns counts for the report.
The audit row names the user only by a prefix of the salted hash.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow.parquet as pq

from portrait.config import Project
from portrait.errors import PortraitError
from portrait.online.artifact import serving_spec
from portrait.online.base import open_store
from portrait.privacy.access import LOCAL_ADMIN, AccessStore, Principal
from portrait.realtime.inbox import Inbox
from portrait.snapshot.store import Snapshot, SnapshotStore

# (project, snapshot, user_id) -> {store name: rows/bits removed}; registered by other stages.
FORGET_HOOKS: list[Callable[[Project, Snapshot, str], dict[str, int]]] = []
SKIP_DIRS = {"tmp"}


class InvalidUserId(PortraitError):
    status = 400
    code = "invalid_user_id"


def _has_user_column(path: Path) -> bool:
    try:
        return "user_id" in pq.read_schema(path).names
    except Exception:  # not a readable Parquet file: not ours to rewrite
        return False


def _rewrite(con: duckdb.DuckDBPyConnection, path: Path, where: str, params: list) -> int:
    """Rewrite a Parquet file keeping rows where `where` holds; returns rows removed (one scan if none)."""
    doomed = con.execute(f"SELECT count(*) FROM read_parquet('{path}') WHERE NOT ({where})", params).fetchone()[0]
    if doomed == 0:
        return 0
    tmp = path.with_name(f".{path.name}.forget.tmp")
    con.execute(f"COPY (SELECT * FROM read_parquet('{path}') WHERE {where}) TO '{tmp}' "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)", params)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return doomed


def _token_regex(user_id: str) -> str:
    return r"(^|[^0-9A-Za-z_])" + re.escape(user_id) + r"([^0-9A-Za-z_]|$)"


def _scrub_parquet(con: duckdb.DuckDBPyConnection, path: Path, user_id: str) -> int:
    if _has_user_column(path):
        return _rewrite(con, path, "CAST(user_id AS VARCHAR) IS DISTINCT FROM ?", [user_id])
    try:
        names = pq.read_schema(path).names
    except Exception:
        return 0
    if "raw" in names:  # quarantine: raw source values, may name the user anywhere
        # strpos first: the regular expression (a whole-token match) runs only on candidate rows
        return _rewrite(con, path, "raw IS NULL OR strpos(raw, ?) = 0 OR NOT regexp_matches(raw, ?)",
                        [user_id, _token_regex(user_id)])
    return 0


def forget_user(project: Project, user_id: str, principal: Principal = LOCAL_ADMIN) -> dict:
    """Remove `user_id` from every store (see the module docstring); returns counts per store."""
    if not user_id or len(user_id) > 256 or "\x00" in user_id:
        raise InvalidUserId("a user id is 1 to 256 characters without NUL")
    warehouse = project.warehouse
    access = AccessStore(warehouse)
    try:
        ref = access.user_ref(user_id)
        access.add_forgotten(user_id)
        removed: dict[str, int] = {"inbox": 0, "parquet_rows": 0, "online_store": 0, "files_rewritten": 0}
        inbox = Inbox(warehouse, create=False)
        if inbox.exists:
            removed["inbox"] = inbox.delete_user(user_id)
        inbox.close()
        store = SnapshotStore(warehouse)
        con = duckdb.connect()
        try:
            for path in sorted(warehouse.rglob("*.parquet")):
                rel = path.relative_to(warehouse)
                if rel.parts[0] in SKIP_DIRS or path.name.startswith("."):
                    continue
                n = _scrub_parquet(con, path, user_id)
                removed["parquet_rows"] += n
                removed["files_rewritten"] += n > 0
        finally:
            con.close()
        snapshots = store.list()
        for snap in snapshots:
            spec = serving_spec(snap.path)
            if spec["online_store"].get("backend", "sqlite") == "sqlite" and not (snap.path / spec["online_store"]["location"]).exists():
                continue
            online = open_store(spec["online_store"], snap.path, writable=True)
            try:
                removed["online_store"] += int(online.delete(user_id))
            finally:
                online.close()
            for hook in FORGET_HOOKS:
                for name, n in hook(project, snap, user_id).items():
                    removed[name] = removed.get(name, 0) + n
        report = {"user": ref, "snapshots": len(snapshots), "removed": removed}
        access.audit(principal.key_id, "profiles.forget", ref, {"removed": removed})
        return report
    finally:
        access.close()
