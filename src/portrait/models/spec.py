"""The `model:` block of model/predicted tags: typed, checked, resolved to one spec per model.

Why: one model often feeds several tags (p(female), the label, the model version), so exactly one
tag declares the model and the others name it and pick an output. Everything checkable before any
data is read is checked here, with errors naming the tag: outputs against tag types, features
against the target (never the target, nothing derived from it, nothing it is derived from), and
label windows that would start before the feature cutoff (the future leaking into the features).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, Union

import sqlglot
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlglot import exp

from portrait.catalog import Catalog, Tag
from portrait.errors import CatalogError, CatalogErrors, Location

Output = Literal["probability", "label", "distribution", "value", "version"]
Task = Literal["binary", "multiclass", "regression"]
Algorithm = Literal["lightgbm", "logistic_regression", "gradient_boosting"]
UNKNOWN = "unknown"
FEATURE_TYPES = ("integer", "number", "enum", "weighted_set", "bool")  # the default feature set
FEATURE_TABLES = {"events", "users", "items"}

OUTPUT_TYPES: dict[str, tuple[str, ...]] = {
    "probability": ("number",), "label": ("enum",), "distribution": ("weighted_set",),
    "value": ("number", "integer"), "version": ("string",),
}
TASK_OUTPUTS: dict[str, set[str]] = {
    "binary": {"probability", "label", "distribution", "version"},
    "multiclass": {"probability", "label", "distribution", "version"},
    "regression": {"value", "version"},
}
_DAYS = re.compile(r"^\s*(-?\d+)\s*d?\s*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _days(v: Any) -> int:
    """`90d`, `90` or `-7d` → days; windows are whole days so they line up with daily snapshots."""
    if isinstance(v, int):
        return v
    m = _DAYS.match(str(v))
    if not m:
        raise ValueError(f"{v!r} is not a duration in days, e.g. 90d")
    return int(m.group(1))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemMatrix(Strict):
    """Which items each user touched, as a sparse user×item block: the behaviour itself."""

    event_type: list[str] | None = None
    weight: str = "1"  # SQL expression per event, summed per (user, item), e.g. the rating
    tfidf: bool = True
    min_users: int = Field(2, ge=1)  # items seen by fewer training users are dropped
    scale: float = Field(1.0, gt=0)  # weight of the block beside the dense features (linear models)
    C: float = Field(2.0, gt=0)  # regularisation of the stacked block model (tree algorithms)

    @field_validator("event_type", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ItemsFeature(Strict):
    items: ItemMatrix
    name: str = "items"


class SqlFeature(Strict):
    """Features computed at the cutoff by SQL over events/users/items: user_id plus one value column
    (the feature `name`) or several (features `name.column`)."""

    name: str
    sql: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"feature name {v!r} must be snake_case")
        return v


FeatureDecl = Union[str, SqlFeature, ItemsFeature]


class Target(Strict):
    """What is predicted: a tag known at the cutoff, or label SQL over a window after it."""

    tag: str | None = None
    positive: str | None = None  # the class whose probability is the output (binary)
    sql: str | None = None  # over `events` in [cutoff + start, cutoff + start + window): (user_id, label)
    window: int | None = None
    start: int = 0
    missing: float | None = None  # label of population users the SQL returns no row for
    classes: list[str] | None = None  # names of [negative, positive] of a binary SQL label

    @field_validator("window", "start", mode="before")
    @classmethod
    def _durations(cls, v: Any) -> Any:
        return None if v is None else _days(v)

    @model_validator(mode="after")
    def _one(self) -> "Target":
        if (self.tag is None) == (self.sql is None):
            raise ValueError("target needs exactly one of `tag` (a tag known at the cutoff) or `sql` (label SQL)")
        if self.sql is not None and self.window is None:
            raise ValueError("a label-SQL target needs a `window` after the cutoff, e.g. 90d")
        if self.tag is not None and (self.window is not None or self.start):
            raise ValueError("`window` and `start` are for `sql` targets; a tag target is read at the cutoff")
        if self.window is not None and self.window <= 0:
            raise ValueError("the label window must be at least one day")
        if self.classes is not None and len(self.classes) != 2:
            raise ValueError("`classes` names the [negative, positive] labels of a binary target")
        return self


class Baseline(Strict):
    """A simple model measured in the same run, on the same folds or the same test cutoff."""

    name: str
    kind: Literal["majority", "score", "forecast", "tfidf_lr"]
    feature: str | None = None  # score / forecast: one feature (tag or SQL feature) used alone
    items: ItemMatrix | None = None  # tfidf_lr: the user×item block
    C: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _needs(self) -> "Baseline":
        if self.kind in ("score", "forecast") and not self.feature:
            raise ValueError(f"baseline {self.name!r} ({self.kind}) needs a `feature`")
        if self.kind == "tfidf_lr" and self.items is None:
            raise ValueError(f"baseline {self.name!r} (tfidf_lr) needs an `items` block")
        return self


class Evaluation(Strict):
    method: Literal["cv", "out_of_time"] = "cv"
    folds: int = Field(5, ge=2, le=20)
    repeats: int = Field(1, ge=1, le=10)
    test_cutoff: date | datetime | None = None
    baselines: list[Baseline] = Field(default_factory=list)

    @model_validator(mode="after")
    def _oot(self) -> "Evaluation":
        if self.method == "out_of_time" and self.test_cutoff is None:
            raise ValueError("out_of_time evaluation needs a `test_cutoff`")
        return self


class ModelSpec(Strict):
    """The full declaration, on exactly one tag of the model."""

    name: str
    output: Output
    task: Task | None = None
    target: Target
    features: list[FeatureDecl] | None = None  # default: every numeric, enum, bool and weighted-set tag
    exclude: list[str] = Field(default_factory=list)
    algorithm: Algorithm = "lightgbm"
    params: dict[str, Any] = Field(default_factory=dict)
    population: str | None = None  # SQL over the snapshot at the cutoff returning user_id
    threshold: float = Field(0.5, ge=0.0, le=1.0)  # confidence below which the label is `unknown`
    cutoff: date | datetime | None = None
    evaluation: Evaluation = Field(default_factory=Evaluation)
    seed: int = 42
    top_k: int = Field(50, ge=1)  # keys kept per weighted-set or string feature

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"model name {v!r} must be snake_case")
        return v


class ModelRef(Strict):
    """Another tag of a model declared elsewhere: names it and picks an output."""

    name: str
    output: Output


@dataclass
class ResolvedModel:
    """A model with its tags, task, classes and features expanded against the catalog."""

    name: str
    spec: ModelSpec
    task: Task
    classes: list[str]
    declared_by: Tag
    outputs: dict[str, str]  # tag id → output
    feature_tags: list[str]
    feature_sql: list[SqlFeature]
    item_blocks: list[ItemsFeature]
    tag_types: dict[str, str] = field(default_factory=dict)
    enum_values: dict[str, list[str]] = field(default_factory=dict)

    @property
    def spec_hash(self) -> str:
        body = self.spec.model_dump(mode="json", exclude={"output"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def label_window(self, cutoff: datetime) -> tuple[datetime, datetime] | None:
        t = self.spec.target
        if t.window is None:
            return None
        start = cutoff + timedelta(days=t.start)
        return start, start + timedelta(days=t.window)

    def feature_names(self) -> list[str]:
        return [*self.feature_tags, *(f.name for f in self.feature_sql)]


def _loc(tag: Tag) -> Location:
    return Location(tag.file, tag.line, None, tag.id)


def parse_block(tag: Tag) -> ModelSpec | ModelRef:
    """The tag's `model:` block as a spec or a reference; errors name the tag and the key."""
    raw = tag.model or {}
    cls = ModelRef if set(raw) <= {"name", "output"} else ModelSpec
    try:
        return cls.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise CatalogError(f"model.{key}: {first['msg']}" if key else f"model: {first['msg']}", _loc(tag)) from e


def _closure(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(edges.get(start, []))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(edges.get(n, []))
    return seen


def _sql_reads(sql: str) -> tuple[set[str], set[str]]:
    """Tables and `users` columns a query reads (best effort; unparsable SQL fails later, at run)."""
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except Exception:
        return set(), set()
    ctes = {c.alias for c in tree.find_all(exp.CTE)}
    tables = {t.name for t in tree.find_all(exp.Table)} - ctes
    cols = {c.name for c in tree.find_all(exp.Column)} if "users" in tables else set()
    return tables, cols - {"user_id"}


def _task_and_classes(tag: Tag, spec: ModelSpec, catalog: Catalog) -> tuple[str, list[str]]:
    t = spec.target
    if t.sql is not None:
        task = spec.task or "binary"
        if task == "multiclass":
            raise CatalogError("a label-SQL target is binary or regression; use a tag target for classes", _loc(tag))
        return task, (t.classes or ["0", "1"]) if task == "binary" else []
    if t.tag not in catalog:
        raise CatalogError(f"model.target.tag: unknown tag {t.tag!r}", _loc(tag))
    target = catalog[t.tag]
    if target.type == "bool":
        task, classes = "binary", ["false", "true"]
    elif target.type == "enum":
        values = list(target.values or [])
        if t.positive is not None:
            if t.positive not in values:
                raise CatalogError(f"model.target.positive {t.positive!r} is not a value of {t.tag} {values}", _loc(tag))
            rest = [v for v in values if v != t.positive]
            task, classes = "binary", [rest[0] if len(rest) == 1 else f"not_{t.positive}", t.positive]
        else:
            task, classes = "multiclass", values
    elif target.type in ("number", "integer"):
        task, classes = "regression", []
    else:
        raise CatalogError(f"model.target.tag {t.tag!r} is {target.type}; a target is bool, enum or numeric", _loc(tag))
    if spec.task is not None and spec.task != task:
        raise CatalogError(f"model.task is {spec.task} but target {t.tag!r} ({target.type}) makes it {task}", _loc(tag))
    return task, classes


def _features(tag: Tag, spec: ModelSpec, catalog: Catalog, own: set[str]) -> tuple[list[str], list, list]:
    deps = {ct.id: list(ct.deps) for ct in catalog.tags}
    users: dict[str, list[str]] = {}
    for ct in catalog.tags:
        for d in ct.deps:
            users.setdefault(d, []).append(ct.id)
    forbidden: dict[str, str] = {}
    target_cols: set[str] = set()
    if spec.target.tag:
        tid = spec.target.tag
        forbidden[tid] = "it is the target"
        for a in _closure(tid, deps):
            forbidden.setdefault(a, f"the target {tid!r} is derived from it")
        for d in _closure(tid, users):
            forbidden.setdefault(d, f"it is derived from the target {tid!r}")
        for a in [tid, *_closure(tid, deps)]:
            if catalog[a].sql:
                target_cols |= _sql_reads(catalog[a].sql or "")[1]
    for o in own:
        forbidden.setdefault(o, "it is an output of this model")
    tags: list[str] = []
    sqls: list[SqlFeature] = []
    blocks: list[ItemsFeature] = []
    if spec.features is None:
        order = [ct.id for ct in catalog.tags]
        for ct in catalog.tags:
            t = ct.tag
            if (t.type in FEATURE_TYPES and t.kind not in ("model", "predicted") and not t.pii
                    and t.id not in forbidden and t.id not in spec.exclude):
                tags.append(t.id)
        later = [t for t in tags if order.index(t) > order.index(tag.id)]
        if later:  # a build computes the model where the catalog orders it; its features must exist by then
            raise CatalogError(f"default features {later[:5]} are computed after this model tag",
                               _loc(tag), "list `features:` explicitly (the catalog then orders them first)")
        return tags, sqls, blocks
    for f in spec.features:
        if isinstance(f, str):
            if f not in catalog:
                raise CatalogError(f"model.features: unknown tag {f!r}", _loc(tag))
            if f in forbidden:
                raise CatalogError(f"model.features: {f!r} cannot be a feature: {forbidden[f]} (leakage)", _loc(tag))
            tags.append(f)
        elif isinstance(f, SqlFeature):
            tables, cols = _sql_reads(f.sql)
            if tables - FEATURE_TABLES:
                raise CatalogError(f"model.features.{f.name}: feature SQL reads only events, users and items, "
                                   f"not {sorted(tables - FEATURE_TABLES)}", _loc(tag))
            if cols & target_cols:
                raise CatalogError(f"model.features.{f.name}: reads users.{sorted(cols & target_cols)[0]}, which the "
                                   f"target {spec.target.tag!r} is computed from (leakage)", _loc(tag))
            sqls.append(f)
        else:
            blocks.append(f)
    names = [*tags, *(s.name for s in sqls), *(b.name for b in blocks)]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CatalogError(f"model.features: duplicate feature name {dup[0]!r}", _loc(tag))
    return [t for t in tags if t not in spec.exclude], sqls, blocks


def _check_outputs(model: ResolvedModel, tags: dict[str, Tag]) -> None:
    for tag_id, output in model.outputs.items():
        tag = tags[tag_id]
        if tag.kind not in ("model", "predicted"):
            raise CatalogError(f"a tag with a `model:` block is of kind model or predicted, not {tag.kind}", _loc(tag))
        if tag.type not in OUTPUT_TYPES[output]:
            raise CatalogError(f"model output {output!r} is {' or '.join(OUTPUT_TYPES[output])}; the tag declares "
                               f"{tag.type}", _loc(tag))
        if output not in TASK_OUTPUTS[model.task]:
            raise CatalogError(f"a {model.task} model has no output {output!r}; choose one of "
                               f"{sorted(TASK_OUTPUTS[model.task])}", _loc(tag))
        if output == "label":
            need = [*model.classes, UNKNOWN]
            missing = [v for v in need if v not in (tag.values or [])]
            if missing:
                raise CatalogError(f"the label tag must allow the values {need}; missing {missing}", _loc(tag))


def _check_windows(model: ResolvedModel) -> None:
    spec, tag = model.spec, model.declared_by
    t = spec.target
    if t.start < 0:
        raise CatalogError(
            f"the label window starts {-t.start} day(s) before the feature cutoff: labels would come from the "
            "period the features already saw (leakage); start it at or after the cutoff (start: 0d)", _loc(tag))
    ev = spec.evaluation
    if spec.cutoff and ev.test_cutoff:
        c1, c2 = _as_dt(spec.cutoff), _as_dt(ev.test_cutoff)
        end = c1 + timedelta(days=t.start + (t.window or 0))
        if c2 <= c1:
            raise CatalogError("model.evaluation.test_cutoff must be after model.cutoff", _loc(tag))
        if end > c2:
            raise CatalogError(f"training labels run to {end.date()}, after the test cutoff {c2.date()}: the test "
                               "period would leak into training; move test_cutoff later or cutoff earlier", _loc(tag))
    sql_names = tuple(f"{f.name}." for f in model.feature_sql)
    for b in ev.baselines:
        if b.feature and b.feature not in model.feature_names() and not b.feature.startswith(sql_names):
            raise CatalogError(f"baseline {b.name!r} uses {b.feature!r}, which is not among the model's features",
                               _loc(tag))


def _as_dt(v: date | datetime) -> datetime:
    return v.replace(tzinfo=None) if isinstance(v, datetime) else datetime(v.year, v.month, v.day)


def resolve_one(tag: Tag, spec: ModelSpec, refs: dict[str, str], catalog: Catalog) -> ResolvedModel:
    task, classes = _task_and_classes(tag, spec, catalog)
    outputs = {tag.id: spec.output, **refs}
    ftags, fsql, blocks = _features(tag, spec, catalog, set(outputs))
    model = ResolvedModel(spec.name, spec, task, classes, tag, outputs, ftags, fsql, blocks,
                          tag_types={f: catalog[f].type for f in ftags},
                          enum_values={f: list(catalog[f].values or []) for f in ftags if catalog[f].type == "enum"})
    _check_outputs(model, {t.id: t.tag for t in catalog.tags})
    _check_windows(model)
    return model


def resolve_models(catalog: Catalog) -> dict[str, ResolvedModel]:
    """Every model of the catalog, by name; all problems are collected, each naming its tag."""
    specs: dict[str, tuple[Tag, ModelSpec]] = {}
    refs: dict[str, dict[str, str]] = {}
    ref_tags: dict[str, Tag] = {}
    errors: list[CatalogError] = []
    for ct in catalog.tags:
        if ct.tag.model is None:
            continue
        try:
            block = parse_block(ct.tag)
        except CatalogError as e:
            errors.append(e)
            continue
        if isinstance(block, ModelSpec):
            if block.name in specs:
                first = specs[block.name][0]
                errors.append(CatalogError(f"model {block.name!r} is already declared by tag {first.id!r} "
                                           f"({first.file}:{first.line}); other tags give only name and output",
                                           _loc(ct.tag)))
                continue
            specs[block.name] = (ct.tag, block)
        else:
            refs.setdefault(block.name, {})[ct.id] = block.output
            ref_tags.setdefault(block.name, ct.tag)
    for name, tag in ref_tags.items():
        if name not in specs:
            errors.append(CatalogError(f"no tag declares model {name!r} (one tag of a model carries its full spec)",
                                       _loc(tag)))
    out: dict[str, ResolvedModel] = {}
    for name, (tag, spec) in specs.items():
        try:
            out[name] = resolve_one(tag, spec, refs.get(name, {}), catalog)
        except CatalogError as e:
            errors.append(e)
    if errors:
        raise errors[0] if len(errors) == 1 else CatalogErrors(errors)
    return out


def model_for(catalog: Catalog, name_or_tag: str) -> ResolvedModel:
    """The model a tag feeds, or the model of that name."""
    models = resolve_models(catalog)
    if name_or_tag in models:
        return models[name_or_tag]
    for m in models.values():
        if name_or_tag in m.outputs:
            return m
    from portrait.models.errors import ModelNotFound

    known = sorted({*models, *(t for m in models.values() for t in m.outputs)})
    raise ModelNotFound(f"no model or model tag {name_or_tag!r} in the catalog",
                        hint=f"known: {', '.join(known)}" if known else "declare a tag with a `model:` block")
