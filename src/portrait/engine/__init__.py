"""Compute engines behind one interface. Short names map to classes; a dotted path loads any other."""

from __future__ import annotations

import importlib

from portrait.engine.base import Engine
from portrait.errors import ConfigError

ENGINES = {
    "duckdb": "portrait.engine.duckdb_engine.DuckDBEngine",
}


def engine_class(name: str) -> type[Engine]:
    path = ENGINES.get(name, name)
    module, _, cls = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError, ValueError) as e:
        raise ConfigError(
            f"engine {name!r} is not available ({e})",
            hint=f"known engines: {', '.join(ENGINES)}; or give a dotted path to an Engine class",
        ) from e


__all__ = ["ENGINES", "Engine", "engine_class"]
