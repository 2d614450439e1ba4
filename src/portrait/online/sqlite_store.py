"""The embedded default online store: one SQLite file per snapshot (`online.sqlite`).

Why SQLite: a B-tree keyed by user_id gives O(log n) point lookups from a single file that is
published atomically with the rest of the snapshot, with no server to run. The table is
WITHOUT ROWID so the row body sits in the key's leaf page (one page read per lookup).

Readers open the file read-only, one connection per thread (sqlite3 connections are not
shared across threads). `delete` (forget) uses secure_delete and VACUUM so the removed row's
bytes do not linger in free pages or in b-tree divider cells.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Iterable, Sequence

from portrait.online.base import OnlineStore

BATCH = 5_000
MAX_VARS = 900
MMAP_BYTES = 1 << 34  # address space only; SQLite maps at most the file's size  # stay below SQLite's host-parameter limit in get_many


class SqliteOnlineStore(OnlineStore):
    def __init__(self, location: str, namespace: str = "", *, writable: bool = False):
        super().__init__(location, namespace, writable=writable)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if writable:
            con = self._con()
            # 16 KiB pages keep rows up to ~4 KB inline in their leaf (WITHOUT ROWID tables
            # spill anything over ~1 KB to overflow pages at the default 4 KiB page size).
            con.execute("PRAGMA page_size = 16384")
            con.execute("CREATE TABLE IF NOT EXISTS profiles (user_id TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID")
            con.commit()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            if self.writable:
                con = sqlite3.connect(self.location, timeout=30, check_same_thread=False)
                con.execute("PRAGMA secure_delete = ON")
            else:
                con = sqlite3.connect(f"file:{self.location}?mode=ro", uri=True, timeout=30, check_same_thread=False)
                con.execute("PRAGMA query_only = ON")
                # Memory-mapped reads: a lookup touches ~3 pages; mmap saves a read() syscall and a
                # copy per page (the OS page cache is shared by every thread and process).
                con.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def put_many(self, rows: Iterable[tuple[str, bytes]]) -> int:
        con = self._con()
        # A build writes into a staging folder that is fsynced as a whole before it is
        # published, so per-transaction syncs would only slow the bulk load down.
        con.execute("PRAGMA synchronous = OFF")
        n = 0
        batch: list[tuple[str, bytes]] = []
        with con:
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    con.executemany("INSERT OR REPLACE INTO profiles VALUES (?, ?)", batch)
                    n += len(batch)
                    batch.clear()
            if batch:
                con.executemany("INSERT OR REPLACE INTO profiles VALUES (?, ?)", batch)
                n += len(batch)
        con.execute("PRAGMA synchronous = FULL")
        return n

    def get(self, user_id: str) -> bytes | None:
        row = self._con().execute("SELECT body FROM profiles WHERE user_id = ?", (user_id,)).fetchone()
        return None if row is None else row[0]

    def get_many(self, user_ids: Sequence[str]) -> dict[str, bytes]:
        con = self._con()
        out: dict[str, bytes] = {}
        ids = list(dict.fromkeys(user_ids))
        for i in range(0, len(ids), MAX_VARS):
            part = ids[i : i + MAX_VARS]
            marks = ",".join("?" * len(part))
            out.update(con.execute(f"SELECT user_id, body FROM profiles WHERE user_id IN ({marks})", part).fetchall())
        return out

    def delete(self, user_id: str) -> bool:
        con = self._con()
        with con:
            found = con.execute("DELETE FROM profiles WHERE user_id = ?", (user_id,)).rowcount > 0
        if found:
            con.execute("VACUUM")  # rewrites every page: no divider cell keeps the id
        return found

    def count(self) -> int:
        return self._con().execute("SELECT count(*) FROM profiles").fetchone()[0]

    def drop(self) -> None:
        con = self._con()
        with con:
            con.execute("DELETE FROM profiles")
        con.execute("VACUUM")

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                try:
                    con.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
