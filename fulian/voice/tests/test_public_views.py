"""The public pages: suggestion form with CAPTCHA, receipt lookup, bad input and abuse."""

import pytest
from django.urls import reverse

from fulian.audit.testing import record_queries
from fulian.throttle.testing import solved, solved_from
from fulian.voice import actions
from fulian.voice.models import MAX_TEXT, Suggestion

from .conftest import suggest

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _url(unit):
    return reverse("voice_public:suggest", args=[unit.pk])


def _post(client, unit, ip="10.0.0.1", **data):
    data = {"category": "suggestion", "text": "希望村里多组织技能培训。", **solved(), **data}
    return client.post(_url(unit), data, REMOTE_ADDR=ip)


def test_url_names():
    assert reverse("voice_public:suggest", args=[7]) == "/p/u/7/suggest/"
    assert reverse("voice_public:receipt") == "/p/receipt/"
    assert reverse("voice_public:survey", args=["abc"]) == "/p/survey/abc/"
    assert reverse("voice:home") == "/voice/"


def test_form_page_on_a_phone_with_captcha(client, cast, django_assert_num_queries):
    with django_assert_num_queries(1):  # the unit
        response = client.get(_url(cast.village_a1))
    html = response.content.decode()
    assert response.status_code == 200
    assert "甲一村" in html and 'name="viewport"' in html
    assert "验证码:" in html and 'name="captcha_token"' in html
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    # the real challenge on the page can be answered
    data = {"category": "praise", "text": "谢谢妇联", **solved_from(html)}
    done = client.post(_url(cast.village_a1), data)
    assert done.status_code == 200 and "您的意见已收到" in done.content.decode()


def test_submit_shows_receipt_once_and_it_finds_the_suggestion(client, cast):
    response = _post(client, cast.village_a1, contact_name="李", contact_phone="13800002222")
    html = response.content.decode()
    assert response.status_code == 200
    code = html.split('id="receipt-code"')[1].split(">")[1].split("<")[0]
    assert len(code) == 19 and code.count("-") == 3
    s = Suggestion.objects.get()
    assert s.receipt_hash == actions.receipt_hash(code)
    assert "13800002222" not in html


def test_unknown_or_closed_unit_404(client, cast):
    assert client.get("/p/u/999999/suggest/").status_code == 404


def test_wrong_captcha_keeps_typed_text_and_saves_nothing(client, cast):
    data = {"category": "complaint", "text": "路灯坏了三个月", "contact_name": "王", **solved()}
    data["captcha"] = str(int(data["captcha"]) + 1)
    response = client.post(_url(cast.village_a1), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "验证码不正确或已过期,请重新计算" in html
    assert "路灯坏了三个月" in html and 'value="王"' in html
    assert 'value="complaint" checked' in html or 'checked value="complaint"' in html or "complaint" in html
    assert data["captcha_token"] not in html  # a fresh question
    assert Suggestion.objects.count() == 0


def test_oversized_text_chinese_error_nothing_saved(client, cast):
    response = _post(client, cast.village_a1, text="长" * (MAX_TEXT + 1))
    assert response.status_code == 400
    assert f"内容不能超过{MAX_TEXT}字" in response.content.decode()
    assert Suggestion.objects.count() == 0


def test_request_too_large_is_refused_in_chinese(client, cast):
    response = _post(client, cast.village_a1, text="x" * 70_000)
    assert response.status_code == 413
    assert "提交的内容过长" in response.content.decode()
    assert Suggestion.objects.count() == 0


def test_bad_phone_chinese_error(client, cast):
    response = _post(client, cast.village_a1, contact_phone="12345")
    assert response.status_code == 400
    assert "手机号" in response.content.decode() or "电话号码" in response.content.decode()
    assert Suggestion.objects.count() == 0


def test_xss_everywhere_rendered_escaped(client, cast, login):
    response = _post(client, cast.village_a1, text=XSS, contact_name=XSS[:40])
    assert response.status_code == 200
    s = Suggestion.objects.get()
    actions.reply_suggestion(cast.users.a_staff, s, reply=XSS)
    code_html = response.content.decode()
    code = code_html.split('id="receipt-code"')[1].split(">")[1].split("<")[0]
    receipt = client.post(reverse("voice_public:receipt"), {"code": code})
    for page in (receipt, login(cast.users.a_staff).get(reverse("voice:suggestion", args=[s.pk]))):
        html = page.content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    inbox = login(cast.users.a_staff).get(reverse("voice:home")).content.decode()
    assert "<script>alert" not in inbox


def test_xss_in_receipt_field_escaped(client, cast):
    response = client.post(reverse("voice_public:receipt"), {"code": '"><script>alert(1)</script>'})
    html = response.content.decode()
    assert "<script>alert(1)" not in html


def test_burst_from_one_ip_through_the_page_held_not_lost(client, cast):
    statuses, held_pages = [], 0
    for i in range(actions.SUGGEST_PER_IP + 3):
        response = _post(client, cast.town_a, ip="203.0.113.50", text=f"第{i}条")
        statuses.append(response.status_code)
        held_pages += "提交已收到,将在审核后处理" in response.content.decode()
    assert statuses == [200] * (actions.SUGGEST_PER_IP + 3)
    assert held_pages == 3
    assert Suggestion.objects.count() == actions.SUGGEST_PER_IP + 3
    assert Suggestion.objects.filter(held=True).count() == 3


def test_receipt_page_shows_state_and_reply(client, cast, django_assert_num_queries):
    s, code = suggest(cast.village_a1)
    url = reverse("voice_public:receipt")
    assert client.get(url).status_code == 200
    page = client.post(url, {"code": actions.format_receipt(code)}).content.decode()
    assert "待处理" in page
    actions.reply_suggestion(cast.users.a_staff, s, reply="路灯已于本周安装。")
    with django_assert_num_queries(4):  # prune, insert, count (rate limit); the suggestion with its unit
        page = client.post(url, {"code": code.lower()}).content.decode()
    assert "已回复" in page and "路灯已于本周安装。" in page and "甲一村" in page


def test_receipt_tells_how_far_the_rectification_went_in_counts_only(client, cast, django_assert_num_queries):
    from fulian.rectify.tests.conftest import accepted, make_measure

    s, code = suggest(cast.village_a1)
    s = actions.suggestion_to_problem(cast.users.a_staff, s, title="妇女之家长期锁门", description="群众反映")
    first = make_measure(cast, s.problem, text="制定开放制度,每周固定开放两天。")
    make_measure(cast, s.problem, text="村妇联主席每周值守一次。")
    accepted(cast, first)
    url = reverse("voice_public:receipt")
    with django_assert_num_queries(5):  # rate limit (3), the suggestion with its unit, the measure counts
        page = client.post(url, {"code": code}).content.decode()
    assert "已列入整改台账,正在整改:整改措施2项,已验收1项。" in page
    assert "每周固定开放" not in page  # the measures themselves stay internal
    for m in s.problem.measures.exclude(pk=first.pk):
        accepted(cast, m)
    page = client.post(url, {"code": code}).content.decode()
    assert "整改措施2项已全部整改到位并通过验收" in page


def test_held_receipt_shows_review_message(client, cast):
    for i in range(actions.SUGGEST_PER_IP + 1):
        s, code = suggest(cast.town_a, ip="10.3.3.3", text=f"第{i}条")
    assert s.held
    page = client.post(reverse("voice_public:receipt"), {"code": code}).content.decode()
    assert "提交已收到,将在审核后处理" in page


def test_receipt_guessing_rate_limited_429(client, cast):
    _, code = suggest(cast.village_a1)
    url = reverse("voice_public:receipt")
    for _ in range(actions.RECEIPT_PER_IP):
        response = client.post(url, {"code": actions.new_receipt_code()}, REMOTE_ADDR="198.51.100.1")
        assert response.status_code == 404
        assert "未找到该回执码" in response.content.decode()
    response = client.post(url, {"code": code}, REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 429
    assert "查询过于频繁" in response.content.decode()
    assert (
        "已回复" not in response.content.decode() and 'id="receipt-result"' not in response.content.decode()
    )


def test_submit_query_count(client, cast, django_assert_num_queries):
    """A fixed cost per suggestion (unit, captcha, rate limit, insert, notify, audit), whatever the burst."""
    _post(client, cast.town_a, ip="10.8.0.1")
    with django_assert_num_queries(15 + record_queries(2)):
        assert _post(client, cast.town_a, ip="10.8.0.2").status_code == 200


def test_survey_request_too_large(client, cast, survey):
    url = reverse("voice_public:survey", args=[survey.token])
    client.get(url)
    data = {f"q{survey.q['advice'].pk}": "x" * 70_000}
    response = client.post(url, data)
    assert response.status_code == 413 and "提交的内容过长" in response.content.decode()
