"""The event model the API accepts: the canonical events columns a client may set.

Why its own model rather than the sources' field mapping: API clients send canonical events
directly, so every field is typed and checked here (422 with the field's path) before anything
is written. `source` and `source_line` are not accepted: the inbox sets them ("api", inbox seq).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portrait.ids import canonical_id

MAX_FUTURE = timedelta(days=1)  # clock skew tolerated for event_time
Text = Field(default=None, max_length=1024)


class EventIn(BaseModel):
    """One behaviour event: which user, when, which behaviour, on what, through which channel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=256, description="Client-chosen unique id; re-sending it is a no-op.")
    user_id: str = Field(min_length=1, max_length=256)
    event_time: datetime = Field(description="ISO 8601; without an offset it is read in the project's time zone.")
    event_type: str = Field(min_length=1, max_length=64, description="e.g. view, search, cart, favorite, purchase, return")
    order_id: str | None = Text
    item_id: str | None = Text
    category: str | None = Text
    quantity: float | None = None
    amount: float | None = None
    channel: str | None = Field(default=None, max_length=128)
    props: dict[str, Any] | None = None

    @field_validator("quantity", "amount")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("event_id", "user_id", "event_type", "order_id", "item_id", "category", "channel")
    @classmethod
    def _no_nul(cls, v: str | None) -> str | None:
        if v is not None and "\x00" in v:
            raise ValueError("must not contain NUL characters")
        if v is not None:
            _utf8(v)
        return v

    @field_validator("user_id", "order_id", "item_id")
    @classmethod
    def _canonical(cls, v: str | None) -> str | None:
        """The id rule ingest applies, so `12346.0` posted here is customer 12346 of the batch data."""
        return None if v is None else canonical_id(v) or None

    @field_validator("props")
    @classmethod
    def _props(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            text = json.dumps(v, ensure_ascii=False)
            _utf8(text)
            if len(text) > 64_000:
                raise ValueError("props must serialise to at most 64,000 characters")
        return v

    def time_us(self, tz: ZoneInfo) -> int:
        """event_time as UTC epoch microseconds (naive times are local to the project)."""
        t = self.event_time if self.event_time.tzinfo else self.event_time.replace(tzinfo=tz)
        return _exact_us(t)


def _utf8(text: str) -> None:
    """Why: JSON may carry lone surrogates (\\ud800) that no UTF-8 store can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError("must be valid Unicode (no lone surrogates)") from e


def _exact_us(t: datetime) -> int:
    delta = t.astimezone(timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def check_time(event: EventIn, tz: ZoneInfo, now: datetime) -> str | None:
    """A reason to reject the event's time, or None. Why: a far-future event would move the data clock."""
    t = event.event_time if event.event_time.tzinfo else event.event_time.replace(tzinfo=tz)
    if t.year < 1971:
        return "event_time before 1971"
    if t - now > MAX_FUTURE:
        return f"event_time {t.isoformat()} is more than {MAX_FUTURE} in the future"
    return None
