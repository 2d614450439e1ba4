"""Versioned, immutable profile snapshots: profiles, tag metadata, events store and index files."""

from portrait.snapshot.manifest import Manifest
from portrait.snapshot.store import Snapshot, SnapshotStore, connect

__all__ = ["Manifest", "Snapshot", "SnapshotStore", "connect"]
