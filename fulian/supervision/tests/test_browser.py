"""Done means (issue #4): a county officer sends 「报送三八节活动开展情况」 to all townships, a township submits
the form pre-filled from its villages' ledgers, the officer sees who is late, accepts, and exports the table.

Real chromium through Playwright on a phone-sized screen, against pytest-django's live server.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from fulian.browser_testing import assert_fits, launch, outside_the_loop, sign_in, watch
from fulian.ledger.tests.builders import activity


@pytest.fixture
def ledger_records(cast):
    """The villages' (and township A's own) ledger this month, typed by their own people through the ledger
    actions. All database work happens before the browser starts (Playwright's loop forbids ORM calls)."""
    activity(cast.village_a1, cast.users.a1_staff, people=60, title="三八节法律知识宣传")
    activity(cast.village_a1, cast.users.a1_staff, people=35, title="巾帼志愿服务")
    activity(cast.town_a, cast.users.a_staff, people=120, title="三八节表彰座谈会")
    activity(cast.village_b1, cast.users.b1_staff, people=45)
    return {"a_count": 3, "a_people": 215}


@pytest.fixture
def browser(ledger_records):
    with launch() as browser:
        yield browser


@pytest.mark.browser
def test_county_sends_sanba_task_township_submits_county_accepts_and_exports(
    transactional_db, live_server, cast, ledger_records, browser, tmp_path
):
    from playwright.sync_api import expect

    problems: list[str] = []
    today = timezone.localdate()

    # 1. the county officer sends the task to every township, asking for two ledger indicators
    county_ctx, page = sign_in(browser, live_server, "county_staff")
    watch(page, problems)
    try:
        page.locator("header nav").get_by_role("link", name="任务", exact=True).click()
        page.get_by_role("button", name="下发新任务").click()
        expect(page.locator("h1")).to_have_text("下发任务")
        page.get_by_label("任务名称").fill("报送三八节活动开展情况")
        page.get_by_label("任务要求").fill("请核对台账汇总数后报送三八节活动开展情况。")
        page.get_by_label("报送截止日期").fill((today + dt.timedelta(days=2)).isoformat())
        expect(page.get_by_label("下辖全部乡镇(街道)")).to_be_checked()
        page.get_by_label("活动次数", exact=True).check()
        page.get_by_label("活动参与人数", exact=True).check()
        page.get_by_label("统计期起").fill(today.replace(day=1).isoformat())
        page.get_by_label("统计期止").fill(today.isoformat())
        page.get_by_label("其他报送项目(每行一项)").fill("发放宣传资料(份)")
        page.get_by_role("button", name="下发").click()
        expect(page.locator("p.flash")).to_have_text("任务已下发给 2 个单位。")
        expect(page.locator("h1")).to_have_text("报送三八节活动开展情况")
        task_url = page.url
        rates = page.locator("#rates-table")
        expect(rates.locator("tr.total td").nth(1)).to_have_text("2")  # 应报
        expect(rates.locator("tr.total td").nth(2)).to_have_text("0")  # 已报

        # 2. township A signs in on a phone: the task is the first thing on its page, pre-filled
        town_ctx, tpage = sign_in(browser, live_server, "a_staff")
        watch(tpage, problems)
        todo = tpage.locator("#my-todo")
        expect(todo).to_contain_text("报送三八节活动开展情况")
        todo.get_by_role("link", name="报送三八节活动开展情况").click()
        expect(tpage.locator("input[name=v_activity_count]")).to_have_value(str(ledger_records["a_count"]))
        expect(tpage.locator("input[name=v_activity_people]")).to_have_value(str(ledger_records["a_people"]))
        tpage.locator("input[name=v_f1]").fill("500")
        tpage.get_by_label("情况说明").fill("开展法律知识宣传、志愿服务和表彰座谈会,发放宣传资料500份。")
        tpage.get_by_role("button", name="报送", exact=True).click()
        expect(tpage.locator("#status")).to_have_text("已报送")
        assert_fits(tpage)
        town_ctx.close()

        # 3. the deadline passes; the officer sees who is late (乙镇 has not reported)
        def pass_deadline():
            from fulian.supervision.models import Task

            Task.objects.update(deadline=today - dt.timedelta(days=1))

        outside_the_loop(pass_deadline)
        page.goto(task_url)
        red = page.locator("#red-list")
        expect(red).to_contain_text("乙镇妇联")
        expect(red).not_to_contain_text("甲镇妇联")
        expect(rates.locator("tr.total td").nth(7)).to_have_text("1")  # 逾期未报

        # 4. accept township A's submission
        page.get_by_role("button", name="采纳甲镇妇联").click()
        expect(page.locator("p.flash")).to_have_text("已采纳:甲镇妇联")
        expect(rates.locator("tr.total td").nth(8)).to_have_text("1")  # 已采纳

        # 5. download the county table and read it back
        with page.expect_download() as download:
            page.get_by_role("button", name="导出 Excel").click()
        path = Path(tmp_path) / "export.xlsx"
        download.value.save_as(path)
        rows = list(load_workbook(path).active.iter_rows(values_only=True))
        headers = list(rows[1])
        by_unit = {r[0]: r for r in rows[2:-1]}
        people = headers.index("活动参与人数")
        assert by_unit["甲镇妇联"][people] == ledger_records["a_people"]
        assert by_unit["甲镇妇联"][headers.index("状态")] == "已采纳"
        assert by_unit["乙镇妇联"][headers.index("状态")] == "待报送"
        assert rows[-1][0] == "合计" and rows[-1][people] == ledger_records["a_people"]
        assert rows[-1][headers.index("发放宣传资料(份)")] == 500
        page.screenshot(path=str(tmp_path / "task-phone.png"), full_page=True)
        assert problems == []
    finally:
        county_ctx.close()
