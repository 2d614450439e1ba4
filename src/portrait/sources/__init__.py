"""Ingest of a project's sources into canonical Parquet tables (events, users, items) with quarantine.

Modules: `readers` (files → raw rows with line numbers), `transform` (typing, fields, rules),
`schema` (canonical schemas from config), `quarantine` (bad-row table and summary), `ingest` (orchestration).
"""

from portrait.sources.ingest import IngestResult, SourceStats, ingest, resolve_files
from portrait.sources.quarantine import (
    QUARANTINE_COLUMNS,
    format_entry,
    quarantine_examples,
    quarantine_summary,
    reason_kind,
)
from portrait.sources.schema import canonical_schema

__all__ = [
    "IngestResult",
    "QUARANTINE_COLUMNS",
    "SourceStats",
    "canonical_schema",
    "format_entry",
    "ingest",
    "quarantine_examples",
    "quarantine_summary",
    "reason_kind",
    "resolve_files",
]
