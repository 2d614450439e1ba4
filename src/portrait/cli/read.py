"""Reading commands: profile, tags list, tags show."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table
from rich.tree import Tree

from portrait.apps.profiles import get_profile, list_tags, show_tag
from portrait.cli.output import JsonOpt, ProjectOpt, SnapshotOpt, console, emit
from portrait.config import load_project
from portrait.snapshot import SnapshotStore

tags_app = typer.Typer(help="Browse the tag catalog (标签体系) of a snapshot.", no_args_is_help=True)


def _snapshot(project: Path, snapshot: str | None):
    return SnapshotStore(load_project(project).warehouse).open(snapshot)


def _fmt(value) -> str:
    if isinstance(value, list):
        return ", ".join(f"{v['key']} {v['weight']:.2f}" for v in value[:6]) + (" …" if len(value) > 6 else "")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "—" if value is None else str(value)


def print_profile(p: dict) -> None:
    tree = Tree(f"[bold]user {p['user_id']}[/]  (snapshot {p['snapshot_id']}, as of {p['as_of']})")
    branches: dict[str, Tree] = {}
    for group in p["groups"]:
        top = group["taxonomy"][0]
        if top not in branches:
            branches[top] = tree.add(f"[bold cyan]{top}[/]")
        node = branches[top]
        sub = node.add(" / ".join(group["taxonomy"][1:])) if len(group["taxonomy"]) > 1 else node
        for t in group["tags"]:
            unit = f" {t['unit']}" if t.get("unit") and t["value"] is not None else ""
            zh = f" {t['name'].get('zh')}" if t["name"].get("zh") else ""
            sub.add(f"{t['name']['en']}{zh} [dim]({t['id']})[/]: [bold]{_fmt(t['value'])}{unit}[/]")
    console.print(tree)


def print_tags(rows: list[dict]) -> None:
    t = Table(title=f"Tag catalog ({len(rows)} tags)", title_justify="left")
    for col in ("taxonomy", "tag", "name", "kind", "type", "coverage"):
        t.add_column(col)
    for r in sorted(rows, key=lambda r: (r["taxonomy"], r["id"])):
        name = r["name"]["en"] + (f" / {r['name']['zh']}" if r["name"].get("zh") else "")
        cov = "—" if r["coverage"] is None else f"{r['coverage']:.1%}"
        t.add_row(" / ".join(r["taxonomy"]), r["id"], name, r["kind"], r["type"], cov)
    console.print(t)


def print_distribution(stats: dict) -> None:
    dist, covered = stats.get("distribution", {}), stats.get("covered") or 0
    t = Table(title="Distribution", title_justify="left")
    if "values" in dist:
        t.add_column("value"), t.add_column("users", justify="right"), t.add_column("share", justify="right")
        for v in dist["values"]:
            t.add_row(str(v["value"]), f"{v['count']:,}", f"{v['count'] / covered:.1%}" if covered else "—")
    elif "quantiles" in dist:
        t.add_column("statistic"), t.add_column("value", justify="right")
        t.add_row("mean", _fmt(dist["mean"]))
        for q, v in dist["quantiles"].items():
            t.add_row(f"p{float(q) * 100:g}", _fmt(v))
    elif "keys" in dist:
        t.add_column("key"), t.add_column("users", justify="right"), t.add_column("mean weight", justify="right")
        for k in dist["keys"][:20]:
            t.add_row(k["key"], f"{k['users']:,}", f"{k['mean_weight']:.3f}")
    elif dist:
        t.add_column("statistic"), t.add_column("value")
        for k, v in dist.items():
            t.add_row(k, str(v))
    else:
        return
    console.print(t)


def profile(
    user_id: str = typer.Argument(..., help="The user's id."),
    tags: str | None = typer.Option(None, "--tags", help="Comma-separated tag ids (default: all)."),
    project: Path = ProjectOpt,
    snapshot: str | None = SnapshotOpt,
    as_json: bool = JsonOpt,
) -> None:
    """One user's profile, tags grouped by taxonomy."""
    wanted = [t.strip() for t in tags.split(",")] if tags else None
    emit(get_profile(_snapshot(project, snapshot), user_id, wanted), as_json, print_profile)


@tags_app.command("list")
def tags_list(project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt) -> None:
    """Every tag with taxonomy, kind, type and coverage."""
    emit(list_tags(_snapshot(project, snapshot)), as_json, print_tags)


@tags_app.command("show")
def tags_show(
    tag: str = typer.Argument(..., help="Tag id."),
    project: Path = ProjectOpt,
    snapshot: str | None = SnapshotOpt,
    as_json: bool = JsonOpt,
) -> None:
    """A tag's definition, dependencies, coverage and value distribution."""

    def render(d):
        name = d["name"]["en"] + (f" / {d['name']['zh']}" if d["name"].get("zh") else "")
        console.print(f"[bold]{d['id']}[/] — {name}\n  {' / '.join(d['taxonomy'])} · {d['kind']} · {d['type']}"
                      f" · owner {d['owner']} · declared in {d['declared_in']}")
        if d["description"]:
            console.print(f"  {d['description']}")
        console.print(f"  coverage {d['coverage']:.1%} · computed at {d['computed_at']} · "
                      f"depends on {', '.join(d['depends_on']) or 'nothing'}")
        definition = dict(d["definition"])
        for key in ("sql", "formula"):
            if key in definition:
                console.rule(key, align="left")
                console.print(definition.pop(key), highlight=False, markup=False)
        if definition:
            console.print_json(json.dumps(definition, ensure_ascii=False, default=str))
        print_distribution(d["stats"])

    emit(show_tag(_snapshot(project, snapshot), tag), as_json, render)


def register(app: typer.Typer) -> None:
    app.command()(profile)
    app.add_typer(tags_app, name="tags")
