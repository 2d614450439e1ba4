"""The web console end to end: headless chromium against a real `portrait serve` on Online Retail.

Each test fails on any console error, uncaught exception or request that tries to leave the
machine (the `page` fixture blocks them all), and saves screenshots under test-artifacts/console/.
"""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from portrait.segments import service as segments

GERMAN_CHAMPIONS = "country = 'Germany' AND rfm_segment = 'Champions'"
SAVED = "germany_champions"


def open_console(page, server, route: str = "/tags"):
    """Open the console at `#<route>`, signing in with the analyst key when asked."""
    page.goto(f"{server.url}/#{route}")
    page.wait_for_selector("#nav a, #api-key")
    if page.locator("#api-key").count():
        page.fill("#api-key", server.key)
        page.check("#remember")
        page.click("#signin")
        page.wait_for_selector("#nav a")


def api(server, method: str, path: str, **kw):
    r = httpx.request(method, server.url + path, headers={"X-API-Key": server.admin_key}, timeout=30, **kw)
    return r.json()


def ensure_saved(server):
    names = [s["name"] for s in api(server, "GET", "/v1/segments")["data"]]
    if SAVED not in names:
        assert api(server, "POST", "/v1/segments", json={"name": SAVED, "expression": GERMAN_CHAMPIONS})["ok"]


def test_sign_in_refuses_a_wrong_key_then_shows_the_key_and_its_scopes(page, console_server, shoot):
    page.watch.allowed.append("401")  # the refused key's request is logged by the browser itself
    page.goto(console_server.url + "/")
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    page.reload()
    page.fill("#api-key", "prt_nope_nope")
    page.click("#signin")
    page.wait_for_selector(".login .error:not([hidden])")
    assert "not accepted" in page.inner_text(".login .error")
    shoot(page, "login")
    page.fill("#api-key", console_server.key)
    page.check("#remember")
    page.click("#signin")
    page.wait_for_selector("#nav a[data-page=tags]")
    who = page.inner_text("#who")
    assert console_server.key_id in who and "profiles:read" in who and "pii:read" not in who
    assert page.evaluate("typeof echarts") == "object"  # the vendored copy, served by portrait serve


def test_catalog_tree_search_and_rfm_distribution(page, console_server, shoot):
    open_console(page, console_server, "/tags")
    page.wait_for_selector("#tag-tree a[data-tag=rfm_segment]", state="attached")
    tree = page.locator("#tag-tree")
    # the taxonomy as a tree: level-1 用户价值 › level-2 RFM › the tag
    assert tree.locator("details[data-node='用户价值'] details[data-node='RFM'] a[data-tag=rfm_segment]").count() == 1
    page.fill("#tag-search", "客户分群")  # Chinese name
    assert tree.locator("a.tag-link").count() >= 1
    page.fill("#tag-search", "no-such-tag")
    assert tree.locator("a.tag-link").count() == 0 and "No tag matches" in tree.inner_text()
    page.fill("#tag-search", "segment rfm")  # words in any order
    assert tree.locator("a.tag-link").count() == 1
    page.fill("#tag-search", "RFM segment")  # English name
    tree.locator("a[data-tag=rfm_segment]").click()
    page.wait_for_selector("#tag-detail article[data-tag=rfm_segment]")
    page.wait_for_selector("#distribution-chart canvas")
    detail = page.inner_text("#tag-detail")
    for text in ("rule", "growth-data", "Coverage", "Computed", "tags/value.yaml"):
        assert text in detail
    tag = api(console_server, "GET", "/v1/tags/rfm_segment")["data"]
    assert f"{tag['coverage'] * 100:.1f}%" in page.inner_text("#coverage")
    shoot(page, "tags")


def test_profile_of_customer_12347(page, console_server, shoot):
    open_console(page, console_server, "/profile")
    page.fill("#user-search", "12347")
    page.click("#user-go")
    page.wait_for_selector("tr[data-tag=rfm_segment]")
    profile = api(console_server, "GET", "/v1/profiles/12347")["data"]
    values = {t["id"]: t["value"] for g in profile["groups"] for t in g["tags"]}
    assert values["country"] in page.inner_text("tr[data-tag=country]")
    assert values["rfm_segment"] in page.inner_text("tr[data-tag=rfm_segment]")
    # groups by level-1 taxonomy, interest weights as bars, events as a timeline
    assert page.locator("section.group[data-taxonomy='用户价值']").count() == 1
    assert page.locator("tr[data-tag=interest_category] .bar-row").count() == len(values["interest_category"])
    page.wait_for_selector("#timeline li.event")
    assert page.locator("#timeline li.event").count() == 50
    shoot(page, "profile")


def _select_tag(row, tag: str):
    row.locator("select.tag-picker").select_option(tag)


def test_segment_builder_counts_live_saves_exports_and_explains(page, console_server, shoot):
    open_console(page, console_server, "/segments/new")
    page.click("#new-segment")
    row = page.locator(".cond").nth(0)
    _select_tag(row, "country")
    assert page.locator(".cond").nth(0).locator("select.op-picker").input_value() == "eq"
    page.wait_for_selector("#incomplete-note:not([hidden])")  # says why there is no count yet
    page.locator(".cond").nth(0).locator("select.value-picker option[value=Germany]").wait_for(state="attached")
    page.locator(".cond").nth(0).locator("select.value-picker").select_option("Germany")
    page.click(".builder .add-condition")
    _select_tag(page.locator(".cond").nth(1), "rfm_segment")
    page.locator(".cond").nth(1).locator("select.value-picker option[value=Champions]").wait_for(state="attached")
    assert "Champions (" in page.locator(".cond").nth(1).inner_text()  # values listed with their counts
    page.locator(".cond").nth(1).locator("select.value-picker").select_option("Champions")
    assert page.input_value("#expression") == GERMAN_CHAMPIONS
    expected = segments.count(console_server.root, GERMAN_CHAMPIONS)["size"]
    page.wait_for_selector(f"#count-value[data-count='{expected}']")
    assert page.locator("#incomplete-note").is_hidden()

    # save it, then export its members and explain a member and a non-member
    exists = SAVED in [s["name"] for s in api(console_server, "GET", "/v1/segments")["data"]]
    page.fill("#segment-name", SAVED)
    page.fill("#segment-description", "German champions (RFM)")
    if exists:  # another test saved it first: the console offers to replace it
        page.watch.allowed.append("409")
        page.click("#save-segment")
        page.click("#replace-segment")
    else:
        page.click("#save-segment")
    page.wait_for_selector(f"a.segment-link[data-segment={SAVED}]")
    assert page.url.endswith(f"#/segments/{SAVED}")
    with page.expect_download() as dl:
        page.click("#export-csv")
    rows = list(csv.reader(io.StringIO(open(dl.value.path(), encoding="utf-8").read())))
    assert rows[0] == ["user_id"] and len(rows) - 1 == expected
    member = rows[1][0]
    page.fill("#explain-user", member)
    page.click("#explain-go")
    page.wait_for_selector("#explain-verdict.yes")
    page.fill("#explain-user", "12347")  # a customer in Iceland
    page.click("#explain-go")
    page.wait_for_selector("#explain-verdict.no")
    assert page.locator("#explain-result .clause[data-result=false]").count() >= 1
    page.locator(".explain .examples button.chip").first.click()  # a member offered as an example
    page.wait_for_selector("#explain-verdict.yes")
    shoot(page, "segments")

    # the text is editable too: typing re-parses it into rows
    page.click("#new-segment")
    typed = "country = 'France' AND rfm_segment IN ('Champions', 'Loyal Customers')"
    page.fill("#expression", typed)
    page.wait_for_function("() => document.querySelectorAll('.cond select.op-picker').length === 2 && "
                           "document.querySelectorAll('.cond select.op-picker')[1].value === 'in'")
    assert page.locator(".cond").nth(0).locator("select.tag-picker").input_value() == "country"
    assert page.locator(".cond").nth(1).locator("select.value-picker").evaluate(
        "s => [...s.selectedOptions].map(o => o.value).sort()") == ["Champions", "Loyal Customers"]
    expected = segments.count(console_server.root, typed)["size"]
    page.wait_for_selector(f"#count-value[data-count='{expected}']")


def test_a_mistyped_expression_is_pointed_at(page, console_server):
    page.watch.allowed.append("400")  # the count request the browser logs as failed
    open_console(page, console_server, "/segments/new")
    page.fill("#expression", "country = 'Germany' AND rfm_segment =")
    page.wait_for_selector("#expression-error:not([hidden]) pre.caret")
    error = page.inner_text("#expression-error")
    assert "expected a value" in error and error.rstrip().endswith("^")
    page.fill("#expression", "country = 'Germany'")
    page.wait_for_selector("#expression-error", state="hidden")


def test_insight_of_the_saved_segment_shows_tgi(page, console_server, shoot):
    ensure_saved(console_server)
    open_console(page, console_server, f"/segments/{SAVED}")
    page.click("#open-insight")
    page.wait_for_selector("#tgi-chart canvas")
    page.wait_for_selector("#compare-chart canvas")
    size = segments.count(console_server.root, GERMAN_CHAMPIONS)["size"]
    assert f"{size} users in the segment" in page.inner_text("#insight-size")
    assert page.locator("#ranking tr[data-tag]").count() > 3
    shoot(page, "insight")


def test_lookalike_of_the_saved_segment(page, console_server, shoot):
    if "/v1/segments/{name}/lookalike" not in httpx.get(console_server.url + "/openapi.json").json()["paths"]:
        pytest.skip("this server has no lookalike route")
    ensure_saved(console_server)
    open_console(page, console_server, f"/insight/{SAVED}")
    page.fill("#lookalike-size", "40")
    page.click("#lookalike-run")
    page.wait_for_selector("#lookalike-drivers canvas", timeout=60_000)
    assert page.locator("#lookalike-members tr").count() == 21  # header + a preview of 20
    assert "40 lookalike users" in page.inner_text("#lookalike-summary")
    assert "country=Germany" in page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('#lookalike-drivers')).getOption().yAxis[0].data.join('|')")
    shoot(page, "lookalike")


def test_language_switch_to_chinese_is_remembered(page, console_server, shoot):
    ensure_saved(console_server)
    open_console(page, console_server, "/tags/rfm_segment")
    page.wait_for_selector("#distribution-chart canvas")
    page.click("#lang")
    page.wait_for_selector("#nav a[data-page=tags]:text('标签管理')")
    assert [page.inner_text(f"#nav a[data-page={p}]") for p in ("tags", "profile", "segments", "insight")] == \
        ["标签管理", "用户画像", "人群圈选", "洞察"]
    page.wait_for_selector("#tag-detail h1:text('RFM客户分群')")
    assert "覆盖率" in page.inner_text("#tag-detail")
    shoot(page, "tags-zh")
    page.reload()  # remembered
    page.wait_for_selector("#nav a[data-page=profile]:text('用户画像')")
    open_console(page, console_server, "/profile/12347")
    page.wait_for_selector("tr[data-tag=country] a:text('国家')")
    shoot(page, "profile-zh")
    open_console(page, console_server, f"/segments/{SAVED}")
    page.wait_for_selector("#count-value")
    assert "实时人数" in page.inner_text("main")
    shoot(page, "segments-zh")
    open_console(page, console_server, f"/insight/{SAVED}")
    page.wait_for_selector("#tgi-chart canvas")
    assert "目标人群" in page.inner_text("#insight-size")
    shoot(page, "insight-zh")
    page.click("#lang")
    page.wait_for_selector("#nav a[data-page=tags]:text('Tags')")
    assert page.evaluate("localStorage.getItem('portrait.lang')") == "en"


def test_every_interface_string_exists_in_both_languages(page, console_server):
    open_console(page, console_server, "/tags")
    missing = page.evaluate("""async () => {
        const { STRINGS } = await import('/console/strings.js');
        const en = Object.keys(STRINGS.en), zh = Object.keys(STRINGS.zh);
        return { zh: en.filter((k) => !zh.includes(k)), en: zh.filter((k) => !en.includes(k)) };
    }""")
    assert missing == {"zh": [], "en": []}


PAGES = {  # route → what shows the page has drawn
    "/tags": "#tag-tree a.tag-link", "/tags/rfm_segment": "#distribution-chart canvas",
    "/profile": "#user-search", "/profile/12347": "#timeline li.event",
    "/segments/new": ".cond select.tag-picker", f"/segments/{SAVED}": "#count-value",
    "/insight": "#insight-segment", f"/insight/{SAVED}": "#tgi-chart canvas",
}


@pytest.mark.parametrize("route", list(PAGES))
def test_every_page_draws_from_the_local_server_alone(page, console_server, route):
    """With the network off (the fixture aborts anything else) every page still draws, error-free."""
    ensure_saved(console_server)
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    open_console(page, console_server, route)
    page.wait_for_selector(PAGES[route], state="attached")
    page.wait_for_load_state("networkidle")
    assert urls and all(u.startswith(console_server.url) for u in urls), urls
    text = page.inner_text("main")
    assert "[object" not in text and "undefined" not in text and "NaN" not in text
