"""Done means (issue #5): a county leader opens the dashboard, clicks through to a township, downloads the year's
工作总结 and the by-township table; figures agree everywhere.

Real chromium through Playwright against pytest-django's live server: the county leader at a desk (a
desktop-sized window), the dashboard once more on a phone. Every number read off the page, the .docx, the .xlsx
and the API is compared with the statistics service (``fulian.reports.queries``) computed outside the browser's
event loop — and the headline training figures with the sums of the records typed below, so that a service
that lost records would fail too.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from fulian.browser_testing import TIMEOUT_MS, assert_fits, launch, outside_the_loop, sign_in, watch
from fulian.cases.tests.conftest import make_case
from fulian.conftest import PASSWORD
from fulian.ledger.tests.builders import activity, training

DESK = {"width": 1366, "height": 900}
SHOTS = "/tmp/e2e5-{}.png"
LAST_YEAR = re.compile(r"上年同期 ([^,,\s]+)")
# the sentences of the 工作总结 that carry the ledger's and the cases' figures, and the indicators they say
SENTENCES = [
    (
        re.compile(
            r"全县各乡镇共举办实用技术培训(\S+?)期[,,]参训妇女(\S+?)人、(\S+?)人次[,,]"
            r"推荐就业(\S+?)人[,,]实现就业(\S+?)人。"
        ),
        [
            "training_sessions",
            "training_people",
            "training_person_times",
            "training_recommended",
            "training_employed",
        ],
    ),
    (
        re.compile(r"共开展各类宣传活动(\S+?)次[,,]参与群众(\S+?)人[,,]受益(\S+?)人。"),
        ["activity_count", "activity_people", "activity_beneficiaries"],
    ),
    (re.compile(r"受理妇女儿童维权案件(\S+?)件[,,]办结(\S+?)件。"), ["cases_received", "cases_closed"]),
]


@pytest.fixture
def ledger(cast):
    """This year's and last year's ledger of villages A1, B1 and both townships, typed through the ledger actions
    by their own people (a locked past month by a leader of the unit; last year's paper ledger imported by the
    system), and two cases.
    All database work happens before the browser starts (Playwright's loop forbids ORM calls)."""
    u = cast.users
    today = timezone.localdate()
    this_month = today.replace(day=1)
    early = min(today, dt.date(today.year, 2, 10))
    last_year = early.replace(year=today.year - 1)  # inside last year's same period, whatever today is
    training(cast.village_a1, u.a1_staff, day=this_month, sessions=2, people=25, employed=12, recommended=15)
    activity(cast.village_a1, u.a1_staff, day=this_month, people=60, beneficiaries=60)
    training(cast.town_a, u.a_leader, day=early, sessions=1, people=40, employed=5, recommended=8)
    activity(cast.town_a, u.a_staff, day=this_month, people=120, title="三八节表彰座谈会")
    training(cast.village_b1, u.b1_staff, day=this_month, sessions=3, people=30, employed=10, recommended=10)
    activity(cast.town_b, u.b_staff, day=this_month, people=80)
    training(cast.village_a1, None, day=last_year, sessions=1, people=20, employed=2, recommended=2)
    training(cast.village_b1, None, day=last_year, sessions=2, people=15)
    activity(cast.town_b, u.b_leader, day=last_year, people=35)
    make_case(u.county_hotline, cast.village_a1)
    make_case(u.b_caseworker, cast.town_b)
    # what the records above add up to (this year's sessions and person-times, last year's person-times)
    return SimpleNamespace(county=(6, 2 * 25 + 40 + 3 * 30, 20 + 2 * 15), town_a=(3, 2 * 25 + 40, 20))


@pytest.fixture
def browser(ledger):
    with launch() as browser:
        yield browser


def desk_sign_in(browser, live_server, username: str):
    """A desktop-sized context signed in as ``username``: the county leader at her desk."""
    context = browser.new_context(viewport=DESK, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/orgs/units/*/")
    return context, page


def shown(value) -> str:
    """A service value as the page prints it."""
    from fulian.reports.queries import plain

    value = plain(value)
    return "—" if value is None else str(value)


def same(text: str, value) -> bool:
    """A number printed on the page equals a cell read back from the .xlsx (where 100.0 comes back as 100)."""
    if isinstance(value, int | float):
        return float(text) == value
    return text == shown(value)


def service(user, unit_id: int, year: int) -> SimpleNamespace:
    """The statistics service's figures for the unit and the year so far, as the user may see them: the
    totals of every visible indicator and the by-child-unit table."""
    from fulian.reports import queries
    from fulian.reports.periods import same_period_last_year

    unit = queries.access_stats_unit(user, unit_id)
    today = timezone.localdate()
    start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
    indicators = queries.visible_indicators(user, unit)
    table = queries.indicator_table(user, unit, start, end)
    return SimpleNamespace(
        start=start,
        end=end,
        names={i.name: i.code for i in indicators},
        headers={f"{i.name}({i.unit})": i.code for i in table.indicators},
        totals={code: queries.plain(v) for code, v in queries.compute(unit, start, end, indicators).items()},
        last={
            code: queries.plain(v)
            for code, v in queries.compute(unit, *same_period_last_year(start, end), indicators).items()
        },
        rows={r.label: {c: queries.plain(v) for c, v in r.values.items()} for r in table.rows},
        table_total={c: queries.plain(v) for c, v in table.total.values.items()},
    )


def headline(page) -> dict[str, str]:
    """{indicator name: (the number on its card, the number of 上年同期)} of the dashboard's headline figures."""
    cards = page.locator("#headline article").evaluate_all(
        """cards => cards.map(a => [a.children[1].textContent.trim(),
                                    a.querySelector('.big').firstChild.textContent.trim(),
                                    a.querySelector('small.muted').textContent.trim()])"""
    )
    return {name: (number, LAST_YEAR.match(last).group(1)) for name, number, last in cards}


def check_headline(page, figures: SimpleNamespace, expected: tuple[int, int, int]) -> None:
    cards = headline(page)
    assert len(cards) >= 5, cards
    for name, (number, last) in cards.items():
        assert name in figures.names, f"card {name} is not a visible indicator"
        assert number == shown(figures.totals[figures.names[name]]), (name, number)
        assert last == shown(figures.last[figures.names[name]]), (name, last)
    sessions, person_times, last_person_times = expected
    assert figures.totals["training_sessions"] == sessions
    assert figures.totals["training_person_times"] == person_times
    assert figures.last["training_person_times"] == last_person_times
    assert cards["培训期数"][0] == str(sessions), cards
    assert cards["参训人次"] == (str(person_times), str(last_person_times)), cards


def page_children_table(page, figures: SimpleNamespace) -> tuple[list[str], dict[str, list[str]]]:
    """The dashboard's 分单位数据表 (opened like a reader opens it): its column headers and {unit: [cells]},
    checked against the service's by-child-unit table: every child unit, and the unit's own "(本级)" row where it
    has charted figures of its own (as in the .xlsx and the API), with the service's numbers."""
    page.locator("#children-table summary").click()
    table = page.locator("#children-table table")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()][1:]
    rows = {}
    for tr in table.locator("tbody tr").all():
        cells = [c.strip() for c in tr.locator("th, td").all_inner_texts()]
        rows[cells[0]] = cells[1:]
    children = {label for label in figures.rows if not label.endswith("(本级)")}
    assert children <= set(rows) <= set(figures.rows), rows
    for label, cells in rows.items():
        for header, cell in zip(headers, cells, strict=True):
            assert cell == shown(figures.rows[label][figures.headers[header]]), (label, header, cell)
    return headers, rows


@pytest.mark.browser
def test_county_leader_dashboard_drill_down_summary_and_table_agree(
    transactional_db, live_server, cast, ledger, browser, tmp_path
):
    from playwright.sync_api import expect

    problems: list[str] = []
    year = timezone.localdate().year
    leader = cast.users.county_leader
    county = outside_the_loop(lambda: service(leader, cast.county.pk, year))
    town_a = outside_the_loop(lambda: service(leader, cast.town_a.pk, year))
    county_url = f"{live_server.url}/reports/units/{cast.county.pk}/"

    ctx, page = desk_sign_in(browser, live_server, "county_leader")
    watch(page, problems)
    try:
        # 1. 报表 from the nav: the county's dashboard, headline figures equal to the service's
        page.locator("#nav-reports").click()
        page.wait_for_url(f"{county_url}*")
        expect(page.locator("h1")).to_have_text(f"测试县妇联 {year}年工作看板")
        check_headline(page, county, ledger.county)
        headers, rows = page_children_table(page, county)
        assert {"甲镇妇联", "乙镇妇联", "县教育局妇委会"} <= set(rows), rows
        page.screenshot(path=SHOTS.format("county-desk"), full_page=True)

        # 2. a click on township A's name on the bar chart opens township A's dashboard
        page.locator("#chart-children svg text", has_text="甲镇妇联").click()
        page.wait_for_url(f"{live_server.url}/reports/units/{cast.town_a.pk}/?year={year}")
        expect(page.locator("h1")).to_have_text(f"甲镇妇联 {year}年工作看板")
        check_headline(page, town_a, ledger.town_a)
        _, a_rows = page_children_table(page, town_a)
        # township A's own training is on its page too, in a row without a drill-down link: the rows add up
        assert set(a_rows) == set(town_a.rows) == {"甲镇妇联(本级)", "甲一村", "甲二村"}, a_rows
        expect(page.locator("#children-table th", has_text="甲镇妇联(本级)").locator("a")).to_have_count(0)

        # 3. back at the county: the year's 工作总结 as Word — its sentence says the service's numbers
        page.go_back()
        expect(page.locator("h1")).to_have_text(f"测试县妇联 {year}年工作看板")
        form = page.locator("#summary-form")
        form.get_by_label("文稿类型").select_option(label="工作总结")
        form.get_by_label("年度").fill(str(year))
        form.get_by_label("存在问题").fill("部分村妇联执委履职不够积极。")
        with page.expect_download() as download:
            form.get_by_role("button", name="下载 Word").click()
        assert download.value.suggested_filename == f"测试县妇联{year}年工作总结.docx"
        path = tmp_path / "summary.docx"
        download.value.save_as(path)
        doc = Document(str(path))
        lines = [p.text for p in doc.paragraphs if p.text.strip()]
        assert lines[0] == f"测试县妇联{year}年工作总结"
        said = []
        for pattern, codes in SENTENCES:
            found = [m for line in lines if (m := pattern.search(line))]
            assert len(found) == 1, (pattern.pattern, lines)
            assert list(found[0].groups()) == [shown(county.totals[c]) for c in codes], found[0].group(0)
            said.append(found[0].group(0))
        training_said = SENTENCES[0][0].search(said[0])
        assert (int(training_said.group(1)), int(training_said.group(3))) == ledger.county[:2]
        appendix = [[c.text for c in row.cells] for row in doc.tables[0].rows]
        doc_headers, doc_total = appendix[0][1:], appendix[-1]
        assert doc_total[0] == "合计"
        for header, cell in zip(doc_headers, doc_total[1:], strict=True):
            assert cell == shown(county.table_total[county.headers[header]]), (header, cell)
        # … and the preview of the same form says the same sentence on the page
        form.get_by_role("button", name="预览").click()
        page.wait_for_url(f"{county_url}summary/")
        expect(page.locator("#document h1")).to_have_text(f"测试县妇联{year}年工作总结")
        for sentence in said:
            expect(page.locator("#document")).to_contain_text(sentence)
        expect(page.locator("#document")).to_contain_text("部分村妇联执委履职不够积极。")

        # 4. the by-township table (.xlsx) from the dashboard: rows and total equal to the service and the page
        page.get_by_role("link", name="返回看板").click()
        expect(page.locator("h1")).to_have_text(f"测试县妇联 {year}年工作看板")
        with page.expect_download() as download:
            page.get_by_role("button", name="分单位统计表(Excel)").click()
        path = tmp_path / "table.xlsx"
        download.value.save_as(path)
        sheet = list(load_workbook(path).active.iter_rows(values_only=True))
        assert sheet[0][0].startswith(f"测试县妇联{year}年工作统计表")
        xlsx_headers = list(sheet[1])
        assert xlsx_headers[0] == "单位" and set(xlsx_headers[1:]) == set(county.headers)
        by_unit = {r[0]: dict(zip(xlsx_headers[1:], r[1:], strict=True)) for r in sheet[2:-1]}
        assert set(by_unit) == set(county.rows) == {*rows, "测试县妇联(本级)"}  # the county's own cadres
        for label, values in by_unit.items():
            for header, value in values.items():
                assert value == county.rows[label][county.headers[header]], (label, header, value)
            for header, cell in zip(headers, rows.get(label, []), strict=False):  # the page's table
                assert same(cell, values[header]), (label, header, cell)
        total = dict(zip(xlsx_headers[1:], sheet[-1][1:], strict=True))
        assert sheet[-1][0] == "合计"
        assert {county.headers[h]: v for h, v in total.items()} == county.table_total
        assert total["参训人次(人次)"] == ledger.county[1]

        # … and the API (the signed-in session) says the same
        api = ctx.request.get(
            f"{live_server.url}/api/v1/stats/?unit={cast.county.pk}&start={county.start}&end={county.end}"
        )
        assert api.status == 200, api.text()
        body = api.json()
        assert body["total"]["values"] == county.table_total
        assert {r["label"]: r["values"] for r in body["rows"]} == county.rows

        # 5. the same dashboard on a phone: no sideways scrolling
        phone_ctx, phone = sign_in(browser, live_server, "county_leader")
        watch(phone, problems)
        phone.goto(county_url)
        expect(phone.locator("#headline article").first).to_be_visible()
        assert_fits(phone)
        phone.screenshot(path=SHOTS.format("county-phone"), full_page=True)
        phone_ctx.close()
        assert problems == []
    finally:
        ctx.close()

    # 6. scope: township B's leader asking for the county's dashboard, summary and table gets 404
    b_ctx, b_page = sign_in(browser, live_server, "b_leader")
    try:
        response = b_page.goto(county_url)
        assert response.status == 404
        assert "测试县妇联" not in b_page.content()
        for suffix in ("summary/", "summary.docx", "table.xlsx"):
            assert b_ctx.request.get(f"{county_url}{suffix}").status == 404, suffix
        assert b_ctx.request.get(f"{live_server.url}/api/v1/stats/?unit={cast.county.pk}").status == 404
    finally:
        b_ctx.close()
