"""The one small interface every compute engine implements; tag definitions never name an engine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

import pyarrow as pa


class Engine(ABC):
    """Runs DuckDB-dialect SQL (transpiled where needed) over named tables.

    `as_of` is the snapshot instant: the engine exposes it to SQL as `as_of()`.
    """

    dialect = "duckdb"

    def __init__(self, *, timezone: str, as_of: datetime, temp_dir: str | None = None, **options):
        self.timezone = timezone
        self.as_of = as_of
        self.temp_dir = temp_dir
        self.options = options

    @abstractmethod
    def execute(self, sql: str) -> None: ...

    @abstractmethod
    def query(self, sql: str) -> pa.Table: ...

    @abstractmethod
    def create_table(self, name: str, sql: str) -> None: ...

    @abstractmethod
    def register_parquet(self, name: str, path: str) -> None:
        """Expose a Parquet file (or glob) as a table."""

    @abstractmethod
    def write_parquet(self, sql: str, path: str) -> None:
        """Write a query's result to one Parquet file."""

    def close(self) -> None:  # engines holding no resources need not override
        return None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
