"""`portrait model train | list | show`: point-in-time training against snapshots (the I/O edge).

Features come from the snapshot built `--as-of` the cutoff (built here when missing, reused when its
tag definitions are still current), so they cannot have read an event at or after the cutoff. Labels
come from the newest snapshot's events inside the label window after the cutoff. The evaluated
model, its report and its predictions are written as a new version; older versions stay.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from portrait import __version__
from portrait.config import Project, load_project
from portrait.models.errors import ModelError
from portrait.models.evaluate import cross_validate, out_of_time
from portrait.models.features import FeatureFrame
from portrait.models.inputs import load_frame, population
from portrait.models.labels import Labels, check_window, from_sql, from_tag
from portrait.models.outputs import tag_values
from portrait.models.registry import ModelStore, ModelVersion
from portrait.models.report import headline, render_html, render_text
from portrait.models.spec import ResolvedModel, model_for, resolve_models
from portrait.models.train import FitSettings, Fitted, fit, importances, predict
from portrait.snapshot import Snapshot, SnapshotStore

Step = Callable[[str], None]


@dataclass
class TrainedModel:
    """What a version's model.pkl holds: the resolved spec it was trained under and the fitted model."""

    model: ResolvedModel
    fitted: Fitted
    spec_hash: str


def settings_for(model: ResolvedModel) -> FitSettings:
    return FitSettings(model.task, model.classes, model.spec.algorithm, dict(model.spec.params), model.spec.seed,
                       model.spec.top_k, model.enum_values, {b.name: b.items for b in model.item_blocks})


# -- snapshots ---------------------------------------------------------------------------------
def instant(value: date | datetime | str | None, tz: str) -> datetime | None:
    """A cutoff as an aware instant: dates are midnight in the project's time zone."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


def _tag_hashes(catalog) -> dict[str, str]:
    return {ct.id: ct.tag.definition_hash for ct in catalog.tags if ct.form != "model"}


def _fits(snapshot: Snapshot, hashes: dict[str, str]) -> bool:
    have = {t.id: t.definition_hash for t in snapshot.manifest.tags}
    return all(have.get(k) == v for k, v in hashes.items())


def current_snapshot(project: Project, step: Step) -> Snapshot:
    store = SnapshotStore(project.warehouse)
    if store.current_id() is None:
        from portrait.pipeline import build

        step("build the current snapshot")
        return build(project).snapshot
    return store.open()


def snapshot_at(project: Project, cutoff: datetime, catalog, step: Step) -> Snapshot:
    """The as-of snapshot at exactly `cutoff` whose tags match the catalog; built if there is none."""
    hashes = _tag_hashes(catalog)
    for s in reversed(SnapshotStore(project.warehouse).list()):
        m = s.manifest
        if m.as_of_requested and m.as_of == cutoff and _fits(s, hashes):
            return s
    from portrait.pipeline import build

    step(f"build the as-of snapshot at {cutoff.isoformat()}")
    return build(project, as_of=cutoff).snapshot


def connect_at(snapshot: Snapshot, since: datetime | None = None, until: datetime | None = None):
    """DuckDB over a snapshot's files; `events` limited to [since, until) (until defaults to the as-of)."""
    until = until or snapshot.manifest.as_of
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{snapshot.manifest.timezone}'")
    con.execute(f"CREATE MACRO as_of() AS TIMESTAMPTZ '{snapshot.manifest.as_of.isoformat()}'")
    where = f"event_time < TIMESTAMPTZ '{until.isoformat()}'"
    if since is not None:
        where += f" AND event_time >= TIMESTAMPTZ '{since.isoformat()}'"
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{snapshot.file('events')}') WHERE {where}")
    for name in ("users", "items", "profiles"):
        if snapshot.file(name).exists():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{snapshot.file(name)}')")
    return con


def assert_point_in_time(snapshot: Snapshot, cutoff: datetime) -> None:
    """Leakage guard: the feature snapshot must hold no event at or after the cutoff."""
    con = duckdb.connect()
    try:
        latest = con.execute(f"SELECT max(event_time) FROM read_parquet('{snapshot.file('events')}')").fetchone()[0]
    finally:
        con.close()
    if snapshot.manifest.as_of != cutoff or (latest is not None and latest >= cutoff):
        raise ModelError(f"snapshot {snapshot.id} (as of {snapshot.manifest.as_of.isoformat()}, last event {latest}) "
                         f"is not a point-in-time view at {cutoff.isoformat()}: features could read the future")


def _query(con) -> Callable[[str], pd.DataFrame]:
    return lambda sql: con.execute(sql).df()


# -- one labelled frame -------------------------------------------------------------------------
def labelled_frame(model: ResolvedModel, features: Snapshot, labels_from: Snapshot,
                   cutoff: datetime) -> tuple[FeatureFrame, Labels, dict]:
    """Features at the cutoff for the training population, with their labels; plus what was used."""
    assert_point_in_time(features, cutoff)
    con = connect_at(features)
    try:
        frame = load_frame(_query(con), model, "profiles", cutoff, baselines=True)
        target = model.spec.target
        default = "SELECT user_id FROM profiles" if target.tag else "SELECT user_id FROM events"
        pop = population(_query(con), model.spec.population, default)
        tag_values_at = (con.execute(f'SELECT user_id::VARCHAR AS user_id, "{target.tag}" AS v FROM profiles').df()
                         if target.tag else None)
    finally:
        con.close()
    window = model.label_window(cutoff)
    if target.tag:
        vals = pd.Series(frame.users).map(tag_values_at.set_index("user_id")["v"])
        labels = from_tag(vals, model.task, model.classes, target.positive)
    else:
        assert window is not None and target.sql is not None
        check_window(window, cutoff, labels_from.manifest.as_of)
        lcon = connect_at(labels_from, since=window[0], until=window[1])
        try:
            labels = from_sql(frame.users, lcon.execute(target.sql).df(), model.task, target.missing)
        finally:
            lcon.close()
    keep = labels.known & np.isin(frame.users, pop)
    idx = np.flatnonzero(keep)
    sub = frame.rows(idx)
    lab = Labels(np.ones(len(idx), dtype=bool), labels.y[idx])
    info = {"cutoff": cutoff.isoformat(), "snapshot_id": features.id,
            "label_window": [w.isoformat() for w in window] if window else None,
            "labels_snapshot_id": labels_from.id if window else features.id,
            "population": int(len(pop)), "users": int(len(idx)), "labels": lab.summary(model.task, model.classes)}
    return sub, lab, info


# -- train --------------------------------------------------------------------------------------
def default_cutoff(model: ResolvedModel, current: Snapshot, tz: str) -> datetime | None:
    """Static targets train on the current snapshot; windowed ones at the latest fully observed cutoff."""
    t = model.spec.target
    if t.window is None:
        return None
    local = current.manifest.as_of.astimezone(ZoneInfo(tz)) - timedelta(days=t.start + t.window)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def train(project: Project | str | Path, name_or_tag: str, cutoff: date | datetime | str | None = None,
          on_step: Step | None = None, repeats: int | None = None) -> ModelVersion:
    """Train, evaluate and store a new version of the model behind `name_or_tag`.

    `repeats` overrides the catalog's number of CV repeats (quick runs; the report says what ran)."""
    from portrait.pipeline import load_catalog

    project = project if isinstance(project, Project) else load_project(project)
    step = on_step or (lambda _s: None)
    t0 = time.perf_counter()
    catalog = load_catalog(project)
    model = model_for(catalog, name_or_tag)
    spec, tz = model.spec, project.config.timezone
    current = current_snapshot(project, step)
    cut = instant(cutoff, tz) or instant(spec.cutoff, tz) or default_cutoff(model, current, tz)
    features = current if cut is None else snapshot_at(project, cut, catalog, step)
    cut = cut or current.manifest.as_of
    step("read features and labels")
    frame, labels, train_info = labelled_frame(model, features, current, cut)
    if len(frame) < 20 or (model.task != "regression" and len(set(labels.y)) < 2):
        raise ModelError(f"only {len(frame)} labelled users at {cut.date()}: too few (or one class) to train")
    s = settings_for(model)
    with threadpool_limits(limits=1):  # BLAS threads only thrash on small matrices and shared cores
        mv = _evaluate_fit_save(project, catalog, model, frame, labels, train_info, current, cut, step, t0, repeats)
    return mv


def _evaluate_fit_save(project: Project, catalog, model: ResolvedModel, frame: FeatureFrame, labels: Labels,
                       train_info: dict, current: Snapshot, cut: datetime, step: Step, t0: float,
                       repeats: int | None) -> ModelVersion:
    spec, tz = model.spec, project.config.timezone
    s = settings_for(model)
    ev = spec.evaluation if repeats is None else spec.evaluation.model_copy(update={"repeats": repeats})
    test_info = None
    step(f"evaluate ({ev.method})")
    if ev.method == "cv":
        evaluation = cross_validate(frame, labels.y, s, spec.threshold, ev.folds, ev.repeats, ev.baselines)
    else:
        test_cut = instant(ev.test_cutoff, tz)
        assert test_cut is not None
        window = model.label_window(cut)
        if window and window[1] > test_cut:
            raise ModelError(f"training labels run to {window[1].date()}, after the test cutoff {test_cut.date()}",
                             hint="the test period would leak into training; choose an earlier --cutoff")
        test_snap = snapshot_at(project, test_cut, catalog, step)
        test_frame, test_labels, test_info = labelled_frame(model, test_snap, current, test_cut)
        evaluation = out_of_time(frame, labels.y, test_frame, test_labels.y, s, spec.threshold, ev.baselines)
    step("fit the model")
    fitted = fit(frame, labels.y, s)
    step("score every user of the current snapshot")
    con = connect_at(current)
    try:
        score = load_frame(_query(con), model, "profiles", current.manifest.as_of)
    finally:
        con.close()
    preds = tag_values(score.users, predict(fitted, score), model.task, model.classes, spec.threshold, "")
    report = {
        "model": model.name, "tags": model.outputs, "declared_in": f"{model.declared_by.file}:{model.declared_by.line}",
        "task": model.task, "classes": model.classes, "algorithm": spec.algorithm, "params": spec.params,
        "seed": spec.seed, "threshold": spec.threshold,
        "target": spec.target.model_dump(exclude_none=True), "population": spec.population,
        "features": {"tags": model.feature_tags, "sql": [f.name for f in model.feature_sql],
                     "blocks": [b.name for b in model.item_blocks], "columns": len(fitted.names)},
        "spec_hash": model.spec_hash, "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "portrait_version": __version__, "python": platform.python_version(),
        "train": train_info, "test": test_info, "evaluation": evaluation,
        "importances": _titled(importances(fitted), current),
        "scoring": {"snapshot_id": current.id, "as_of": current.manifest.as_of.isoformat(), "users": len(preds),
                    "summary": _pred_summary(preds, model.task)},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    step("save the version")
    store = ModelStore(project.warehouse)
    return store.save(model.name, TrainedModel(model, fitted, model.spec_hash), report,
                      lambda r: {"report.txt": render_text(r), "report.html": render_html(r)}, preds)


def _titled(rows: list[dict], snapshot: Snapshot) -> list[dict]:
    """Item features (`block:item_id`) get the item's title when the items table has one."""
    ids = {r["feature"].split(":", 1)[1] for r in rows if ":" in r["feature"] and not r["feature"].endswith("score")}
    if not ids or not snapshot.file("items").exists():
        return rows
    con = duckdb.connect()
    try:
        cols = [d[0] for d in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{snapshot.file('items')}')").fetchall()]
        if "title" not in cols:
            return rows
        titles = dict(con.execute(f"SELECT item_id::VARCHAR, title FROM read_parquet('{snapshot.file('items')}')").fetchall())
    finally:
        con.close()
    return [{**r, "item": titles.get(r["feature"].split(":", 1)[1])} if ":" in r["feature"] else r for r in rows]


def _pred_summary(preds: pd.DataFrame, task: str) -> dict:
    if task == "regression":
        return {"mean": round(float(preds["value"].mean()), 4), "median": round(float(preds["value"].median()), 4)}
    shares = preds["label"].value_counts(normalize=True).round(4)
    return {"label_shares": {str(k): float(v) for k, v in shares.items()},
            "mean_probability": round(float(preds["probability"].mean()), 4)}


# -- read ---------------------------------------------------------------------------------------
def list_models(project: Project | str | Path) -> list[dict]:
    """Every model of the catalog with its newest version's headline numbers (stale = spec changed)."""
    from portrait.pipeline import load_catalog

    project = project if isinstance(project, Project) else load_project(project)
    store = ModelStore(project.warehouse)
    out = []
    for name, m in resolve_models(load_catalog(project)).items():
        mv = store.latest(name)
        row = {"model": name, "tags": m.outputs, "task": m.task, "algorithm": m.spec.algorithm,
               "versions": store.versions(name), "latest": mv.version if mv else None}
        if mv:
            r = mv.report()
            row.update(trained_at=r["created_at"], cutoff=r["train"]["cutoff"], headline=headline(r),
                       stale=r.get("spec_hash") != m.spec_hash)
        out.append(row)
    return out


def show(project: Project | str | Path, name_or_tag: str, version: str | None = None) -> dict:
    """A version's report (the newest by default), as stored."""
    from portrait.pipeline import load_catalog

    project = project if isinstance(project, Project) else load_project(project)
    store = ModelStore(project.warehouse)
    name = name_or_tag if store.versions(name_or_tag) else model_for(load_catalog(project), name_or_tag).name
    mv = store.get(name, version)
    return {**mv.report(), "path": str(mv.path)}
