"""Model commands: `portrait model train | list | show` (挖掘/预测标签)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from portrait.cli.output import JsonOpt, ProjectOpt, console, emit, err_console

model_app = typer.Typer(help="Train, list and inspect the models behind model/predicted tags.", no_args_is_help=True)


def _num(v) -> str:
    return "—" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


@model_app.command("train")
def train(
    tag: str = typer.Argument(..., help="A model tag (e.g. gender_p_female) or a model name (e.g. gender)."),
    cutoff: datetime | None = typer.Option(
        None, "--cutoff", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        help="Feature cutoff (project time zone): features from the snapshot as of it, labels from after it. "
        "Default: the model's `cutoff`, else the latest cutoff whose label window is fully observed.",
    ),
    repeats: int | None = typer.Option(None, "--repeats", min=1, max=10,
                                       help="Override the number of cross-validation repeats (quick runs)."),
    project: Path = ProjectOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Train and evaluate a new version of a model; older versions stay readable."""
    from portrait.models.report import render_text
    from portrait.models.service import train as run

    with err_console.status("training") as status:
        mv = run(project, tag, cutoff, on_step=lambda s: status.update(s), repeats=repeats)
    report = {**mv.report(), "path": str(mv.path)}

    def render(r: dict) -> None:
        typer.echo(render_text(r))
        console.print(f"Saved {r['model']} {r['version']} in {r['path']}. Run `portrait build` to refresh the tags.")

    emit(report, as_json, render)


@model_app.command("list")
def list_(project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """Every model of the catalog: its tags, versions and the newest version's headline metric."""
    from portrait.models.service import list_models

    def render(rows: list[dict]) -> None:
        t = Table()
        for col in ("model", "task", "latest", "cutoff", "model score", "baselines"):
            t.add_column(col)
        for r in rows:
            h = r.get("headline") or {}
            base = ", ".join(f"{k} {_num(v)}" for k, v in (h.get("baselines") or {}).items())
            score = f"{h.get('metric')} {_num(h.get('model'))}" if h else ""
            latest = (r["latest"] or "not trained") + (" (stale)" if r.get("stale") else "")
            t.add_row(r["model"], r["task"], latest, (r.get("cutoff") or "")[:10], score, base)
        console.print(t if rows else "no model tags in the catalog")

    emit(list_models(project), as_json, render)


@model_app.command("show")
def show(
    tag: str = typer.Argument(..., help="A model tag or model name."),
    version: str | None = typer.Option(None, "--version", "-v", help="A version such as v2; default: the newest."),
    html: bool = typer.Option(False, "--html", help="Print the HTML report instead of text (see --out)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the HTML report to this file."),
    project: Path = ProjectOpt,
    as_json: bool = JsonOpt,
) -> None:
    """A model version's evaluation report: metrics vs baselines, calibration, confusion, importances."""
    from portrait.models.report import render_html, render_text
    from portrait.models.service import show as run

    def render(r: dict) -> None:
        if out is not None:
            console.print(f"HTML report written to {out}")
        elif html:
            typer.echo(render_html(r))
        else:
            typer.echo(render_text(r))
            console.print(f"Files: {r['path']}/report.json, report.html")

    report = run(project, tag, version)
    if out is not None:  # written with --json too
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(report), encoding="utf-8")
    emit(report, as_json, render)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
