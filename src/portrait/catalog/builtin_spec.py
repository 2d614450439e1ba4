"""What a built-in tag algorithm declares, so the catalog can check a tag against it before compute.

The algorithms themselves live in `portrait.tags.builtins`; the catalog only sees these specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pydantic import BaseModel

from portrait.catalog.model import ValueType


@dataclass(frozen=True)
class Output:
    type: ValueType
    values: tuple[str, ...] | None = None  # every value an enum output can take


@dataclass(frozen=True)
class SqlContext:
    """What a built-in may know about the build when it writes its SQL.

    Built-ins read only the canonical tables (`events`, `users`, `items`), already limited to
    events before the as-of instant, and refer to the snapshot instant as `as_of()`.
    """

    timezone: str
    item_columns: frozenset[str] = frozenset()
    user_columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Builtin:
    """A named algorithm: one query returning `user_id` plus one column per output."""

    name: str
    summary: str
    outputs: dict[str, Output]
    params: type[BaseModel]
    render: Callable[[BaseModel, SqlContext], str]
    reads: tuple[str, ...] = ("events",)
    formula: str = ""  # documented formula, shown by `portrait tags show`
    extra: dict = field(default_factory=dict)

    def sql(self, params: dict, ctx: SqlContext) -> str:
        return self.render(self.params.model_validate(params), ctx)
