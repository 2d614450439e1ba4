"""Insight (画像洞察): what sets a segment apart from a base, tag by tag, with TGI.

    insight(project, "students", vs="all")            → JSON-ready dict (CLI --json, API, console)
    insight_report.write_html(result, "report.html")  → self-contained HTML with ECharts inlined

For every tag: coverage on both sides; for enum, bool and string tags the share of each value
in the segment and in the base with TGI = segment share ÷ base share × 100 and its 95%
interval; for numbers the quantiles, mean and a histogram at the base's deciles (with TGI per
bar); for weighted sets the keys by lift. Shares are over all members (missing values are
reported as coverage), so a value's shares add up to the tag's coverage. Rows with fewer than
`min_support` users on either side are flagged `low_support` and kept out of the ranking, never
hidden. Tags are ranked by Jensen–Shannon divergence between the two distributions.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from portrait.apps.audience import context, insight_index, resolve
from portrait.apps.insight_compute import OTHER, compute_insight
from portrait.apps.profiles import catalog, jsonable, taxonomy_order
from portrait.config import Project
from portrait.errors import PortraitError


class InsightError(PortraitError):
    status = 400
    code = "insight"


def _meta(t: dict) -> dict:
    return {"id": t["id"], "name": t["name"], "taxonomy": t["taxonomy"], "kind": t["kind"], "type": t["type"],
            "unit": t.get("unit")}


def _ordered(values: list[dict], t: dict) -> list[dict]:
    """Rows in the order people read a tag: an enum's declared order, false before true, else by
    base share; (other) last."""
    declared = {str(v): i for i, v in enumerate(t.get("values") or [])}
    if t["type"] == "bool":
        declared = {"false": 0, "true": 1}

    def key(r: dict):
        if r["value"] == OTHER:
            return (2, 0, "")
        if declared:
            return (0, declared.get(str(r["value"]), len(declared)), str(r["value"]))
        return (1, -r["base_share"], str(r["value"]))

    return sorted(values, key=key)


def insight(project: Project | str | Path, segment: str, vs: str | None = "all", snapshot: str | None = None,
            min_support: int = 30, top: int = 30, tags: list[str] | None = None) -> dict:
    """Insight of SEGMENT against VS (`all` users, or another segment/expression) in one snapshot.

    PII tags are left out (their values would identify people); the response lists them in `skipped`.
    """
    t0 = time.perf_counter()
    ctx = context(project, snapshot)
    seg = resolve(ctx, segment)
    base = None if vs in (None, "", "all") else resolve(ctx, vs)
    cat = {t["id"]: t for t in catalog(ctx.snapshot)}
    unknown = [t for t in (tags or []) if t not in cat]
    if unknown:
        raise InsightError(f"unknown tag(s) {unknown}", hint="`portrait tags list` shows the catalog")
    index = insight_index(ctx.snapshot, ctx.index)
    skipped = [{"tag": t, "reason": "pii"} for t in cat if cat[t].get("pii")]
    wanted = [t for t in (tags or cat) if t in index.columns and not cat[t].get("pii")]
    skipped += [{"tag": t, "reason": f"type {cat[t]['type']} has no distribution"} for t in (tags or cat)
                if t not in index.columns and not cat[t].get("pii")]
    result = compute_insight(index, seg.members, None if base is None else base.members,
                             min_support=min_support, top=top, tags=wanted)
    warnings = []
    if len(seg.members) == 0:
        warnings.append("the segment is empty in this snapshot")
    elif len(seg.members) < min_support:
        warnings.append(f"the segment has {len(seg.members)} users (< min_support {min_support}): every row is low-support")
    by_id = {d["tag"]: d for d in result["tags"]}
    for tag, d in by_id.items():
        if d["summary"] == "categorical":
            d["values"] = _ordered(d["values"], cat[tag])
    ordered = sorted(by_id, key=lambda t: (taxonomy_order(cat[t]["taxonomy"]), t))
    m = ctx.snapshot.manifest
    return jsonable({
        "snapshot_id": ctx.snapshot.id, "as_of": m.as_of.isoformat(), "project": m.project,
        "generated_at": datetime.now(timezone.utc).isoformat(),
        "segment": seg.describe(),
        "base": base.describe() if base is not None else {"spec": "all", "kind": "all", "expression": None,
                                                          "size": result["base_size"]},
        "min_support": min_support,
        "ranking": [{**r, "name": cat[r["tag"]]["name"]} for r in result["ranking"]],
        "tags": [{**_meta(cat[t]), **{k: v for k, v in by_id[t].items() if k != "tag"}} for t in ordered],
        "skipped": skipped, "warnings": warnings,
        "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1),
    })
