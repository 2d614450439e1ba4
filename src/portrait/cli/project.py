"""Project commands: init, check, build, snapshots, quarantine, demo."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from portrait.cli.output import JsonOpt, ProjectOpt, SnapshotOpt, console, emit
from portrait.config import load_project
from portrait.errors import ConfigError
from portrait.snapshot import SnapshotStore

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_names() -> list[str]:
    return sorted(p.name for p in EXAMPLES.iterdir() if (p / "portrait.yaml").exists())


def init(
    directory: Path = typer.Argument(..., help="Folder to create the project in."),
    example: str = typer.Option(..., "--example", "-e", help="online-retail or movielens"),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing portrait.yaml."),
) -> None:
    """Write a complete working example project (config + tag catalog) to DIRECTORY."""
    src = EXAMPLES / example
    if not (src / "portrait.yaml").exists():
        raise ConfigError(f"no example {example!r}", hint=f"choose one of: {', '.join(example_names())}")
    if (directory / "portrait.yaml").exists() and not force:
        raise ConfigError(f"{directory}/portrait.yaml exists", hint="use --force to overwrite")
    shutil.copytree(src, directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    console.print(f"Created the [bold]{example}[/] project in {directory}. Next: portrait build -p {directory}")


def check(project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """Check portrait.yaml and every tag (SQL, columns, dependencies, enum values, model blocks) without computing."""
    from portrait.models.spec import resolve_models
    from portrait.pipeline import load_catalog

    catalog = load_catalog(load_project(project))
    models = resolve_models(catalog)
    data = {"tags": len(catalog.tags), "models": sorted(models), "catalog_hash": catalog.hash,
            "order": [t.id for t in catalog.tags]}
    emit(data, as_json, lambda d: console.print(f"[green]ok[/]: {d['tags']} tags, catalog {d['catalog_hash']}"))


def _print_build(result) -> None:
    m = result.snapshot.manifest
    t = Table(title="Sources", title_justify="left")
    for col in ("source", "table", "read", "accepted", "quarantined", "at/after as-of"):
        t.add_column(col, justify="right" if col not in ("source", "table") else "left")
    for s in result.ingest.stats:
        t.add_row(s.name, s.table, f"{s.read:,}", f"{s.accepted:,}", f"{s.quarantined:,}", f"{s.after_as_of:,}")
    console.print(t)
    if result.identity and result.identity.ids:
        i = result.identity
        console.print(f"Identity: {i.ids:,} linked ids resolved to {i.persons:,} persons "
                      f"({i.merged_events:,} events re-attributed)")
    tags = Table(title="Tags", title_justify="left")
    for col in ("tag", "coverage", "seconds", "note"):
        tags.add_column(col)
    coverage = {e.id: e.coverage for e in m.tags}
    for run in result.runs:
        tags.add_row(run.tag_id, f"{coverage[run.tag_id]:.1%}", f"{run.seconds:.2f}", run.note)
    console.print(tags)
    kind = "historical (not current)" if m.as_of_requested else "current"
    console.print(
        f"Snapshot [bold]{m.snapshot_id}[/] ({kind}): {m.users:,} users, {m.events:,} events, "
        f"{len(m.tags)} tags, as of {m.as_of.isoformat()}, built in {result.seconds:.1f}s\n"
        f"  at {result.snapshot.path}"
    )


def run_build(project: Path, as_of: datetime | None = None):
    from portrait.pipeline import build as run, load_catalog

    proj = load_project(project)
    n_tags = len(load_catalog(proj).tags)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        steps = progress.add_task("build", total=None)
        tags = progress.add_task("tags", total=n_tags, visible=False)

        def on_step(name: str) -> None:
            progress.update(steps, description=name)

        def on_tag(tag_id: str) -> None:
            progress.update(tags, visible=True, advance=1, description=f"tag {tag_id}")

        return run(proj, as_of=as_of, on_step=on_step, on_tag=on_tag)


def build(
    project: Path = ProjectOpt,
    as_of: datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        help="Compute every tag as it was at this instant (project time zone), reading only earlier events. "
        "The snapshot is kept but does not become current.",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Ingest the sources, compute every tag and publish a new snapshot atomically."""
    result = run_build(project, as_of)
    emit(result.snapshot.manifest.model_dump(mode="json"), as_json, lambda _d: _print_build(result))


def snapshots(project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """List published snapshots (newest last); the current one is marked."""
    store = SnapshotStore(load_project(project).warehouse)
    current = store.current_id()
    rows = [
        {"snapshot_id": s.id, "current": s.id == current, "as_of": s.manifest.as_of.isoformat(),
         "historical": s.manifest.as_of_requested, "users": s.manifest.users, "events": s.manifest.events,
         "tags": len(s.manifest.tags), "catalog_hash": s.manifest.catalog_hash}
        for s in store.list()
    ]

    def render(rows):
        t = Table()
        for col in ("", "snapshot", "as of", "users", "events", "tags"):
            t.add_column(col)
        for r in rows:
            t.add_row("*" if r["current"] else "", r["snapshot_id"], r["as_of"], f"{r['users']:,}", f"{r['events']:,}",
                      str(r["tags"]))
        console.print(t if rows else "no snapshots yet: run `portrait build`")

    emit(rows, as_json, render)


def quarantine(
    project: Path = ProjectOpt,
    source: str | None = typer.Option(None, "--source", help="Only this source."),
    limit: int = typer.Option(10, "--limit", help="Example rows to show."),
    snapshot: str | None = SnapshotOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Rejected input rows: counts by reason, then examples with file, line, field and reason."""
    from portrait.sources import quarantine_examples, quarantine_summary

    snap = SnapshotStore(load_project(project).warehouse).open(snapshot)
    path = snap.file("quarantine")
    data = {
        "snapshot_id": snap.id,
        "by_reason": quarantine_summary(path, source),
        "examples": quarantine_examples(path, source, limit),
    }

    def render(d):
        t = Table(title=f"Quarantine of snapshot {d['snapshot_id']}", title_justify="left")
        for col in ("source", "field", "reason", "rows"):
            t.add_column(col)
        for r in d["by_reason"]:
            t.add_row(r["source"], str(r["field"]), r["reason_kind"], f"{r['count']:,}")
        console.print(t if d["by_reason"] else "quarantine is empty")
        for e in d["examples"]:
            console.print(f"  {e['file']}:{e['source_line']} [{e['field']}] {e['reason']}", highlight=False, markup=False)

    emit(data, as_json, render)


def demo(
    directory: Path = typer.Option(Path("demo-output"), "--dir", help="Where to create the two example projects."),
) -> None:
    """Init and build both examples on real data (training MovieLens' gender model on the way), then print
    two real profiles and the catalog summary."""
    from portrait.apps.profiles import get_profile, list_tags
    from portrait.cli.read import print_profile, print_tags
    from portrait.models.report import headline
    from portrait.models.service import train

    for example, user, model in (("online-retail", "12347", None), ("movielens", "1", "gender")):
        target = directory / example
        if not (target / "portrait.yaml").exists():
            init(target, example, False)
        console.rule(f"[bold]{example}")
        result = run_build(target)
        if model:
            console.print(f"Training the [bold]{model}[/] model (predicted from behaviour, 5-fold CV) …")
            h = headline(train(target, model, repeats=1).report())
            base = ", ".join(f"{k} {v:.3f}" for k, v in h["baselines"].items() if v is not None)
            console.print(f"  {h['metric']} {h['model']:.3f} (same-run baselines: {base})")
            result = run_build(target)
        _print_build(result)
        print_profile(get_profile(result.snapshot, user))
        print_tags(list_tags(result.snapshot))
    out = directory.resolve()
    exe = sys.argv[0] if Path(sys.argv[0]).name == "portrait" else "portrait"
    exe = os.path.relpath(exe) if os.path.isabs(exe) and Path(exe).is_relative_to(Path.cwd()) else exe
    console.print(
        f"\nResults are in {out}: each project's warehouse/CURRENT names its snapshot folder "
        f"(profiles.parquet, tag_stats.json, manifest.json, bitmaps).\n"
        f"Try: {exe} profile 12347 -p {directory}/online-retail\n"
        f"     {exe} segment count \"country = 'Germany' AND rfm_segment = 'Champions'\" -p {directory}/online-retail\n"
        f"     {exe} serve -p {directory}/online-retail   (web console at http://127.0.0.1:8000/)"
    )


def register(app: typer.Typer) -> None:
    for fn in (init, check, build, snapshots, quarantine, demo):
        app.command()(fn)
