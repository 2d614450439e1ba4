"""Read a snapshot's bitmap index lazily: a tag file is opened on first use and each bitmap is
deserialized on first use, then kept for the life of the process (snapshots are immutable).

A snapshot without an index (or a tag without one) still answers every question: the planner
sends those predicates to DuckDB.
"""

from __future__ import annotations

import json
import mmap
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyroaring import BitMap, FrozenBitMap

from portrait.segments.encoding import Encoding
from portrait.segments.errors import SegmentError
from portrait.segments.index_build import FORMAT, MAGIC, VERSION
from portrait.segments.ranges import EMPTY, RangeIndex


class TagFile:
    def __init__(self, path: Path):
        self.path = path
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise SegmentError(f"{path} is not a Portrait bitmap file")
            (size,) = struct.unpack("<Q", f.read(8))
            self.header: dict[str, Any] = json.loads(f.read(size))
            self.data_start = len(MAGIC) + 8 + size
            self.mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.cache: dict[str, Any] = {}
        self.kind: str = self.header["kind"]
        self._value_pos: dict | None = None
        self._key_pos: dict | None = None

    def blob(self, name: str) -> memoryview | None:
        loc = self.header["blobs"].get(name)
        if loc is None:
            return None
        start = self.data_start + loc[0]
        return memoryview(self.mm)[start:start + loc[1]]

    def array(self, name: str, dtype) -> np.ndarray:
        """A blob as a numpy array, copied into the process on first use: a view of the mmap
        would page-fault again whenever the page cache is under pressure (measured: 10x slower)."""
        a = self.cache.get(name)
        if a is None:
            raw = self.blob(name)
            a = np.zeros(0, dtype=dtype) if raw is None else np.frombuffer(raw, dtype=dtype).copy()
            self.cache[name] = a
        return a

    def bitmap(self, name: str) -> FrozenBitMap:
        b = self.cache.get(name)
        if b is None:
            raw = self.blob(name)
            b = EMPTY if raw is None else FrozenBitMap.deserialize(bytes(raw))
            self.cache[name] = b
        return b

    def value_pos(self) -> dict:
        if self._value_pos is None:
            self._value_pos = {v: i for i, v in enumerate(self.header.get("values", []))}
        return self._value_pos

    def key_pos(self) -> dict:
        if self._key_pos is None:
            self._key_pos = {k: i for i, k in enumerate(self.header.get("keys", []))}
        return self._key_pos


class BitmapIndex:
    """The bitmap index of one snapshot (or an empty stand-in when it has none)."""

    def __init__(self, root: Path | None, n: int | None = None):
        self.root = root
        self.manifest: dict[str, Any] = {"tags": {}, "users": n or 0}
        if root is not None:
            self.manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
            if self.manifest.get("format") != FORMAT or self.manifest.get("version") != VERSION:
                raise SegmentError(f"bitmap index in {root} has an unknown format or version",
                                   hint="rebuild the snapshot with this Portrait")
        self.n: int = int(self.manifest["users"])
        self.all = FrozenBitMap(range(self.n))
        self.files: dict[str, TagFile] = {}
        self.ranges: dict[tuple, RangeIndex] = {}
        self._users: pa.Array | None = None
        self._lock = threading.Lock()

    # -- tags ------------------------------------------------------------------------------
    def kind(self, tag: str) -> str | None:
        entry = self.manifest["tags"].get(tag)
        return entry["kind"] if entry else None

    def tag(self, tag: str) -> TagFile:
        f = self.files.get(tag)
        if f is None:
            with self._lock:
                f = self.files.get(tag)
                if f is None:
                    f = TagFile(self.root / self.manifest["tags"][tag]["file"])
                    self.files[tag] = f
        return f

    def null(self, tag: str) -> FrozenBitMap:
        return self.tag(tag).bitmap("null")

    def known(self, tag: str) -> FrozenBitMap:
        f = self.tag(tag)
        k = f.cache.get("__known")
        if k is None:
            k = f.cache["__known"] = self.all - f.bitmap("null")
        return k

    def values(self, tag: str) -> list:
        return list(self.tag(tag).header.get("values", []))

    def counts(self, tag: str) -> dict:
        h = self.tag(tag).header
        return dict(zip(h.get("values", []), h.get("counts", [])))

    def eq(self, tag: str, value) -> FrozenBitMap:
        f = self.tag(tag)
        i = f.value_pos().get(value)
        return EMPTY if i is None else f.bitmap(f"v{i}")

    def numeric(self, tag: str) -> RangeIndex:
        """The range index of an integer, number or timestamp tag."""
        r = self.ranges.get((tag, None))
        if r is None:
            f = self.tag(tag)
            r = self.ranges[(tag, None)] = self._range(f, f.header["enc"], "", self.known(tag))
        return r

    def weights(self, tag: str, key: str) -> RangeIndex | None:
        """The range index over one weighted-set key's weights (None: no user has a weight for it)."""
        r = self.ranges.get((tag, key))
        if r is None:
            f = self.tag(tag)
            j = f.key_pos().get(key)
            if j is None or "enc" not in f.header["entries"][j]:
                return None
            r = self.ranges[(tag, key)] = self._range(f, f.header["entries"][j]["enc"], f"k{j}.",
                                                     self.key_known(tag, key))
        return r

    @staticmethod
    def _range(f: TagFile, meta: dict, prefix: str, known) -> RangeIndex:
        dictionary = None
        if meta["kind"] == "rank":
            dictionary = f.array(f"{prefix}dict", np.dtype(meta["dict_dtype"]))
        enc = Encoding(meta["kind"], meta["max_key"], meta["base"], meta["step"], meta["scale"], dictionary)
        dtype = np.dtype(meta["key_dtype"])
        return RangeIndex(known, enc, [tuple(b) for b in meta["bins"]],
                          lambda j, f=f, p=prefix: f.bitmap(f"{p}c{j}"),
                          lambda j, f=f, p=prefix, dt=dtype: (f.array(f"{p}b{j}.o", np.uint32),
                                                              f.array(f"{p}b{j}.k", dt)))

    def has(self, tag: str, key: str) -> FrozenBitMap:
        f = self.tag(tag)
        j = f.key_pos().get(key)
        return EMPTY if j is None else f.bitmap(f"k{j}.has")

    def key_known(self, tag: str, key: str) -> FrozenBitMap:
        """Users whose first `key` element has a non-NULL weight."""
        f = self.tag(tag)
        j = f.key_pos().get(key)
        if j is None:
            return EMPTY
        return f.bitmap(f"k{j}.known") if f"k{j}.known" in f.header["blobs"] else f.bitmap(f"k{j}.has")

    def keys(self, tag: str) -> list[str]:
        return list(self.tag(tag).header.get("keys", []))

    # -- users -----------------------------------------------------------------------------
    def user_ids(self) -> pa.Array:
        """ordinal → user_id (memory-mapped Arrow)."""
        if self._users is None:
            source = pa.memory_map(str(self.root / "users.arrow"), "r")
            col = pa.ipc.open_file(source).read_all().column(0)
            # one chunk (as written): use it in place; combine_chunks would copy 1 GB at 100M users
            self._users = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
        return self._users

    def ordinal(self, user_id: str) -> int | None:
        idx = pc.index(self.user_ids(), pa.scalar(str(user_id), pa.string())).as_py()
        return None if idx is None or idx < 0 else int(idx)

    def take(self, members: BitMap) -> pa.Array:
        ords = np.frombuffer(memoryview(members.to_array()), dtype=np.uint32) if len(members) else np.zeros(0, np.uint32)
        return self.user_ids().take(pa.array(ords))

    @property
    def nbytes(self) -> int:
        return int(self.manifest.get("bytes", 0))


_CACHE: "OrderedDict[str, BitmapIndex]" = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 8


def open_index(bitmaps_dir: str | Path | None, n: int | None = None) -> BitmapIndex:
    """The index in `bitmaps_dir` (cached per process), or an empty stand-in for `n` users."""
    if bitmaps_dir is None or not (Path(bitmaps_dir) / "manifest.json").exists():
        return BitmapIndex(None, n)
    key = str(Path(bitmaps_dir).resolve())
    with _CACHE_LOCK:
        idx = _CACHE.get(key)
        if idx is not None:
            _CACHE.move_to_end(key)
            return idx
    idx = BitmapIndex(Path(key))
    with _CACHE_LOCK:
        _CACHE[key] = idx
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return idx
