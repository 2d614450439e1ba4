"""The tag model: what a tag is, independent of how or where it is computed."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["fact", "statistic", "rule", "model", "predicted"]
ValueType = Literal["bool", "enum", "integer", "number", "timestamp", "string", "weighted_set"]

# Physical column type of each value type in a profile table (DuckDB dialect; sqlglot transpiles).
SQL_TYPES: dict[str, str] = {
    "bool": "BOOLEAN",
    "enum": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
    "string": "VARCHAR",
    "weighted_set": "STRUCT(key VARCHAR, weight DOUBLE)[]",
}

TAG_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class Names(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str
    zh: str | None = None


class Tag(BaseModel):
    """One tag of the catalog, as declared in `tags/*.yaml`."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: Names
    taxonomy: list[str] = Field(min_length=1, max_length=3)
    kind: Kind
    type: ValueType
    values: list[str] | None = None  # allowed values of an enum
    unit: str | None = None
    description: str = ""
    owner: str
    freshness: str | None = None  # expected refresh period, e.g. "1d"
    pii: bool = False
    sql: str | None = None
    sql_file: str | None = None
    builtin: str | None = None
    output: str | None = None  # which output of a multi-output built-in
    params: dict[str, Any] = Field(default_factory=dict)
    model: dict[str, Any] | None = None  # spec of a model/predicted tag (see portrait.models)
    depends_on: list[str] = Field(default_factory=list)

    # Where the tag was declared; filled by the loader, not by users.
    file: str | None = Field(default=None, exclude=True)
    line: int | None = Field(default=None, exclude=True)
    sql_line: int | None = Field(default=None, exclude=True)  # file line of the SQL's first line

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not TAG_ID.match(v):
            raise ValueError(f"tag id {v!r} must be snake_case: lower-case letters, digits and _")
        return v

    @model_validator(mode="after")
    def _definition(self) -> "Tag":
        given = [k for k in ("sql", "builtin", "model") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a tag needs exactly one definition: `sql` (or `sql_file`), `builtin` or `model`")
        if self.type == "enum" and not self.values:
            raise ValueError("an enum tag must list its allowed `values`")
        if self.type != "enum" and self.values:
            raise ValueError("`values` is only for enum tags")
        return self

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def definition_hash(self) -> str:
        body = self.model_dump(include={"sql", "builtin", "output", "params", "model", "type", "values"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @property
    def taxonomy_path(self) -> str:
        return " / ".join(self.taxonomy)
