"""The committed manifest JSON Schema is current, and a real snapshot's manifest conforms to it."""

import json
from pathlib import Path

import jsonschema
import pytest

from portrait.errors import SnapshotError
from portrait.snapshot import SnapshotStore
from portrait.snapshot.schema import SCHEMA_FILE, manifest_schema

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_committed_schema_is_current():
    assert json.loads((SCHEMAS / SCHEMA_FILE).read_text()) == manifest_schema()


def test_real_manifest_conforms(retail):
    manifest = json.loads((retail.snapshot.path / "manifest.json").read_text())
    jsonschema.validate(manifest, json.loads((SCHEMAS / SCHEMA_FILE).read_text()))


def test_reader_refuses_unknown_schema_version(tmp_path, retail):
    import shutil

    copy = tmp_path / "warehouse" / "snapshots" / "x"
    shutil.copytree(retail.snapshot.path, copy, ignore=shutil.ignore_patterns("*.parquet"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match="schema version 99"):
        SnapshotStore(tmp_path / "warehouse").open("x")
