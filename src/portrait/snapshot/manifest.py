"""The snapshot manifest: a typed, versioned artifact that makes a snapshot self-describing."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class SourceCounts(BaseModel):
    name: str
    table: str
    files: list[str]
    read: int
    accepted: int
    quarantined: int
    after_as_of: int = 0


class TagEntry(BaseModel):
    id: str
    definition_hash: str
    depends_on: list[str]
    coverage: float
    computed_at: datetime


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    snapshot_id: str
    project: str
    created_at: datetime
    as_of: datetime
    as_of_requested: bool = Field(description="true for `build --as-of` (historical) snapshots")
    timezone: str
    engine: str
    portrait_version: str
    parent: str | None = Field(description="snapshot that was current when this one was built")
    catalog_hash: str
    users: int
    events: int
    quarantined: int
    sources: list[SourceCounts]
    tags: list[TagEntry]
    files: dict[str, str] = Field(description="artifact name -> file name within the snapshot folder")
    build_seconds: float
