"""Profile reads for online callers: online-store lookup + real-time overlay + PII masking.

Why not `portrait.apps.profiles.get_profile`: that one scans profiles.parquet through DuckDB
(fine for the CLI, ~10-100 ms); online callers need a point lookup. The response has the same
shape (user_id, snapshot_id, as_of, groups by taxonomy) plus `realtime`, `in_snapshot` and PII
masking, so a client can switch between the two without changes.
"""

from __future__ import annotations

import difflib
from typing import Sequence

from portrait.apps.profiles import show_tag
from portrait.errors import NotFound, PortraitError
from portrait.ids import canonical_id
from portrait.online.codec import ALIAS_KEY, decode
from portrait.online.serving import ServingContext, SnapshotState, TagMeta
from portrait.privacy.access import Principal
from portrait.privacy.pii import mask_value
from portrait.realtime.tags import realtime_section, today_start_us

MAX_BATCH = 1000


class TooMany(PortraitError):
    status = 413
    code = "too_many"


def _wanted(state: SnapshotState, tags: Sequence[str] | None) -> list[TagMeta]:
    if not tags:
        return state.tags
    unknown = sorted(set(tags) - set(state.by_id))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(state.by_id), n=1, cutoff=0.6)
        raise NotFound(f"unknown tag(s) {unknown}", hint=f"did you mean `{close[0]}`?" if close else "GET /v1/tags lists them")
    keep = set(tags)
    return [t for t in state.tags if t.id in keep]


def _resolve(state: SnapshotState, user_id: str, body: bytes | None) -> tuple[str, dict | None]:
    """(person id, decoded row): an alias row points at its person's row (OneID)."""
    if body is None:
        return user_id, None
    values = decode(body)
    person = values.get(ALIAS_KEY)
    if person is None:
        return user_id, values
    row = state.store.get(person)
    return person, None if row is None else decode(row)


def _shape(ctx: ServingContext, state: SnapshotState, user_id: str, values: dict | None,
           wanted: list[TagMeta], principal: Principal, realtime: dict) -> dict:
    in_snapshot = values is not None
    values = values or {}
    can_pii = principal.has("pii:read")
    groups: dict[tuple, list] = {}
    for t in wanted:
        entry = dict(t.template)
        entry["value"] = values.get(t.id)
        if t.pii and not can_pii:
            entry.update(mask_value(t.id, entry["value"], ctx.access.secret))
        groups.setdefault(t.taxonomy, []).append(entry)
    return {
        "user_id": user_id,
        "snapshot_id": state.id,
        "as_of": state.snapshot.manifest.as_of.isoformat(),
        "in_snapshot": in_snapshot,
        "groups": [{"taxonomy": list(k), "tags": v} for k, v in groups.items()],
        "realtime": realtime,
    }


_EMPTY: dict = {}  # (snapshot id, second) -> (day start, the realtime section of a user without events)


def _realtime(ctx: ServingContext, state: SnapshotState, user_id: str) -> dict:
    now = ctx.now()
    key = (state.id, int(now.timestamp()))
    cached = _EMPTY.get(key)
    if cached is None:  # computed once per second: most reads are of users without recent events
        _EMPTY.clear()
        day_start = today_start_us(now, state.tz)
        cached = _EMPTY[key] = (day_start, realtime_section((), state.through_seq, now, state.tz, state.rules,
                                                            state.item_keys))
    day_start, empty = cached
    if not ctx.may_have_events(user_id, state, day_start):
        return empty
    events = ctx.inbox.for_user(user_id, state.through_seq, day_start)
    return realtime_section(events, state.through_seq, now, state.tz, state.rules, state.item_keys)


def read_profile(ctx: ServingContext, user_id: str, tags: Sequence[str] | None, principal: Principal) -> dict:
    """One user's profile from the current snapshot's online store, with real-time tags overlaid.

    A user with only real-time events (new since the build) gets `in_snapshot: false` and null tags;
    an alias of a merged person (OneID) gets the person's profile, with the person's id.
    """
    state = ctx.current()
    wanted = _wanted(state, tags)
    user_id = canonical_id(user_id)
    person, values = _resolve(state, user_id, state.store.get(user_id))
    realtime = _realtime(ctx, state, person)
    if values is None and realtime["pending_events"] == 0 and realtime["events_today"] == 0:
        raise NotFound(f"no user {user_id!r} in snapshot {state.id}")
    return _shape(ctx, state, person, values, wanted, principal, realtime)


def read_profiles(ctx: ServingContext, user_ids: Sequence[str], tags: Sequence[str] | None,
                  principal: Principal) -> dict:
    """Up to 1,000 profiles in one call (one batched store lookup); unknown ids are listed in `missing`."""
    if len(user_ids) > MAX_BATCH:
        raise TooMany(f"{len(user_ids)} user ids; a batch takes at most {MAX_BATCH}")
    state = ctx.current()
    wanted = _wanted(state, tags)
    asked = {canonical_id(u): u for u in reversed(user_ids)}  # canonical id → the first spelling asked
    ids = list(dict.fromkeys(canonical_id(u) for u in user_ids))
    bodies = state.store.get_many(ids)
    profiles, missing = [], []
    for uid in ids:
        person, values = _resolve(state, uid, bodies.get(uid))
        realtime = _realtime(ctx, state, person)
        if values is None and realtime["pending_events"] == 0 and realtime["events_today"] == 0:
            missing.append(asked[uid])
        else:
            profiles.append(_shape(ctx, state, person, values, wanted, principal, realtime))
    return {"snapshot_id": state.id, "profiles": profiles, "missing": missing}


def describe_tag(ctx: ServingContext, tag_id: str, principal: Principal) -> dict:
    """`show_tag` of the served snapshot. A PII tag's value distribution is never published (the
    build withholds it from tag_stats), so there is nothing to mask here whatever the key's scopes."""
    return show_tag(ctx.current().snapshot, tag_id)
