"""Done means (issue #6): a woman files a suggestion on a phone-sized page, the township turns it into a problem
with a measure, the measure is done and accepted, the disclosure appears on the public page, and the woman's
receipt page shows the reply.

Real chromium through Playwright on a phone-sized screen, against pytest-django's live server. The CAPTCHA is
answered the way a person answers it: by reading the question on the page and doing the sum.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from fulian.browser_testing import PHONE, TIMEOUT_MS, assert_fits, launch, outside_the_loop, sign_in, watch
from fulian.throttle.captcha import parse_answer

SUGGESTION = "村里妇女之家活动室长期锁门,希望固定开放时间"
REPLY = "已与村妇联沟通,每周二、四下午开放"
PROBLEM = "甲一村妇女之家活动室未按时开放"
RESULT = "活动室已于每周二、四下午固定开放,门口张贴开放时间和联系电话。"
SHOTS = "/tmp/e2e6-{}.png"

_QUESTION = re.compile(r"验证码:\s*(\S+)\s*(加上|加|减去|减|乘以|乘)\s*(\S+)\s*(?:等于几|等于多少|是多少)")


def answer(question: str) -> str:
    """Do the sum of a CAPTCHA question as shown on the page (「验证码:七 加 五 等于几?」→ "12")."""
    m = _QUESTION.search(question)
    assert m, f"not a captcha question: {question!r}"
    a, op, b = parse_answer(m.group(1)), m.group(2), parse_answer(m.group(3))
    assert a is not None and b is not None, question
    return str(a + b if op.startswith("加") else a - b if op.startswith("减") else a * b)


@pytest.fixture
def browser(cast):
    with launch() as browser:
        yield browser


def anonymous(browser):
    """A phone-sized context with no account: the woman's own phone."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.mark.browser
def test_suggestion_to_rectification_to_disclosure_and_reply(transactional_db, live_server, cast, browser):
    from playwright.sync_api import expect

    problems: list[str] = []
    town_a = cast.town_a
    public_home = f"{live_server.url}/p/u/{town_a.pk}/"
    flash = "main p.flash"

    # 1. an anonymous woman, on her phone: township A's public page → the suggestion box → a receipt code
    woman_ctx, woman = anonymous(browser)
    watch(woman, problems)
    woman.goto(public_home)
    expect(woman.locator("h1")).to_have_text("甲镇妇联")
    woman.locator("#services").get_by_role("button", name="意见箱").click()
    expect(woman.locator("h1")).to_have_text("意见箱")
    expect(woman.locator("main")).to_contain_text("向 甲镇妇联 提出意见、建议、投诉或求助")
    woman.get_by_role("radio", name="意见", exact=True).check()
    woman.get_by_label("您的意见或建议").fill(SUGGESTION)
    woman.get_by_label("联系电话(可不填)").fill("13812345678")
    question = woman.locator("label[for=id_captcha]").inner_text()
    woman.locator("#id_captcha").fill(answer(question))
    assert_fits(woman)
    woman.screenshot(path=SHOTS.format("suggest"), full_page=True)
    woman.get_by_role("button", name="提交").click()
    expect(woman.locator("h1")).to_have_text("您的意见已收到")
    code = woman.locator("#receipt-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", code), code
    assert_fits(woman)

    # 2. township A's staff: 民意 → the suggestion → a public reply → a problem in the rectification ledger
    staff_ctx, staff = sign_in(browser, live_server, "a_staff")
    watch(staff, problems)
    staff.locator("header nav").get_by_role("link", name="民意", exact=True).click()
    expect(staff.locator("h1")).to_have_text("群众意见建议")
    staff.locator("#suggestions").get_by_role("link", name=SUGGESTION).click()
    expect(staff.locator("h1")).to_have_text("意见 · 甲镇妇联")
    expect(staff.locator("#state")).to_have_text("待处理")
    expect(staff.locator("#text")).to_have_text(SUGGESTION)
    expect(staff.locator("article footer")).not_to_contain_text("13812345678")  # masked until revealed
    staff.get_by_label("公开答复(凭回执码可见,请勿写入姓名等个人信息)").fill(REPLY)
    staff.get_by_role("button", name="保存答复").click()
    expect(staff.locator(flash)).to_have_text("已保存答复,群众凭回执码可见。")
    expect(staff.locator("#reply")).to_have_text(REPLY)
    staff.get_by_text("转为整改问题", exact=True).click()
    form = staff.locator("form[action$='/do/problem/']")
    expect(form.get_by_label("问题", exact=True)).to_have_value(SUGGESTION)  # pre-filled from the text
    form.get_by_label("问题", exact=True).fill(PROBLEM)
    form.get_by_label("问题类别").select_option(label="服务群众")
    form.get_by_role("button", name="登记为整改问题").click()
    expect(staff.locator(flash)).to_have_text("已转为整改问题。")
    expect(staff.locator("#state")).to_have_text("已转为整改问题")

    # 3. on the problem: a measure owned by village A1, marked for disclosure; progress; done
    staff.locator("#problem").get_by_role("link", name=PROBLEM).click()
    expect(staff.locator("h1")).to_have_text(PROBLEM)
    expect(staff.locator("hgroup p")).to_contain_text("甲镇妇联 · 意见箱 · 服务群众")
    staff.get_by_role("button", name="添加整改措施").click()
    expect(staff.locator("h1")).to_have_text("制定整改措施")
    staff.get_by_label("整改措施").fill("督促甲一村妇联固定活动室开放时间并张贴公示")
    staff.get_by_label("责任单位").select_option(label="甲一村")
    staff.get_by_label("责任人").fill("张玉梅")
    staff.get_by_label("整改时限").fill((timezone.localdate() + dt.timedelta(days=30)).isoformat())
    staff.get_by_label("预期效果").fill("活动室每周固定开放两次")
    staff.get_by_label("整改结果需公开(验收后生成公开事项草稿)").check()
    staff.get_by_role("button", name="保存").click()
    expect(staff.locator(flash)).to_have_text("整改措施已添加。")
    measure = staff.locator("#measures article").first
    expect(measure).to_contain_text("责任单位:甲一村 · 责任人:张玉梅")
    expect(measure.locator(".status")).to_have_text("整改中")
    expect(measure).to_contain_text("结果需公开")
    measure.get_by_role("link", name="办理").click()
    expect(staff.locator("h1")).to_have_text("整改措施")
    staff.get_by_label("进展情况").fill("已与甲一村妇联主席沟通,拟定开放时间。")
    staff.get_by_role("button", name="报告进展").click()
    expect(staff.locator(flash)).to_have_text("已报告进展。")
    staff.get_by_label("整改完成情况").fill(RESULT)
    staff.get_by_role("button", name="报告整改完成").click()
    expect(staff.locator(flash)).to_have_text("已报告整改完成。")
    expect(staff.locator(".status")).to_have_text("已整改(待验收)")
    assert_fits(staff)

    # the township leader accepts it, from the notice that it waits for acceptance
    leader_ctx, leader = sign_in(browser, live_server, "a_leader")
    watch(leader, problems)
    leader.locator("header nav").get_by_role("link", name="通知").click()
    leader.get_by_role("button", name=f"整改措施待验收:{PROBLEM}").click()
    expect(leader.locator("h1")).to_have_text(PROBLEM)
    leader.locator("#measures article").first.get_by_role("link", name="办理").click()
    leader.get_by_label("验收意见(选填)").fill("经回访,活动室已按时开放")
    leader.get_by_role("button", name="验收通过").click()
    expect(leader.locator(flash)).to_have_text("已验收通过。")
    expect(leader.locator(".status")).to_have_text("已验收")

    # 4. the acceptance drafted a 整改情况 disclosure: the staff submits it, the leader publishes it
    title = f"整改情况:{PROBLEM}"
    staff.locator("header nav").get_by_role("link", name="公开", exact=True).click()
    expect(staff.locator("h1")).to_have_text("公开栏与承诺")
    row = staff.locator("#item-list tbody tr").filter(has_text=title)
    expect(row).to_contain_text("草稿")
    row.get_by_role("link").click()
    expect(staff.locator("#item-state")).to_have_text("草稿")
    expect(staff.locator("main")).to_contain_text("本事项由已验收的整改措施生成。")
    expect(staff.get_by_label("公开内容")).to_contain_text(RESULT)
    staff.get_by_role("button", name="提交审核").click()
    expect(staff.locator(flash)).to_have_text("已提交审核。")
    expect(staff.locator("#item-state")).to_have_text("待审核")
    expect(staff.get_by_role("button", name="审核同意,公开")).to_have_count(0)  # only a leader publishes
    staff.screenshot(path=SHOTS.format("staff-item"), full_page=True)
    assert_fits(staff)

    leader.locator("header nav").get_by_role("link", name="公开", exact=True).click()
    leader.locator("#review").get_by_role("link", name=title).click()
    leader.get_by_role("button", name="审核同意,公开").click()
    expect(leader.locator(flash)).to_have_text("已审核公开。")
    expect(leader.locator("#item-state")).to_have_text("已公开")
    leader_ctx.close()
    staff_ctx.close()

    # 5. the woman again: the disclosure is in the 公开栏; her receipt code shows the state and the reply
    woman.goto(public_home)
    board = woman.locator("#board")
    expect(board).to_contain_text(title)
    board.get_by_role("link", name=title).click()
    expect(woman.locator("h1")).to_have_text(title)
    expect(woman.locator("#body")).to_contain_text(RESULT)
    expect(woman.locator("#body")).to_contain_text("整改已完成并通过验收,欢迎群众监督。")
    assert_fits(woman)
    woman.locator(".crumbs").get_by_role("link", name="甲镇妇联").click()
    woman.get_by_role("button", name="查询意见答复").click()
    expect(woman.locator("h1")).to_have_text("查看意见办理情况")
    woman.get_by_label("回执码").fill(code.lower().replace("-", " "))  # typed loosely, as people do
    woman.get_by_role("button", name="查询").click()
    expect(woman.locator("#receipt-state")).to_have_text("已转为整改问题")
    expect(woman.locator("#receipt-reply")).to_have_text(REPLY)
    expect(woman.locator("#receipt-rectification")).to_contain_text("已全部整改到位并通过验收")
    expect(woman.locator("#receipt-result")).to_contain_text("受理单位:甲镇妇联")
    assert_fits(woman)
    woman.screenshot(path=SHOTS.format("receipt"), full_page=True)
    woman_ctx.close()

    # 6. township B's staff cannot open the suggestion (the same 404 as a missing one)
    def suggestion_url():
        from fulian.voice.models import Suggestion

        return f"{live_server.url}/voice/s/{Suggestion.objects.get().pk}/"

    url = outside_the_loop(suggestion_url)
    b_ctx, b_page = sign_in(browser, live_server, "b_staff")
    assert b_page.goto(url).status == 404
    b_ctx.close()

    def final_state():
        from fulian.audit.models import AuditEvent
        from fulian.audit.verify import verify_chain
        from fulian.portal.models import DisclosureItem
        from fulian.rectify.models import Measure
        from fulian.voice.models import Suggestion

        s = Suggestion.objects.select_related("problem").get()
        m = Measure.objects.get(problem=s.problem)
        item = DisclosureItem.objects.get(measure=m)
        actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_username"))
        return s.state, s.problem.source, m.state, item.state, item.org_unit_id, actions, verify_chain().ok

    state, source, m_state, item_state, item_unit, actions, chain_ok = outside_the_loop(final_state)
    assert (state, source, m_state, item_state, item_unit) == (
        "problem",
        "suggestion",
        "accepted",
        "published",
        town_a.pk,
    )
    expected = [
        ("voice.suggestion.submit", ""),
        ("voice.suggestion.reply", "a_staff"),
        ("rectify.problem.create", "a_staff"),
        ("voice.suggestion.problem", "a_staff"),
        ("rectify.measure.create", "a_staff"),
        ("rectify.measure.progress", "a_staff"),
        ("rectify.measure.done", "a_staff"),
        ("portal.item.create", "a_leader"),
        ("rectify.measure.accept", "a_leader"),
        ("portal.item.submit", "a_staff"),
        ("portal.item.publish", "a_leader"),
    ]
    key = [a for a in actions if a[0].split(".")[0] in ("voice", "rectify", "portal")]
    assert key == expected
    assert chain_ok
    assert problems == []
