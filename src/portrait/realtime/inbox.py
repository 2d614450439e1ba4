"""The event inbox: `warehouse/inbox.sqlite`, the durable record of every event the API accepted.

Why SQLite in WAL mode with synchronous=FULL: a commit is fsync'd to the WAL before `append`
returns, so an event the API acknowledged with 202 survives a SIGKILL or a power cut; one
transaction per request batch keeps ingest at tens of thousands of events per second.
`event_id` is UNIQUE, so a re-sent event is recognised and reported as a duplicate.
`seq` orders events; a snapshot records the last seq it folded (`serving.json`), so real-time
tags overlay only what the snapshot does not contain yet.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from portrait.realtime.model import EventIn

FILE = "inbox.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    event_time_us INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    order_id TEXT, item_id TEXT, category TEXT,
    quantity REAL, amount REAL, channel TEXT, props TEXT,
    received_at_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user ON events (user_id, event_time_us);
"""
COLUMNS = ("seq", "event_id", "user_id", "event_time_us", "event_type", "order_id", "item_id", "category",
           "quantity", "amount", "channel", "props")


@dataclass(frozen=True)
class InboxEvent:
    seq: int
    event_id: str
    user_id: str
    event_time_us: int
    event_type: str
    order_id: str | None
    item_id: str | None
    category: str | None
    quantity: float | None
    amount: float | None
    channel: str | None
    props: str | None

    def prop(self, name: str):
        if not self.props:
            return None
        try:
            return json.loads(self.props).get(name)
        except (ValueError, AttributeError):
            return None


class Inbox:
    """Append-only (except forget) store of API events; one writer lock, readers per thread."""

    def __init__(self, warehouse: Path, *, create: bool = True):
        self.path = Path(warehouse) / FILE
        self._write_lock = threading.Lock()
        self._local = threading.local()
        if create or self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._con()
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(SCHEMA)

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA synchronous = FULL")  # fsync the WAL at every commit
            con.execute("PRAGMA busy_timeout = 30000")
            self._local.con = con
        return con

    def append(self, events: Sequence[tuple[EventIn, int]]) -> list[bool]:
        """Store (event, event_time_us) pairs durably in one transaction; True = new, False = duplicate."""
        now = time.time_ns() // 1000
        rows = [(e.event_id, e.user_id, t, e.event_type, e.order_id, e.item_id, e.category, e.quantity, e.amount,
                 e.channel, None if e.props is None else json.dumps(e.props, ensure_ascii=False), now)
                for e, t in events]
        out: list[bool] = []
        con = self._con()
        with self._write_lock:
            con.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    cur = con.execute(
                        "INSERT OR IGNORE INTO events (event_id, user_id, event_time_us, event_type, order_id, item_id, "
                        "category, quantity, amount, channel, props, received_at_us) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
                    out.append(cur.rowcount == 1)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return out

    def for_user(self, user_id: str, after_seq: int, since_us: int) -> list[InboxEvent]:
        """The user's events not yet in the snapshot (seq > after_seq) or at/after `since_us`."""
        rows = self._con().execute(
            f"SELECT {', '.join(COLUMNS)} FROM events WHERE user_id = ? AND (seq > ? OR event_time_us >= ?) "
            "ORDER BY seq", (user_id, after_seq, since_us)).fetchall()
        return [InboxEvent(*r) for r in rows]

    def active_users(self, after_seq: int, since_us: int, through_seq: int) -> set[str]:
        """Users with events after `after_seq` or at/after `since_us` (up to `through_seq`)."""
        rows = self._con().execute("SELECT DISTINCT user_id FROM events WHERE seq <= ? AND (seq > ? OR event_time_us >= ?)",
                                   (through_seq, after_seq, since_us)).fetchall()
        return {r[0] for r in rows}

    def users_between(self, after_seq: int, through_seq: int) -> set[str]:
        rows = self._con().execute("SELECT DISTINCT user_id FROM events WHERE seq > ? AND seq <= ?",
                                   (after_seq, through_seq)).fetchall()
        return {r[0] for r in rows}

    def max_seq(self) -> int:
        return self._con().execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    def count(self, event_id: str | None = None) -> int:
        if event_id is None:
            return self._con().execute("SELECT count(*) FROM events").fetchone()[0]
        return self._con().execute("SELECT count(*) FROM events WHERE event_id = ?", (event_id,)).fetchone()[0]

    def scan(self, through_seq: int, batch: int = 50_000) -> Iterator[list[tuple]]:
        """Every event with seq <= through_seq, in seq order, in batches (for folding into a build)."""
        last = 0
        con = self._con()
        while True:
            rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                               (last, through_seq, batch)).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def delete_user(self, user_id: str) -> int:
        """Forget: remove the user's events and make sure their bytes leave the file and the WAL."""
        con = self._con()
        with self._write_lock:
            con.execute("PRAGMA secure_delete = ON")
            n = con.execute("DELETE FROM events WHERE user_id = ?", (user_id,)).rowcount
            if n:
                con.execute("VACUUM")  # index divider cells may still hold the id
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local = threading.local()
