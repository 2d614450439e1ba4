"""Forget in the segments' bitmap index and saved-segment member lists.

Why here and not a rebuild: the index of a snapshot maps ordinal = row of profiles.parquet, and
saved segments keep member bitmaps per snapshot; forgetting must not shift any ordinal. So the
user's profile row is blanked in place (see `forget.py`), and here:
  - the index itself (user map, NULL, value and range bitmaps) is scrubbed by the segments
    package, which owns its file format (`segments.scrub.forget_users`); a value that was this
    user's alone (an e-mail, a phone) is replaced by a tombstone;
  - `warehouse/segments/members/<snapshot>/*.roaring`: the ordinal is cleared.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap

from portrait.segments.scrub import forget_users, invalidate_caches
from portrait.snapshot.store import write_atomic


def _ordinals(users_file: Path, ids: list[str]) -> list[int]:
    with pa.memory_map(str(users_file), "r") as source:
        users = pa.ipc.open_file(source).read_all().column(0).combine_chunks()
    hit = pc.is_in(users, value_set=pa.array(ids, pa.string())).fill_null(False)
    return [int(i) for i in pc.indices_nonzero(hit).to_pylist()]


def _tombstone(value: str) -> str:
    return "<forgotten:" + hashlib.sha256(value.encode()).hexdigest()[:12] + ">"


def scrub_bitmaps(warehouse: Path, snapshot_dir: Path, ids: list[str], token_pattern: re.Pattern) -> dict[str, int]:
    """Remove the users from one snapshot's bitmap index and its saved-segment member lists."""
    root = snapshot_dir / "bitmaps"
    users_file = root / "users.arrow"
    if not users_file.exists():
        return {}
    ords = _ordinals(users_file, ids)  # read before the index's own scrub blanks the user map
    if not ords:
        return {"bitmap_bits": 0}
    bits = forget_users(root, ids, _tombstone, token_pattern).get("bitmap_bits", 0)
    members = 0
    doomed = BitMap(ords)
    for path in sorted((warehouse / "segments" / "members" / snapshot_dir.name).glob("*.roaring")):
        b = BitMap.deserialize(path.read_bytes())
        if b & doomed:
            members += len(b & doomed)
            b -= doomed
            write_atomic(path, b.serialize())
    invalidate_caches()
    return {"bitmap_bits": bits, "segment_members": members}
