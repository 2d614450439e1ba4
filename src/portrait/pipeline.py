"""`portrait build`: sources → events store → tag engine → snapshot, published atomically.

The one place that wires the stages together; each stage only sees what the previous one
published (Parquet files in the build's staging folder).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from portrait import __version__
from portrait.catalog import Catalog, SqlContext, compile_catalog, load_tags
from portrait.config import CANONICAL_TABLES, Project, load_project
from portrait.engine import engine_class
from portrait.identity import IdentityResult, resolve_identity
from portrait.online.artifact import build_online_store
from portrait.realtime.fold import fold_inbox
from portrait.snapshot.manifest import Manifest, SourceCounts, TagEntry
from portrait.snapshot.store import Snapshot, SnapshotStore, new_snapshot_id
from portrait.sources import IngestResult, canonical_schema, ingest
from portrait.tags.builtins import builtins
from portrait.tags.compute import PROFILES_TABLE, ModelHook, TagRun, compute_tags
from portrait.tags.stats import tag_stats

# Extra artifacts written into a snapshot before it is published, e.g. the bitmap index.
# Each gets (staging folder, catalog, engine holding `profiles`) and returns {name: file}.
ArtifactBuilder = Callable[[Path, Catalog, object], dict[str, str]]
ARTIFACT_BUILDERS: list[ArtifactBuilder] = [build_online_store]
# Events folded into the staging events right after ingest (the API's real-time inbox; forgotten
# users filtered out). Each gets (project, staging folder, as_of) and returns its newest event time.
EVENT_FOLDS: list[Callable[[Project, Path, datetime | None], datetime | None]] = [fold_inbox]
# Work done after a snapshot is current, e.g. re-evaluating saved segments.
POST_PUBLISH: list[Callable[[Project, Snapshot], None]] = []
MODEL_HOOKS: list[Callable[[Project], ModelHook]] = []


@dataclass
class BuildResult:
    snapshot: Snapshot
    ingest: IngestResult
    runs: list[TagRun]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    identity: IdentityResult | None = None


def load_catalog(project: Project) -> Catalog:
    """The project's catalog, checked against its canonical tables; fails before any compute."""
    tags = load_tags(project.tags_dir, project.root)
    schema = canonical_schema(project)
    return compile_catalog(tags, {t: schema[t] for t in CANONICAL_TABLES}, builtins())


def _data_clock(result: IngestResult, tz: str) -> datetime:
    """Midnight after the last event, in the project's time zone: `now` for a historical data set."""
    if result.max_event_time is None:
        return datetime.now(timezone.utc)
    local = result.max_event_time.astimezone(ZoneInfo(tz))
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _tags_json(catalog: Catalog) -> str:
    rows = []
    for ct in catalog.tags:
        row = ct.tag.model_dump(mode="json", exclude_none=True)
        row.update(file=ct.tag.file, line=ct.tag.line, form=ct.form, deps=ct.deps)
        if ct.builtin is not None:
            row["formula"] = ct.builtin.formula
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False, indent=1)


def build(
    project: Project | str | Path,
    as_of: datetime | None = None,
    on_step: Callable[[str], None] | None = None,
    on_tag: Callable[[str], None] | None = None,
) -> BuildResult:
    project = project if isinstance(project, Project) else load_project(project)
    cfg = project.config
    step = on_step or (lambda _name: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    step("check catalog")
    catalog = load_catalog(project)
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=ZoneInfo(cfg.timezone))

    store = SnapshotStore(project.warehouse)
    parent = store.current_id()
    staging = store.begin(new_snapshot_id(as_of))
    try:
        step("ingest sources")
        t = time.perf_counter()
        result = ingest(project, staging.path, as_of=as_of)
        for fold in EVENT_FOLDS:
            latest = fold(project, staging.path, as_of)
            if latest is not None and (result.max_event_time is None or latest > result.max_event_time):
                result.max_event_time = latest
        timings["ingest"] = time.perf_counter() - t
        step("resolve identity")
        identity = resolve_identity(staging.path)
        effective = as_of or (_data_clock(result, cfg.timezone) if cfg.clock == "data" else datetime.now(timezone.utc))

        step("compute tags")
        t = time.perf_counter()
        tmp = project.warehouse / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        engine = engine_class(cfg.engine.type)(
            timezone=cfg.timezone, as_of=effective, temp_dir=str(tmp),
            memory_limit=cfg.engine.memory_limit, threads=cfg.engine.threads,
        )
        with engine:
            for table in ("events", "users", "items"):
                path = staging.file(table + ".parquet")
                if table == "events":
                    # A view, not a copy: each tag query reads only the columns it uses from the
                    # events store (copying all 13 columns cost ~30% of the tag phase).
                    engine.execute(f"CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet('{path}') "
                                   "WHERE event_time < as_of()")
                else:
                    engine.create_table(table, f"SELECT * FROM read_parquet('{path}')")
            schema = canonical_schema(project)
            ctx = SqlContext(cfg.timezone, frozenset(schema["items"]), frozenset(schema["users"]))
            hooks = [make(project) for make in MODEL_HOOKS]
            model_hook = hooks[0] if hooks else None
            runs = compute_tags(engine, catalog, ctx, model_hook, on_tag)
            engine.write_parquet(f"SELECT * FROM {PROFILES_TABLE}", str(staging.file("profiles.parquet")))
            timings["tags"] = time.perf_counter() - t

            step("tag statistics")
            computed_at = datetime.now(timezone.utc)
            stats = tag_stats(engine, catalog, PROFILES_TABLE, computed_at)
            staging.file("tag_stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=1, default=str))
            staging.file("catalog.json").write_text(_tags_json(catalog))
            files = {
                "events": "events.parquet", "users": "users.parquet", "items": "items.parquet",
                "quarantine": "quarantine.parquet", "profiles": "profiles.parquet",
                "links": "links.parquet", "identity": "identity.parquet",
                "tag_stats": "tag_stats.json", "catalog": "catalog.json",
            }
            for builder in ARTIFACT_BUILDERS:
                step(f"artifact {getattr(builder, '__name__', 'artifact')}")
                files.update(builder(staging.path, catalog, engine))
            n_users = engine.query(f"SELECT count(*) FROM {PROFILES_TABLE}").column(0)[0].as_py()
            n_events = engine.query("SELECT count(*) FROM events").column(0)[0].as_py()

        step("publish snapshot")
        manifest = Manifest(
            snapshot_id=staging.snapshot_id,
            project=cfg.name,
            created_at=datetime.now(timezone.utc),
            as_of=effective,
            as_of_requested=as_of is not None,
            timezone=cfg.timezone,
            engine=cfg.engine.type,
            portrait_version=__version__,
            parent=parent,
            catalog_hash=catalog.hash,
            users=n_users,
            events=n_events,
            quarantined=sum(s.quarantined for s in result.stats),
            sources=[SourceCounts(**vars(s)) for s in result.stats],
            tags=[
                TagEntry(id=ct.id, definition_hash=ct.tag.definition_hash, depends_on=ct.deps,
                         coverage=stats[ct.id]["coverage"], computed_at=computed_at)
                for ct in catalog.tags
            ],
            files=files,
            build_seconds=time.perf_counter() - t0,
        )
        snapshot = store.publish(staging, manifest, make_current=as_of is None)
    except BaseException:
        store.abort(staging)
        raise
    if as_of is None:
        store.prune(cfg.keep_snapshots)
        for hook in POST_PUBLISH:
            hook(project, snapshot)
    return BuildResult(snapshot, result, runs, time.perf_counter() - t0, timings, identity)


from portrait.models.hook import model_hook  # noqa: E402  (the model stage reads this module lazily)

MODEL_HOOKS.append(model_hook)

from portrait.segments.hooks import register as _register_segments  # noqa: E402  (bitmap index, saved segments)

_register_segments(ARTIFACT_BUILDERS, POST_PUBLISH)
