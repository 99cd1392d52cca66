"""Surveys through the actions: builder, publishing, skip logic, answering once, results."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fulian.throttle.limits import RateLimited
from fulian.voice import actions, queries
from fulian.voice.models import Answer, Response, SurveyStatus

from .conftest import DEVICE, full_answer, make_survey

pytestmark = pytest.mark.django_db


def test_builder_and_publish_freezes(cast):
    s = make_survey(cast.users.a_staff, cast.town_a, publish=False)
    assert s.status == SurveyStatus.DRAFT and len(s.token) >= 24
    q = s.q
    assert [x.position for x in s.questions.all()] == [1, 2, 3, 4, 5]
    actions.move_question(cast.users.a_staff, q["times"], up=True)
    assert [x.pk for x in s.questions.all()][1:4] == [q["services"].pk, q["times"].pk, q["rating"].pk]
    actions.move_question(cast.users.a_staff, s.questions.get(pk=q["visited"].pk), up=True)  # already first
    actions.publish_survey(cast.users.a_staff, s)
    s.refresh_from_db()
    assert s.status == SurveyStatus.PUBLISHED and s.published_at
    for call in (
        lambda: actions.add_question(cast.users.a_staff, s, kind="text", text="新题"),
        lambda: actions.delete_question(cast.users.a_staff, s.questions.first()),
        lambda: actions.move_question(cast.users.a_staff, s.questions.last(), up=True),
        lambda: actions.publish_survey(cast.users.a_staff, s),
    ):
        with pytest.raises(ValidationError):
            call()
    assert s.questions.count() == 5


def test_publish_needs_a_question(cast):
    now = timezone.now()
    s = actions.create_survey(
        cast.users.a_staff,
        unit=cast.town_a,
        title="空问卷",
        audience="public",
        opens_at=now,
        closes_at=now + dt.timedelta(days=1),
    )
    with pytest.raises(ValidationError):
        actions.publish_survey(cast.users.a_staff, s)


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"kind": "single", "text": "选一个", "options": ["只有一个"]}, "options"),
        ({"kind": "single", "text": "", "options": ["a", "b"]}, "text"),
        ({"kind": "number", "text": "几", "min_value": "10", "max_value": "1"}, "max_value"),
        ({"kind": "number", "text": "几", "min_value": "abc"}, "min_value"),
        ({"kind": "bogus", "text": "x"}, "kind"),
    ],
)
def test_bad_questions_refused(cast, kw, field):
    s = make_survey(cast.users.a_staff, cast.town_a, publish=False)
    with pytest.raises(ValidationError) as exc:
        actions.add_question(cast.users.a_staff, s, **kw)
    assert field in exc.value.message_dict
    assert s.questions.count() == 5


def test_skip_rules_only_forward(cast):
    s = make_survey(cast.users.a_staff, cast.town_a, publish=False)
    q = s.q
    with pytest.raises(ValidationError):
        actions.update_question(
            cast.users.a_staff,
            q["services"],
            kind="multi",
            text="x",
            required=False,
            options=["a", "b"],
            skip={"0": "end"},
        )
    # moving the target above the rule's question drops the rule
    actions.move_question(cast.users.a_staff, q["advice"], up=True)
    actions.move_question(cast.users.a_staff, s.questions.get(pk=q["advice"].pk), up=True)
    actions.move_question(cast.users.a_staff, s.questions.get(pk=q["advice"].pk), up=True)
    actions.move_question(cast.users.a_staff, s.questions.get(pk=q["advice"].pk), up=True)
    assert s.questions.first().pk == q["advice"].pk
    assert s.questions.get(pk=q["visited"].pk).skip == {}


def test_builder_refuses_outsiders(cast):
    s = make_survey(cast.users.a_staff, cast.town_a, publish=False)
    with pytest.raises(PermissionDenied):
        actions.add_question(cast.users.b_staff, s, kind="text", text="x")
    with pytest.raises(PermissionDenied):
        actions.publish_survey(cast.users.a1_staff, s)  # a village cannot publish the township's survey
    with pytest.raises(PermissionDenied):
        make_survey(cast.users.b_staff, cast.town_a)


def test_answer_once_per_device(cast, survey):
    r = actions.submit_response(None, survey, full_answer(survey), device=DEVICE, ip="10.0.0.1")
    assert r.answers.count() == 6  # multi choice: one row per ticked option
    with pytest.raises(actions.AlreadyAnswered) as exc:
        actions.submit_response(None, survey, full_answer(survey), device=DEVICE, ip="10.0.0.1")
    assert "您已提交过本问卷" in exc.value.messages[0]
    assert Response.objects.count() == 1 and Answer.objects.count() == 6
    actions.submit_response(None, survey, full_answer(survey), device="e" * 43, ip="10.0.0.1")
    assert Response.objects.count() == 2


def test_public_survey_needs_device_cookie(cast, survey):
    with pytest.raises(ValidationError) as exc:
        actions.submit_response(None, survey, full_answer(survey), device=None)
    assert "Cookie" in exc.value.messages[0]
    assert Response.objects.count() == 0


def test_skip_logic_discards_skipped_answers_and_relaxes_required(cast, survey):
    q = survey.q
    # 没去过 → jump to advice: rating (required) and times (required) skipped; their answers discarded
    raw = {q["visited"].pk: "1", q["rating"].pk: "5", q["times"].pk: "abc", q["advice"].pk: "多宣传"}
    r = actions.submit_response(None, survey, raw, device=DEVICE)
    answers = {a.question_id: a for a in r.answers.all()}
    assert set(answers) == {q["visited"].pk, q["advice"].pk}
    assert answers[q["advice"].pk].text == "多宣传"


def test_skip_to_end(cast):
    s = make_survey(cast.users.a_staff, cast.town_a, publish=False)
    actions.update_question(
        cast.users.a_staff,
        s.q["visited"],
        kind="single",
        text="您去过妇女之家吗?",
        required=True,
        options=["去过", "没去过"],
        skip={"1": "end"},
    )
    actions.publish_survey(cast.users.a_staff, s)
    answers, skipped, errors = actions.evaluate(list(s.questions.all()), {s.q["visited"].pk: "1"})
    assert errors == {} and answers == {s.q["visited"].pk: 1}
    assert skipped == {s.q[k].pk for k in ("services", "rating", "times", "advice")}


def test_required_and_invalid_answers(cast, survey):
    q = survey.q
    raw = {q["visited"].pk: "0", q["rating"].pk: "6", q["times"].pk: "101", q["services"].pk: ["0", "9"]}
    with pytest.raises(ValidationError) as exc:
        actions.submit_response(None, survey, raw, device=DEVICE)
    errors = exc.value.message_dict
    assert set(errors) == {f"q{q['rating'].pk}", f"q{q['times'].pk}", f"q{q['services'].pk}"}
    assert errors[f"q{q['times'].pk}"] == ["不能大于100。"]
    with pytest.raises(ValidationError) as exc:
        actions.submit_response(None, survey, {}, device=DEVICE)
    assert f"q{q['visited'].pk}" in exc.value.message_dict
    assert exc.value.message_dict[f"q{q['visited'].pk}"] == ["此题为必答题。"]
    assert Response.objects.count() == 0


def test_oversized_text_answer(cast, survey):
    with pytest.raises(ValidationError) as exc:
        actions.submit_response(None, survey, full_answer(survey, advice="字" * 5001), device=DEVICE)
    assert "不能超过5000字" in str(exc.value)
    assert Response.objects.count() == 0


def test_closed_and_pending(cast):
    now = timezone.now()
    pending = make_survey(
        cast.users.a_staff,
        cast.town_a,
        opens_at=now + dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=3),
    )
    with pytest.raises(actions.SurveyClosed) as exc:
        actions.submit_response(None, pending, full_answer(pending), device=DEVICE)
    assert "尚未开始" in exc.value.messages[0]
    closed = make_survey(cast.users.a_staff, cast.town_a, title="已结束")
    actions.close_survey(cast.users.a_staff, closed)
    closed.refresh_from_db()
    with pytest.raises(actions.SurveyClosed) as exc:
        actions.submit_response(None, closed, full_answer(closed), device=DEVICE)
    assert "已于" in exc.value.messages[0] and "截止" in exc.value.messages[0]
    assert Response.objects.count() == 0


def test_public_survey_ip_rate_limit(cast, survey):
    for i in range(actions.SURVEY_PER_IP):
        actions.submit_response(
            None, survey, full_answer(survey), device=f"{i:02d}" + "x" * 41, ip="10.9.0.1"
        )
    with pytest.raises(RateLimited):
        actions.submit_response(None, survey, full_answer(survey), device="y" * 43, ip="10.9.0.1")
    assert Response.objects.count() == actions.SURVEY_PER_IP


def test_cadre_survey_once_per_user_and_only_subtree(cast):
    s = make_survey(cast.users.a_staff, cast.town_a, audience="cadres")
    r = actions.submit_response(cast.users.a1_staff, s, full_answer(s))
    assert r.user == cast.users.a1_staff and r.unit == cast.village_a1 and r.device_hash is None
    with pytest.raises(actions.AlreadyAnswered):
        actions.submit_response(cast.users.a1_staff, s, full_answer(s))
    with pytest.raises(PermissionDenied):
        actions.submit_response(cast.users.b1_staff, s, full_answer(s))
    with pytest.raises(PermissionDenied):
        actions.submit_response(None, s, full_answer(s), device=DEVICE)
    with pytest.raises(PermissionDenied):
        actions.submit_response(cast.users.county_staff, s, full_answer(s))  # above the subtree
    assert Response.objects.count() == 1


def test_open_public_surveys(cast, survey):
    assert list(queries.open_public_surveys(cast.town_a)) == [survey]
    assert list(queries.open_public_surveys(cast.town_b)) == []
    assert list(queries.open_public_surveys(cast.village_a1)) == []  # addressed to the township only
    make_survey(cast.users.a_staff, cast.town_a, audience="cadres", title="干部问卷")
    make_survey(cast.users.a_staff, cast.town_a, publish=False, title="草稿")
    now = timezone.now()
    make_survey(
        cast.users.a_staff,
        cast.town_a,
        title="未开始",
        opens_at=now + dt.timedelta(days=2),
        closes_at=now + dt.timedelta(days=3),
    )
    assert list(queries.open_public_surveys(cast.town_a)) == [survey]


def test_results_counts_and_percentages(cast, survey):
    q = survey.q
    actions.submit_response(None, survey, full_answer(survey), device="a" * 43)
    actions.submit_response(
        None, survey, full_answer(survey, rating="3", times="5", services=["0"]), device="b" * 43
    )
    actions.submit_response(
        None, survey, {q["visited"].pk: "1", q["advice"].pk: "希望多办技能培训"}, device="c" * 43
    )
    res = queries.results(survey)
    assert res.total == 3
    by = {r.question.pk: r for r in res.questions}
    visited = by[q["visited"].pk]
    assert visited.answered == 3
    assert [(o.label, o.count, o.pct) for o in visited.options] == [("去过", 2, 66.7), ("没去过", 1, 33.3)]
    services = by[q["services"].pk]
    assert [(o.count, o.pct) for o in services.options] == [(2, 100.0), (0, 0.0), (1, 50.0)]
    rating = by[q["rating"].pk]
    assert rating.answered == 2 and rating.number_avg == Decimal("4.00")
    assert [o.count for o in rating.options] == [0, 0, 1, 0, 1]
    times = by[q["times"].pk]
    assert (times.number_count, times.number_avg, times.number_min, times.number_max) == (
        2,
        Decimal("4.00"),
        3,
        5,
    )
    advice = by[q["advice"].pk]
    assert len(advice.texts) == 3 and advice.words[0] == ("技能培训", 3) or ("培训", 3) in advice.words


def test_words_group_real_chinese_answers(cast, survey):
    from fulian.voice.words import keywords, top_words

    texts = [
        "希望多举办家政技能培训,帮助农村妇女就业。",
        "建议增加法律知识讲座,特别是反家暴方面的。",
        "妇女之家开放时间太短,希望周末也开放。",
        "希望开展技能培训,比如电商直播培训。",
        "孩子放学后没人照顾,希望有托管服务。",
        "多组织一些法律讲座和健康讲座。",
        "希望就业培训能更贴近实际。",
    ]
    top = dict(top_words(texts))
    assert top["培训"] >= 3 or top.get("技能培训", 0) >= 2
    assert top["讲座"] >= 2
    assert "希望" not in top and "的" not in top and "," not in top
    assert all(len(w) >= 2 for w in top)
    assert "就业" in keywords(texts[0])
    for t in texts:
        actions.submit_response(
            None, survey, full_answer(survey, advice=t), device=str(hash(t)).ljust(43, "z")
        )
    found, total = queries.answers_with_word(survey, survey.q["advice"], "讲座")
    assert total == 2 and all("讲座" in f for f in found)


def test_cadre_results_by_child_unit(cast):
    s = make_survey(cast.users.county_staff, cast.county, audience="cadres")
    actions.submit_response(cast.users.a1_staff, s, full_answer(s))
    actions.submit_response(cast.users.a_leader, s, full_answer(s, visited="1"))
    actions.submit_response(cast.users.b1_staff, s, full_answer(s))
    actions.submit_response(cast.users.county_leader, s, full_answer(s, visited="1"))
    res = queries.results(s)
    rows = {b.unit.name: b for b in res.branches}
    assert (
        rows["甲镇妇联"].responses == 2
        and rows["乙镇妇联"].responses == 1
        and rows["测试县妇联"].responses == 1
    )
    assert rows["甲镇妇联"].options[s.q["visited"].pk] == [1, 1]
    assert rows["乙镇妇联"].options[s.q["visited"].pk] == [1, 0]
    assert rows["县教育局妇委会"].responses == 0


def test_export_rows(cast, survey):
    actions.submit_response(None, survey, full_answer(survey), device="a" * 43)
    headers, rows = queries.export_rows(survey)
    assert headers[:2] == ["序号", "提交时间"] and headers[2] == "1. 您去过妇女之家吗?"
    assert rows[0][2:] == ["去过", "技能培训、亲子活动", 5, Decimal("3.00"), "希望多办技能培训"]
