"""Voice fixtures: suggestions and surveys made through the real actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fulian.voice import actions
from fulian.voice.models import QuestionKind


def suggest(unit, *, text="村里的广场舞场地晚上没有路灯,希望能装几盏。", ip="10.0.0.1", **kw):
    kw.setdefault("category", "suggestion")
    return actions.submit_suggestion(None, unit=unit, text=text, ip=ip, **kw)


def make_survey(actor, unit, *, audience="public", publish=True, title="妇女之家服务满意度调查", **kw):
    now = timezone.now()
    survey = actions.create_survey(
        actor,
        unit=unit,
        title=title,
        intro=kw.pop("intro", "请根据实际情况填写,感谢支持。"),
        audience=audience,
        opens_at=kw.pop("opens_at", now - dt.timedelta(days=1)),
        closes_at=kw.pop("closes_at", now + dt.timedelta(days=7)),
    )
    q = {}
    q["visited"] = actions.add_question(
        actor, survey, kind=QuestionKind.SINGLE, text="您去过妇女之家吗?", options=["去过", "没去过"]
    )
    q["services"] = actions.add_question(
        actor,
        survey,
        kind=QuestionKind.MULTI,
        text="您参加过哪些活动?",
        options=["技能培训", "法律讲座", "亲子活动"],
        required=False,
    )
    q["rating"] = actions.add_question(actor, survey, kind=QuestionKind.RATING, text="您对服务的评分")
    q["times"] = actions.add_question(
        actor, survey, kind=QuestionKind.NUMBER, text="今年去过几次?", min_value="0", max_value="100"
    )
    q["advice"] = actions.add_question(
        actor, survey, kind=QuestionKind.TEXT, text="您对妇女之家有什么建议?", required=False
    )
    # 没去过 → skip to the advice question
    actions.update_question(
        actor,
        q["visited"],
        kind=QuestionKind.SINGLE,
        text="您去过妇女之家吗?",
        required=True,
        options=["去过", "没去过"],
        skip={"1": q["advice"].pk},
    )
    if publish:
        actions.publish_survey(actor, survey)
    survey.refresh_from_db()
    for key, question in q.items():
        q[key] = survey.questions.get(pk=question.pk)
    survey.q = q
    return survey


def full_answer(survey, **overrides) -> dict:
    q = survey.q
    raw = {
        q["visited"].pk: "0",
        q["services"].pk: ["0", "2"],
        q["rating"].pk: "5",
        q["times"].pk: "3",
        q["advice"].pk: "希望多办技能培训",
    }
    raw.update({q[k].pk: v for k, v in overrides.items()})
    return raw


DEVICE = "d" * 43


@pytest.fixture
def survey(cast):
    return make_survey(cast.users.a_staff, cast.town_a)
