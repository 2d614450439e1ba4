"""Raw columns → typed columns → canonical fields, deciding for every row whether it is kept or quarantined.

Why one SQL view per source: DuckDB evaluates typing, field expressions, casts and rules in one
vectorised pass, and each row gets the *first* problem found (type error in a raw column, a canonical
value that does not cast, a missing required field, then a broken rule) as `__qfield`/`__qreason`,
plus its raw values as JSON (`__raw`, built only for quarantined rows). A view, not a table: ingest
streams it twice (quarantined rows, then accepted rows straight into the events store), so a source
of any size is never held in memory.

Conventions:
* declared raw columns are TRY_CAST (or `try_strptime` with a `format`); an empty or blank value is NULL,
  a non-empty value that does not parse is an error: reason "not a DOUBLE: 'abc'" ("not an INTEGER: ...");
* ID fields (user_id, item_id, order_id, alias_id) follow `portrait.ids.canonical_id`: surrounding spaces
  dropped and a float-looking integer ('12346.0') read as '12346';
* other text fields map '' to NULL; event_time is cast to TIMESTAMPTZ with the session time zone set to the
  project's, so a naive timestamp means local time in that zone;
* a rule quarantines a row when its check is FALSE (NULL passes, as in SQL CHECK constraints). Rules see the
  canonical fields plus the typed raw columns (a canonical name wins over a raw column of the same name).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from portrait.config import ColumnType, SourceConfig
from portrait.errors import SourceError
from portrait.ids import canonical_id_sql
from portrait.sources.schema import (
    COMPUTED_EVENT_COLUMNS,
    ID_FIELDS,
    REQUIRED,
    quote_ident as qi,
    quote_str as qs,
    referenced_columns,
    suggest,
)

_VALUE_WIDTH = 200  # longest value quoted in a reason


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _quoted(sql_value: str) -> str:
    """SQL building `'value'` (truncated) for a reason text."""
    return f"'''' || left(CAST({sql_value} AS VARCHAR), {_VALUE_WIDTH}) || ''''"


def _not_a(type_name: str) -> str:
    return f"not {'an' if type_name[:1].upper() in 'AEIOU' else 'a'} {type_name}"


def _case(branches: list[tuple[str, str]]) -> str:
    if not branches:
        return "NULL::VARCHAR"
    return "CASE " + " ".join(f"WHEN {cond} THEN {val}" for cond, val in branches) + " END"


@dataclass
class Staged:
    view: str  # __file, __line, canonical columns..., __qfield, __qreason, __raw


class SourceStager:
    """Builds the staging view of one source over its raw table or view, and names failing fields."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: SourceConfig, raw: str, schema: dict[str, str]):
        self.con, self.source, self.raw, self.schema = con, source, raw, schema
        cols = con.execute(f"DESCRIBE {raw}").fetchall()
        self.raw_types = {c[0]: c[1] for c in cols if c[0] not in ("__file", "__line")}
        self.by_lower = {c.lower(): c for c in self.raw_types}
        self.where = f"source {source.name!r}"
        # Private names carrying the raw values to `__raw`, chosen so no raw column has them.
        self._raw_prefix = "__r_"
        while any(c.startswith(self._raw_prefix) for c in self.raw_types):
            self._raw_prefix = "_" + self._raw_prefix

    # ------------------------------------------------------------ checks

    def _check_refs(self, what: str, sql: str, extra: set[str] = frozenset()) -> None:
        refs = referenced_columns(sql)
        known = set(self.by_lower) | {e.lower() for e in extra}
        for ref in sorted(refs or ()):
            if ref.lower() not in known:
                raise SourceError(
                    f"{self.where}: {what} reads unknown column {ref!r}{suggest(ref, self.raw_types)}",
                    hint=f"raw columns: {', '.join(self.raw_types) or '(none)'}",
                )

    def _declared(self) -> dict[str, ColumnType]:
        out = {}
        for name, col in self.source.columns.items():
            actual = self.by_lower.get(name.lower())
            if actual is None:
                raise SourceError(
                    f"{self.where}: declared column {name!r} is not in the data{suggest(name, self.raw_types)}",
                    hint=f"raw columns: {', '.join(self.raw_types) or '(none)'}",
                )
            try:
                self.con.execute(f"SELECT NULL::{col.type}")
            except duckdb.Error as e:
                raise SourceError(f"{self.where}: column {name!r}: unknown type {col.type!r}: {_first_line(e)}") from e
            out[actual] = col
        return out

    def _describe(self, what: str, sql: str, hint: str | None = None) -> str:
        try:
            return self.con.execute(f"DESCRIBE {sql}").fetchall()[0][1]
        except duckdb.Error as e:
            raise SourceError(f"{self.where}: {what}: {_first_line(e)}", hint=hint) from e

    # ------------------------------------------------------------ SQL pieces

    def _typed_sql(self) -> str:
        """Typed raw columns under their own names, plus the first typing error as __terr_field/__terr_reason."""
        declared = self._declared()
        inner, outer, errs = [], [], []
        for i, (name, rtype) in enumerate(self.raw_types.items()):
            col = declared.get(name)
            q = qi(name)
            if col is None or (col.type.upper() == "VARCHAR" and not col.format):
                inner.append(q)
                outer.append(q)
                continue
            text = rtype.upper() == "VARCHAR" or col.format
            value = f"nullif(trim(CAST({q} AS VARCHAR)), '')" if text else q
            if col.format:
                typed = f"TRY_CAST(try_strptime({value}, {qs(col.format)}) AS {col.type})"
                label = f"{_not_a(col.type)} ({col.format})"
            else:
                typed = f"TRY_CAST({value} AS {col.type})"
                label = _not_a(col.type)
            inner += [f"{typed} AS {q}", f"{value} AS __in_{i}"]
            outer.append(q)
            errs.append((f"__in_{i} IS NOT NULL AND {q} IS NULL", name, f"{qs(label + ': ')} || {_quoted(f'__in_{i}')}"))
        field = _case([(c, qs(n)) for c, n, _ in errs])
        reason = _case([(c, r) for c, _, r in errs])
        raws = [f"{qi(name)} AS {alias}" for name, alias in zip(self.raw_types, self._raw_aliases())]
        cols = ", ".join(["__file", "__line", *outer, *self._raw_aliases()])
        return (
            f"SELECT {cols}, {field} AS __terr_field, {reason} AS __terr_reason "
            f"FROM (SELECT __file, __line, {', '.join([*inner, *raws]) or 'NULL AS __none'} FROM {self.raw})"
        )

    def _raw_aliases(self) -> list[str]:
        """The raw values as read, carried under private names to the quarantine's `raw` JSON."""
        return [f"{self._raw_prefix}{i}" for i in range(len(self.raw_types))]

    def build(self, staged: str) -> Staged:
        src = self.source
        typed = self._typed_sql()
        for f, sql in src.fields.items():
            self._check_refs(f"field {f!r}", sql)
        for k, sql in src.props.items():
            self._check_refs(f"props.{k}", sql)
        canon_names = {c.lower() for c in self.schema}
        for rule in src.rules:
            self._check_refs(f"rule {rule.name!r}", rule.check, set(self.schema))

        t = f"WITH t AS ({typed})"
        # v: raw field expression values
        v_cols, vtypes = [], {}
        for i, (f, sql) in enumerate(src.fields.items()):
            vtypes[f] = self._describe(f"field {f!r}", f"{t} SELECT ({sql}) FROM t")
            v_cols.append(f"({sql}) AS __v_{i}")
        props = ", ".join(f"{qs(k)}, ({sql})" for k, sql in src.props.items())
        for k, sql in src.props.items():
            self._describe(f"props.{k}", f"{t} SELECT ({sql}) FROM t")
        v_cols.append(f"json_object({props}) AS __props")
        v = f"{t}, v AS (SELECT t.*, {', '.join(v_cols)} FROM t)"

        # c: canonical values cast to the table's types; raw columns shadowed by a canonical name dropped
        index = {f: i for i, f in enumerate(src.fields)}
        c_cols, cast_errs = [], []
        for name, target in self.schema.items():
            if name in COMPUTED_EVENT_COLUMNS and name != "props":
                continue
            if name == "props":
                c_cols.append(f"__props::JSON AS {qi(name)}")
                continue
            if name not in index:
                c_cols.append(f"NULL::{target} AS {qi(name)}")
                continue
            i, vtype = index[name], vtypes[name]
            val = f"__v_{i}"
            if name == "event_time" and not (vtype.startswith(("TIMESTAMP", "DATE")) or vtype == "VARCHAR"):
                raise SourceError(
                    f"{self.where}: field 'event_time' is {vtype}, not a time",
                    hint="use to_timestamp(x) for unix seconds, or strptime/a TIMESTAMP column type for text",
                )
            if name in ID_FIELDS:
                expr = canonical_id_sql(f"CAST({val} AS VARCHAR)")
            elif vtype == target:
                expr = f"nullif({val}, '')" if target == "VARCHAR" else val
            elif target == "VARCHAR":
                expr = f"nullif(CAST({val} AS VARCHAR), '')"
            else:
                inp = f"nullif(trim({val}), '')" if vtype == "VARCHAR" else val
                expr = f"TRY_CAST({inp} AS {target})"
                c_cols.append(f"{inp} AS __cin_{i}")
                cast_errs.append(
                    (f"__cin_{i} IS NOT NULL AND {qi(name)} IS NULL", qs(name),
                     f"{qs(_not_a(target) + ': ')} || {_quoted(f'__cin_{i}')}")
                )
            hint = "use to_timestamp(x) for unix seconds" if name == "event_time" else None
            self._describe(f"field {name!r} as {target}", f"{v} SELECT {expr} FROM v", hint)
            c_cols.append(f"{expr} AS {qi(name)}")
        keep = [qi(c) for c in self.raw_types if c.lower() not in canon_names]
        c_select = ", ".join(["__file", "__line", "__terr_field", "__terr_reason", *keep, *self._raw_aliases(),
                              *[f"__v_{i}" for i in range(len(src.fields))], *c_cols])
        c = f"{v}, c AS (SELECT {c_select} FROM v)"

        branches = [("__terr_field IS NOT NULL", "__terr_field", "__terr_reason")]
        branches += [(cond, fld, rsn) for cond, fld, rsn in cast_errs]
        branches += [(f"{qi(f)} IS NULL", qs(f), qs("missing required field")) for f in REQUIRED[src.table]]
        for rule in src.rules:
            self._describe(f"rule {rule.name!r}", f"{c} SELECT ({rule.check}) FROM c")
            branches.append((f"({rule.check}) IS FALSE", qs(rule.name), qs(f"rule {rule.name!r} failed: {rule.check}")))
        out_cols = [qi(n) for n in self.schema if not (n in COMPUTED_EVENT_COLUMNS and n != "props")]
        qfield = _case([(cond, fld) for cond, fld, _ in branches])
        qreason = _case([(cond, rsn) for cond, _, rsn in branches])
        pairs = ", ".join(f"{qs(c)}, {a}" for c, a in zip(self.raw_types, self._raw_aliases()))
        q = (f"{c}, q AS (SELECT __file, __line, {', '.join(out_cols)}, {qfield} AS __qfield, "
             f"{qreason} AS __qreason, {', '.join(['NULL AS __nr', *self._raw_aliases()])} FROM c)")
        sql = (
            f"CREATE TEMP VIEW {staged} AS {q} "
            f"SELECT q.* EXCLUDE ({', '.join(['__nr', *self._raw_aliases()])}), "
            f"CASE WHEN __qfield IS NOT NULL THEN CAST(json_object({pairs}) AS VARCHAR) END AS __raw FROM q"
        )
        self._typed_cte = t
        try:
            self.con.execute(sql)
        except duckdb.Error as e:
            raise self.runtime_error(e) from e
        return Staged(staged)

    def failing_field(self) -> SourceError | None:
        """The field whose expression fails on the data (e.g. a CAST of a bad value), if one does.

        The staged view runs lazily, so ingest asks this when reading it fails."""
        exprs = [(f"field {f!r}", sql) for f, sql in self.source.fields.items()]
        exprs += [(f"props.{k}", sql) for k, sql in self.source.props.items()]
        for what, sql in exprs:
            try:
                self.con.execute(f"{self._typed_cte} SELECT count(({sql})) FROM t").fetchall()
            except duckdb.Error as e:
                return SourceError(f"{self.where}: {what}: {_first_line(e)}",
                                   hint="use TRY_CAST (or declare the column's type) so bad values go to quarantine")
        return None

    def runtime_error(self, error: duckdb.Error) -> SourceError:
        return self.failing_field() or SourceError(f"{self.where}: evaluating fields failed: {_first_line(error)}")
