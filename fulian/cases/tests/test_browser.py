"""Done means (issue #3): a hotline operator registers a 高危 domestic-violence call on a phone-sized screen, the
township caseworker sees it on top, refers it to the police and legal aid, records the protection-order help,
asks for closure, the leader approves, the follow-up visit is logged; staff and the sysadmin of the same
township cannot see it; the auditor's log shows the reveal.

Real chromium through Playwright against pytest-django's live server.
"""

from __future__ import annotations

import pytest

from fulian.browser_testing import assert_fits, launch, outside_the_loop, sign_in, watch
from fulian.cases.tests.conftest import make_case


@pytest.fixture
def older_case(cast):
    """An ordinary case of township A registered earlier: the new 高危 one must still come first."""
    return make_case(cast.users.a_caseworker, cast.town_a, sub="divorce", account="离婚财产纠纷咨询")


@pytest.fixture
def browser(older_case):
    with launch() as browser:
        yield browser


def do(page, verb: str):
    return page.locator(f"form[action$='/do/{verb}/']")


@pytest.mark.browser
def test_hotline_to_follow_up_in_confidence(
    transactional_db, live_server, cast, older_case, browser, tmp_path
):
    from playwright.sync_api import expect

    problems: list[str] = []

    # 1. the county hotline operator registers a 高危 call on her phone
    ctx, page = sign_in(browser, live_server, "county_hotline")
    watch(page, problems)
    page.locator("header nav").get_by_role("link", name="维权", exact=True).click()
    expect(page.locator("h1")).to_have_text("登记维权案件")
    page.locator("select[name=unit]").select_option(label="甲镇妇联")
    page.get_by_label("来电号码").fill("13787654321")
    page.get_by_label("与当事人关系", exact=True).fill("本人")
    page.get_by_label("当事人姓名(与来电人不同时)").fill("张玉梅")
    page.get_by_label("当事人电话").fill("13812345678")
    page.get_by_label("安全联系电话").fill("13900001111")
    page.get_by_label("方便联系的时间").fill("工作日上午")
    page.get_by_label("被投诉人姓名").fill("王大军")
    page.get_by_label("被投诉人与当事人关系").fill("丈夫")
    page.locator("select[name=category]").select_option(label="婚姻家庭")
    page.get_by_label("子类别").select_option(label="婚姻家庭 · 家庭暴力")
    page.get_by_label("情况陈述").fill("丈夫酒后掐她脖子,扬言要杀了她。")
    page.get_by_label("曾被掐脖子、捂口鼻").check()
    page.get_by_label("对方扬言要杀死她或家人").check()
    page.get_by_label("同意保存个人信息").check()
    page.get_by_label("同意转介给有关部门").check()
    page.get_by_label("同意回访联系").check()
    expect(page.locator("#autosave-status")).to_contain_text("草稿已自动保存")
    page.screenshot(path=str(tmp_path / "intake-form.png"), full_page=True)
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator("p.flash")).to_contain_text("风险等级:高危")
    number = page.locator("h1").inner_text().split()[0]
    assert number.startswith("WQ-A-")
    expect(page.locator("#parties")).to_contain_text("张*梅")
    expect(page.locator("#parties")).not_to_contain_text("张玉梅")
    assert_fits(page)
    page.screenshot(path=str(tmp_path / "intake-done.png"), full_page=True)
    ctx.close()

    # 2. the township caseworker: the 高危 case is on top; she reveals (with a reason) and handles it
    ctx, page = sign_in(browser, live_server, "a_caseworker")
    watch(page, problems)
    page.locator("header nav").get_by_role("link", name="维权", exact=True).click()
    first = page.locator("#case-rows tbody tr").first
    expect(first).to_contain_text(number)
    expect(first).to_contain_text("高危")
    expect(first).to_contain_text("张*梅")
    expect(page.locator("#case-rows tbody tr")).to_have_count(2)
    first.get_by_role("link", name=number).click()
    page.locator("#reveal-form input[name=reason]").fill("回电核实安全情况")
    page.get_by_role("button", name="查看身份信息").click()
    expect(page.locator("#parties")).to_contain_text("13900001111")
    do(page, "accept").get_by_role("button").click()
    expect(page.locator("p.flash")).to_have_text("已受理。")
    do(page, "start").get_by_role("button").click()
    expect(page.locator("p.flash")).to_have_text("已开始办理。")
    for agency, name in (("公安机关", "甲镇派出所"), ("法律援助中心", "县法律援助中心")):
        page.get_by_text("转介外部单位(公安、法院、法律援助中心……)").click()
        form = do(page, "refer")
        form.get_by_label("接收单位类别").select_option(label=agency)
        form.get_by_label("单位名称").fill(name)
        form.get_by_role("button", name="转介").click()
        expect(page.locator("p.flash")).to_have_text("已记录转介。")
    expect(page.locator("#referrals")).to_contain_text("甲镇派出所")
    expect(page.locator("#referrals")).to_contain_text("县法律援助中心")
    page.get_by_text("记录办理措施", exact=False).click()
    form = do(page, "action")
    form.get_by_label("措施").select_option(label="协助申请人身安全保护令")
    form.get_by_label("结果").select_option(label="法院已签发")
    form.get_by_label("情况说明").fill("陪同到县法院申请,当日签发人身安全保护令。")
    form.get_by_role("button", name="记录").click()
    expect(page.locator("#timeline")).to_contain_text("协助申请人身安全保护令")
    form = do(page, "request_closure")
    form.get_by_label("办理结果").fill("公安出具告诫书,法院签发保护令,当事人已暂住娘家。")
    form.get_by_role("button", name="申请办结").click()
    expect(page.locator("p.flash")).to_have_text("已申请办结。")
    case_url = page.url
    ctx.close()

    # 3. the township leader approves; the caseworker logs the follow-up visit
    ctx, page = sign_in(browser, live_server, "a_leader")
    watch(page, problems)
    page.goto(case_url)
    do(page, "approve_closure").get_by_role("button").click()
    expect(page.locator("p.flash")).to_have_text("已批准办结。")
    expect(page.locator("#case-views")).to_contain_text("回电核实安全情况")  # who looked
    ctx.close()
    ctx, page = sign_in(browser, live_server, "a_caseworker")
    watch(page, problems)
    page.goto(case_url)
    form = do(page, "follow_up")
    form.get_by_label("满意", exact=True).check()
    form.get_by_label("回访意见").fill("当事人安全,对处理满意。")
    form.get_by_role("button", name="记录回访").click()
    expect(page.locator("hgroup p")).to_contain_text("已回访")
    page.screenshot(path=str(tmp_path / "case-phone.png"), full_page=True)
    assert_fits(page)
    ctx.close()

    # 4. staff and the sysadmin of the same township cannot see it
    for username in ("a_staff", "a_sysadmin"):
        ctx, page = sign_in(browser, live_server, username)
        expect(page.locator("header nav").get_by_role("link", name="维权", exact=True)).to_have_count(0)
        response = page.goto(case_url)
        assert response.status == 404
        ctx.close()

    # 5. the auditor sees the reveal in the audit log
    ctx, page = sign_in(browser, live_server, "county_auditor")
    watch(page, problems)
    page.goto(f"{live_server.url}/audit/?action=cases.identity.reveal")
    expect(page.locator("main")).to_contain_text("cases.identity.reveal")
    expect(page.locator("main")).to_contain_text("a_caseworker")
    ctx.close()

    def final_state():
        from fulian.cases.models import Case

        return Case.objects.get(number=number).state

    assert outside_the_loop(final_state) == "followed_up"
    assert problems == []
