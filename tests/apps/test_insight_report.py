"""The HTML report is self-contained: it opens in headless Chromium with every network request
blocked, draws every chart, and the PNG export writes one file per chart.

Skipped (with the reason) where Chromium or the playwright package is missing.
"""

from __future__ import annotations

import re

import pytest

from portrait.apps.insight import insight
from portrait.apps.insight_report import chromium_path, open_offline, render_html, write_html, write_pngs


def _skip_reason() -> str | None:
    if chromium_path() is None:
        return "no Chromium: apt-get install -y chromium (or set PORTRAIT_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright; no browser download needed)"
    return None


needs_browser = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@pytest.fixture(scope="module")
def report(shop, tmp_path_factory):
    data = insight(shop.root, "lifecycle_stage = 'churned'", snapshot=shop.current)
    path = write_html(data, tmp_path_factory.mktemp("report") / "insight.html")
    return data, path


def test_html_has_no_external_references(report):
    data, path = report
    html = path.read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html
    assert "default-src 'none'" in html  # the CSP forbids every fetch even if a chart tried one
    assert "__DATA__" not in html and "__ECHARTS__" not in html
    assert 'id="insight-data"' in html and "echarts" in html


def test_script_breaking_values_stay_data():
    data = {"segment": {"spec": "</script><script>alert(1)</script>"}, "x": "__ECHARTS__ <!--"}
    html = render_html(data)
    payload = re.search(r'<script type="application/json" id="insight-data">(.*?)</script>', html, re.S).group(1)
    assert "</script" not in payload and "<!--" not in payload
    assert html.count("__ECHARTS__") == 0 or "__ECHARTS__" in payload.replace("\\u003c", "<")


@needs_browser
def test_report_renders_offline(report, artifacts):
    from playwright.sync_api import sync_playwright

    data, path = report
    with sync_playwright() as p:
        from portrait.apps.insight_report import launch

        browser = launch(p)
        try:
            page, blocked, errors = open_offline(browser, path)
            expected = 1 + len(data["tags"])  # the ranking and one chart per tag
            assert int(page.get_attribute("body", "data-charts")) == expected
            assert page.locator("[data-chart] svg").count() == expected  # ECharts drew every chart (SVG renderer)
            assert page.locator("[data-chart] svg path").count() > 10 * expected  # bars, axes, lines: not empty
            assert blocked == [] and errors == []
            assert page.locator("section[data-tag]").count() == len(data["tags"])
            page.screenshot(path=str(artifacts / "insight_report.png"), full_page=False)
        finally:
            browser.close()


@needs_browser
def test_png_charts(report, artifacts):
    _data, path = report
    files = write_pngs(path, artifacts / "insight_png", limit=4)
    assert files[0] == "ranking.png" and files[-1] == "report.png" and len(files) == 5
    for name in files:
        head = (artifacts / "insight_png" / name).read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n"
