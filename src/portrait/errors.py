"""One error root for every stage, so the CLI and the API can report any failure the same way.

Each subclass carries a fixed HTTP status; anything read from a file can carry a `Location`
(file, line, column, tag) so users are pointed at the exact spot to fix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    file: str | None = None
    line: int | None = None
    col: int | None = None
    tag: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
            parts.append(where)
        if self.tag:
            parts.append(f"tag {self.tag!r}")
        return ", ".join(parts)


class PortraitError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location and str(self.location) else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict:
        loc = self.location
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "location": None if loc is None else {k: v for k, v in vars(loc).items() if v is not None},
        }


class ConfigError(PortraitError):
    status = 400
    code = "config"


class DatasetError(PortraitError):
    status = 404
    code = "dataset"


class SourceError(PortraitError):
    status = 400
    code = "source"


class CatalogError(PortraitError):
    status = 400
    code = "catalog"


class CatalogErrors(CatalogError):
    """Several catalog problems found in one pass (`portrait check` reports them all)."""

    def __init__(self, errors: list[CatalogError]):
        self.errors = errors
        super().__init__(f"{len(errors)} catalog error(s):\n" + "\n".join(f"- {e}" for e in errors))


class EngineError(PortraitError):
    status = 500
    code = "engine"


class BuildError(PortraitError):
    status = 500
    code = "build"


class SnapshotError(PortraitError):
    status = 404
    code = "snapshot"


class NotFound(PortraitError):
    status = 404
    code = "not_found"
