"""Forgetting users rewrites the index in place; it then agrees with the blanked profile rows."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from portrait.segments.bind import bind
from portrait.segments.index import open_index
from portrait.segments.planner import Planner
from portrait.segments.scrub import forget_users
from portrait.segments.sqlgen import where
from portrait.segments.table import ProfileTable


import pytest


@pytest.mark.parametrize("seed", [2, 4, 5])  # binned with pairs, one bin per value, mixed
def test_forget_users_matches_blanked_rows(synth_factory, tmp_path, seed):
    src = synth_factory(seed, n=300)
    root = tmp_path / "snap"
    shutil.copytree(src.root, root)
    table = pq.read_table(root / "profiles.parquet")
    doomed = table.column("user_id").to_pylist()[::7]
    # blank the rows in place the way the privacy stage does: every tag NULL, the id kept for now
    hit = pc.is_in(table.column("user_id"), value_set=pa.array(doomed))
    for i, f in enumerate(table.schema):
        if f.name != "user_id":
            table = table.set_column(i, f, pc.if_else(hit, pa.scalar(None, f.type), table.column(i)))
    pq.write_table(table, root / "profiles.parquet", row_group_size=64)
    report = forget_users(root / "bitmaps", doomed, lambda v: "<forgotten>")
    assert report["ordinals"] == len(doomed) and report["bitmap_bits"] > 0
    idx = open_index(root / "bitmaps")
    assert idx.user_ids().null_count == len(doomed)
    profiles = ProfileTable(root / "profiles.parquet", src.tz)
    for text in ["tier = 'gold'", "NOT tier = 'gold'", "age > 30", "score BETWEEN 20 AND 70", "ratio < 0",
                 "interests['Books'] >= 0.3", "interests HAS 'Toys'", "seen_at >= snapshot_time - INTERVAL 5 DAY",
                 "flag IS NULL", "city LIKE '%o%' OR big > 7", "NOT (age < 50 AND interests['Music'] < 0.5)"]:
        b = bind(text, src.tags, src.clock)
        got = np.array(sorted(Planner(idx, b, lambda p: profiles.fallback(p, src.clock)).evaluate()), dtype=np.int64)
        assert np.array_equal(got, profiles.ordinals(where(b))), text
