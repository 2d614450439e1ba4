"""Ids as the events store holds them: text without surrounding spaces, `12346.0` read as `12346`.

Why one rule in one place: exports often turn integer ids into floats (Online Retail's CustomerID
in a spreadsheet), so ingest normalises every id, and every lookup (CLI, API, real-time events)
must apply the same rule or `12346.0` finds no one. "Spaces" are what DuckDB's `trim` removes:
the Unicode space separators (U+0020, U+00A0, U+3000, ...), not tabs or newlines.
"""

from __future__ import annotations

import re
import sys
import unicodedata

ID_PATTERN = r"^(-?[0-9]+)\.0*$"
_ID_RE = re.compile(r"(-?[0-9]+)\.0*")  # ID_PATTERN, matched whole (Python's $ also matches before "\n")
SPACES = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c) == "Zs")


def canonical_id(value: object) -> str:
    text = str(value).strip(SPACES)
    match = _ID_RE.fullmatch(text)
    return match.group(1) if match else text


def canonical_id_sql(text: str) -> str:
    """DuckDB SQL applying `canonical_id` to a VARCHAR expression (NULL for an empty id).

    The regexp and trim run only on ids with a '.', a space or any non-ASCII character: the only
    ones they can change (2× faster on clean ids)."""
    return (f"nullif(CASE WHEN contains({text}, '.') OR contains({text}, ' ') OR strlen({text}) <> length({text}) "
            f"THEN regexp_replace(trim({text}), '{ID_PATTERN}', '\\1') ELSE {text} END, '')")
