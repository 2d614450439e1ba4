"""Reading a segment's members: explain one user, diff two snapshots, export to a file.

Part of the service API (re-exported by `portrait.segments.service`); JSON-ready dicts out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from portrait.apps.profiles import jsonable
from portrait.config import Project
from portrait.errors import NotFound
from portrait.segments import ast as A
from portrait.segments.bind import BAnd, BNot, BOr, Bound, BoundNode, Pred, Ref, suggest
from portrait.segments.errors import SegmentError
from portrait.segments.planner import Planner, leaves


def _service():
    from portrait.segments import service

    return service


# -- explain -------------------------------------------------------------------------------------

def _weight(values, key: str):
    for item in values or []:
        if item and item.get("key") == key:
            return item.get("weight")
    return None


def _node(planner: Planner, node: BoundNode, expr: A.Expression, ordinal: int, row: dict) -> dict:
    text = expr.source[node.node.span[0]:node.node.span[1]] if node.node is not None else ""
    out = {"clause": text, "result": planner.truth(node, ordinal)}
    if isinstance(node, Pred):
        value = row.get(node.tag)
        out["kind"] = "predicate"
        out["tag"] = node.tag
        if node.key is not None:
            out["key"] = node.key
            out["value"] = jsonable(_weight(value, node.key))
            out["values"] = jsonable(value)
        else:
            out["value"] = jsonable(value)
        out["source"] = "bitmap" if planner.indexable(node) else "sql"
    elif isinstance(node, Ref):
        out["kind"] = "segment"
        out["segment"] = node.name
        if node.split is not None:
            h = int(planner.hashes(node.split.seed)[ordinal])
            out["split"] = {"parent": node.split.parent, "seed": node.split.seed, "bucket": h,
                            "range": [node.split.lo, node.split.hi], "in_range": node.split.lo <= h < node.split.hi}
        out["children"] = [_node(planner, node.root, node.expr, ordinal, row)]
    elif isinstance(node, BNot):
        out["kind"] = "NOT"
        out["children"] = [_node(planner, node.child, expr, ordinal, row)]
    else:
        out["kind"] = "AND" if isinstance(node, BAnd) else "OR"
        out["children"] = [_node(planner, c, expr, ordinal, row) for c in node.children]
    return out


def explain(project: Project | str | Path, name: str | None, user_id: str, snapshot: str | None = None,
            expression: str | None = None) -> dict:
    """Why a user is (or is not) in a segment: every clause TRUE, FALSE or UNKNOWN (a NULL made it
    so), with the user's actual tag values."""
    svc = _service()
    ctx = svc.context(project, snapshot)
    if expression is None:
        if name is None:
            raise SegmentError("give a segment name or an expression")
        ctx.store.get(name)
        bound = ctx.bind(f"@{name}")
    else:
        bound = ctx.bind(expression)
    ordinal = ctx.index.ordinal(user_id) if ctx.index.root is not None else _ordinal_sql(ctx, user_id)
    if ordinal is None:
        raise NotFound(f"no user {user_id!r} in snapshot {ctx.snapshot.id}")
    planner = ctx.planner(bound)
    tags = sorted({p.tag for p in leaves(bound.root)})
    row = ctx.table.row(ordinal, tags) if tags else {}
    root = bound.root
    tree = _node(planner, root, bound.expr, ordinal, row)
    if isinstance(root, Ref) and expression is None:
        tree = tree["children"][0] if root.split is None else tree
    if expression is None:
        expression = ctx.store.get(name).get("expression")
    return {
        "segment": name, "expression": expression, "user_id": str(user_id), **svc._snap_info(ctx), "member": planner.truth(root, ordinal) == "true",
        "explanation": tree,
    }


def _ordinal_sql(ctx, user_id: str) -> int | None:
    from portrait.segments.sqlgen import string

    t = ctx.table.query(f"SELECT file_row_number AS o FROM {ctx.table.source()} WHERE user_id = {string(str(user_id))}")
    return int(t.column(0)[0].as_py()) if t.num_rows else None


# -- diff ----------------------------------------------------------------------------------------

def _members_at(svc, project, name: str, snapshot: str | None):
    ctx = svc.context(project, snapshot)
    stored = ctx.store.load_members(ctx.snapshot.id, name)
    if stored is not None:
        return ctx, stored, "stored"
    return ctx, svc.members_of(ctx, name), "evaluated"


def diff(project: Project | str | Path, name: str, from_snapshot: str, to_snapshot: str | None = None,
         limit: int = 100, out: str | Path | None = None) -> dict:
    """Users who entered and left a segment between two snapshots. Uses the members recorded when
    each snapshot was built (what the segment really was then); evaluates the current definition
    on snapshots that have none (e.g. `build --as-of` snapshots)."""
    svc = _service()
    svc.context(project).store.get(name)
    ctx_a, a, src_a = _members_at(svc, project, name, from_snapshot)
    ctx_b, b, src_b = _members_at(svc, project, name, to_snapshot)
    ids_a, ids_b = ctx_a.index.take(a) if ctx_a.index.root else _ids_sql(ctx_a, a), \
        ctx_b.index.take(b) if ctx_b.index.root else _ids_sql(ctx_b, b)
    entered = pc.sort_indices(ids_b)  # stable output order
    ids_b = ids_b.take(entered)
    ids_a = ids_a.take(pc.sort_indices(ids_a))
    in_a = pc.is_in(ids_b, value_set=ids_a)
    in_b = pc.is_in(ids_a, value_set=ids_b)
    entered_ids = ids_b.filter(pc.invert(in_a))
    left_ids = ids_a.filter(pc.invert(in_b))
    result = {
        "segment": name,
        "from": {"snapshot_id": ctx_a.snapshot.id, "as_of": ctx_a.snapshot.manifest.as_of.isoformat(),
                 "size": len(a), "members": src_a},
        "to": {"snapshot_id": ctx_b.snapshot.id, "as_of": ctx_b.snapshot.manifest.as_of.isoformat(),
               "size": len(b), "members": src_b},
        "entered": {"count": len(entered_ids), "user_ids": entered_ids.slice(0, limit).to_pylist()},
        "left": {"count": len(left_ids), "user_ids": left_ids.slice(0, limit).to_pylist()},
        "stayed": int(pc.sum(in_a).as_py() or 0),
    }
    if out is not None:
        import pyarrow.csv as pacsv

        table = pa.table({"user_id": pa.concat_arrays([entered_ids, left_ids]),
                          "change": ["entered"] * len(entered_ids) + ["left"] * len(left_ids)})
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        pacsv.write_csv(table, str(out))
        result["out"] = str(out)
    return result


def _ids_sql(ctx, members) -> pa.Array:
    t = ctx.table.query(f"SELECT file_row_number AS o, user_id FROM {ctx.table.source()}")
    o = t.column("o").to_numpy()
    ids = t.column("user_id").combine_chunks().take(pa.array(np.argsort(o)))
    return ids.take(pa.array(np.asarray(sorted(members), dtype=np.int64)))


# -- export --------------------------------------------------------------------------------------

def export(project: Project | str | Path, name: str, out: str | Path, format: str = "csv",
           tags: Sequence[str] | None = None, snapshot: str | None = None) -> dict:
    """Write a segment's members (user_id plus chosen tags) to CSV or Parquet."""
    t0 = time.perf_counter()
    fmt = format.lower()
    if fmt not in ("csv", "parquet"):
        raise SegmentError(f"unknown format {format!r}", hint="use csv or parquet")
    svc = _service()
    ctx = svc.context(project, snapshot)
    ctx.store.get(name)
    tags = [t for t in (tags or []) if t]
    for t in tags:
        if t not in ctx.tags:
            close = suggest(t, ctx.tags)
            raise SegmentError(f"unknown tag `{t}`", hint=f"did you mean `{close}`?" if close else None)
    members = svc.members_of(ctx, name)
    ords = np.frombuffer(memoryview(members.to_array()), dtype=np.uint32) if len(members) else np.zeros(0, np.uint32)
    ids = ctx.index.take(members) if ctx.index.root else _ids_sql(ctx, members)
    rows = ctx.table.export(ords, ids, tags, Path(out), fmt)
    return {"segment": name, **svc._snap_info(ctx), "rows": rows, "path": str(out), "format": fmt,
            "columns": ["user_id", *tags], "seconds": round(time.perf_counter() - t0, 3)}
