"""Service commands: serve (the HTTP API), keys create|list|revoke, forget.

Each command calls the same service functions the API routes call; `--json` prints the API body.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from portrait.cli.output import JsonOpt, ProjectOpt, console, emit
from portrait.config import load_project
from portrait.privacy.access import SCOPES, AccessStore
from portrait.privacy.forget import forget_user

keys_app = typer.Typer(help="API keys with scopes (stored hashed in warehouse/access.sqlite).", no_args_is_help=True)


def serve(
    project: Path = ProjectOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (default: loopback only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    poll: float = typer.Option(0.2, "--poll", help="Seconds between checks of warehouse/CURRENT for a new snapshot."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve profiles, tags, segments and real-time events over HTTP; follows new snapshots without restart."""
    import uvicorn

    from portrait.api import create_app

    app = create_app(load_project(project), poll=poll)
    console.print(f"Portrait profile service on http://{host}:{port}  (OpenAPI: /docs, metrics: /metrics)")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def _access(project: Path) -> AccessStore:
    return AccessStore(load_project(project).warehouse)


@keys_app.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", "-n", help="Who or what uses the key (e.g. recsys-prod)."),
    scopes: str = typer.Option("profiles:read", "--scopes", help=f"Comma-separated: {', '.join(SCOPES)}."),
    project: Path = ProjectOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create a key; it is shown once (only its salted hash is stored)."""
    data = _access(project).create_key(name, [s.strip() for s in scopes.split(",") if s.strip()])
    emit(data, as_json, lambda d: console.print(
        f"Key [bold]{d['key_id']}[/] ({d['name']}; {', '.join(d['scopes'])}):\n  {d['key']}\n"
        "[dim]Store it now: it cannot be shown again.[/]", highlight=False))


@keys_app.command("list")
def keys_list(project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """Every key with its scopes and state (never the key itself)."""

    def render(rows: list[dict]) -> None:
        t = Table(title=f"API keys ({len(rows)})", title_justify="left")
        for col in ("key id", "name", "scopes", "created", "revoked"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["key_id"], r["name"], ", ".join(r["scopes"]), r["created_at"], r["revoked_at"] or "—")
        console.print(t)

    emit(_access(project).list_keys(), as_json, render)


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="The key id (from `portrait keys list`)."),
                project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """Revoke a key; a running server refuses it within 2 seconds."""
    emit(_access(project).revoke_key(key_id), as_json, lambda d: console.print(f"Revoked key {d['key_id']}."))


def forget(user_id: str = typer.Argument(..., help="The user to erase."),
           project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """Erase a user (PIPL/GDPR): events, inbox, every snapshot's profiles, online store and bitmaps, exports."""

    def render(d: dict) -> None:
        removed = ", ".join(f"{k} {v}" for k, v in d["removed"].items())
        console.print(f"Forgot {d['user']} across {d['snapshots']} snapshot(s): {removed}. "
                      "Future builds and exports leave this user out.")

    emit(forget_user(load_project(project), user_id), as_json, render)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(forget)
    app.add_typer(keys_app, name="keys")
