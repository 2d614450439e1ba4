"""Forget users in a snapshot's bitmap index without moving any ordinal.

The privacy stage blanks a forgotten user's profile row in place (every tag NULL, so ordinals,
saved-segment member bitmaps and the SQL fallback all stay aligned); this module makes the index
agree with that row: the ordinal → user_id entry becomes NULL, the ordinal joins every tag's
NULL bitmap and leaves every other bitmap and every (ordinal, key) pair of the range bins.
Labels that only that user had (an `eq` value whose bitmap empties, a weighted-set key matching
`key_pattern`) are replaced by a tombstone. The index format is owned here, next to the writer.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap

from portrait.segments.index_build import MAGIC, TagWriter
from portrait.snapshot.store import write_atomic

PAIRS = re.compile(r"^(?:k\d+\.)?b(\d+)\.(o|k)$")
BITMAP_ARRAYS = re.compile(r"(^|\.)(dict|b\d+\.o|b\d+\.k)$")  # blobs that are numpy arrays, not bitmaps


def _read(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    if not raw.startswith(MAGIC):
        raise ValueError(f"{path} is not a bitmap index file of this version")
    (size,) = struct.unpack("<Q", raw[len(MAGIC):len(MAGIC) + 8])
    start = len(MAGIC) + 8
    return json.loads(raw[start:start + size]), raw[start + size:]


def _bins(header: dict, name: str) -> list | None:
    """The bin list a pair blob belongs to (a numeric tag's, or one weighted-set key's)."""
    m = re.match(r"^k(\d+)\.", name)
    if m:
        return header["entries"][int(m.group(1))].get("enc", {}).get("bins")
    return header.get("enc", {}).get("bins")


def scrub_tag_file(path: Path, ords: Iterable[int], tombstone: Callable[[str], str],
                   key_pattern: re.Pattern | None = None) -> int:
    """Clear the ordinals from one tag file; returns how many bits or pairs were removed."""
    header, data = _read(path)
    doomed = BitMap(ords)
    doomed_arr = np.array(sorted(doomed), dtype=np.uint32)
    blob = {n: data[o:o + ln] for n, (o, ln) in header["blobs"].items()}
    key_dtypes = {}
    removed = 0
    for name in list(blob):
        m = PAIRS.match(name)
        if m and m.group(2) == "o":
            prefix = name[: -len(f"b{m.group(1)}.o")]
            meta = header["enc"] if not prefix else header["entries"][int(prefix[1:-1])]["enc"]
            dt = np.dtype(meta["key_dtype"])
            o = np.frombuffer(blob[name], dtype=np.uint32)
            k = np.frombuffer(blob[name[:-1] + "k"], dtype=dt)
            keep = ~np.isin(o, doomed_arr)
            if not keep.all():
                removed += int((~keep).sum())
                blob[name], blob[name[:-1] + "k"] = o[keep].tobytes(), k[keep].tobytes()
                _bins(header, name)[int(m.group(1))][2] = int(keep.sum())
            key_dtypes[name] = dt
        elif BITMAP_ARRAYS.search(name):
            continue
        else:
            b = BitMap.deserialize(blob[name])
            if name == "null":
                header["nulls"] = header.get("nulls", 0) + len(doomed - b)
                b |= doomed
            elif b & doomed:
                hit = len(b & doomed)
                removed += hit
                b -= doomed
                if re.fullmatch(r"v\d+", name) and "values" in header:
                    i = int(name[1:])
                    header["counts"][i] -= hit
                    if not b and isinstance(header["values"][i], str):
                        header["values"][i] = tombstone(header["values"][i])
                if name.endswith(".has"):
                    header["entries"][int(name[1:-4])]["count"] -= hit
            b.run_optimize()
            blob[name] = b.serialize()
    for name in [n for n in blob if n.endswith(".known") or (n.endswith(".has") and f"{n[:-4]}.known" not in blob)]:
        j = int(name.split(".")[0][1:])
        header["entries"][j]["known"] = len(BitMap.deserialize(blob[name]))
    if key_pattern is not None and "keys" in header:
        header["keys"] = [tombstone(k) if isinstance(k, str) and key_pattern.search(k) else k for k in header["keys"]]
    w = TagWriter(header["tag"], header["type"], header["kind"])
    w.header.update({k: v for k, v in header.items() if k != "blobs"})
    w.header["blobs"] = {}
    for name, b in blob.items():
        w.add(name, b)
    tmp = path.with_name(f".{path.name}.scrub.tmp")
    w.write(tmp)
    os.replace(tmp, path)
    return removed


def forget_users(bitmaps_dir: str | Path, user_ids: list[str], tombstone: Callable[[str], str],
                 key_pattern: re.Pattern | None = None) -> dict[str, int]:
    """Remove users from one snapshot's index: user map, NULL bitmaps, value bitmaps, range bins."""
    root = Path(bitmaps_dir)
    users_file = root / "users.arrow"
    if not users_file.exists():
        return {}
    with pa.memory_map(str(users_file), "r") as source:
        users = pa.ipc.open_file(source).read_all().column(0).combine_chunks()
    hit = pc.is_in(users, value_set=pa.array(user_ids, pa.string())).fill_null(False)
    ords = [int(i) for i in pc.indices_nonzero(hit).to_pylist()]
    if not ords:
        return {"bitmap_bits": 0, "ordinals": 0}
    values = users.to_pylist()  # rebuilt from Python values: Arrow kernels could keep the old bytes
    for o in ords:
        values[o] = None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, pa.schema([("user_id", pa.string())])) as writer:
        writer.write_table(pa.table({"user_id": pa.array(values, pa.string())}))
    write_atomic(users_file, sink.getvalue().to_pybytes())
    bits = sum(scrub_tag_file(p, ords, tombstone, key_pattern) for p in sorted((root / "tags").glob("*.prbm")))
    invalidate_caches()
    return {"bitmap_bits": bits, "ordinals": len(ords)}


def invalidate_caches() -> None:
    """Drop every per-process copy of index data (opened indexes, split hashes)."""
    from portrait.segments import index, table

    with index._CACHE_LOCK:
        index._CACHE.clear()
    with table._HASH_LOCK:
        table._HASHES.clear()
