"""The one object the API (and the CLI) serve through: current snapshot state, inbox, access store.

Hot swap: everything a request needs from a snapshot (manifest, catalog, tag metadata, an open
online store, the inbox seq it folded) is one immutable `SnapshotState`. A request takes the
current state once and uses only it, so it never mixes two snapshots. `current()` re-reads
warehouse/CURRENT at most every `poll` seconds; when it moved, the new state is loaded by one
thread while the others keep answering from the old one, then the reference is swapped (an
atomic assignment). Old states are closed a minute later, when no request can still hold them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from portrait.apps.profiles import catalog as snapshot_catalog
from portrait.config import Project
from portrait.errors import SnapshotError
from portrait.online.artifact import serving_spec
from portrait.online.base import OnlineStore, open_store
from portrait.privacy.access import AccessStore
from portrait.realtime.inbox import Inbox
from portrait.realtime.tags import InterestRule, interest_rules
from portrait.snapshot.store import Snapshot, SnapshotStore

log = logging.getLogger("portrait.serve")
RETIRE_AFTER = 60.0


@dataclass(frozen=True)
class TagMeta:
    id: str
    taxonomy: tuple[str, ...]
    pii: bool
    template: dict  # id, name, kind, type, unit, pii: the static part of a profile entry


@dataclass
class SnapshotState:
    """Everything served from one snapshot; never mutated after `load`."""

    snapshot: Snapshot
    catalog: list[dict]
    tags: list[TagMeta]
    by_id: dict[str, TagMeta]
    store: OnlineStore
    through_seq: int
    tz: ZoneInfo
    rules: list[InterestRule]
    item_keys: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.monotonic)

    @property
    def id(self) -> str:
        return self.snapshot.id

    @classmethod
    def load(cls, snapshot: Snapshot) -> "SnapshotState":
        cat = snapshot_catalog(snapshot)
        tags = [TagMeta(t["id"], tuple(t["taxonomy"]), bool(t.get("pii", False)), {
            "id": t["id"], "name": t["name"], "kind": t["kind"], "type": t["type"], "unit": t.get("unit"),
            "pii": bool(t.get("pii", False))}) for t in cat]
        spec = serving_spec(snapshot.path)
        store = open_store(spec["online_store"], snapshot.path)
        if spec["online_store"].get("backend", "sqlite") == "sqlite" and not Path(store.location).exists():
            raise SnapshotError(f"snapshot {snapshot.id} has no online store",
                                hint="rebuild it with `portrait build` (the online store is built with the snapshot)")
        rules = interest_rules(cat)
        return cls(snapshot, cat, tags, {t.id: t for t in tags}, store, int(spec["inbox_through_seq"]),
                   ZoneInfo(snapshot.manifest.timezone), rules, _item_keys(snapshot, {r.dimension for r in rules}))


def _item_keys(snapshot: Snapshot, dimensions: set[str]) -> dict[str, dict[str, list[str]]]:
    """item_id → genres / brand for interest dimensions keyed through items (small tables)."""
    out: dict[str, dict[str, list[str]]] = {}
    wanted = dimensions - {"category"}
    path = snapshot.file("items")
    if not wanted or not path.exists():
        return out
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    ids = [str(i) for i in table.column("item_id").to_pylist()] if "item_id" in table.column_names else []
    if "genre" in wanted and "genres" in table.column_names:
        out["genre"] = {i: [str(g) for g in (gs or []) if g is not None]
                        for i, gs in zip(ids, table.column("genres").to_pylist())}
    if "brand" in wanted and "brand" in table.column_names:
        out["brand"] = {i: [str(b)] for i, b in zip(ids, table.column("brand").to_pylist()) if b is not None}
    return out


class ServingContext:
    """Shared by every request of one server process (and by the CLI's serve/forget commands)."""

    def __init__(self, project: Project, poll: float = 0.2):
        self.project = project
        self.poll = poll
        self.snapshots = SnapshotStore(project.warehouse)
        self.access = AccessStore(project.warehouse)
        self.inbox = Inbox(project.warehouse)
        self.counters: dict[str, int] = {"events_accepted": 0, "events_duplicate": 0, "events_rejected": 0,
                                         "snapshot_swaps": 0}
        self.tz = ZoneInfo(project.config.timezone)
        self._counter_lock = threading.Lock()
        self._state: SnapshotState | None = None
        self._checked = 0.0
        self._loading = threading.Lock()
        self._retired: list[tuple[float, SnapshotState]] = []
        self._forgotten: frozenset[str] = frozenset()
        self._forgotten_checked = 0.0
        self._active: set[str] = set()
        self._active_key: tuple[str, int] | None = None  # (snapshot id, day start) the set was loaded for
        self._active_seq = 0
        self._active_checked = 0.0

    # -- snapshot state ----------------------------------------------------------------------
    def current(self) -> SnapshotState:
        now = time.monotonic()
        state = self._state
        if state is not None and now - self._checked < self.poll:
            return state
        self._checked = now
        current_id = self.snapshots.current_id()
        if current_id is None:
            if state is not None:
                return state
            raise SnapshotError("no snapshot yet", hint="run `portrait build` first")
        if state is not None and state.id == current_id:
            return state
        # The first request waits for a state; later ones keep serving the old one meanwhile.
        if not self._loading.acquire(blocking=state is None):
            return state  # type: ignore[return-value]
        try:
            if self._state is not None and self._state.id == current_id:
                return self._state
            try:
                new = SnapshotState.load(self.snapshots.open(current_id))
            except Exception:
                if state is None:
                    raise
                log.exception("could not load snapshot %s; still serving %s", current_id, state.id)
                return state
            self._state = new
            if state is not None:
                self.bump("snapshot_swaps")
                self._retired.append((now, state))
            self._close_retired(now)
            return new
        finally:
            self._loading.release()

    def _close_retired(self, now: float) -> None:
        keep = []
        for at, old in self._retired:
            if now - at > RETIRE_AFTER:
                old.store.close()
            else:
                keep.append((at, old))
        self._retired = keep

    def bump(self, counter: str, n: int = 1) -> None:
        with self._counter_lock:
            self.counters[counter] = self.counters.get(counter, 0) + n

    def snapshot_id(self) -> str | None:
        return None if self._state is None else self._state.id

    # -- users with inbox events -------------------------------------------------------------
    def may_have_events(self, user_id: str, state: SnapshotState, day_start_us: int) -> bool:
        """False only when the inbox surely holds no event of the user that real-time tags count.

        Why: most profile reads are of users with no recent events, and skipping their inbox
        query is a large share of a GET. The set of active users (events after the snapshot's
        inbox seq, or since midnight) is loaded per snapshot and day, extended by this process's
        ingest at once and by other processes' within `poll` seconds (a max(seq) check).
        """
        now = time.monotonic()
        if self._active_key != (state.id, day_start_us):
            with self._counter_lock:
                self._active_seq = self.inbox.max_seq()
                self._active = self.inbox.active_users(state.through_seq, day_start_us, self._active_seq)
                self._active_key = (state.id, day_start_us)
                self._active_checked = now
        elif now - self._active_checked >= self.poll:
            self._active_checked = now
            seq = self.inbox.max_seq()
            if seq > self._active_seq:
                with self._counter_lock:
                    self._active |= self.inbox.users_between(self._active_seq, seq)
                    self._active_seq = seq
        return user_id in self._active

    def mark_active(self, user_ids) -> None:
        """Called by ingest after a commit, so this process sees new events without waiting."""
        self._active.update(user_ids)

    # -- forgotten users ---------------------------------------------------------------------
    def forgotten(self) -> frozenset[str]:
        """Salted hashes of forgotten users (re-read at most every poll interval)."""
        now = time.monotonic()
        if now - self._forgotten_checked >= self.poll:
            self._forgotten = frozenset(self.access.forgotten_hashes())
            self._forgotten_checked = now
        return self._forgotten

    def is_forgotten(self, user_id: str) -> bool:
        hashes = self.forgotten()
        return bool(hashes) and self.access.user_hash(user_id) in hashes

    def refresh_forgotten(self) -> None:
        self._forgotten_checked = 0.0

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    def close(self) -> None:
        for _, old in self._retired:
            old.store.close()
        if self._state is not None:
            self._state.store.close()
        self.inbox.close()
        self.access.close()
