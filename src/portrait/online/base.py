"""The online store: one snapshot's profile rows by user id, for per-request lookups.

Why an ABC: the API must answer a profile GET with an indexed point lookup, never a scan of
`profiles.parquet`; where that index lives (an embedded SQLite file next to the snapshot, or a
Redis server shared by several API processes) is a deployment choice. Every backend passes the
same conformance suite (tests/api/test_online_store.py). Values are opaque bytes (the encoded
row, see `portrait.online.codec`) so a backend never needs to know the catalog.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterable, Sequence

from portrait.errors import ConfigError

# Short backend names -> dotted class paths (a full dotted path loads a third-party class).
BACKENDS: dict[str, str] = {
    "sqlite": "portrait.online.sqlite_store.SqliteOnlineStore",
    "redis": "portrait.online.redis_store.RedisOnlineStore",
}


class OnlineStore(ABC):
    """Key-value access to one snapshot's profiles: user_id -> encoded profile row.

    `location` is backend-specific (a file path for SQLite, a URL for Redis); `namespace`
    separates snapshots that share one server. Writers are used only while a snapshot is built
    (and by `forget`); readers are shared by the API's threads.
    """

    def __init__(self, location: str, namespace: str, *, writable: bool = False):
        self.location = location
        self.namespace = namespace
        self.writable = writable

    @abstractmethod
    def put_many(self, rows: Iterable[tuple[str, bytes]]) -> int:
        """Store rows (replacing existing keys); returns how many were written."""

    @abstractmethod
    def get(self, user_id: str) -> bytes | None:
        """One row, or None when the user is not in the snapshot."""

    @abstractmethod
    def get_many(self, user_ids: Sequence[str]) -> dict[str, bytes]:
        """Rows of the users found (missing ids are simply absent)."""

    @abstractmethod
    def delete(self, user_id: str) -> bool:
        """Remove one user so no trace of the row remains (used by forget); True if it existed."""

    @abstractmethod
    def count(self) -> int:
        """Number of stored rows (health checks, tests)."""

    @abstractmethod
    def drop(self) -> None:
        """Remove the whole namespace (a pruned snapshot)."""

    def close(self) -> None:  # backends holding no resources need not override
        return None

    def __enter__(self) -> "OnlineStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def backend_for(url: str | None) -> str:
    """Backend name for `online_store:` in portrait.yaml (None or 'sqlite' = the embedded default)."""
    if not url or url == "sqlite":
        return "sqlite"
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in ("redis", "rediss", "unix"):
        return "redis"
    if "." in url.split("://", 1)[0]:
        return url.split("://", 1)[0]  # dotted class path, optionally followed by ://location
    raise ConfigError(
        f"online_store: unknown backend {url!r}",
        hint="use `sqlite` (default), a redis://host:port/db URL, or a dotted path to an OnlineStore class",
    )


def store_class(name: str) -> type[OnlineStore]:
    path = BACKENDS.get(name, name)
    module, _, cls = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"online store backend {name!r} cannot be loaded: {e}",
                          hint=f"known backends: {', '.join(BACKENDS)}") from e
    if not (isinstance(found, type) and issubclass(found, OnlineStore)):
        raise ConfigError(f"{path} is not an OnlineStore subclass")
    return found


def open_store(spec: dict, snapshot_dir: Path, *, writable: bool = False) -> OnlineStore:
    """The store a snapshot's `serving.json` describes ({"backend", "location", "namespace"})."""
    backend = spec.get("backend", "sqlite")
    location = spec.get("location") or "online.sqlite"
    if backend == "sqlite":
        location = str(Path(snapshot_dir) / location)
    return store_class(backend)(location, spec.get("namespace", ""), writable=writable)
