"""One rule for the names users give to saved things (campaigns, lookalikes): safe as file names."""

from __future__ import annotations

import re

from portrait.errors import PortraitError

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def check_name(name: str, kind: str, error: type[PortraitError]) -> None:
    if not NAME.match(name or ""):
        raise error(f"`{name}` is not a valid {kind} name", hint="lower-case letters, digits and _, starting with a letter")
