"""Check a catalog before any compute and order it: tags → parsed SQL → dependency graph → plan.

Pure functions: tags and table schemas in, a `Catalog` (or every error found) out.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from typing import Literal, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify

from portrait.catalog.builtin_spec import Builtin
from portrait.catalog.model import SQL_TYPES, Tag
from portrait.errors import CatalogError, CatalogErrors, Location

DIALECT = "duckdb"
PROFILE_TABLE = "profile"

EVENT_COLUMNS: dict[str, str] = {
    "event_id": "VARCHAR",
    "user_id": "VARCHAR",
    "event_time": "TIMESTAMPTZ",
    "event_type": "VARCHAR",
    "order_id": "VARCHAR",
    "item_id": "VARCHAR",
    "category": "VARCHAR",
    "quantity": "DOUBLE",
    "amount": "DOUBLE",
    "channel": "VARCHAR",
    "props": "JSON",
    "source": "VARCHAR",
    "source_line": "BIGINT",
}

Form = Literal["query", "expression", "builtin", "model"]


@dataclass
class CompiledTag:
    tag: Tag
    form: Form
    deps: list[str]
    sql: str | None = None  # the checked query returning (user_id, value), DuckDB dialect
    builtin: Builtin | None = None

    @property
    def id(self) -> str:
        return self.tag.id

    def builtin_key(self) -> str | None:
        """Tags that share a built-in with the same parameters share one computation."""
        if self.builtin is None:
            return None
        body = f"{self.builtin.name}:{sorted(self.tag.params.items())!r}"
        return f"{self.builtin.name}_{hashlib.sha256(body.encode()).hexdigest()[:8]}"

    def output(self) -> str:
        assert self.builtin is not None
        return self.tag.output or next(iter(self.builtin.outputs))


@dataclass
class Catalog:
    """A checked catalog in dependency order."""

    tags: list[CompiledTag]
    by_id: dict[str, CompiledTag] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {t.id: t for t in self.tags}

    def __getitem__(self, tag_id: str) -> Tag:
        return self.by_id[tag_id].tag

    def __contains__(self, tag_id: str) -> bool:
        return tag_id in self.by_id

    @property
    def hash(self) -> str:
        body = "|".join(f"{t.id}:{t.tag.definition_hash}" for t in sorted(self.tags, key=lambda t: t.id))
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def profile_schema(self) -> dict[str, str]:
        return {"user_id": "VARCHAR", **{t.id: t.tag.sql_type for t in self.tags}}


def _suggest(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _loc(tag: Tag, line: int | None = None, col: int | None = None) -> Location:
    if line is not None and tag.sql_line is not None:
        return Location(tag.file, tag.sql_line + line - 1, col, tag.id)
    return Location(tag.file, tag.line, None, tag.id)


def _parse(tag: Tag) -> exp.Expression:
    try:
        parsed = sqlglot.parse(tag.sql or "", dialect=DIALECT)
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        raise CatalogError(
            f"SQL syntax error: {first.get('description', e)}",
            _loc(tag, first.get("line"), first.get("col")),
        ) from e
    statements = [p for p in parsed if p is not None]
    if len(statements) != 1:
        raise CatalogError("a tag's SQL must be exactly one statement or expression", _loc(tag))
    return statements[0]


def _value_literals(node: exp.Expression) -> list[exp.Literal]:
    """String literals a value expression can return (through CASE, IF and COALESCE)."""
    if isinstance(node, (exp.Alias, exp.Paren)):
        return _value_literals(node.this)
    if isinstance(node, exp.Literal):
        return [node] if node.is_string else []
    if isinstance(node, exp.Case):
        out = [lit for branch in node.args.get("ifs") or [] for lit in _value_literals(branch.args["true"])]
        return out + (_value_literals(node.args["default"]) if node.args.get("default") else [])
    if isinstance(node, exp.If):
        out = _value_literals(node.args["true"])
        return out + (_value_literals(node.args["false"]) if node.args.get("false") else [])
    if isinstance(node, exp.Coalesce):
        return [lit for e in [node.this, *node.expressions] for lit in _value_literals(e)]
    return []


def _check_enum_literals(tag: Tag, value: exp.Expression) -> None:
    if tag.type != "enum":
        return
    for lit in _value_literals(value):
        if lit.this not in (tag.values or []):
            meta = lit.meta or {}
            raise CatalogError(
                f"value {lit.this!r} is not among the enum's allowed values {tag.values}",
                _loc(tag, meta.get("line"), meta.get("col")),
                _suggest(lit.this, tag.values or []),
            )


# Table functions a tag may use: they generate rows and read nothing outside the build.
TABLE_FUNCTIONS = ("generate_series", "range", "unnest")

_POSITION = re.compile(r"Line: (\d+), Col: (\d+)")
_UNRESOLVED = re.compile(r"Column '([^']+)' could not be resolved")


def _qualify(tag: Tag, tree: exp.Expression, schema: Mapping[str, Mapping[str, str]]) -> exp.Expression:
    ctes = {c.alias for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):  # a table function
            fn = table.this.sql_name().lower() if isinstance(table.this, exp.Func) else ""
            if fn not in TABLE_FUNCTIONS:
                raise CatalogError(
                    f"table function {fn or table.this.sql(DIALECT)!r} is not allowed in tag SQL",
                    _loc(tag), f"tags read only {', '.join(sorted(schema))} and {', '.join(TABLE_FUNCTIONS)}",
                )
            continue
        if table.name not in schema and table.name not in ctes:
            meta = table.this.meta or {}
            raise CatalogError(
                f"unknown table {table.name!r}; tag SQL reads {', '.join(sorted(schema))}",
                _loc(tag, meta.get("line"), meta.get("col")),
                _suggest(table.name, schema),
            )
    try:
        return qualify(tree.copy(), schema={k: dict(v) for k, v in schema.items()}, dialect=DIALECT,
                       validate_qualify_columns=True, quote_identifiers=False)
    except OptimizeError as e:
        text = str(e)
        pos = _POSITION.search(text)
        col = _UNRESOLVED.search(text)
        names = {c for cols in schema.values() for c in cols}
        raise CatalogError(
            f"unknown column {col.group(1)!r}" if col else text,
            _loc(tag, int(pos.group(1)), int(pos.group(2))) if pos else _loc(tag),
            _suggest(col.group(1), names) if col else None,
        ) from e


def _compile_query(tag: Tag, tree: exp.Query, schema: Mapping[str, Mapping[str, str]]) -> CompiledTag:
    qualified = _qualify(tag, tree, schema)
    outer = qualified if isinstance(qualified, exp.Select) else None
    names = [s.alias_or_name for s in outer.expressions] if outer else []
    if outer is None or "user_id" not in names or len(names) != 2:
        raise CatalogError(
            "a tag query returns exactly two columns: `user_id` and the tag's value",
            _loc(tag),
            "e.g. SELECT user_id, count(*) AS value FROM events GROUP BY user_id",
        )
    value = next(s for s in tree.expressions if s.alias_or_name != "user_id")
    _check_enum_literals(tag, value)
    aliases = {t.alias_or_name for t in qualified.find_all(exp.Table) if t.name == PROFILE_TABLE}
    deps = sorted({c.name for c in qualified.find_all(exp.Column) if c.table in aliases})
    value_name = next(n for n in names if n != "user_id")
    sql = f"SELECT user_id, {exp.to_identifier(value_name).sql(DIALECT)} AS value FROM ({tree.sql(DIALECT)})"
    return CompiledTag(tag, "query", deps, sql)


def _compile_expression(tag: Tag, tree: exp.Expression, profile: Mapping[str, str]) -> CompiledTag:
    deps = []
    for col in tree.find_all(exp.Column):
        if col.name not in profile or col.name == tag.id:
            meta = col.this.meta or {}
            raise CatalogError(
                f"unknown tag {col.name!r} in rule expression",
                _loc(tag, meta.get("line"), meta.get("col")),
                _suggest(col.name, profile),
            )
        deps.append(col.name)
    _check_enum_literals(tag, tree)
    sql = f"SELECT user_id, ({tree.sql(DIALECT)}) AS value FROM {PROFILE_TABLE}"
    return CompiledTag(tag, "expression", sorted(set(deps)), sql)


def _compile_builtin(tag: Tag, builtins: Mapping[str, Builtin]) -> CompiledTag:
    spec = builtins.get(tag.builtin or "")
    if spec is None:
        raise CatalogError(f"unknown built-in {tag.builtin!r}", _loc(tag), _suggest(tag.builtin or "", builtins))
    output = tag.output or next(iter(spec.outputs))
    out = spec.outputs.get(output)
    if out is None:
        raise CatalogError(f"built-in {spec.name!r} has no output {output!r}", _loc(tag), _suggest(output, spec.outputs))
    if out.type != tag.type:
        raise CatalogError(f"built-in output {spec.name}.{output} is {out.type}, the tag declares {tag.type}", _loc(tag))
    if out.values and tag.values and not set(out.values) <= set(tag.values):
        missing = sorted(set(out.values) - set(tag.values))
        raise CatalogError(f"built-in {spec.name}.{output} can return {missing}, not among the tag's values", _loc(tag))
    try:
        spec.params.model_validate(tag.params)
    except Exception as e:  # pydantic ValidationError: report the parameter by name
        raise CatalogError(f"bad params for built-in {spec.name!r}: {e}", _loc(tag)) from e
    return CompiledTag(tag, "builtin", [], None, spec)


def _model_deps(tag: Tag, known: set[str]) -> list[str]:
    spec = tag.model or {}
    return [f for f in spec.get("features", []) if isinstance(f, str) and f in known]


def _order(compiled: list[CompiledTag]) -> list[CompiledTag]:
    """Dependency order, stable in declaration order; a cycle is named as a chain."""
    by_id = {c.id: c for c in compiled}
    state: dict[str, int] = {}
    out: list[CompiledTag] = []

    def visit(node: CompiledTag, path: list[str]) -> None:
        if state.get(node.id) == 2:
            return
        if state.get(node.id) == 1:
            chain = path[path.index(node.id):] + [node.id]
            raise CatalogError(f"dependency cycle: {' -> '.join(chain)}", _loc(node.tag))
        state[node.id] = 1
        for dep in node.deps:
            visit(by_id[dep], path + [node.id])
        state[node.id] = 2
        out.append(node)

    for c in compiled:
        visit(c, [])
    return out


def compile_catalog(
    tags: list[Tag],
    tables: Mapping[str, Mapping[str, str]],
    builtins: Mapping[str, Builtin],
) -> Catalog:
    """Check every tag against the canonical `tables` and each other; raise every problem found."""
    profile = {"user_id": "VARCHAR", **{t.id: SQL_TYPES[t.type] for t in tags}}
    schema = {**tables, PROFILE_TABLE: profile}
    compiled: list[CompiledTag] = []
    errors: list[CatalogError] = []
    for tag in tags:
        try:
            if tag.builtin:
                c = _compile_builtin(tag, builtins)
            elif tag.model is not None:
                c = CompiledTag(tag, "model", _model_deps(tag, set(profile) - {tag.id}))
            else:
                tree = _parse(tag)
                if isinstance(tree, exp.Query):
                    c = _compile_query(tag, tree, schema)
                else:
                    c = _compile_expression(tag, tree, profile)
            for dep in tag.depends_on:
                if dep not in profile:
                    raise CatalogError(f"depends_on names unknown tag {dep!r}", _loc(tag), _suggest(dep, profile))
            c.deps = sorted(set(c.deps) | set(tag.depends_on))
            compiled.append(c)
        except CatalogError as e:
            errors.append(e)
    if errors:
        raise errors[0] if len(errors) == 1 else CatalogErrors(errors)
    return Catalog(_order(compiled))


def transpile(sql: str, dialect: str) -> str:
    """Tag SQL is written once in DuckDB's dialect; other engines get it through sqlglot."""
    return sqlglot.transpile(sql, read=DIALECT, write=dialect)[0]
