"""Reading a snapshot the way people ask: one user's profile, the catalog, one tag's metadata.

Every function returns plain JSON-ready data; the CLI, the API and the console render the same dicts.
"""

from __future__ import annotations

import difflib
import json
from datetime import date, datetime
from functools import lru_cache

from portrait.catalog import Tag
from portrait.errors import NotFound
from portrait.ids import canonical_id
from portrait.snapshot import Snapshot, connect


def jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


@lru_cache(maxsize=32)
def _catalog(path: str) -> tuple[dict, ...]:
    with open(path, encoding="utf-8") as f:
        return tuple(json.load(f))


def catalog(snapshot: Snapshot) -> list[dict]:
    """The catalog frozen in the snapshot (tags as declared, plus file, line, form, deps)."""
    return [dict(t) for t in _catalog(str(snapshot.file("catalog")))]


def catalog_tags(snapshot: Snapshot) -> dict[str, Tag]:
    fields = set(Tag.model_fields)
    return {t["id"]: Tag.model_validate({k: v for k, v in t.items() if k in fields}) for t in catalog(snapshot)}


# The field's usual level-1 order (DESIGN.md); other level-1 names follow alphabetically.
LEVEL1_ORDER = ("人口属性", "用户价值", "消费特征", "兴趣偏好", "生命周期", "行为特征", "预测标签")


def taxonomy_order(path) -> tuple:
    top = path[0] if path else ""
    return (LEVEL1_ORDER.index(top) if top in LEVEL1_ORDER else len(LEVEL1_ORDER), tuple(path))


def _suggest_tag(tag_id: str, known) -> str | None:
    close = difflib.get_close_matches(tag_id, list(known), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def tag_summary(t: dict, stats: dict) -> dict:
    s = stats.get(t["id"], {})
    return {
        "id": t["id"], "name": t["name"], "taxonomy": t["taxonomy"], "kind": t["kind"], "type": t["type"],
        "values": t.get("values"), "unit": t.get("unit"), "owner": t["owner"], "pii": t.get("pii", False),
        "description": t.get("description", ""), "coverage": s.get("coverage"), "computed_at": s.get("computed_at"),
    }


def list_tags(snapshot: Snapshot) -> list[dict]:
    stats = snapshot.read_json("tag_stats")
    return [tag_summary(t, stats) for t in catalog(snapshot)]


def show_tag(snapshot: Snapshot, tag_id: str) -> dict:
    tags = {t["id"]: t for t in catalog(snapshot)}
    if tag_id not in tags:
        raise NotFound(f"no tag {tag_id!r} in snapshot {snapshot.id}", hint=_suggest_tag(tag_id, tags))
    t = tags[tag_id]
    stats = snapshot.read_json("tag_stats")
    definition = {k: t[k] for k in ("sql", "builtin", "output", "params", "model", "formula") if t.get(k)}
    return {
        **tag_summary(t, stats),
        "definition": definition,
        "depends_on": t.get("deps", []),
        "declared_in": f"{t.get('file')}:{t.get('line')}",
        "freshness": t.get("freshness"),
        "stats": stats.get(tag_id, {}),
        "snapshot_id": snapshot.id,
    }


def get_profile(snapshot: Snapshot, user_id: str, tags: list[str] | None = None) -> dict:
    """One user's tags grouped by taxonomy path (level-1 → level-2 …)."""
    cat = catalog(snapshot)
    wanted = [t for t in cat if not tags or t["id"] in tags]
    unknown = sorted(set(tags or []) - {t["id"] for t in cat})
    if unknown:
        raise NotFound(f"unknown tag(s) {unknown}", hint=_suggest_tag(unknown[0], [t["id"] for t in cat]))
    con = connect(snapshot, ("profiles", "identity"))
    try:
        cols = ", ".join(f'"{t["id"]}"' for t in wanted) or "user_id"
        user_id = canonical_id(user_id)
        rows = con.execute(f"SELECT {cols} FROM profiles WHERE user_id = ?", [user_id]).fetchall()
        if not rows and snapshot.file("identity").exists():  # an alias of a merged person (OneID)
            person = con.execute("SELECT person_id FROM identity WHERE id = ?", [str(user_id)]).fetchall()
            if person:
                user_id = person[0][0]
                rows = con.execute(f"SELECT {cols} FROM profiles WHERE user_id = ?", [user_id]).fetchall()
    finally:
        con.close()
    if not rows:
        raise NotFound(f"no user {user_id!r} in snapshot {snapshot.id}")
    values = dict(zip([t["id"] for t in wanted], rows[0]))
    groups: dict[tuple, list] = {}
    for t in wanted:
        groups.setdefault(tuple(t["taxonomy"]), []).append({
            "id": t["id"], "name": t["name"], "kind": t["kind"], "type": t["type"], "unit": t.get("unit"),
            "pii": t.get("pii", False), "value": jsonable(values[t["id"]]),
        })
    return {
        "user_id": str(user_id),
        "snapshot_id": snapshot.id,
        "as_of": snapshot.manifest.as_of.isoformat(),
        "groups": [{"taxonomy": list(k), "tags": groups[k]} for k in sorted(groups, key=taxonomy_order)],
    }
