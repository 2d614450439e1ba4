"""Built-in tag algorithms. Each module registers its `Builtin` with `@register`; third-party
packages add theirs through the `portrait.builtins` entry-point group (same hook, same contract)."""

from __future__ import annotations

from importlib.metadata import entry_points

from portrait.catalog.builtin_spec import Builtin

_REGISTRY: dict[str, Builtin] = {}


def register(builtin: Builtin) -> Builtin:
    _REGISTRY[builtin.name] = builtin
    return builtin


def builtins() -> dict[str, Builtin]:
    """Every built-in: ours, then plugins'."""
    from portrait.tags.builtins import _modules  # noqa: F401  (registers ours)

    for ep in entry_points(group="portrait.builtins"):
        if ep.name not in _REGISTRY:
            register(ep.load())
    return dict(_REGISTRY)
