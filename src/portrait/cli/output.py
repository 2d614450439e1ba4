"""How commands print: `--json` prints exactly the API body; otherwise a rich rendering."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import typer
from rich.console import Console

console = Console(width=None if sys.stdout.isatty() else 140)  # logs and CI get readable tables
err_console = Console(stderr=True)

ProjectOpt = typer.Option(".", "--project", "-p", envvar="PORTRAIT_PROJECT", help="Project folder (holds portrait.yaml).")
JsonOpt = typer.Option(False, "--json", help="Print the JSON body the HTTP API returns.")
SnapshotOpt = typer.Option(None, "--snapshot", "-s", help="Snapshot id (or unique prefix); default: current.")


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        typer.echo(json.dumps({"ok": True, "data": data}, ensure_ascii=False, indent=2, default=str))
    else:
        render(data)
