"""Saved segments end to end on MovieLens: save, list, show, split, export, delete, refresh on
rebuild, and the CLI's --json output (exactly the service's dict in the API envelope)."""

from __future__ import annotations

import json

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from portrait.cli import app
from portrait.errors import NotFound
from portrait.segments import service
from portrait.segments.errors import SegmentError
from portrait.segments.table import split_bucket

pytestmark = pytest.mark.slow


def sql_count(snapshot, where: str) -> int:
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT count(*) FROM read_parquet('{snapshot.path / 'profiles.parquet'}') WHERE {where}").fetchone()[0]
    finally:
        con.close()


def cli(*args) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["ok"] is True
    return body["data"]


def test_save_list_show_delete(seg_movielens):
    root = seg_movielens.root
    d = service.save(root, "women", "gender = 'F'", description="all women")
    assert d["size"] == sql_count(seg_movielens.snapshot, "gender = 'F'")
    assert d["history"][-1]["snapshot_id"] == seg_movielens.snapshot.id
    service.save(root, "young_women", "@women AND age < 25")
    assert service.show(root, "women")["referenced_by"] == ["young_women"]
    names = [s["name"] for s in service.list_segments(root)]
    assert {"women", "young_women"} <= set(names)
    with pytest.raises(SegmentError, match="exists"):
        service.save(root, "women", "gender = 'M'")
    with pytest.raises(SegmentError, match="used by young_women"):
        service.delete(root, "women")
    with pytest.raises(SegmentError, match="cycle: women -> young_women -> women"):
        service.save(root, "women", "@young_women", replace=True)
    service.delete(root, "young_women")
    with pytest.raises(NotFound):
        service.show(root, "young_women")


def test_split_is_deterministic_and_partitions(seg_movielens):
    root = seg_movielens.root
    service.save(root, "students", "occupation = 'student'", replace=True)
    d = service.split(root, "students", [0.8, 0.2], seed=11, names=["students_target", "students_control"])
    sizes = [c["size"] for c in d["children"]]
    assert sum(sizes) == d["parent_size"] == sql_count(seg_movielens.snapshot, "occupation = 'student'")
    paths = {}
    for child in ("students_target", "students_control"):
        out = seg_movielens.root / f"{child}.parquet"
        service.export(root, child, out, "parquet")
        paths[child] = set(pq.read_table(out).column("user_id").to_pylist())
    assert not paths["students_target"] & paths["students_control"]
    # the bucket is md5('<seed>:<user_id>'): recompute the control group independently
    parent = set(duckdb.connect().sql(f"SELECT user_id FROM read_parquet('{seg_movielens.snapshot.path / 'profiles.parquet'}') "
                            "WHERE occupation = 'student'").fetchnumpy()["user_id"].tolist())
    cut = 2**64 * 8 // 10
    assert paths["students_control"] == {u for u in parent if split_bucket(11, u) >= cut}
    with pytest.raises(SegmentError, match="exists"):
        service.split(root, "students", [0.5, 0.5], seed=1, names=["students_target", "x2"])


def test_export_csv_with_tags(seg_movielens, tmp_path):
    root = seg_movielens.root
    service.save(root, "old_men", "gender = 'M' AND age >= 60", replace=True)
    out = tmp_path / "old_men.csv"
    d = service.export(root, "old_men", out, "csv", ["age", "occupation", "genre_interest"])
    rows = duckdb.connect().sql(f"SELECT * FROM read_csv('{out}')").fetchall()
    assert d["rows"] == len(rows) == sql_count(seg_movielens.snapshot, "gender = 'M' AND age >= 60")
    assert all(r[1] >= 60 for r in rows)
    assert d["columns"] == ["user_id", "age", "occupation", "genre_interest"]
    with pytest.raises(SegmentError, match="did you mean `occupation`"):
        service.export(root, "old_men", out, "csv", ["ocupation"])


def test_rebuild_refreshes_history(seg_movielens):
    from portrait.pipeline import build

    root = seg_movielens.root
    service.save(root, "drama_fans", "genre_interest['Drama'] >= 0.3", replace=True)
    before = service.show(root, "drama_fans")["history"]
    snap2 = build(root).snapshot
    after = service.show(root, "drama_fans")["history"]
    assert len(after) == len(before) + 1 and after[-1]["snapshot_id"] == snap2.id
    assert after[-1]["size"] == after[-2]["size"]  # same data, same audience
    d = service.diff(root, "drama_fans", before[-1]["snapshot_id"], snap2.id)
    assert (d["entered"]["count"], d["left"]["count"]) == (0, 0)
    assert d["from"]["members"] == d["to"]["members"] == "stored"


def test_cli_json_is_the_service_body(seg_movielens):
    root = str(seg_movielens.root)
    data = cli("segment", "count", "gender = 'F' AND age_band IN ('18-24', '25-34')", "-p", root)
    expected = service.count(root, "gender = 'F' AND age_band IN ('18-24', '25-34')")
    data.pop("elapsed_ms"), expected.pop("elapsed_ms")
    assert data == expected
    cli("segment", "save", "techies", "occupation IN ('programmer', 'engineer', 'technician')", "-p", root,
        "--replace", "--description", "tech jobs")
    assert cli("segment", "show", "techies", "-p", root)["description"] == "tech jobs"
    assert "techies" in [s["name"] for s in cli("segment", "list", "-p", root)]
    exp = cli("segment", "explain", "techies", "1", "-p", root)
    assert exp["user_id"] == "1" and exp["explanation"]["kind"] == "predicate"
    assert exp["member"] == (exp["explanation"]["value"] in ("programmer", "engineer", "technician"))
    split = cli("segment", "split", "techies", "--ratios", "0.5,0.5", "--seed", "3", "-p", root)
    assert [c["name"] for c in split["children"]] == ["techies_1", "techies_2"]


def test_cli_error_envelope(seg_movielens):
    result = CliRunner().invoke(app, ["segment", "count", "gendr = 'F'", "-p", str(seg_movielens.root), "--json"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SegmentError)
    e = result.exception
    assert e.status == 400 and e.to_dict()["hint"] == "did you mean `gender`?"


def test_refresh_records_errors_instead_of_failing(seg_movielens):
    """A saved segment that no longer evaluates (its tag is gone) gets an error entry; others go on."""
    from portrait.segments.store import SegmentStore

    root = seg_movielens.root
    service.save(root, "seniors", "age >= 65", replace=True)
    with SegmentStore(seg_movielens.root / "warehouse").edit() as stored:
        stored["ghost"] = {"name": "ghost", "kind": "expression", "expression": "shoe_size > 40", "history": []}
    results = {r["name"]: r for r in service.refresh(root)}
    assert "unknown tag `shoe_size`" in results["ghost"]["error"]
    assert results["seniors"]["size"] == sql_count(seg_movielens.snapshot, "age >= 65")
    service.delete(root, "ghost")


def test_pipeline_registers_the_hooks(seg_movielens):
    from portrait import pipeline
    from portrait.segments.hooks import bitmap_index, refresh_segments

    assert bitmap_index in pipeline.ARTIFACT_BUILDERS and refresh_segments in pipeline.POST_PUBLISH
    snap = seg_movielens.snapshot
    assert snap.manifest.files["bitmaps"] == "bitmaps/manifest.json"
    manifest = json.loads((snap.path / "bitmaps" / "manifest.json").read_text())
    assert manifest["users"] == snap.manifest.users
    assert manifest["tags"]["gender"]["kind"] == "eq" and manifest["tags"]["age"]["kind"] == "range"
    assert manifest["tags"]["genre_interest"]["kind"] == "wset"
