"""Application commands: insight, lookalike, lookalike-eval, recommend, recommend-eval, campaign.

Each command parses its options, calls one service function in `portrait.apps` and prints the
result; `--json` prints exactly the HTTP API body. Services are imported lazily so `portrait
--help` stays fast.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from portrait.cli.output import JsonOpt, ProjectOpt, SnapshotOpt, console, emit

campaign_app = typer.Typer(help="Campaigns with a control group: create, export, measure.", no_args_is_help=True)


def _csv(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _pct(x) -> str:
    return "—" if x is None else f"{x:.1%}"


def _tgi(x) -> str:
    return "—" if x is None else f"{x:.0f}"


# -- insight ------------------------------------------------------------------------------------

def _print_insight(d: dict, rows: int = 8) -> None:
    s, b = d["segment"], d["base"]
    console.print(f"[bold]Insight[/] {s['spec']} ({s['size']:,} users) vs {b['spec']} ({b['size']:,}) · snapshot "
                  f"{d['snapshot_id']} · {d['elapsed_ms']} ms", highlight=False)
    for w in d["warnings"]:
        console.print(f"[yellow]warning:[/] {w}")
    t = Table(title="Tags that set the segment apart (Jensen–Shannon divergence)", title_justify="left")
    for col in ("tag", "divergence", "strongest value", "TGI"):
        t.add_column(col, justify="right" if col in ("divergence", "TGI") else "left")
    for r in d["ranking"][:15]:
        t.add_row(f"{r['name']['en']} ({r['tag']})", f"{r['divergence']:.4f}", str(r["top_value"] or "—"), _tgi(r["top_tgi"]))
    console.print(t)
    by_id = {x["id"]: x for x in d["tags"]}
    for r in d["ranking"][:3]:
        tag = by_id[r["tag"]]
        rows_ = tag.get("values") or tag.get("histogram") or []
        if tag["summary"] == "categorical":  # the values that matter most first
            rows_ = sorted(rows_, key=lambda v: (v["low_support"], -abs(math.log((v["tgi"] or 1e-9) / 100))))
        tt = Table(title=f"{tag['name']['en']} ({tag['id']}) · coverage {_pct(tag['coverage']['segment'])} / "
                         f"{_pct(tag['coverage']['base'])}", title_justify="left")
        for col in ("value", "segment", "base", "TGI", "95% interval", ""):
            tt.add_column(col, justify="left" if col in ("value", "") else "right")
        for v in rows_[:rows]:
            ci = "—" if v["tgi_low"] is None else f"{v['tgi_low']:.0f}–{v['tgi_high']:.0f}"
            flag = "low support" if v["low_support"] else ("significant" if v["significant"] else "")
            tt.add_row(str(v["value"]), f"{v['segment_count']:,} ({_pct(v['segment_share'])})",
                       f"{v['base_count']:,} ({_pct(v['base_share'])})", _tgi(v["tgi"]), ci, flag)
        console.print(tt)


def insight(
    segment: str = typer.Argument(..., help="Saved segment name, an expression, or lookalike:NAME."),
    vs: str = typer.Option("all", "--vs", help="Base to compare with: all, a segment or an expression."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write a self-contained HTML report here."),
    png: Path | None = typer.Option(None, "--png", help="Also write PNG charts into this folder (needs Chromium)."),
    min_support: int = typer.Option(30, "--min-support", help="Rows with fewer users on either side are flagged."),
    top: int = typer.Option(30, "--top", help="Values listed per tag (the rest fold into (other))."),
    tags: str | None = typer.Option(None, "--tags", help="Comma-separated tags (default: every tag)."),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Insight (画像洞察): coverage, distributions and TGI of every tag, segment vs base."""
    from portrait.apps.insight import insight as run

    data = run(project, segment, vs, snapshot, min_support, top, _csv(tags) or None)
    if out is not None or png is not None:
        from portrait.apps.insight_report import write_html, write_pngs

        html = write_html(data, out or (png / "report.html"))
        data["report"] = {"html": str(html)}
        if png is not None:
            data["report"]["png"] = {"dir": str(png), "files": write_pngs(html, png)}
    emit(data, as_json, _print_insight)
    if not as_json and "report" in data:
        console.print(f"report: {data['report']['html']}" + (f" · PNGs in {png}" if png else ""))


# -- lookalike ----------------------------------------------------------------------------------

def _print_lookalike(d: dict) -> None:
    console.print(f"[bold]Lookalike[/] of {d['seed']['spec']} ({d['seed']['size']:,} users): {d['size']:,} of "
                  f"{d['candidates']:,} candidates · method {d['method']} · tag weight {d['chosen']['tag_scale']} · "
                  f"C {d['chosen']['C']} · {d['elapsed_ms']} ms", highlight=False)
    if d["excluded"]["with_derived"]:
        console.print(f"  excluded: {', '.join(d['excluded']['with_derived'])}")
    if d.get("comparison"):
        c = d["comparison"]
        console.print("  held-out seed recall: " + ", ".join(f"{m} {v['recall']:.1%}" for m, v in c.items()))
    t = Table(title="What drives the expansion", title_justify="left")
    for col in ("feature", "contribution", "seed", "everyone"):
        t.add_column(col, justify="left" if col == "feature" else "right")
    for r in d["drivers"][:12]:
        t.add_row(r["feature"], f"{r['contribution']:.4f}", f"{r['seed_mean']:.3g}", f"{r['population_mean']:.3g}")
    console.print(t)
    console.print("  top: " + ", ".join(f"{m['user_id']} ({m['score']:.2f})" for m in d["members"][:10]), highlight=False)
    if d.get("saved"):
        console.print(f"saved as lookalike:{d['saved']['name']} ({d['saved']['members']:,} users)")


def lookalike(
    seed: str = typer.Argument(..., help="Seed: saved segment, expression, or lookalike:NAME."),
    size: int = typer.Option(..., "--size", "-n", help="How many lookalikes to return (seed excluded)."),
    exclude: str | None = typer.Option(None, "--exclude", help="Tags to hide from the features (derived tags too)."),
    save: str | None = typer.Option(None, "--save", help="Save the scored list as lookalike:NAME."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite a saved lookalike of that name."),
    method: str = typer.Option("pu", "--method", help="pu (PU bagging) or centroid (cosine similarity)."),
    compare: bool = typer.Option(True, "--compare/--no-compare", help="Compare both methods on a held-out third of the seed."),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Lookalike expansion (相似人群扩展): the N users most like a seed."""
    from portrait.apps.lookalike import lookalike as run

    emit(run(project, seed, size, _csv(exclude), save, method, snapshot, replace, compare=compare), as_json,
         _print_lookalike)


def lookalike_eval(
    target: str = typer.Argument(..., help="Users who have the attribute, e.g. \"occupation = 'student'\"."),
    exclude: str = typer.Option(..., "--exclude", help="Tags hidden from the features (the attribute itself)."),
    baseline_tags: str | None = typer.Option(None, "--baseline-tags", help="Numeric tags the baseline gets besides TF-IDF."),
    seeds: int = typer.Option(5, "--seeds", help="Random splits."),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Evaluate lookalike on a known attribute: seed with half, find the hidden half (precision, lift)."""
    from portrait.apps.lookalike import lookalike_eval as run

    def render(d):
        console.print(f"[bold]{d['target']['spec']}[/]: {d['target_users']:,} of {d['users']:,} users · hidden: "
                      f"{', '.join(d['excluded'])} · {d['elapsed_ms'] / 1000:.1f} s", highlight=False)
        t = Table(title="Mean over seeds", title_justify="left")
        for col in ("method", "precision", "lift", "lift min–max"):
            t.add_column(col, justify="left" if col == "method" else "right")
        for m, v in d["summary"].items():
            t.add_row(m, f"{v['precision']:.3f}", f"{v['lift']:.2f}", f"{v['lift_min']:.2f}–{v['lift_max']:.2f}")
        console.print(t)

    emit(run(project, target, _csv(exclude), _csv(baseline_tags), seeds, snapshot), as_json, render)


# -- recommend ----------------------------------------------------------------------------------

def recommend(
    user_id: str = typer.Argument(..., help="The user's id."),
    k: int = typer.Option(10, "--k", "-k", help="How many items."),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Recommend items from the user's interests and item co-occurrence (consumed items excluded)."""
    from portrait.apps.recommend import recommend as run

    def render(d):
        interests = ", ".join(f"{i['key']} {i['weight']:.2f}" for i in d["interests"][:6]) or "—"
        console.print(f"[bold]user {d['user_id']}[/] · {d['consumed']} items consumed · interests: {interests}",
                      highlight=False)
        t = Table(title_justify="left")
        for col in ("#", "item", "score", "found by", "because of", "interest"):
            t.add_column(col)
        for it in d["items"]:
            t.add_row(str(it["rank"]), it["title"] or it["item_id"], f"{it['score']:.3f}", it["source"],
                      _because(it), it["interest"] or "—")
        console.print(t)

    emit(run(project, user_id, k, snapshot), as_json, render)


def _because(item: dict) -> str:
    """The reason matching the path that found the item (a popular item is not there because of a purchase)."""
    b = item["because_of"]
    if item["source"] == "cooccurrence" and b:
        return b["title"] or b["item_id"]
    if item["source"] == "interest" and item["interest"]:
        return f"interest in {item['interest']}"
    return f"popular: {item['consumers']:,} consumers"


def recommend_eval(
    train: str = typer.Option(..., "--train", help="As-of snapshot to build the model from (`build --as-of DATE`)."),
    test: str | None = typer.Option(None, "--test", help="Later snapshot holding the truth (default: current)."),
    k: int = typer.Option(10, "--k", "-k"),
    project: Path = ProjectOpt, as_json: bool = JsonOpt,
) -> None:
    """Hit rate and NDCG at k on a time split, against global popularity."""
    from portrait.apps.recommend import recommend_eval as run

    def render(d):
        console.print(f"cut {d['cut']} · {d['users']} users · {d['relevant_per_user']:.1f} new items each")
        for name in ("recommend", "popularity"):
            console.print(f"  {name:<11} HR@{d['k']} {d[name]['hit_rate']:.3f}   NDCG@{d['k']} {d[name]['ndcg']:.3f}")
        console.print(f"  ratio       HR {d['hit_rate_ratio']:.2f}×   NDCG {d['ndcg_ratio']:.2f}×")

    emit(run(project, train, test, k), as_json, render)


# -- campaigns ----------------------------------------------------------------------------------

@campaign_app.command("create")
def campaign_create(
    name: str = typer.Argument(...),
    segment: str = typer.Option(..., "--segment", help="Saved segment, expression, or lookalike:NAME."),
    control: float = typer.Option(0.1, "--control", help="Share held out as control."),
    seed: int = typer.Option(0, "--seed", help="Seed of the hash split (same as `segment split`)."),
    launch: str | None = typer.Option(None, "--launch", help="Launch time (default: the snapshot's as-of time)."),
    description: str = typer.Option("", "--description", "-d"),
    replace: bool = typer.Option(False, "--replace"),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Freeze a segment's members at launch and hold out a control group."""
    from portrait.apps.campaigns import create

    def render(d):
        console.print(f"campaign [bold]{d['name']}[/]: {d['treatment_size']:,} treatment, "
                      f"{d['control_size']:,} control · launch {d['launch']} · snapshot {d['snapshot_id']}")
        for w in d.get("warnings", []):
            console.print(f"[yellow]warning:[/] {w}")

    emit(create(project, name, segment, control, seed, snapshot, launch, description, replace), as_json, render)


@campaign_app.command("export")
def campaign_export(
    name: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", "-o"),
    format: str = typer.Option("csv", "--format", "-f", help="csv or parquet"),
    tags: str | None = typer.Option(None, "--tags", help="Comma-separated tags to include."),
    group: str = typer.Option("treatment", "--group", help="treatment, control or all"),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Write the users to contact (the treatment group) with chosen tags."""
    from portrait.apps.campaigns import export

    emit(export(project, name, out, format, _csv(tags), group, snapshot), as_json,
         lambda d: console.print(f"wrote {d['rows']:,} {d['group']} users to {d['path']}"))


@campaign_app.command("measure")
def campaign_measure(
    name: str = typer.Argument(...),
    outcome: str = typer.Option("event_type = 'purchase'", "--outcome", help="Condition on events, e.g. amount > 50."),
    window: int = typer.Option(..., "--window", help="Days after launch."),
    project: Path = ProjectOpt, snapshot: str | None = SnapshotOpt, as_json: bool = JsonOpt,
) -> None:
    """Treatment vs control on the outcome after launch: uplift, 95% interval, p-value."""
    from portrait.apps.campaigns import measure

    def render(d):
        console.print(f"[bold]{d['campaign']}[/]: {d['outcome']} within {d['window_days']} days of {d['launch']}",
                      highlight=False)
        for g in ("treatment", "control"):
            console.print(f"  {g:<9} {d[g]['converted']:,} / {d[g]['users']:,} = {_pct(d[g]['rate'])}")
        ci = "—" if d["ci_low"] is None else f"[{d['ci_low']:+.2%}, {d['ci_high']:+.2%}]"
        p = "—" if d["p_value"] is None else f"{d['p_value']:.3f}"
        console.print(f"  uplift {d['uplift']:+.2%} {ci} · p = {p} · "
                      f"{'significant' if d['significant'] else 'not significant'}")
        for w in d["warnings"]:
            console.print(f"[yellow]warning:[/] {w}")

    emit(measure(project, name, outcome, window, snapshot), as_json, render)


@campaign_app.command("list")
def campaign_list(project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """Campaigns with launch time and group sizes."""
    from portrait.apps.campaigns import list_campaigns

    def render(rows):
        t = Table(title=f"Campaigns ({len(rows)})", title_justify="left")
        for col in ("name", "launch", "treatment", "control"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["name"], r["launch"], f"{r['treatment_size']:,}", f"{r['control_size']:,}")
        console.print(t)

    emit(list_campaigns(project), as_json, render)


@campaign_app.command("show")
def campaign_show(name: str = typer.Argument(...), project: Path = ProjectOpt, as_json: bool = JsonOpt) -> None:
    """A campaign's definition."""
    from portrait.apps.campaigns import show

    emit(show(project, name), as_json, lambda d: console.print_json(data=d))


def register(app: typer.Typer) -> None:
    app.command()(insight)
    app.command()(lookalike)
    app.command("lookalike-eval")(lookalike_eval)
    app.command()(recommend)
    app.command("recommend-eval")(recommend_eval)
    app.add_typer(campaign_app, name="campaign")
