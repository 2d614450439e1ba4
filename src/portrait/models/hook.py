"""The build's model hook: every build refreshes predicted tags with each model's newest version.

Why in the build: predictions must describe the same instant as the rest of the profile, so they are
computed from the tags of the same build (`t_<tag>` tables), with the model's stored feature plan.
A model with no trained version yields no values (the build notes `portrait model train`).
"""

from __future__ import annotations

import os
import uuid
from typing import Callable

from threadpoolctl import threadpool_limits

from portrait.catalog import CompiledTag
from portrait.config import Project
from portrait.engine import Engine
from portrait.errors import BuildError, Location, PortraitError
from portrait.models.inputs import load_frame
from portrait.models.outputs import tag_values
from portrait.models.registry import ModelStore
from portrait.models.spec import ResolvedModel, resolve_models
from portrait.models.train import predict
from portrait.tags.compute import USERS_TABLE


def _tag_table(model: ResolvedModel, engine: Engine) -> str:
    """`profile`-shaped view of the feature tags computed so far in this build."""
    for t in model.feature_tags:
        try:
            engine.query(f"SELECT user_id FROM t_{t} LIMIT 0")
        except PortraitError:
            raise BuildError(f"model {model.name!r} needs tag {t!r}, which is not computed before it",
                             Location(model.declared_by.file, model.declared_by.line, tag=model.declared_by.id),
                             "list it under model.features so the catalog orders it before the model") from None
    cols = "".join(f', t_{t}.value AS "{t}"' for t in model.feature_tags)
    joins = " ".join(f"LEFT JOIN t_{t} USING (user_id)" for t in model.feature_tags)
    return f"(SELECT {USERS_TABLE}.user_id{cols} FROM {USERS_TABLE} {joins})"


def _predict_into(engine: Engine, project: Project, name: str, threshold: float, store: ModelStore) -> str | None:
    mv = store.latest(name)
    if mv is None:
        return None
    trained = mv.load()
    model: ResolvedModel = trained.model
    frame = load_frame(lambda sql: engine.query(sql).to_pandas(), model, _tag_table(model, engine), engine.as_of)
    with threadpool_limits(limits=1):
        pred = predict(trained.fitted, frame)
    values = tag_values(frame.users, pred, model.task, model.classes, threshold, mv.version)
    table = f"_model_{name}"
    tmp = project.warehouse / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"model-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
    try:
        values.to_parquet(path, index=False)
        engine.register_parquet(f"{table}_file", str(path))
        engine.create_table(table, f"SELECT * FROM {table}_file")
    finally:
        path.unlink(missing_ok=True)
    return table


def model_hook(project: Project) -> Callable[[CompiledTag, Engine], str | None]:
    """A hook for one build: each model predicts once; each of its tags selects its output."""
    store = ModelStore(project.warehouse)
    tables: dict[str, str | None] = {}
    models: dict[str, ResolvedModel] = {}

    def hook(ct: CompiledTag, engine: Engine) -> str | None:
        if not models:
            from portrait.pipeline import load_catalog

            models.update(resolve_models(load_catalog(project)))
        block = ct.tag.model or {}
        name = block.get("name") or ct.id
        if name not in models:
            return None
        if name not in tables:
            tables[name] = _predict_into(engine, project, name, models[name].spec.threshold, store)
        if tables[name] is None:
            return None
        return f"SELECT user_id, {models[name].outputs[ct.id]} AS value FROM {tables[name]}"

    return hook
