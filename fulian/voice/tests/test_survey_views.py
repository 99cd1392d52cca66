"""Survey pages: public taking (cookie, twice, closed), cadre taking, the builder, results, export."""

import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from fulian.audit.models import AuditEvent
from fulian.audit.testing import record_queries
from fulian.voice import actions
from fulian.voice.models import Question, Response, SurveyStatus
from fulian.voice.public_views import DEVICE_COOKIE

from .conftest import full_answer, make_survey

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def _post_data(survey, **overrides):
    data = {}
    for qid, value in full_answer(survey, **overrides).items():
        data[f"q{qid}"] = value
    return data


def test_public_survey_take_once_per_device(client, cast, survey, django_assert_num_queries):
    url = reverse("voice_public:survey", args=[survey.token])
    first = client.get(url)
    html = first.content.decode()
    assert first.status_code == 200 and survey.title in html and DEVICE_COOKIE in first.cookies
    assert 'id="skip-rules"' in html and "voice/survey.js" in html
    with django_assert_num_queries(3):  # survey, questions, already answered?
        client.get(url)
    response = client.post(url, _post_data(survey))
    assert response.status_code == 200 and "提交成功" in response.content.decode()
    assert Response.objects.count() == 1
    again = client.post(url, _post_data(survey))
    assert "您已提交过本问卷" in again.content.decode()
    assert Response.objects.count() == 1
    assert "您已提交过本问卷" in client.get(url).content.decode()


def test_public_survey_without_cookie_keeps_answers(client, cast, survey):
    url = reverse("voice_public:survey", args=[survey.token])
    response = client.post(url, _post_data(survey, advice="保留我的回答"))
    html = response.content.decode()
    assert response.status_code == 400 and "Cookie" in html and "保留我的回答" in html
    assert Response.objects.count() == 0
    # the cookie is set by that response: the second try goes through
    assert client.post(url, _post_data(survey)).status_code == 200
    assert Response.objects.count() == 1


def test_required_error_keeps_answers_and_marks_question(client, cast, survey):
    url = reverse("voice_public:survey", args=[survey.token])
    client.get(url)
    data = _post_data(survey, advice="我的建议<b>")
    del data[f"q{survey.q['rating'].pk}"]
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "此题为必答题" in html and "我的建议&lt;b&gt;" in html
    assert 'value="0" checked' in html  # the single choice kept
    assert Response.objects.count() == 0


def test_closed_and_pending_messages(client, cast):
    now = timezone.now()
    pending = make_survey(
        cast.users.a_staff,
        cast.town_a,
        opens_at=now + dt.timedelta(days=2),
        closes_at=now + dt.timedelta(days=4),
    )
    html = client.get(reverse("voice_public:survey", args=[pending.token])).content.decode()
    assert "该问卷尚未开始" in html and 'id="survey-form"' not in html
    closed = make_survey(cast.users.a_staff, cast.town_a)
    actions.close_survey(cast.users.a_staff, closed)
    response = client.post(reverse("voice_public:survey", args=[closed.token]), _post_data(closed))
    assert "已于" in response.content.decode() and Response.objects.count() == 0


def test_draft_and_unknown_tokens_404(client, cast):
    draft = make_survey(cast.users.a_staff, cast.town_a, publish=False)
    assert client.get(reverse("voice_public:survey", args=[draft.token])).status_code == 404
    assert client.get(reverse("voice_public:survey", args=["nope"])).status_code == 404


def test_cadre_survey_needs_sign_in_and_subtree(client, cast, login):
    s = make_survey(cast.users.a_staff, cast.town_a, audience="cadres")
    url = reverse("voice_public:survey", args=[s.token])
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/" in response.url
    assert login(cast.users.b1_staff).get(url).status_code == 404
    c = login(cast.users.a1_staff)
    assert c.post(url, _post_data(s)).status_code == 200
    assert "您已提交过本问卷" in c.post(url, _post_data(s)).content.decode()
    assert Response.objects.get().user == cast.users.a1_staff


def test_builder_pages(cast, login):
    client = login(cast.users.a_staff)
    assert client.get(reverse("voice:survey_new")).status_code == 200
    response = client.post(
        reverse("voice:survey_new"),
        {"title": "", "audience": "public", "opens_at": "2026-01-01T08:00", "closes_at": "2025-01-01T08:00"},
    )
    assert response.status_code == 400 and "请填写问卷标题" in response.content.decode()
    now = timezone.localtime()
    response = client.post(
        reverse("voice:survey_new"),
        {
            "title": "家庭教育需求调查",
            "intro": "",
            "audience": "public",
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    survey_url = response.url
    survey_id = int(survey_url.rstrip("/").split("/")[-1])
    r = client.post(
        survey_url,
        {"kind": "single", "text": "孩子几岁?", "required": "on", "options_text": "0-6岁\n7-12岁\n13岁以上"},
    )
    assert r.status_code == 302
    r = client.post(survey_url, {"kind": "single", "text": "只有一个选项", "options_text": "是"})
    assert r.status_code == 400 and "至少需要两个选项" in r.content.decode()
    client.post(survey_url, {"kind": "text", "text": "您最需要什么帮助?"})
    client.post(survey_url, {"kind": "rating", "text": "满意度", "required": "on"})
    q1, q2, q3 = Question.objects.filter(survey_id=survey_id).order_by("position")
    # skip: 0-6岁 → 满意度
    page = client.get(reverse("voice:question", args=[q1.pk])).content.decode()
    assert "选“0-6岁”时" in page and "跳到第3题" in page
    r = client.post(
        reverse("voice:question", args=[q1.pk]),
        {
            "kind": "single",
            "text": "孩子几岁?",
            "required": "on",
            "options_text": "0-6岁\n7-12岁\n13岁以上",
            "skip_0": str(q3.pk),
        },
    )
    assert r.status_code == 302
    q1.refresh_from_db()
    assert q1.skip == {"0": q3.pk}
    assert "选此项跳到第3题" in client.get(survey_url).content.decode()
    client.post(reverse("voice:question_do", args=[q3.pk, "up"]))
    client.post(reverse("voice:question_do", args=[q3.pk, "up"]))
    q1.refresh_from_db()
    assert q1.skip == {}  # the target moved above the question: the rule is dropped
    client.post(reverse("voice:question_do", args=[q2.pk, "delete"]))
    assert Question.objects.filter(survey_id=survey_id).count() == 2
    client.post(reverse("voice:survey_do", args=[survey_id, "publish"]))
    survey = Question.objects.filter(survey_id=survey_id).first().survey
    assert survey.status == SurveyStatus.PUBLISHED
    page = client.get(survey_url).content.decode()
    assert survey.token in page and 'id="publish"' not in page
    r = client.post(survey_url, {"kind": "text", "text": "发布后加题"})
    assert r.status_code == 403
    assert Question.objects.filter(survey_id=survey_id).count() == 2


def test_builder_scope(cast, login, survey):
    client = login(cast.users.b_staff)
    for url in (
        reverse("voice:survey", args=[survey.pk]),
        reverse("voice:survey_edit", args=[survey.pk]),
        reverse("voice:results", args=[survey.pk]),
        reverse("voice:export", args=[survey.pk]),
        reverse("voice:question", args=[survey.q["visited"].pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("voice:survey_do", args=[survey.pk, "close"])).status_code == 404
    assert (
        client.post(reverse("voice:question_do", args=[survey.q["visited"].pk, "delete"])).status_code == 404
    )
    assert survey.questions.count() == 5
    html = client.get(reverse("voice:surveys")).content.decode()
    assert survey.title not in html
    assert survey.title in login(cast.users.county_staff).get(reverse("voice:surveys")).content.decode()
    # a village may read the township's survey? no: it is above the village
    assert login(cast.users.a1_staff).get(reverse("voice:results", args=[survey.pk])).status_code == 404


def _answers(survey, n):
    for i in range(n):
        actions.submit_response(
            None, survey, full_answer(survey, advice=f"希望多办技能培训{i}"), device=f"{i:04d}".ljust(43, "q")
        )


def test_results_page_and_query_count(cast, login, survey, django_assert_num_queries):
    _answers(survey, 2)
    actions.submit_response(None, survey, full_answer(survey, advice=XSS), device="x" * 43)
    client = login(cast.users.a_staff)
    url = reverse("voice:results", args=[survey.pk])
    html = client.get(url).content.decode()
    assert 'id="total">3<' in html and "66.7%" not in html
    assert "vendor/echarts/echarts.min.js" in html and 'id="chart-data"' in html
    assert "培训" in html
    with django_assert_num_queries(14):
        client.get(url)
    _answers_more = [
        actions.submit_response(None, survey, full_answer(survey), device=f"m{i:03d}".ljust(43, "m"))
        for i in range(10)
    ]
    with django_assert_num_queries(14):
        client.get(url)
    page = client.get(url, {"q": survey.q["advice"].pk, "word": "培训"}).content.decode()
    assert 'id="word-answers"' in page and "希望多办技能培训0" in page
    word_page = client.get(url, {"q": survey.q["advice"].pk, "word": "script"}).content.decode()
    assert "<script>alert(1)</script>" not in word_page and "&lt;script&gt;" in word_page


def test_cadre_results_show_branches(cast, login):
    s = make_survey(cast.users.county_staff, cast.county, audience="cadres")
    actions.submit_response(cast.users.a1_staff, s, full_answer(s))
    actions.submit_response(cast.users.b_staff, s, full_answer(s, visited="1"))
    html = login(cast.users.county_staff).get(reverse("voice:results", args=[s.pk])).content.decode()
    branches = html.split('id="branches"')[1]
    assert "甲镇妇联" in branches and "乙镇妇联" in branches


def test_export_xlsx_audited_and_query_count(cast, login, survey, django_assert_num_queries):
    _answers(survey, 3)
    client = login(cast.users.a_staff)
    url = reverse("voice:export", args=[survey.pk])
    with django_assert_num_queries(10 + record_queries()):
        response = client.get(url)
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == survey.title
    assert rows[1][:3] == ("序号", "提交时间", "1. 您去过妇女之家吗?")
    assert len(rows) == 2 + 3
    assert rows[2][2] == "去过" and rows[2][6] == "希望多办技能培训0"
    assert AuditEvent.objects.filter(action="voice.survey.export", object_id=str(survey.pk)).count() == 1
    _answers_more = [
        actions.submit_response(None, survey, full_answer(survey), device=f"n{i:03d}".ljust(43, "n"))
        for i in range(10)
    ]
    with django_assert_num_queries(10 + record_queries()):
        client.get(url)


def test_survey_list_query_count(cast, login, survey, django_assert_num_queries):
    client = login(cast.users.a_staff)
    client.get(reverse("voice:surveys"))
    with django_assert_num_queries(9):
        client.get(reverse("voice:surveys"))
    make_survey(cast.users.a_staff, cast.town_a, title="第二份")
    make_survey(cast.users.a_staff, cast.village_a1, title="第三份")
    with django_assert_num_queries(9):
        html = client.get(reverse("voice:surveys")).content.decode()
    assert "第三份" in html


def test_public_survey_ip_limit_page_keeps_answers(client, cast, survey, monkeypatch):
    monkeypatch.setattr(actions, "SURVEY_PER_IP", 1)
    url = reverse("voice_public:survey", args=[survey.token])
    client.get(url)
    assert client.post(url, _post_data(survey), REMOTE_ADDR="10.66.0.1").status_code == 200
    other = type(client)()
    other.get(url)
    response = other.post(url, _post_data(survey, advice="第二台手机"), REMOTE_ADDR="10.66.0.1")
    html = response.content.decode()
    assert response.status_code == 429 and "提交过于频繁" in html and "第二台手机" in html
    assert Response.objects.count() == 1
