"""Segment errors: every bad expression, unknown segment or cycle is a 400 with a position.

The span (character offsets into the expression) lets a console underline the exact text;
`location` gives line and column the way every other Portrait error does.
"""

from __future__ import annotations

from portrait.errors import Location, NotFound, PortraitError


class SegmentError(PortraitError):
    status = 400
    code = "segment"

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None,
                 span: tuple[int, int] | None = None, source: str | None = None):
        self.span = span
        self.source = source
        super().__init__(message, location, hint)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location and str(self.location) else self.message
        if self.source is not None and self.span is not None:
            text += "\n" + snippet(self.source, self.span)
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict:
        d = super().to_dict()
        if self.span is not None:
            d["span"] = list(self.span)
        if self.source is not None:
            d["expression"] = self.source
        return d


class SegmentNotFound(NotFound):
    code = "segment_not_found"


def line_col(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    before = source[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


def snippet(source: str, span: tuple[int, int]) -> str:
    """The offending line with the span underlined by carets."""
    start, end = span
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    line_end = len(source) if line_end < 0 else line_end
    width = max(1, min(end, line_end) - start)
    return f"  {source[line_start:line_end]}\n  {' ' * (start - line_start)}{'^' * width}"


def error_at(source: str, span: tuple[int, int], message: str, hint: str | None = None,
             where: str = "<expression>") -> SegmentError:
    line, col = line_col(source, span[0])
    return SegmentError(message, Location(where, line, col), hint, span, source)
