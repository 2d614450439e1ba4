"""Forget a user (PIPL art. 47 / GDPR art. 17): remove them from every store we keep.

What is removed, in this order:
1. the forgotten list gets the salted hash (so every future build, through
   `portrait.realtime.fold.fold_inbox`, and every export, through `AccessStore.filter_forgotten`,
   leaves the user out even though source files still hold them);
2. the inbox (rows deleted, file vacuumed, WAL truncated);
3. in every snapshot kept in the warehouse: each Parquet file with a `user_id` column (events,
   users, identity) is rewritten without the user's rows; in profiles.parquet the row is blanked
   in place (its position is the bitmap ordinal); the bitmap index and saved-segment member
   lists lose the ordinal (`privacy.bitmaps`);
   quarantine rows whose raw text names the id are dropped, the online store row is deleted, and
   tag_stats.json loses top-value entries that name the id;
4. every other Parquet file under the warehouse with a `user_id` column (saved segment members,
   campaign exports) is rewritten the same way;
5. `FORGET_HOOKS`: stores owned by other stages (e.g. bitmap files, where a user is an ordinal
   bit) register a function here; each returns counts for the report.
OneID: the person and every alias linked to the user in any kept snapshot are forgotten together,
otherwise a future build would merge the aliases' events back into a person.
The audit row names the user only by a prefix of the salted hash.
"""

from __future__ import annotations

import json
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
from portrait.privacy.bitmaps import scrub_bitmaps
from portrait.realtime.inbox import Inbox
from portrait.snapshot.store import Snapshot, SnapshotStore, write_atomic

# (project, snapshot, user_id) -> {store name: rows/bits removed}; registered by other stages.
FORGET_HOOKS: list[Callable[[Project, Snapshot, str], dict[str, int]]] = []
SKIP_DIRS = {"tmp"}


class InvalidUserId(PortraitError):
    status = 400
    code = "invalid_user_id"


USER_COLUMNS = ("user_id", "alias_id", "person_id")  # columns that name a user in any Parquet file


def _user_columns(path: Path) -> list[str]:
    try:
        names = pq.read_schema(path).names
    except Exception:  # not a readable Parquet file: not ours to rewrite
        return []
    cols = [c for c in USER_COLUMNS if c in names]
    if path.name == "identity.parquet" and "id" in names:  # OneID: id → person_id
        cols.append("id")
    return cols if cols else (["raw"] if "raw" in names else [])


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


def _blank_rows(con: duckdb.DuckDBPyConnection, path: Path, ids: list[str]) -> int:
    """profiles.parquet: set every column of the users' rows to NULL, keeping row order, because
    row numbers are the bitmap index's user ordinals (deleting a row would shift every later user)."""
    cond = "CAST(user_id AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))"
    doomed = con.execute(f"SELECT count(*) FROM read_parquet('{path}') WHERE {cond}", [ids]).fetchone()[0]
    if doomed == 0:
        return 0
    names = pq.read_schema(path).names
    blanks = ", ".join(f'CASE WHEN {cond} THEN NULL ELSE "{c}" END AS "{c}"' for c in names)
    tmp = path.with_name(f".{path.name}.forget.tmp")
    con.execute(f"COPY (SELECT {blanks} FROM read_parquet('{path}', file_row_number = true) ORDER BY file_row_number) "
                f"TO '{tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)", [ids] * len(names))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return doomed


def _token_regex(user_id: str) -> str:
    return r"(^|[^0-9A-Za-z_])" + re.escape(user_id) + r"([^0-9A-Za-z_]|$)"


def _scrub_parquet(con: duckdb.DuckDBPyConnection, path: Path, ids: list[str]) -> int:
    cols = _user_columns(path)
    if path.name == "profiles.parquet" and "user_id" in cols:
        return _blank_rows(con, path, ids)
    if cols == ["raw"]:  # quarantine: raw source values may name the user anywhere
        # strpos first: the regular expression (a whole-token match) runs only on candidate rows
        conds = " AND ".join("(strpos(raw, ?) = 0 OR NOT regexp_matches(raw, ?))" for _ in ids)
        return _rewrite(con, path, f"raw IS NULL OR ({conds})", [p for u in ids for p in (u, _token_regex(u))])
    if not cols:
        return 0
    where = " AND ".join(f'coalesce(CAST("{c}" AS VARCHAR) NOT IN (SELECT unnest(?::VARCHAR[])), TRUE)' for c in cols)
    return _rewrite(con, path, where, [ids] * len(cols))


def _scrub_stats(path: Path, ids: list[str]) -> int:
    """Drop value-distribution entries naming the user (tag_stats.json lists top values of string tags,
    which for an id-derived or PII tag can be the user's own value)."""
    if not path.exists():
        return 0
    pattern = re.compile("|".join(_token_regex(u) for u in ids))
    stats = json.loads(path.read_text(encoding="utf-8"))
    dropped = 0
    for entry in stats.values():
        values = (entry.get("distribution") or {}).get("values") if isinstance(entry, dict) else None
        if isinstance(values, list):
            keep = [v for v in values if not (isinstance(v, dict) and pattern.search(str(v.get("value", ""))))]
            dropped += len(values) - len(keep)
            entry["distribution"]["values"] = keep
    if dropped:
        write_atomic(path, json.dumps(stats, ensure_ascii=False, indent=1, default=str))
    return dropped


def _aliases(snapshots: list[Snapshot], user_id: str) -> set[str]:
    """Every id linked to the user by OneID in any kept snapshot (the person and all its aliases)."""
    ids = {user_id}
    con = duckdb.connect()
    try:
        for snap in snapshots:
            path = snap.path / "identity.parquet"
            if path.exists():
                rows = con.execute(f"""SELECT id, person_id FROM read_parquet('{path}') WHERE person_id IN (
                    SELECT person_id FROM read_parquet('{path}') WHERE id = ? OR person_id = ?)""",
                                   [user_id, user_id]).fetchall()
                ids |= {str(x) for row in rows for x in row if x is not None}
    finally:
        con.close()
    return ids


def forget_user(project: Project, user_id: str, principal: Principal = LOCAL_ADMIN) -> dict:
    """Remove `user_id` (and its OneID aliases) from every store (see the module docstring)."""
    if not user_id or len(user_id) > 256 or "\x00" in user_id:
        raise InvalidUserId("a user id is 1 to 256 characters without NUL")
    warehouse = project.warehouse
    access = AccessStore(warehouse)
    try:
        ref = access.user_ref(user_id)
        store = SnapshotStore(warehouse)
        snapshots = store.list()
        ids = sorted(_aliases(snapshots, user_id))
        for uid in ids:
            access.add_forgotten(uid)
        removed: dict[str, int] = {"ids": len(ids), "inbox": 0, "parquet_rows": 0, "online_store": 0,
                                   "files_rewritten": 0}
        inbox = Inbox(warehouse, create=False)
        if inbox.exists:
            removed["inbox"] = sum(inbox.delete_user(uid) for uid in ids)
        inbox.close()
        con = duckdb.connect()
        try:
            for path in sorted(warehouse.rglob("*.parquet")):
                rel = path.relative_to(warehouse)
                if rel.parts[0] in SKIP_DIRS or path.name.startswith("."):
                    continue
                n = _scrub_parquet(con, path, ids)
                removed["parquet_rows"] += n
                removed["files_rewritten"] += n > 0
        finally:
            con.close()
        for snap in snapshots:
            spec = serving_spec(snap.path)
            if spec["online_store"].get("backend", "sqlite") == "sqlite" and not (snap.path / spec["online_store"]["location"]).exists():
                continue
            online = open_store(spec["online_store"], snap.path, writable=True)
            try:
                removed["online_store"] += sum(int(online.delete(uid)) for uid in ids)
            finally:
                online.close()
            removed["tag_stats_values"] = removed.get("tag_stats_values", 0) + _scrub_stats(snap.file("tag_stats"), ids)
            token = re.compile("|".join(_token_regex(u) for u in ids))
            for name, n in scrub_bitmaps(warehouse, snap.path, ids, token).items():
                removed[name] = removed.get(name, 0) + n
            for hook in FORGET_HOOKS:
                for uid in ids:
                    for name, n in hook(project, snap, uid).items():
                        removed[name] = removed.get(name, 0) + n
        report = {"user": ref, "snapshots": len(snapshots), "removed": removed}
        access.audit(principal.key_id, "profiles.forget", ref, {"removed": removed})
        return report
    finally:
        access.close()
