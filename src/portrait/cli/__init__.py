"""The `portrait` command: one typer app; each noun lives in its own module."""

from __future__ import annotations

import json
import sys

import typer
from rich.markup import escape

from portrait.cli import apps as _apps
from portrait.cli import models as _models
from portrait.cli import project as _project
from portrait.cli import read as _read
from portrait.cli import segments as _segments
from portrait.cli import serve as _serve
from portrait.cli.output import err_console
from portrait.errors import PortraitError

app = typer.Typer(
    name="portrait",
    help="Portrait: user profiles (用户画像) from behaviour logs, governed by a tag catalog.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for module in (_project, _read, _serve, _models, _segments, _apps):
    module.register(app)


def main() -> None:
    try:
        app()
    except PortraitError as e:
        if "--json" in sys.argv:
            print(json.dumps({"ok": False, "status": e.status, "error": e.to_dict()}, ensure_ascii=False, indent=2))
        else:
            err_console.print("[bold red]error:[/] " + escape(str(e)), highlight=False)
        raise SystemExit(1)
