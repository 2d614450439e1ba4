"""The CLI is a thin shell: `--json` prints {"ok": true, "data": <the service's dict>}."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from portrait.apps.insight import insight
from portrait.apps.recommend import recommend
from portrait.cli import app
from portrait.segments.errors import SegmentError


def cli(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["ok"] is True
    return body["data"]


def _strip(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in ("elapsed_ms", "generated_at")}


def test_insight_json_is_the_service_body(ml, tmp_path):
    root = str(ml.root)
    data = cli("insight", "gender = 'F'", "--vs", "age < 30", "--tags", "age_band,occupation", "-p", root,
               "-s", ml.current, "--out", str(tmp_path / "r.html"))
    assert data.pop("report") == {"html": str(tmp_path / "r.html")}
    expected = insight(root, "gender = 'F'", "age < 30", ml.current, tags=["age_band", "occupation"])
    assert _strip(data) == _strip(expected)
    assert (tmp_path / "r.html").stat().st_size > 1_000_000  # ECharts inlined


def test_recommend_and_campaign_commands(ml, shop, tmp_path):
    data = cli("recommend", "7", "--k", "3", "-p", str(ml.root), "-s", ml.current)
    assert _strip(data) == _strip(recommend(ml.root, "7", 3, ml.current))
    root = str(shop.root)
    made = cli("campaign", "create", "cli_test", "--segment", "high_value", "--control", "0.2", "--seed", "5",
               "-p", root, "-s", shop.historical, "--replace")
    assert made["segment"]["expression"] == "high_value" and made["control_size"] > 0
    out = cli("campaign", "export", "cli_test", "--out", str(tmp_path / "t.parquet"), "--format", "parquet", "-p", root)
    assert out["rows"] == made["treatment_size"]
    m = cli("campaign", "measure", "cli_test", "--window", "60", "--outcome", "amount > 100", "-p", root)
    assert m["window_days"] == 60 and m["outcome"] == "amount > 100"
    assert "cli_test" in [c["name"] for c in cli("campaign", "list", "-p", root)]


def test_bad_expression_is_a_segment_error(ml):
    result = CliRunner().invoke(app, ["insight", "gendr = 'F'", "-p", str(ml.root), "--json"])
    assert result.exit_code != 0 and isinstance(result.exception, SegmentError)
    assert result.exception.to_dict()["hint"] == "did you mean `gender`?"
