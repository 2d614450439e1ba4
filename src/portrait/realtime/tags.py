"""Real-time tags: computed per request from the user's inbox events, overlaid on the snapshot profile.

Why per request and not a second store: the inbox already indexes events by user, a user has few
events since the last build, and computing on read makes an event visible the moment its commit
returns (well within the 1 s target) with nothing to keep consistent.

- `last_active_at`: newest event time among events not yet in the snapshot.
- `events_today`: the user's inbox events since midnight (project time zone, wall clock).
- `interest.<tag>`: for every catalog tag computed by the `interest` built-in, each pending event's
  weight with the *same* parameters and formula as the batch tag (behaviour weight × rating factor
  × 0.5^(age / half-life) × channel weight), summed per key. No IDF and no per-user normalisation:
  both need every user, so the next build does them. Keys come from `category`, or from the
  snapshot's items (genres / brand) for those dimensions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

from portrait.realtime.inbox import InboxEvent
from portrait.tags.builtins.interest import InterestParams


@dataclass(frozen=True)
class InterestRule:
    """The parameters of one batch interest tag, as its catalog entry declares them."""

    tag_id: str
    dimension: str
    behaviour: Mapping[str, float]
    rating: tuple[tuple[float, float], ...]  # sorted (rating key, factor)
    rating_prop: str
    channel: Mapping[str, float]
    per_us: float  # decay rate: ln 2 / half-life in µs (0 = no decay)
    top_n: int

    def rating_factor(self, r: float | None) -> float:
        """Nearest rating key's factor (ties → the lower key), 1.0 without a rating: as in batch SQL."""
        if r is None or not self.rating:
            return 1.0
        for (lo, w), (hi, _) in zip(self.rating, self.rating[1:]):
            if r <= (lo + hi) / 2:
                return w
        return self.rating[-1][1]


def interest_rules(catalog: Sequence[dict]) -> list[InterestRule]:
    """One rule per interest tag with a weighted-set output (the `top` outputs add nothing new)."""
    rules = []
    for t in catalog:
        if t.get("builtin") != "interest" or t.get("type") != "weighted_set":
            continue
        p = InterestParams.model_validate(t.get("params") or {})
        per_us = math.log(2) / (p.half_life_days * 86400e6) if p.half_life_days else 0.0
        rules.append(InterestRule(t["id"], p.dimension, dict(p.behaviour_weights), tuple(sorted(p.rating_weights.items())),
                                  p.rating_prop, dict(p.channel_weights), per_us, p.top_n))
    return rules


def _rating(e: InboxEvent, prop: str) -> float | None:
    v = e.prop(prop)
    try:
        x = float(v) if v is not None and not isinstance(v, bool) else None
    except (TypeError, ValueError):
        return None
    return x if x is not None and math.isfinite(x) else None


def interest_weights(rule: InterestRule, events: Sequence[InboxEvent], now_us: int,
                     item_keys: Mapping[str, list[str]] | None) -> list[dict]:
    sums: dict[str, float] = {}
    for e in events:
        rating = _rating(e, rule.rating_prop) if rule.rating else None
        if e.event_type not in rule.behaviour and rating is None:
            continue
        if rule.dimension == "category":
            keys = [e.category] if e.category is not None else []
        else:
            keys = (item_keys or {}).get(e.item_id or "", []) if e.item_id is not None else []
        if not keys:
            continue
        age = max(0, now_us - e.event_time_us)
        channel = rule.channel.get(e.channel, 1.0) if e.channel is not None else 1.0
        w = rule.behaviour.get(e.event_type, 1.0) * rule.rating_factor(rating) * math.exp(-rule.per_us * age) * channel
        for k in keys:
            sums[k] = sums.get(k, 0.0) + w
    ranked = sorted(((k, round(w, 6)) for k, w in sums.items() if round(w, 6) != 0), key=lambda kv: (-kv[1], kv[0]))
    return [{"key": k, "weight": w} for k, w in ranked[: rule.top_n]]


def _iso(us: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(us / 1e6, timezone.utc).astimezone(tz).isoformat()


def today_start_us(now: datetime, tz: ZoneInfo) -> int:
    local = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(local.timestamp() * 1_000_000)


def realtime_section(events: Sequence[InboxEvent], through_seq: int, now: datetime, tz: ZoneInfo,
                     rules: Sequence[InterestRule], item_keys: Mapping[str, Mapping[str, list[str]]]) -> dict:
    """The `realtime` part of a profile from the user's inbox events (see the module docstring)."""
    now_us = int(now.timestamp() * 1_000_000)
    start = today_start_us(now, tz)
    pending = [e for e in events if e.seq > through_seq]
    last = max((e.event_time_us for e in pending), default=None)
    return {
        "pending_events": len(pending),
        "last_active_at": None if last is None else _iso(last, tz),
        "events_today": sum(1 for e in events if start <= e.event_time_us),
        "interest": {r.tag_id: interest_weights(r, pending, now_us, item_keys.get(r.dimension)) for r in rules},
        "computed_at": now.astimezone(tz).isoformat(),
    }
