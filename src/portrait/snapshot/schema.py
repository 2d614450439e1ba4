"""The manifest's JSON Schema, generated from the model and committed under schemas/."""

from __future__ import annotations

import json
from pathlib import Path

from portrait.snapshot.manifest import SCHEMA_VERSION, Manifest

SCHEMA_FILE = f"manifest.v{SCHEMA_VERSION}.schema.json"


def manifest_schema() -> dict:
    schema = Manifest.model_json_schema()
    schema["$id"] = f"https://portrait.dev/schemas/{SCHEMA_FILE}"
    return schema


def write_schema(folder: Path) -> Path:
    path = folder / SCHEMA_FILE
    path.write_text(json.dumps(manifest_schema(), indent=2, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":  # python -m portrait.snapshot.schema  (re-generates schemas/)
    print(write_schema(Path(__file__).resolve().parents[3] / "schemas"))
