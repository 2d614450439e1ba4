"""Immutable snapshots on the local file system, published atomically.

Layout of a warehouse:

    warehouse/
      CURRENT                  id of the current snapshot (replaced with an atomic rename)
      snapshots/<id>/          one published snapshot: manifest.json, profiles.parquet, ...
      snapshots/.staging-<id>/ a build in progress; never read; removed when its builder is gone

A build writes everything into its staging folder, fsyncs it, renames it into place and only
then moves CURRENT. A crash at any point leaves the previous snapshot current and complete.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import psutil

from portrait.errors import SnapshotError
from portrait.snapshot.manifest import SCHEMA_VERSION, Manifest

STAGING_PREFIX = ".staging-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for p in path.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    for d in [path, *[p for p in path.rglob("*") if p.is_dir()]]:
        _fsync_dir(d)


def write_atomic(path: Path, content: str | bytes) -> None:
    """Replace a file so readers see either the old or the new content, never a mix (fsync'd)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def new_snapshot_id(as_of: datetime | None = None) -> str:
    now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{now}-asof-{as_of.strftime('%Y%m%dT%H%M%S')}" if as_of else now


class Staging:
    """A build's private folder; becomes a snapshot only through `SnapshotStore.publish`."""

    def __init__(self, path: Path, snapshot_id: str):
        self.path = path
        self.snapshot_id = snapshot_id

    def file(self, name: str) -> Path:
        return self.path / name


class Snapshot:
    """A published snapshot: read-only access to its files."""

    def __init__(self, path: Path):
        self.path = path
        manifest_file = path / "manifest.json"
        if not manifest_file.exists():
            raise SnapshotError(f"snapshot {path.name} has no manifest")
        raw = json.loads(manifest_file.read_text(encoding="utf-8"))
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise SnapshotError(
                f"snapshot {path.name} has manifest schema version {raw.get('schema_version')}; "
                f"this Portrait reads version {SCHEMA_VERSION}"
            )
        self.manifest = Manifest.model_validate(raw)

    @property
    def id(self) -> str:
        return self.manifest.snapshot_id

    def file(self, name: str) -> Path:
        return self.path / self.manifest.files.get(name, name)

    def read_json(self, name: str):
        return json.loads(self.file(name).read_text(encoding="utf-8"))


class SnapshotStore:
    def __init__(self, warehouse: Path):
        self.warehouse = Path(warehouse)
        self.root = self.warehouse / "snapshots"

    # -- writing ---------------------------------------------------------------------------
    def begin(self, snapshot_id: str) -> Staging:
        self.root.mkdir(parents=True, exist_ok=True)
        self.clean_abandoned()
        path = self.root / f"{STAGING_PREFIX}{snapshot_id}"
        path.mkdir()
        (path / ".pid").write_text(str(os.getpid()))
        return Staging(path, snapshot_id)

    def publish(self, staging: Staging, manifest: Manifest, make_current: bool = True) -> Snapshot:
        write_atomic(staging.file("manifest.json"), manifest.model_dump_json(indent=2))
        (staging.path / ".pid").unlink(missing_ok=True)
        _fsync_tree(staging.path)
        final = self.root / staging.snapshot_id
        os.rename(staging.path, final)
        _fsync_dir(self.root)
        if make_current:
            write_atomic(self.warehouse / "CURRENT", staging.snapshot_id + "\n")
        return Snapshot(final)

    def abort(self, staging: Staging) -> None:
        shutil.rmtree(staging.path, ignore_errors=True)

    def clean_abandoned(self) -> None:
        """Remove staging folders whose builder process is gone (killed mid-build)."""
        for path in self.root.glob(f"{STAGING_PREFIX}*"):
            pid_file = path / ".pid"
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                pid = -1
            if pid != os.getpid() and not psutil.pid_exists(pid):
                shutil.rmtree(path, ignore_errors=True)

    def prune(self, keep: int) -> list[str]:
        """Keep the newest `keep` regular snapshots (and the current one); as-of snapshots stay."""
        current = self.current_id()
        regular = [s for s in self.ids() if "-asof-" not in s]
        doomed = [s for s in regular[:-keep] if s != current] if keep > 0 else []
        for s in doomed:
            shutil.rmtree(self.root / s, ignore_errors=True)
        return doomed

    # -- reading ---------------------------------------------------------------------------
    def ids(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def current_id(self) -> str | None:
        try:
            return (self.warehouse / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def open(self, snapshot_id: str | None = None) -> Snapshot:
        """The given snapshot (an id or a unique prefix), or the current one."""
        if snapshot_id in (None, "current"):
            snapshot_id = self.current_id()
            if snapshot_id is None:
                raise SnapshotError("no snapshot yet", hint="run `portrait build` first")
        path = self.root / snapshot_id
        if not path.is_dir():
            matches = [s for s in self.ids() if s.startswith(snapshot_id)]
            if len(matches) != 1:
                raise SnapshotError(f"no snapshot {snapshot_id!r}", hint="`portrait snapshots` lists them")
            path = self.root / matches[0]
        return Snapshot(path)

    def list(self) -> list[Snapshot]:
        out = []
        for s in self.ids():
            try:
                out.append(Snapshot(self.root / s))
            except SnapshotError:
                continue
        return out


def connect(snapshot: Snapshot, tables: tuple[str, ...] = ("profiles", "events", "users", "items", "quarantine")):
    """A DuckDB connection with the snapshot's tables as views (read-only use by applications)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{snapshot.manifest.timezone}'")
    for name in tables:
        path = snapshot.file(name)
        if path.exists():
            con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")
    return con
