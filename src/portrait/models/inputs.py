"""Reading a model's feature inputs through a query function, from a snapshot or from a running build.

Why one reader for both: the features a model trains on (an as-of snapshot's `profiles`) and the
features it predicts from (the `t_<tag>` tables of the build in progress) must be produced by the
same code, or the model silently sees different columns at prediction time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

import numpy as np
import pandas as pd

from portrait.models.errors import ModelError
from portrait.models.features import FeatureFrame, infer_type, item_block
from portrait.models.spec import ItemMatrix, ResolvedModel

Query = Callable[[str], pd.DataFrame]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def items_sql(block: ItemMatrix) -> str:
    """(user_id, item_id, weight): the block's events summed per user and item."""
    where = ["item_id IS NOT NULL", "user_id IS NOT NULL"]
    if block.event_type:
        where.append("event_type IN (" + ", ".join("'" + t.replace("'", "''") + "'" for t in block.event_type) + ")")
    return (f"SELECT user_id::VARCHAR AS user_id, item_id::VARCHAR AS item_id, sum(({block.weight})::DOUBLE) AS weight "
            f"FROM events WHERE {' AND '.join(where)} GROUP BY ALL")


def _sql_feature(q: Query, name: str, sql: str) -> pd.DataFrame:
    """user_id plus one value column (named `name`) or several (named `name.column`)."""
    df = q(f"SELECT * FROM ({sql})")
    values = [c for c in df.columns if c != "user_id"]
    if "user_id" not in df.columns or not values:
        raise ModelError(f"feature SQL {name!r} returns user_id and at least one value column")
    df = df.rename(columns={c: name if len(values) == 1 else f"{name}.{c}" for c in values})
    df["user_id"] = df["user_id"].astype(str)
    if df["user_id"].duplicated().any():
        raise ModelError(f"feature SQL {name!r} returned several rows for user {df['user_id'][df['user_id'].duplicated()].iloc[0]!r}",
                         hint="add GROUP BY user_id")
    return df


def load_frame(q: Query, model: ResolvedModel, tag_table: str, as_of: datetime,
               baselines: bool = False) -> FeatureFrame:
    """Every user of `tag_table` (user_id plus one column per tag) with the model's features.

    `q` runs SQL where `events`, `users` and `items` hold only data before `as_of` and `as_of()` is it.
    """
    cols = ", ".join(_quote(t) for t in model.feature_tags)
    base = q(f"SELECT user_id::VARCHAR AS user_id{', ' + cols if cols else ''} FROM {tag_table} ORDER BY user_id")
    users = base["user_id"].astype(str).to_numpy(dtype=object)
    values = base.drop(columns=["user_id"]).reset_index(drop=True)
    types = {t: model.tag_types[t] for t in model.feature_tags}
    for f in model.feature_sql:
        df = _sql_feature(q, f.name, f.sql).set_index("user_id")
        for c in df.columns:
            values[c] = pd.Series(users).map(df[c]).to_numpy()
            types[c] = infer_type(df[c])
    blocks = {b.name: item_block(q(items_sql(b.items)), users) for b in model.item_blocks}
    if baselines:
        for b in model.spec.evaluation.baselines:
            if b.kind == "tfidf_lr" and b.items is not None:
                blocks[f"baseline:{b.name}"] = item_block(q(items_sql(b.items)), users)
    return FeatureFrame(users, as_of, values, types, blocks)


def population(q: Query, sql: str | None, default_sql: str) -> np.ndarray:
    """The users the model may train on, chosen at the cutoff."""
    df = q(f"SELECT DISTINCT user_id::VARCHAR AS user_id FROM ({sql or default_sql}) WHERE user_id IS NOT NULL")
    return np.asarray(sorted(df["user_id"]), dtype=object)
