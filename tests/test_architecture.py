"""Data flows one way: a stage imports only the stages before it (and never the shells on top)."""

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "portrait"

# Each stage and the other packages it may import. The shells (cli, api, console) and the
# pipeline that wires the stages may import anything, so they are not listed.
ALLOWED = {
    "errors": set(),
    "ids": set(),
    "datasets": {"errors"},
    "config": {"errors", "datasets"},
    "catalog": {"errors"},
    "engine": {"errors"},
    "snapshot": {"errors"},
    "identity": set(),
    "sources": {"errors", "config", "catalog", "datasets", "ids"},
    "tags": {"errors", "catalog", "engine"},
    "segments": {"errors", "config", "catalog", "snapshot", "apps"},
}
NEVER_FROM_APPLICATIONS = {"cli", "api", "console"}


def imports_by_stage() -> dict[str, set[str]]:
    deps: dict[str, set[str]] = defaultdict(set)
    for f in SRC.rglob("*.py"):
        stage = f.relative_to(SRC).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "portrait" and len(parts) > 1 and parts[1] != stage:
                    deps[stage].add(parts[1])
    return deps


def test_core_stages_import_only_upstream():
    deps = imports_by_stage()
    for stage, allowed in ALLOWED.items():
        assert deps.get(stage, set()) <= allowed, f"{stage} imports {sorted(deps[stage] - allowed)}"


def test_no_stage_imports_the_shells():
    deps = imports_by_stage()
    for stage, used in deps.items():
        if stage not in NEVER_FROM_APPLICATIONS and stage != "pipeline":
            assert not used & NEVER_FROM_APPLICATIONS, f"{stage} imports {sorted(used & NEVER_FROM_APPLICATIONS)}"
