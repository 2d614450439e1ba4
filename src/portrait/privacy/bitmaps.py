"""Forget in the segments' bitmap index and saved-segment member lists.

Why here and not a rebuild: the index of a snapshot maps ordinal = row of profiles.parquet, and
saved segments keep member bitmaps per snapshot; forgetting must not shift any ordinal. So the
user's profile row is blanked in place (see `forget.py`), and here:
  - `bitmaps/users.arrow`: the user's ordinal → user_id entry becomes NULL;
  - every `bitmaps/tags/*.prbm`: the ordinal is cleared from every bitmap and added to the tag's
    NULL bitmap (the blanked row is NULL for every tag, as the SQL fallback sees it); an `eq`
    value whose bitmap becomes empty was this user's alone (an e-mail, a phone) and its label is
    replaced by a tombstone; weighted-set keys naming the id likewise;
  - `warehouse/segments/members/<snapshot>/*.roaring`: the ordinal is cleared.
The file format (magic, header length, JSON header, blobs) is the one `segments.index_build` writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap

MAGIC = b"PRBM1\n"
NOT_BITMAPS = re.compile(r"(^|\.)dict$")  # raw numpy dictionaries of rank-encoded BSIs


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.forget.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _ordinals(users_file: Path, ids: list[str]) -> tuple[pa.Array, list[int]]:
    with pa.memory_map(str(users_file), "r") as source:
        users = pa.ipc.open_file(source).read_all().column(0).combine_chunks()
    hit = pc.is_in(users, value_set=pa.array(ids, pa.string())).fill_null(False)
    return users, [int(i) for i in pc.indices_nonzero(hit).to_pylist()]


def _tombstone(value: str) -> str:
    return "<forgotten:" + hashlib.sha256(value.encode()).hexdigest()[:12] + ">"


def _scrub_tag_file(path: Path, ords: list[int], pattern: re.Pattern) -> int:
    raw = path.read_bytes()
    if not raw.startswith(MAGIC):
        return 0
    (size,) = struct.unpack("<Q", raw[len(MAGIC):len(MAGIC) + 8])
    start = len(MAGIC) + 8
    header = json.loads(raw[start:start + size])
    data = raw[start + size:]
    doomed = BitMap(ords)
    cleared = 0
    blobs: dict[str, bytes] = {}
    for name, (off, length) in header["blobs"].items():
        blob = data[off:off + length]
        if not NOT_BITMAPS.search(name):
            b = BitMap.deserialize(blob)
            if name == "null":
                added = len(doomed - b)
                b |= doomed
                header["nulls"] = header.get("nulls", 0) + added
            else:
                hit = b & doomed
                if hit:
                    cleared += len(hit)
                    b -= doomed
                    m = re.fullmatch(r"v(\d+)", name)
                    if m and "values" in header:
                        i = int(m.group(1))
                        if "counts" in header:
                            header["counts"][i] -= len(hit)
                        if not b and isinstance(header["values"][i], str):
                            header["values"][i] = _tombstone(header["values"][i])
            blob = b.serialize()
        blobs[name] = blob
    if "keys" in header:
        header["keys"] = [_tombstone(k) if isinstance(k, str) and pattern.search(k) else k for k in header["keys"]]
    offset, parts = 0, []
    for name, blob in blobs.items():
        header["blobs"][name] = [offset, len(blob)]
        parts.append(blob)
        offset += len(blob)
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    _replace(path, MAGIC + struct.pack("<Q", len(head)) + head + b"".join(parts))
    return cleared


def scrub_bitmaps(warehouse: Path, snapshot_dir: Path, ids: list[str], token_pattern: re.Pattern) -> dict[str, int]:
    """Remove the users from one snapshot's bitmap index and its saved-segment member lists."""
    root = snapshot_dir / "bitmaps"
    users_file = root / "users.arrow"
    if not users_file.exists():
        return {}
    users, ords = _ordinals(users_file, ids)
    if not ords:
        return {"bitmap_bits": 0}
    # Rebuilt from Python values: Arrow kernels would keep the old bytes in the data buffer.
    values = users.to_pylist()
    for o in ords:
        values[o] = None
    blanked = pa.array(values, pa.string())
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, pa.schema([("user_id", pa.string())])) as writer:
        writer.write_table(pa.table({"user_id": blanked}))
    _replace(users_file, sink.getvalue().to_pybytes())
    bits = sum(_scrub_tag_file(p, ords, token_pattern) for p in sorted((root / "tags").glob("*.prbm")))
    members = 0
    doomed = BitMap(ords)
    for path in sorted((warehouse / "segments" / "members" / snapshot_dir.name).glob("*.roaring")):
        b = BitMap.deserialize(path.read_bytes())
        if b & doomed:
            members += len(b & doomed)
            b -= doomed
            _replace(path, b.serialize())
    _invalidate_index_cache()
    return {"bitmap_bits": bits, "segment_members": members}


def _invalidate_index_cache() -> None:
    """The segments package caches opened indexes per process; drop them so no stale copy is served."""
    try:
        from portrait.segments import index
    except ImportError:
        return
    lock = getattr(index, "_CACHE_LOCK", None)
    cache = getattr(index, "_CACHE", None)
    if cache is not None and lock is not None:
        with lock:
            cache.clear()
