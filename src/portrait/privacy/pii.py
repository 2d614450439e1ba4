"""PII handling: masking for callers without `pii:read`, and normalised salted hashes for matching.

Why hash at all: many consumers (ad audiences, CRM dedup) only need to know whether two records
name the same e-mail or phone, not the value. `pii_hash` normalises first, so `Foo@Example.COM `
and `foo@example.com` match, then salts with the warehouse secret (HMAC-SHA256), so the hash is
useless outside this warehouse and cannot be reversed with a rainbow table of phone numbers.

    >>> normalise("  Foo.Bar@Example.COM ", "email")
    'foo.bar@example.com'
    >>> normalise("+44 (0)20 7946-0018", "phone")
    '+442079460018'
    >>> normalise("  José   GARCÍA ", "name")
    'josé garcía'
    >>> pii_hash("a@b.com", "email", "s") == pii_hash(" A@B.com", "email", "s")
    True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Any

MASK = "***"


def normalise(value: Any, kind: str = "text") -> str:
    """Canonical text of a PII value: email lower-cased; phone digits with a leading +; else casefolded."""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if kind == "email":
        return text.lower()
    if kind == "phone":
        text = re.sub(r"\(0\)", "", text)
        digits = re.sub(r"\D", "", text)
        return ("+" if text.startswith("+") or text.startswith("00") else "") + digits.removeprefix("00")
    return re.sub(r"\s+", " ", text.casefold())


def kind_of(tag_id: str) -> str:
    """Guess how to normalise a PII tag from its id (email, phone, else free text)."""
    if "mail" in tag_id:
        return "email"
    if "phone" in tag_id or "mobile" in tag_id or "tel" in tag_id:
        return "phone"
    return "text"


def pii_hash(value: Any, kind: str, secret: str) -> str:
    """HMAC-SHA256(secret, normalised value), hex; None-safe callers check for None first."""
    return hmac.new(secret.encode(), normalise(value, kind).encode(), hashlib.sha256).hexdigest()


def mask_value(tag_id: str, value: Any, secret: str) -> dict:
    """What a caller without pii:read sees instead of a PII tag's value."""
    if value is None:
        return {"value": None, "masked": True, "hash": None}
    return {"value": MASK, "masked": True, "hash": pii_hash(value, kind_of(tag_id), secret)}
