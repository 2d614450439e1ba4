"""One user's recent events: the snapshot's events plus the inbox events it has not folded in yet.

Why here and not in `online`: it is an application over a snapshot (like `profiles.get_profile`),
read by people in the console, not by online callers on a latency budget; a DuckDB scan of the
snapshot's events is fine for that. `props` may carry personal data the catalog cannot mark, so
callers without pii:read get events without them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from portrait.apps.profiles import jsonable
from portrait.realtime.inbox import Inbox
from portrait.snapshot import Snapshot, connect

COLUMNS = ("event_id", "event_time", "event_type", "order_id", "item_id", "category", "quantity", "amount",
           "channel", "props")
MAX_LIMIT = 500


def _props(value, with_props: bool):
    if not with_props or value is None:
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def recent_events(snapshot: Snapshot, inbox: Inbox, through_seq: int, user_id: str, limit: int = 50,
                  with_props: bool = False) -> dict:
    """The user's newest `limit` events, newest first; `pending` marks events not yet in the snapshot."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    pending = []
    for e in inbox.for_user(user_id, through_seq, 2**62):
        pending.append({
            "event_id": e.event_id, "pending": True,
            "event_time": datetime.fromtimestamp(e.event_time_us / 1e6, tz=timezone.utc).isoformat(),
            "event_type": e.event_type, "order_id": e.order_id, "item_id": e.item_id, "category": e.category,
            "quantity": e.quantity, "amount": e.amount, "channel": e.channel,
            "props": _props(e.props, with_props),
        })
    con = connect(snapshot, ("events",))
    try:
        rows = con.execute(f"SELECT {', '.join(COLUMNS)}, count(*) OVER () FROM events WHERE user_id = ? "
                           "ORDER BY event_time DESC, event_id LIMIT ?", [str(user_id), limit]).fetchall()
    finally:
        con.close()
    total = (rows[0][-1] if rows else 0) + len(pending)
    stored = [{**{c: jsonable(v) for c, v in zip(COLUMNS, r)}, "pending": False} for r in rows]
    for e in stored:
        e["props"] = _props(e["props"], with_props)
    events = sorted(pending, key=lambda e: e["event_time"], reverse=True) + stored
    return {"user_id": str(user_id), "snapshot_id": snapshot.id, "total": total, "events": events[:limit],
            "props_shown": with_props}
