"""`portrait.yaml`: the project file. Typed so a typo fails at load time with the key's path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from portrait.errors import ConfigError, Location

PROJECT_FILE = "portrait.yaml"

CANONICAL_TABLES = ("events", "users", "items")  # what tag SQL reads
# `links` rows say two ids are one person (ID-mapping); the identity stage consumes them.
SOURCE_TABLES = (*CANONICAL_TABLES, "links")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnType(Strict):
    """Declared type of one raw column; a value that does not parse goes to quarantine."""

    type: str = "VARCHAR"
    format: str | None = None  # strptime format for TIMESTAMP/DATE columns


class CsvOptions(Strict):
    delimiter: str = ","
    quote: str = '"'
    header: bool = True
    encoding: Literal["utf-8", "latin-1"] = "utf-8"


class Rule(Strict):
    """A declared rule: rows where `check` is false go to quarantine with this rule's name."""

    name: str
    check: str


class SourceConfig(Strict):
    name: str
    table: Literal["events", "users", "items", "links"]
    path: str  # file path, glob, or dataset://NAME/FILE
    format: Literal["csv", "parquet", "jsonl"] | None = None  # inferred from the extension
    csv: CsvOptions = Field(default_factory=CsvOptions)
    columns: dict[str, ColumnType | str] = Field(default_factory=dict)
    fields: dict[str, str]
    props: dict[str, str] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("columns")
    @classmethod
    def _normalise_columns(cls, v: dict[str, Any]) -> dict[str, ColumnType]:
        return {k: ColumnType(type=t) if isinstance(t, str) else t for k, t in v.items()}

    def inferred_format(self) -> str:
        if self.format:
            return self.format
        p = self.path.lower()
        if p.endswith((".parquet", ".pq")):
            return "parquet"
        if p.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json")):
            return "jsonl"
        return "csv"


class EngineConfig(Strict):
    type: str = "duckdb"  # short name or dotted path to an Engine class
    memory_limit: str | None = None
    threads: int | None = None


class ProjectConfig(Strict):
    name: str
    description: str | None = None
    timezone: str = "UTC"
    clock: Literal["data", "now"] = "now"  # "data": snapshot time = midnight after the last event
    engine: EngineConfig = Field(default_factory=EngineConfig)
    warehouse: str = "warehouse"
    keep_snapshots: int = 10
    sources: list[SourceConfig]
    online_store: str | None = None


class Project:
    """A loaded project folder: its config plus resolved paths."""

    def __init__(self, root: Path, config: ProjectConfig):
        self.root = root
        self.config = config

    @property
    def warehouse(self) -> Path:
        p = Path(self.config.warehouse)
        return p if p.is_absolute() else self.root / p

    @property
    def tags_dir(self) -> Path:
        return self.root / "tags"

    def resolve(self, path: str) -> str:
        """Resolve a source path: dataset:// URLs through the data-set loader, others against the root."""
        if path.startswith("dataset://"):
            from portrait.datasets import dataset_path

            name, _, file = path[len("dataset://") :].partition("/")
            return str(dataset_path(name, file))
        p = Path(path)
        return str(p if p.is_absolute() else self.root / p)


def load_project(root: str | Path = ".") -> Project:
    root = Path(root).resolve()
    file = root / PROJECT_FILE
    if not root.is_dir():
        raise ConfigError(f"project folder {root} does not exist",
                          hint="create a project with `portrait init DIR --example online-retail`")
    if not file.exists():
        raise ConfigError(
            f"no {PROJECT_FILE} in {root}",
            hint="create one with `portrait init DIR --example online-retail` or pass --project DIR",
        )
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(
            f"invalid YAML: {getattr(e, 'problem', e)}",
            Location(str(file), mark.line + 1 if mark else None, mark.column + 1 if mark else None),
        ) from e
    try:
        config = ProjectConfig.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {first['msg']}", Location(str(file))) from e
    return Project(root, config)
