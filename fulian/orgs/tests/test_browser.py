"""One real-browser walk through the pages on a phone: sign in, the org tree (htmx), the cadre statistics.

Runs Debian's chromium through Playwright against pytest-django's live server (static files served by it).
"""

from __future__ import annotations

import datetime as dt

import pytest

from fulian.browser_testing import PHONE, TIMEOUT_MS, assert_fits, launch
from fulian.conftest import PASSWORD, make_cadre
from fulian.orgs.models import Cadre, Education, Position


@pytest.fixture
def counts(cast):
    """A few more cadres, so that the totals are not just one per unit. (All database work happens before
    the browser starts: Playwright's sync API runs an event loop, and Django refuses ORM calls inside one.)"""
    make_cadre(cast.village_a1, "孙丽华", position=Position.MEMBER, birth_date=dt.date(1995, 8, 8))
    make_cadre(cast.village_a2, "吴春燕", position=Position.EXECUTIVE, education=Education.HIGH_SCHOOL)
    make_cadre(cast.agency, "郑晓梅", position=Position.CHAIR, full_time=True)
    return {"town_a": Cadre.objects.under(cast.town_a).count(), "all": Cadre.objects.count()}


@pytest.fixture
def browser(counts):
    with launch() as browser:
        yield browser


def total_cadres_cell(page):
    """The 干部总数 cell of the 合计 row of the statistics table, found by its column header."""
    table = page.locator("table#cadre-stats")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    column = headers.index("干部总数")
    total_row = table.locator("tbody tr.total")
    assert total_row.locator("th, td").first.inner_text().strip() == "合计"
    return total_row.locator("th, td").nth(column)


@pytest.mark.browser
def test_county_leader_walks_the_tree_and_the_statistics_on_a_phone(
    transactional_db, live_server, cast, counts, browser, tmp_path
):
    from playwright.sync_api import expect

    in_town_a, in_database = counts["town_a"], counts["all"]
    assert (in_town_a, in_database) == (4, 8)

    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    static: dict[str, int] = {}
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def note_console(msg):
        # the browser asks for /favicon.ico on its own; the app has none
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console: {msg.text} {msg.location}")

    page.on("console", note_console)
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}"))

    def note_response(response):
        if "/static/" in response.url:
            static[response.url.rsplit("/", 1)[-1]] = response.status
        elif response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    page.on("response", note_response)
    try:
        # sign in by typing into the form
        page.goto(f"{live_server.url}/accounts/login/")
        expect(page.locator("h1")).to_have_text("登录")
        page.locator("input[name=username]").fill("county_leader")
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()

        # land on the county's own page, with the stylesheet and htmx loaded
        page.wait_for_url(f"{live_server.url}/orgs/units/{cast.county.pk}/")
        expect(page.locator("h1")).to_have_text("测试县妇联")
        assert static == {"pico.min.css": 200, "fulian.css": 200, "htmx.min.js": 200}
        page.wait_for_function("() => window.htmx !== undefined")
        container = page.locator("main.container")
        assert container.evaluate("el => getComputedStyle(el).paddingLeft") != "0px"  # pico applied
        assert_fits(page)  # no sideways scroll

        # the org tree; expand a township with the htmx ＋ button
        page.locator("header nav").get_by_role("link", name="组织", exact=True).click()
        page.wait_for_url(f"{live_server.url}/orgs/units/{cast.county.pk}/tree/")
        expect(page.locator("h1")).to_have_text("测试县妇联 · 组织树")
        town_node = page.locator(f"#node-{cast.town_a.pk}")
        expect(page.locator(f"#node-{cast.village_a1.pk}")).to_have_count(0)
        with page.expect_response(f"**/orgs/units/{cast.town_a.pk}/children/") as expanded:
            town_node.get_by_role("button", name="展开甲镇妇联").click()
        assert expanded.value.status == 200
        village = page.locator(f"#sub-{cast.town_a.pk} #node-{cast.village_a1.pk}")
        expect(village).to_be_visible()
        expect(village.get_by_role("link", name="甲一村")).to_be_visible()
        expect(page.locator(f"#sub-{cast.town_a.pk}")).to_contain_text("甲二村")
        expect(page.locator(f"#sub-{cast.town_a.pk}")).to_contain_text("未建")
        expect(town_node.get_by_role("button", name="展开甲镇妇联")).to_have_count(0)
        expect(page.locator(f"#sub-{cast.town_b.pk}")).to_be_empty()  # the other township stays closed

        # a township's page, then its cadre statistics
        town_node.get_by_role("link", name="甲镇妇联", exact=True).click()
        page.wait_for_url(f"{live_server.url}/orgs/units/{cast.town_a.pk}/")
        expect(page.locator("h1")).to_have_text("甲镇妇联")
        expect(page.locator("nav.crumbs")).to_contain_text("测试县妇联")
        page.get_by_role("button", name="干部统计").click()
        page.wait_for_url(f"{live_server.url}/orgs/units/{cast.town_a.pk}/cadre-stats/")
        expect(page.locator("h1")).to_have_text("甲镇妇联 · 妇联干部情况统计")
        expect(total_cadres_cell(page)).to_have_text(str(in_town_a))

        # the county's statistics from the menu: the total is every cadre in the database
        page.locator("header nav").get_by_role("link", name="统计", exact=True).click()
        page.wait_for_url(f"{live_server.url}/orgs/units/{cast.county.pk}/cadre-stats/")
        expect(page.locator("h1")).to_have_text("测试县妇联 · 妇联干部情况统计")
        expect(total_cadres_cell(page)).to_have_text(str(in_database))
        expect(page.locator("#stats-summary")).to_contain_text(f"共有妇联干部 {in_database} 人")

        shot = tmp_path / "cadre-stats-phone.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
        assert problems == []
    finally:
        context.close()
