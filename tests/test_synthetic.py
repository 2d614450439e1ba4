"""The synthetic generator: deterministic, exact row count, realistic skew, a buildable project."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from portrait.synthetic import EVENT_TYPES, SCHEMA, GeneratedData, SyntheticSpec, generate, iter_events, write_project

N = 120_000
SPEC = dict(events=N, chunk_events=25_000, files=3)  # several files, several chunks per file


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[GeneratedData, pa.Table]:
    out = generate(tmp_path_factory.mktemp("synthetic"), seed=7, **SPEC)
    return out, pq.read_table(out.root / "events")


def test_declared_row_count_in_several_files(data):
    out, table = data
    assert table.num_rows == N == sum(out.rows_per_file)
    assert len(out.files) == 3 and all(n > 0 for n in out.rows_per_file)
    for name, rows in zip(out.files, out.rows_per_file):
        meta = pq.ParquetFile(out.root / "events" / name).metadata
        assert meta.num_rows == rows and meta.num_row_groups >= 2  # written chunk by chunk
    assert table.schema.equals(SCHEMA)


def test_deterministic_for_a_seed(data):
    _, table = data
    again = pa.concat_tables(iter_events(SyntheticSpec(seed=7, **SPEC)))
    assert again.equals(table)
    other = pa.concat_tables(iter_events(SyntheticSpec(seed=8, **SPEC)))
    assert not other.equals(table)
    assert GeneratedData.load(data[0].root).spec == SyntheticSpec(seed=7, **SPEC)


def test_user_activity_is_heavy_tailed(data):
    counts = np.sort(data[1].group_by("user_id").aggregate([("user_id", "count")])
                     .column("user_id_count").to_numpy())[::-1]
    top1 = counts[: max(1, len(counts) // 100)].sum() / counts.sum()
    assert top1 > 0.10, top1
    assert np.median(counts) < counts.mean() / 2  # a long right tail


def test_item_popularity_is_zipf_like(data):
    counts = np.sort(data[1].group_by("item_id").aggregate([("item_id", "count")])
                     .column("item_id_count").to_numpy())[::-1]
    ranks = np.arange(1, len(counts) + 1)
    body = slice(20, 500)  # past the flattened head, before the sampling noise of the tail
    slope = np.polyfit(np.log(ranks[body]), np.log(counts[body]), 1)[0]
    assert -1.6 < slope < -0.6, slope
    assert counts[: len(counts) // 100].sum() / counts.sum() > 0.08  # top 1% of items


def test_event_mix_amounts_and_time_span(data):
    out, table = data
    types = table.column("event_type").to_numpy(zero_copy_only=False)
    share = {t: (types == t).mean() for t in EVENT_TYPES}
    assert share["view"] > 0.8 and share["cart"] > share["purchase"] > share["return"] > 0
    assert 0.05 < share["return"] / share["purchase"] < 0.2
    buys = table.filter(pc.equal(table.column("event_type"), "purchase"))
    assert pc.min(buys.column("amount")).as_py() > 0 and buys.column("order_id").null_count == 0
    rets = table.filter(pc.equal(table.column("event_type"), "return"))
    assert pc.max(rets.column("amount")).as_py() < 0
    assert (out.max_event_time - out.min_event_time).days >= 360
    # weekends busier than midweek (local time)
    local = pc.add(table.column("event_time").cast(pa.int64()), 8 * 3_600_000_000)  # Asia/Shanghai, no DST
    dow = ((local.to_numpy() // 86_400_000_000) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    by_day = np.bincount(dow, minlength=7)
    assert by_day[5:].mean() > by_day[1:4].mean() * 1.05


def test_project_files(data, tmp_path):
    from portrait.config import load_project
    from portrait.pipeline import load_catalog

    root = write_project(tmp_path / "proj", data[0])
    project = load_project(root)
    assert project.config.sources[0].path.endswith("*.parquet")
    ids = {ct.id for ct in load_catalog(project).tags}
    assert {"monetary", "active_days_30d", "interest_category", "high_value", "spend_90d"} <= ids
