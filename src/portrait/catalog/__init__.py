"""The tag catalog (标签体系): tag files → checked, ordered catalog. Imports no other stage."""

from portrait.catalog.builtin_spec import Builtin, Output, SqlContext
from portrait.catalog.compile import EVENT_COLUMNS, Catalog, CompiledTag, compile_catalog, transpile
from portrait.catalog.loader import load_tags
from portrait.catalog.model import SQL_TYPES, Tag

__all__ = [
    "Builtin", "Catalog", "CompiledTag", "EVENT_COLUMNS", "Output", "SQL_TYPES", "SqlContext", "Tag",
    "compile_catalog", "load_tags", "transpile",
]
