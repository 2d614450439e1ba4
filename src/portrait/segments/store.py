"""Saved segments in the warehouse: definitions, size history and member bitmaps per snapshot.

    warehouse/segments/segments.json                 definitions + history (replaced atomically)
    warehouse/segments/members/<snapshot>/<name>.roaring   who was in the segment in that snapshot

Edits hold an exclusive lock on `warehouse/segments/.lock` for the read-modify-write, so two
commands (or a build and a command) never lose each other's changes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pyroaring import BitMap

from portrait.segments.bind import SegmentSource, SplitSpec, suggest
from portrait.segments.errors import SegmentError, SegmentNotFound
from portrait.snapshot.store import write_atomic

VERSION = 1


class SegmentStore:
    def __init__(self, warehouse: str | Path):
        self.root = Path(warehouse) / "segments"
        self.file = self.root / "segments.json"

    # -- definitions -------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": VERSION, "segments": {}}
        if data.get("version") != VERSION:
            raise SegmentError(f"{self.file} has version {data.get('version')}; this Portrait reads {VERSION}")
        return data

    @contextmanager
    def edit(self) -> Iterator[dict[str, dict]]:
        """Lock, load, let the caller change `segments`, then write atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = self._read()
                yield data["segments"]
                write_atomic(self.file, json.dumps(data, ensure_ascii=False, indent=1))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def all(self) -> dict[str, dict]:
        return self._read()["segments"]

    def get(self, name: str) -> dict:
        segments = self.all()
        if name not in segments:
            close = suggest(name, segments)
            raise SegmentNotFound(f"no saved segment {name!r}",
                                  hint=f"did you mean `{close}`?" if close else "`portrait segment list` shows them")
        return segments[name]

    def sources(self) -> dict[str, SegmentSource]:
        return {name: source(d) for name, d in self.all().items()}

    # -- members -----------------------------------------------------------------------------
    def members_path(self, snapshot_id: str, name: str) -> Path:
        return self.root / "members" / snapshot_id / f"{name}.roaring"

    def save_members(self, snapshot_id: str, name: str, members: BitMap) -> None:
        path = self.members_path(snapshot_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        b = BitMap(members) if not isinstance(members, BitMap) else members
        b.run_optimize()
        tmp.write_bytes(b.serialize())
        os.replace(tmp, path)

    def load_members(self, snapshot_id: str, name: str) -> BitMap | None:
        path = self.members_path(snapshot_id, name)
        return BitMap.deserialize(path.read_bytes()) if path.exists() else None

    def delete_members(self, name: str) -> None:
        for path in (self.root / "members").glob(f"*/{name}.roaring"):
            path.unlink(missing_ok=True)

    def prune_members(self, snapshot_ids: set[str]) -> None:
        """Drop member bitmaps of snapshots that no longer exist (the warehouse pruned them)."""
        for folder in (self.root / "members").glob("*"):
            if folder.is_dir() and folder.name not in snapshot_ids:
                shutil.rmtree(folder, ignore_errors=True)


def source(d: dict) -> SegmentSource:
    split = d.get("split")
    if split:
        return SegmentSource(d["name"], None, SplitSpec(split["parent"], int(split["seed"]), int(split["lo"]),
                                                        int(split["hi"])))
    return SegmentSource(d["name"], d["expression"])
