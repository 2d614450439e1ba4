"""The embedded default engine: DuckDB in-process, spilling to the warehouse's temp folder."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from portrait.engine.base import Engine
from portrait.errors import EngineError


class DuckDBEngine(Engine):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.con = duckdb.connect()
        self.con.execute(f"SET TimeZone = '{self.timezone}'")
        if self.temp_dir:
            self.con.execute(f"SET temp_directory = '{self.temp_dir}'")
        if self.options.get("memory_limit"):
            self.con.execute(f"SET memory_limit = '{self.options['memory_limit']}'")
        if self.options.get("threads"):
            self.con.execute(f"SET threads = {int(self.options['threads'])}")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")  # `x -> ...` as sqlglot writes it
        iso = self.as_of.isoformat()
        self.con.execute(f"CREATE MACRO as_of() AS TIMESTAMPTZ '{iso}'")

    def _run(self, sql: str):
        try:
            return self.con.execute(sql)
        except duckdb.Error as e:
            raise EngineError(f"{type(e).__name__}: {e}", hint=f"while running:\n{sql[:2000]}") from e

    def execute(self, sql: str) -> None:
        self._run(sql)

    def query(self, sql: str) -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as e:
            raise EngineError(f"{type(e).__name__}: {e}", hint=f"while running:\n{sql[:2000]}") from e

    def create_table(self, name: str, sql: str) -> None:
        self._run(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')

    def register_parquet(self, name: str, path: str) -> None:
        self._run(f"CREATE OR REPLACE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")

    def write_parquet(self, sql: str, path: str) -> None:
        self._run(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")

    def close(self) -> None:
        self.con.close()
