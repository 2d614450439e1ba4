"""Run a checked catalog on an engine: one table per tag, in dependency order, then one profile table.

Built-in tags that share an algorithm and parameters are computed once (one pass over the events)
and each tag selects its own output column, so a catalog costs what hand-written SQL would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from portrait.catalog import Catalog, CompiledTag, SqlContext
from portrait.catalog.compile import PROFILE_TABLE
from portrait.engine import Engine
from portrait.errors import BuildError, Location

USERS_TABLE = "_users"
PROFILES_TABLE = "profiles"

# A model tag's predictions come from the model stage; it returns a (user_id, value) query or None.
ModelHook = Callable[[CompiledTag, Engine], "str | None"]


@dataclass
class TagRun:
    tag_id: str
    seconds: float
    note: str = ""


def _tag_table(tag_id: str) -> str:
    return f"t_{tag_id}"


def _cast(ct: CompiledTag, sql: str) -> str:
    return f"SELECT user_id::VARCHAR AS user_id, CAST(value AS {ct.tag.sql_type}) AS value FROM ({sql})"


def _profile_view(engine: Engine, deps: list[str]) -> None:
    """`profile` as seen by a tag: the users plus exactly the tags it depends on."""
    cols = ", ".join(f'{_tag_table(d)}.value AS "{d}"' for d in deps)
    joins = " ".join(f"LEFT JOIN {_tag_table(d)} USING (user_id)" for d in deps)
    engine.execute(
        f"CREATE OR REPLACE VIEW {PROFILE_TABLE} AS SELECT {USERS_TABLE}.user_id{', ' + cols if cols else ''} "
        f"FROM {USERS_TABLE} {joins}"
    )


def _check_result(engine: Engine, ct: CompiledTag) -> None:
    table = _tag_table(ct.id)
    where = Location(ct.tag.file, ct.tag.line, tag=ct.id)
    if ct.form != "builtin":
        dup = engine.query(f"SELECT user_id FROM {table} GROUP BY user_id HAVING count(*) > 1 LIMIT 1")
        if dup.num_rows:
            raise BuildError(
                f"returned several rows for user {dup.column(0)[0].as_py()!r}; a tag has one value per user",
                where, "add GROUP BY user_id",
            )
    if ct.tag.type == "enum":
        allowed = ", ".join("'" + v.replace("'", "''") + "'" for v in ct.tag.values or [])
        bad = engine.query(f"SELECT DISTINCT value FROM {table} WHERE value NOT IN ({allowed}) LIMIT 5")
        if bad.num_rows:
            raise BuildError(f"produced values outside the enum: {bad.column(0).to_pylist()}", where)


def compute_tags(
    engine: Engine,
    catalog: Catalog,
    ctx: SqlContext,
    model_hook: ModelHook | None = None,
    on_tag: Callable[[str], None] | None = None,
) -> list[TagRun]:
    """Compute every tag into `t_<id>` and the wide `profiles` table; tables `events`, `users`,
    `items` must already exist in the engine."""
    engine.create_table(
        USERS_TABLE,
        "SELECT user_id FROM (SELECT user_id FROM users UNION SELECT DISTINCT user_id FROM events) "
        "WHERE user_id IS NOT NULL ORDER BY user_id",
    )
    done_builtins: set[str] = set()
    runs: list[TagRun] = []
    for ct in catalog.tags:
        if on_tag:
            on_tag(ct.id)
        start = time.perf_counter()
        note = ""
        if ct.form == "builtin":
            key = ct.builtin_key()
            assert key is not None and ct.builtin is not None
            if key not in done_builtins:
                engine.create_table(key, ct.builtin.sql(ct.tag.params, ctx))
                done_builtins.add(key)
            engine.execute(
                f"CREATE OR REPLACE VIEW {_tag_table(ct.id)} AS "
                + _cast(ct, f'SELECT user_id, "{ct.output()}" AS value FROM {key}')
            )
        elif ct.form == "model":
            sql = model_hook(ct, engine) if model_hook else None
            if sql is None:
                sql = f"SELECT user_id, NULL AS value FROM {USERS_TABLE} WHERE false"
                model = (ct.tag.model or {}).get("name") or ct.id
                note = f"no trained model yet: run `portrait model train {model}`"
            engine.create_table(_tag_table(ct.id), _cast(ct, sql))
        else:
            assert ct.sql is not None
            if ct.deps or ct.form == "expression":
                _profile_view(engine, ct.deps)
            engine.create_table(_tag_table(ct.id), _cast(ct, ct.sql))
        _check_result(engine, ct)
        runs.append(TagRun(ct.id, time.perf_counter() - start, note))
    # One join per table: a built-in's outputs come straight from its shared table (one join for
    # all its tags instead of one per tag through a casting view).
    cols, tables = [], []
    for ct in catalog.tags:
        if ct.form == "builtin":
            table = ct.builtin_key()
            cols.append(f'CAST({table}."{ct.output()}" AS {ct.tag.sql_type}) AS "{ct.id}"')
        else:
            table = _tag_table(ct.id)
            cols.append(f'{table}.value AS "{ct.id}"')
        if table not in tables:
            tables.append(table)
    cols = ", ".join(cols)
    joins = " ".join(f"LEFT JOIN {t} USING (user_id)" for t in tables)
    engine.create_table(
        PROFILES_TABLE,
        f"SELECT {USERS_TABLE}.user_id{', ' + cols if cols else ''} FROM {USERS_TABLE} {joins} ORDER BY user_id",
    )
    return runs
