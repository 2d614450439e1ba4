"""Segment commands (人群圈选): count, save, list, show, delete, export, diff, explain, split.

Each command parses its options, calls one function of `portrait.segments.service` and prints
the result: `--json` prints exactly the HTTP API body.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.tree import Tree

from portrait.cli.output import JsonOpt, ProjectOpt, SnapshotOpt, console, emit

segment_app = typer.Typer(help="Audience segments (人群圈选) on roaring bitmaps.", no_args_is_help=True)

MARK = {"true": "[green]✔ true[/]", "false": "[red]✘ false[/]", "unknown": "[yellow]? unknown (NULL)[/]"}


def _svc():
    from portrait.segments import service

    return service


def _pct(x) -> str:
    return "—" if x is None else f"{x:.2%}"


@segment_app.command("count")
def count(
    expression: str = typer.Argument(..., help="e.g. \"country = 'Germany' AND monetary > 500\""),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Size and share of all users of an expression (bitmap cardinality: instant)."""
    def render(d):
        console.print(f"[bold]{d['size']:,}[/] users ({_pct(d['share'])} of {d['users']:,}) in snapshot "
                      f"{d['snapshot_id']} · {d['elapsed_ms']} ms · {d['plan']['bitmap']} bitmap / "
                      f"{d['plan']['sql']} SQL predicates")
        for w in d["warnings"]:
            console.print(f"[yellow]warning:[/] {w}", highlight=False)

    emit(_svc().count(project, expression, snapshot), as_json, render)


@segment_app.command("save")
def save(
    name: str = typer.Argument(..., help="Segment name: lower-case letters, digits and _."),
    expression: str = typer.Argument(..., help="The segment's expression."),
    description: str = typer.Option("", "--description", "-d", help="What the segment is for."),
    replace: bool = typer.Option(False, "--replace", help="Redefine an existing segment."),
    project: Path = ProjectOpt, as_json: bool = JsonOpt,
) -> None:
    """Save a named segment; every build re-evaluates it and keeps its size history."""
    emit(_svc().save(project, name, expression, description, replace), as_json, _print_show)


@segment_app.command("list")
def list_(project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """Saved segments with their latest size."""
    def render(rows):
        t = Table(title=f"Segments ({len(rows)})", title_justify="left")
        for col in ("name", "definition", "size", "share", "snapshot"):
            t.add_column(col)
        for r in rows:
            definition = r["expression"] or f"split of {r['split']['parent']} ({r['split']['ratio']:g})"
            t.add_row(r["name"], definition, "—" if r["size"] is None else f"{r['size']:,}", _pct(r["share"]),
                      r["snapshot_id"] or "—")
        console.print(t if rows else "no saved segments: `portrait segment save NAME EXPR`")

    emit(_svc().list_segments(project), as_json, render)


def _print_show(d: dict) -> None:
    definition = d["expression"] or f"split of {d['split']['parent']}: ratio {d['split']['ratio']:g}, seed {d['split']['seed']}"
    console.print(f"[bold]{d['name']}[/]: {definition}", highlight=False)
    if d["description"]:
        console.print(f"  {d['description']}")
    if d["references"] or d["referenced_by"]:
        console.print(f"  uses {d['references'] or '—'} · used by {d['referenced_by'] or '—'}")
    t = Table(title="Size per snapshot", title_justify="left")
    for col in ("snapshot", "as of", "size", "share", "note"):
        t.add_column(col)
    for h in d["history"]:
        t.add_row(h["snapshot_id"], h["as_of"], "—" if "size" not in h else f"{h['size']:,}", _pct(h.get("share")),
                  h.get("error", ""))
    console.print(t)


@segment_app.command("show")
def show(name: str = typer.Argument(...), project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """A segment's definition and its size in every snapshot."""
    emit(_svc().show(project, name), as_json, _print_show)


@segment_app.command("delete")
def delete(name: str = typer.Argument(...), project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """Delete a saved segment (refused while other segments use it)."""
    emit(_svc().delete(project, name), as_json, lambda d: console.print(f"deleted {d['deleted']}"))


@segment_app.command("export")
def export(
    name: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    format: str = typer.Option("csv", "--format", "-f", help="csv or parquet"),
    tags: str | None = typer.Option(None, "--tags", help="Comma-separated tags to include besides user_id."),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Export a segment's members (user_id and chosen tags)."""
    wanted = [t.strip() for t in tags.split(",")] if tags else None
    emit(_svc().export(project, name, out, format, wanted, snapshot), as_json,
         lambda d: console.print(f"wrote {d['rows']:,} users to {d['path']} ({d['format']}, {d['seconds']} s)"))


@segment_app.command("diff")
def diff(
    name: str = typer.Argument(...),
    from_: str = typer.Option(..., "--from", help="Earlier snapshot id (or unique prefix)."),
    to: str = typer.Option("current", "--to", help="Later snapshot id (default: current)."),
    limit: int = typer.Option(100, "--limit", help="User ids to list per side."),
    out: Path | None = typer.Option(None, "--out", help="Write every entered/left user id to this CSV."),
    project: Path = ProjectOpt, as_json: bool = JsonOpt,
) -> None:
    """Users who entered and left a segment between two snapshots."""
    def render(d):
        console.print(f"[bold]{d['segment']}[/]: {d['from']['size']:,} ({d['from']['snapshot_id']}) → "
                      f"{d['to']['size']:,} ({d['to']['snapshot_id']})")
        console.print(f"  [green]+{d['entered']['count']:,} entered[/]  [red]-{d['left']['count']:,} left[/]  "
                      f"{d['stayed']:,} stayed")
        for side in ("entered", "left"):
            ids = d[side]["user_ids"]
            if ids:
                more = " …" if d[side]["count"] > len(ids) else ""
                console.print(f"  {side}: {', '.join(ids[:20])}{more}", highlight=False)

    emit(_svc().diff(project, name, from_, to, limit, out), as_json, render)


def _tree(node: dict, tree: Tree) -> None:
    label = f"{MARK[node['result']]}  {node['clause']}"
    if node.get("kind") == "predicate":
        label += f"   [dim]{node['tag']}{'[' + repr(node['key']) + ']' if node.get('key') else ''} = {node['value']!r}[/]"
    if node.get("split"):
        s = node["split"]
        label += f"   [dim]hash bucket {'in' if s['in_range'] else 'outside'} this split's range[/]"
    branch = tree.add(label)
    for c in node.get("children", []):
        _tree(c, branch)


@segment_app.command("explain")
def explain(
    name: str = typer.Argument(..., help="Saved segment."),
    user_id: str = typer.Argument(..., help="The user's id."),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Why a user is or is not in a segment: each clause with the user's actual tag values."""
    def render(d):
        verdict = "[green]is in[/]" if d["member"] else "[red]is not in[/]"
        tree = Tree(f"user [bold]{d['user_id']}[/] {verdict} [bold]{d['segment']}[/] (snapshot {d['snapshot_id']})")
        _tree(d["explanation"], tree)
        console.print(tree)

    emit(_svc().explain(project, name, user_id, snapshot), as_json, render)


@segment_app.command("split")
def split(
    name: str = typer.Argument(...),
    ratios: str = typer.Option(..., "--ratios", help="e.g. 0.9,0.1 (must add up to 1)."),
    seed: int = typer.Option(..., "--seed", help="Hash seed: the same seed gives the same split."),
    names: str | None = typer.Option(None, "--names", help="Child names, e.g. target,control (default NAME_1, NAME_2 …)."),
    project: Path = ProjectOpt, as_json: bool = JsonOpt,
) -> None:
    """Split a segment deterministically by hashing user ids (control groups); saves the children."""
    try:
        parts = [float(r) for r in ratios.split(",")]
    except ValueError as e:
        raise typer.BadParameter(f"--ratios must be numbers, got {ratios!r}") from e
    child_names = [n.strip() for n in names.split(",")] if names else None

    def render(d):
        console.print(f"split [bold]{d['parent']}[/] ({d['parent_size']:,} users, seed {d['seed']}):")
        for c in d["children"]:
            console.print(f"  {c['name']}: {c['size']:,} ({_pct(c['share_of_parent'])}, target {c['ratio']:g})")

    emit(_svc().split(project, name, parts, seed, child_names), as_json, render)


def register(app: typer.Typer) -> None:
    app.add_typer(segment_app, name="segment")
