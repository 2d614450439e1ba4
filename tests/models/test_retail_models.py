"""Churn and next-90-day spend on Online Retail: trained at 2011-06-11, tested out-of-time at 2011-09-09."""

import json

import duckdb
from typer.testing import CliRunner

from portrait.cli import app
from portrait.config import load_project
from portrait.snapshot import SnapshotStore


def test_churn_beats_recency_out_of_time(retail_trained):
    r = retail_trained.versions["churn"].report()
    ev = r["evaluation"]
    assert ev["method"] == "out_of_time"
    assert r["train"]["cutoff"].startswith("2011-06-11") and r["train"]["label_window"][1].startswith("2011-09-09")
    assert r["test"]["cutoff"].startswith("2011-09-09") and r["test"]["label_window"][1].startswith("2011-12-08")
    assert "-asof-20110611" in r["train"]["snapshot_id"] and "-asof-20110909" in r["test"]["snapshot_id"]
    auc = ev["summary"]["auc"]["mean"]
    recency = ev["baselines"]["recency_only"]["summary"]["auc"]["mean"]
    assert auc >= 0.72 and auc - recency >= 0.03, (auc, recency)
    assert r["test"]["users"] > 3000 and r["train"]["users"] > 2500


def test_clv_beats_same_as_last_window(retail_trained):
    ev = retail_trained.versions["clv_90d"].report()["evaluation"]
    mae = ev["summary"]["mae"]["mean"]
    assert mae < ev["baselines"]["same_as_last_window"]["summary"]["mae"]["mean"]
    assert mae < ev["baselines"]["median"]["summary"]["mae"]["mean"]


def test_as_of_snapshots_hold_only_earlier_events(retail_trained):
    store = SnapshotStore(load_project(retail_trained.root).warehouse)
    as_of = [s for s in store.list() if s.manifest.as_of_requested]
    assert {s.manifest.as_of.date().isoformat() for s in as_of} == {"2011-06-11", "2011-09-09"}
    con = duckdb.connect()
    for s in as_of:
        latest = con.execute(f"SELECT max(event_time) FROM read_parquet('{s.file('events')}')").fetchone()[0]
        assert latest < s.manifest.as_of


def test_cli_lists_and_shows_models(retail_trained):
    runner = CliRunner()
    root = str(retail_trained.root)
    listed = runner.invoke(app, ["model", "list", "-p", root, "--json"])
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.output)
    assert body["ok"] and {m["model"]: m["latest"] for m in body["data"]} == {"churn": "v1", "clv_90d": "v1"}
    shown = runner.invoke(app, ["model", "show", "churn_risk", "-p", root, "--json"])
    data = json.loads(shown.output)["data"]
    assert data["version"] == "v1" and data["evaluation"]["headline"] == "auc"
    text = runner.invoke(app, ["model", "show", "clv_90d", "-p", root])
    assert "same_as_last_window" in text.output and "mae" in text.output
    html = runner.invoke(app, ["model", "show", "churn", "--html", "-p", root])
    assert html.output.startswith("<!doctype html>") and "recency_only" in html.output
    out = retail_trained.root / "reports" / "churn.html"
    written = runner.invoke(app, ["model", "show", "churn", "--out", str(out), "-p", root])
    assert written.exit_code == 0 and "written to" in written.output and "<!doctype" not in written.output
    assert out.read_text(encoding="utf-8").strip() == html.output.strip()
    missing = runner.invoke(app, ["model", "show", "churn", "--version", "v7", "-p", root])
    assert missing.exit_code != 0 and "no version 'v7'" in str(missing.exception)
