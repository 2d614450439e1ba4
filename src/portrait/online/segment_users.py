"""Paged members of a saved segment for the API (`GET /v1/segments/{name}/users?cursor=`).

Why a cursor over ordinals: the members are a bitmap of profile ordinals, so "the next page after
ordinal k" is a rank lookup plus a slice, stable under concurrent reads and O(page) per call.
The cursor is only valid for the snapshot it was issued on (it carries that id). Forgotten users
are filtered out here too, as every export must (`AccessStore.filter_forgotten`).
"""

from __future__ import annotations

import base64
import json

from portrait.errors import PortraitError
from portrait.online.serving import ServingContext

MAX_LIMIT = 10_000


class InvalidCursor(PortraitError):
    status = 400
    code = "invalid_cursor"


def _encode(snapshot_id: str, ordinal: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([snapshot_id, ordinal]).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, int]:
    try:
        sid, ordinal = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(sid), int(ordinal)
    except Exception as e:  # noqa: BLE001 - any malformed cursor is the client's error
        raise InvalidCursor("malformed cursor", hint="pass back `next_cursor` from the previous page") from e


def segment_users(ctx: ServingContext, name: str, cursor: str | None = None, limit: int = 1000) -> dict:
    """One page of a saved segment's members in the served snapshot: user ids plus `next_cursor`."""
    from portrait.segments import service

    limit = max(1, min(int(limit), MAX_LIMIT))
    snapshot_id = ctx.current().id
    after = -1
    if cursor:
        snapshot_id, after = _decode(cursor)
    seg = service.context(ctx.project, snapshot_id)
    members = service.members_of(seg, name)
    start = members.rank(after) if after >= 0 else 0
    page = members[start:start + limit]
    ids = [u for u in seg.index.take(page).to_pylist() if u is not None] if len(page) else []
    ids = ctx.access.filter_forgotten(ids)
    more = start + limit < len(members)
    return {"segment": name, "snapshot_id": snapshot_id, "size": len(members), "users": ids,
            "next_cursor": _encode(snapshot_id, page.max()) if more and len(page) else None}
