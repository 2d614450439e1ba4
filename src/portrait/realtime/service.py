"""Accepting events: validate each against `EventIn`, store the valid ones durably, report per item.

Why per-item results: a batch from a client's buffer should not be lost because one event in it
is malformed; the valid events are stored, each item says accepted / duplicate / rejected (with
field errors), and the client retries only what needs fixing.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from portrait.errors import PortraitError
from portrait.online.serving import ServingContext
from portrait.privacy.access import Principal
from portrait.realtime.model import EventIn, check_time

MAX_BATCH = 1000


class EventsRejected(PortraitError):
    """Every event was invalid; `details` has the per-item results with field errors."""

    status = 422
    code = "invalid_events"

    def __init__(self, message: str, details: list[dict], hint: str | None = None):
        self.details = details
        super().__init__(message, hint=hint)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "details": self.details}


class BatchTooLarge(PortraitError):
    status = 413
    code = "too_many"


def _field_errors(e: ValidationError) -> list[dict]:
    return [{"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in e.errors(include_url=False)]


def ingest_events(ctx: ServingContext, payload: Any, principal: Principal) -> dict:
    """Validate, store durably (fsync'd) and report each event of `payload` (an object or a list)."""
    single = not isinstance(payload, list)
    items = [payload] if single else payload
    if not items:
        raise EventsRejected("an empty batch", [], hint="send one event object or a list of 1 to 1,000 events")
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(f"{len(items)} events; a batch takes at most {MAX_BATCH}", hint="split the batch")
    tz = ctx.tz
    now = ctx.now()
    results: list[dict] = []
    valid: list[tuple[EventIn, int]] = []
    where: list[int] = []
    for i, raw in enumerate(items):
        result: dict = {"index": i, "event_id": raw.get("event_id") if isinstance(raw, dict) else None}
        try:
            event = EventIn.model_validate(raw)
        except ValidationError as e:
            results.append({**result, "status": "rejected", "errors": _field_errors(e)})
            continue
        reason = check_time(event, tz, now)
        if reason is None and ctx.is_forgotten(event.user_id):
            reason = "the user was forgotten (DELETE /v1/profiles); their events are no longer collected"
            errors = [{"loc": ["user_id"], "msg": reason, "type": "forgotten"}]
        else:
            errors = [{"loc": ["event_time"], "msg": reason, "type": "value_error"}] if reason else []
        if errors:
            results.append({**result, "status": "rejected", "errors": errors})
            continue
        results.append({**result, "event_id": event.event_id})
        valid.append((event, event.time_us(tz)))
        where.append(len(results) - 1)
    fresh = ctx.inbox.append(valid) if valid else []
    ctx.mark_active(e.user_id for e, _ in valid)
    for k, new in zip(where, fresh):
        results[k]["status"] = "accepted" if new else "duplicate"
    counts = {s: sum(1 for r in results if r["status"] == s) for s in ("accepted", "duplicate", "rejected")}
    for s, n in counts.items():
        ctx.bump(f"events_{s}", n)
    ctx.access.audit(principal.key_id, "events.write", f"events:{len(items)}", counts)
    if counts["rejected"] == len(items):
        raise EventsRejected("the event is invalid" if single else "every event in the batch is invalid", results)
    if single:
        return {"event_id": results[0]["event_id"], "status": results[0]["status"]}
    return {**counts, "results": results}
