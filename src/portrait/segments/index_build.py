"""Build the bitmap index of a snapshot from its profiles.parquet (ordinal = row number).

Layout under `<snapshot>/bitmaps/`:

    manifest.json        format, version, users, per tag: kind, file, bytes, seconds
    users.arrow          the ordinal → user_id map (Arrow IPC, memory-mapped on load)
    tags/<tag>.prbm      one file per tag: magic, header JSON, then serialized roaring bitmaps

Kinds: `eq` (bool, enum, string with ≤ max_distinct values: one bitmap per value), `range`
(integer, number, timestamp: binned range encoding over an order-preserving key, see ranges.py),
`wset` (weighted sets: per key a presence bitmap plus ordinal-sorted members and weights), `sql`
(high-cardinality strings: only the NULL bitmap; predicates fall back to DuckDB). Every kind
stores the tag's NULL bitmap. Blobs are 8-byte aligned so arrays are read in place from the mmap.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyroaring import BitMap

from portrait.segments.encoding import choose_encoding
from portrait.segments.ranges import key_dtype, snap_bounds, to_bitmap

FORMAT, VERSION, MAGIC = "portrait.bitmaps", 2, b"PRBM2\n"
MAX_DISTINCT = 5000
PURE_BINS = 100  # a numeric tag with fewer distinct values gets one bin per value (e.g. age)


def default_bins(n_known: int) -> int:
    """32 equal-frequency bins for large tags (a boundary bin is ≤ 3% of users), fewer when small."""
    return max(1, min(32, n_known // 30_000))


class TagWriter:
    """Collects blobs of one tag file and writes header + blobs at once."""

    def __init__(self, tag: str, type_: str, kind: str):
        self.header: dict[str, Any] = {"tag": tag, "type": type_, "kind": kind, "blobs": {}}
        self.parts: list[bytes] = []
        self.offset = 0

    def add(self, name: str, data: bytes) -> None:
        self.header["blobs"][name] = [self.offset, len(data)]
        pad = -len(data) % 8
        self.parts.append(data + b"\0" * pad)
        self.offset += len(data) + pad

    def bitmap(self, name: str, ords: np.ndarray | BitMap) -> BitMap:
        b = ords if isinstance(ords, BitMap) else to_bitmap(ords)
        self.add(name, b.serialize())
        return b

    def write(self, path: Path) -> int:
        head = json.dumps(self.header, ensure_ascii=False, separators=(",", ":")).encode()
        head += b" " * (-(len(MAGIC) + 8 + len(head)) % 8)  # blobs start 8-byte aligned
        with open(path, "wb") as f:
            f.write(MAGIC + struct.pack("<Q", len(head)) + head)
            for p in self.parts:
                f.write(p)
        return len(MAGIC) + 8 + len(head) + self.offset


def _groups(codes: np.ndarray, n_codes: int) -> list[np.ndarray]:
    """Ordinals per code (codes ≥ 0), each sorted: a stable sort (radix for small code ranges)."""
    dtype = np.uint16 if n_codes < 65_535 else np.int64
    order = np.argsort(codes.astype(dtype), kind="stable")
    counts = np.bincount(codes, minlength=n_codes)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [order[bounds[i]:bounds[i + 1]] for i in range(n_codes)]


def _write_range(w: TagWriter, ords: np.ndarray, values: np.ndarray, domain: str, bins: int | None,
                 prefix: str = "", pure_bins: int = PURE_BINS) -> dict:
    """Keys, bins (ordinal-sorted pairs; none for a one-value bin) and cumulative bitmaps."""
    enc, keys = choose_encoding(values, domain)
    meta = enc.meta()
    if enc.kind == "rank":
        w.add(f"{prefix}dict", np.ascontiguousarray(enc.dictionary).tobytes())
        meta["dict_dtype"] = str(enc.dictionary.dtype)
    dtype = key_dtype(enc.max_key)
    meta["key_dtype"] = np.dtype(dtype).name
    keys = keys.astype(dtype, copy=False)  # narrower keys: less memory, radix sort for ≤ 16 bits
    ords = ords.astype(np.uint32, copy=False)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    changes = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    if len(keys) and len(changes) < pure_bins:  # few values: one bin per value, no boundary scans ever
        bounds = [0, *changes.tolist(), len(keys)]
    else:
        bounds = snap_bounds(sorted_keys, bins or default_bins(len(keys))) if len(keys) else [0]
    cum, meta_bins = BitMap(), []
    for j in range(len(bounds) - 1):
        idx = order[bounds[j]:bounds[j + 1]]
        bo, bk = ords[idx], keys[idx]
        by_ord = np.argsort(bo, kind="stable")
        bo, bk = bo[by_ord].astype(np.uint32), bk[by_ord].astype(dtype)
        lo, hi = int(bk.min()), int(bk.max())
        if lo != hi:  # a one-value bin is never a boundary bin: its pairs are never read
            w.add(f"{prefix}b{j}.o", bo.tobytes())
            w.add(f"{prefix}b{j}.k", bk.tobytes())
        meta_bins.append([lo, hi, len(bo)])
        if j < len(bounds) - 2:
            cum |= to_bitmap(bo)
            cum.run_optimize()
            w.add(f"{prefix}c{j}", cum.serialize())
    meta["bins"] = meta_bins
    return meta


def _numeric(col: pa.Array, type_: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(non-null ordinals, their values, domain) of an integer/number/timestamp column."""
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    ords = np.flatnonzero(valid)
    if type_ == "timestamp":
        col = col.cast(pa.timestamp("us", tz=getattr(col.type, "tz", None) or "UTC")).cast(pa.int64())
    filled = col.fill_null(0).to_numpy(zero_copy_only=False)
    if type_ == "number":
        return ords, filled[ords].astype(np.float64), "float"
    return ords, filled[ords].astype(np.int64), "int"


def _categorical(w: TagWriter, col: pa.Array, type_: str, max_distinct: int) -> None:
    if type_ == "bool":
        codes = np.where(col.is_valid().to_numpy(zero_copy_only=False),
                         col.fill_null(False).to_numpy(zero_copy_only=False).astype(np.int64), -1)
        values: list = [False, True]
    else:
        enc = pc.dictionary_encode(col.cast(pa.string()))
        values = enc.dictionary.to_pylist()
        if type_ == "string" and len(values) > max_distinct:
            w.header.update(kind="sql", distinct=len(values))
            return
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    present = codes >= 0
    groups = _groups(codes[present], len(values))
    ords_present = np.flatnonzero(present)
    counts = []
    for i, g in enumerate(groups):
        w.bitmap(f"v{i}", ords_present[g])
        counts.append(len(g))
    w.header.update(values=values, counts=counts)


def _weighted_set(w: TagWriter, col: pa.Array, pure_bins: int = PURE_BINS) -> None:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    parents = pc.list_parent_indices(col).to_numpy(zero_copy_only=False)
    flat = col.flatten()
    key = pc.dictionary_encode(flat.field("key").cast(pa.string()))
    weight = flat.field("weight").cast(pa.float64())
    keys = key.dictionary.to_pylist()
    codes = key.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    ok = (codes >= 0) & flat.is_valid().to_numpy(zero_copy_only=False)
    wvalid = weight.is_valid().to_numpy(zero_copy_only=False)
    wvals = weight.fill_null(0.0).to_numpy(zero_copy_only=False)
    codes, parents, wvalid, wvals = codes[ok], parents[ok], wvalid[ok], wvals[ok]
    entries = []
    for j, g in enumerate(_groups(codes, len(keys))):
        p = parents[g]
        first = np.ones(len(p), dtype=bool)
        first[1:] = p[1:] != p[:-1]  # DuckDB's list_filter(...)[1]: the first element with this key
        p, known, vals = p[first], wvalid[g][first], wvals[g][first]
        has = w.bitmap(f"k{j}.has", p)
        entry = {"count": len(has), "known": int(known.sum())}
        if not known.all():
            w.bitmap(f"k{j}.known", p[known])
        if entry["known"]:
            kb = max(1, min(8, entry["known"] // 30_000))  # fewer bins per key: cum bitmaps cost space
            entry["enc"] = _write_range(w, p[known], vals[known], "float", kb, f"k{j}.", pure_bins)
        entries.append(entry)
    w.header.update(keys=keys, entries=entries)


def build_tag(col: pa.Array, tag: str, type_: str, path: Path, max_distinct: int = MAX_DISTINCT,
              bins: int | None = None, pure_bins: int = PURE_BINS, pii: bool = False) -> dict:
    """Write one tag's file; returns its manifest entry. A PII tag's values are never copied into the
    index (only its NULL bitmap): its predicates run in DuckDB over the profile table."""
    t0 = time.perf_counter()
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    kind = {"bool": "eq", "enum": "eq", "string": "eq", "weighted_set": "wset"}.get(type_, "range")
    w = TagWriter(tag, type_, kind)
    null = np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))
    w.bitmap("null", null)
    w.header["nulls"] = len(null)
    if pii and kind == "eq":
        w.header.update(kind="sql", pii=True)
    elif kind == "eq":
        _categorical(w, col, type_, max_distinct)
    elif kind == "range":
        ords, values, domain = _numeric(col, type_)
        w.header["enc"] = _write_range(w, ords, values, domain, bins, "", pure_bins)
        w.header["domain"] = domain
    else:
        _weighted_set(w, col, pure_bins)
    size = w.write(path)
    return {"kind": w.header["kind"], "type": type_, "file": f"tags/{path.name}", "bytes": size,
            "seconds": round(time.perf_counter() - t0, 4)}


def build_index(profiles: str | Path, tags: Sequence[Any], out_dir: str | Path,
                max_distinct: int = MAX_DISTINCT, bins: int | None = None, pure_bins: int = PURE_BINS) -> dict:
    """Index every tag of `tags` (objects with .id and .type) present in the profile table."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    (out / "tags").mkdir(parents=True, exist_ok=True)
    pf = pq.ParquetFile(profiles)
    n = pf.metadata.num_rows
    columns = set(pf.schema_arrow.names)
    users = pf.read(columns=["user_id"]).column(0).combine_chunks().cast(pa.string())
    with pa.OSFile(str(out / "users.arrow"), "wb") as sink, pa.ipc.new_file(sink, pa.schema([("user_id", pa.string())])) as wr:
        wr.write_table(pa.table({"user_id": users}))
    ordered = n < 2 or pc.all(pc.less(users.slice(0, n - 1), users.slice(1))).as_py()
    manifest: dict[str, Any] = {"format": FORMAT, "version": VERSION, "users": n, "user_ids_sorted": bool(ordered),
                                "max_distinct": max_distinct, "tags": {}}
    for tag in tags:
        if tag.id not in columns:
            continue
        col = pf.read(columns=[tag.id]).column(0)
        manifest["tags"][tag.id] = build_tag(col, tag.id, tag.type, out / "tags" / f"{tag.id}.prbm", max_distinct,
                                             bins, pure_bins, pii=getattr(tag, "pii", False))
    manifest["bytes"] = sum(t["bytes"] for t in manifest["tags"].values()) + (out / "users.arrow").stat().st_size
    manifest["build_seconds"] = round(time.perf_counter() - t0, 3)
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest
