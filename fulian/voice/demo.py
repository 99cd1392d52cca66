"""Demo content of the suggestion box and surveys for ``fulian seed``: a handful of suggestions addressed to the
first townships (one answered, one forwarded to a village, one still waiting), and a public satisfaction survey
of the county's 妇女之家 with 60 deterministic responses, so the results page, its charts and the word groups of
the free-text answers have something to show. Re-runnable: a county that has a survey already is left alone."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from fulian.orgs.models import Kind, OrgUnit

from . import actions
from .models import Category, QuestionKind, Survey

SUGGESTIONS = [
    (Category.SUGGESTION, "村里妇女之家活动室平时锁着门,希望固定开放时间,农闲时多组织些活动。"),
    (Category.HELP, "我想学电商直播卖自家的茶叶,不知道哪里有培训,请妇联帮忙联系。"),
    (Category.OPINION, "广场舞场地晚上没有路灯,老人和孩子走路不安全,希望能装几盏灯。"),
    (Category.PRAISE, "感谢镇妇联组织的“两癌”免费检查,工作人员很耐心。"),
]

ADVICE = [
    "希望多办家政和电商培训,时间安排在农闲",
    "活动室开放时间太少,希望周末也开放",
    "希望增加儿童托管和课后辅导",
    "法律讲座很有用,希望多讲婚姻家庭和土地权益",
    "希望妇女之家有图书和网络",
    "",
    "培训后希望能帮忙推荐就业",
    "希望组织更多亲子活动",
]


@transaction.atomic
def seed_demo_voice(root: OrgUnit, seed: int = 1) -> int:
    """Suggestions and one public survey under ``root``; returns the number of responses stored."""
    if Survey.objects.filter(unit=root).exists():
        return 0
    rng = random.Random(seed)
    towns = list(root.children.filter(kind=Kind.TOWNSHIP).order_by("sort_order", "path")[:2])
    staff = _staff(root)
    for index, (category, text) in enumerate(SUGGESTIONS):
        town = towns[index % len(towns)] if towns else root
        suggestion, _code = actions.submit_suggestion(
            None, unit=town, category=category, text=text, ip=f"203.0.113.{10 + index}"
        )
        editor = _staff(town) or staff
        if editor is None:
            continue
        if index == 0:
            actions.reply_suggestion(
                editor, suggestion, reply="已与村妇联沟通,妇女之家每周二、四下午固定开放。"
            )
        elif index == 1:
            actions.reply_suggestion(
                editor, suggestion, reply="镇妇联将于下月联合电商服务站举办直播带货培训,请留意村里通知。"
            )
        elif index == 3:
            actions.close_suggestion(editor, suggestion)
    if staff is None:
        return 0
    now = timezone.now()
    survey = actions.create_survey(
        staff,
        unit=root,
        title="妇女之家服务满意度调查",
        intro="为了把妇女之家办成妇女群众信得过、离不开的“温暖之家”,请您花两分钟填写本问卷。",
        audience="public",
        opens_at=now - dt.timedelta(days=10),
        closes_at=now + dt.timedelta(days=20),
    )
    visited = actions.add_question(
        staff, survey, kind=QuestionKind.SINGLE, text="您去过妇女之家吗?", options=["去过", "没去过"]
    )
    services = actions.add_question(
        staff,
        survey,
        kind=QuestionKind.MULTI,
        text="您参加过哪些活动?",
        options=["技能培训", "法律讲座", "亲子活动", "健康讲座"],
        required=False,
    )
    rating = actions.add_question(staff, survey, kind=QuestionKind.RATING, text="您对妇女之家服务的评分")
    advice = actions.add_question(
        staff, survey, kind=QuestionKind.TEXT, text="您对妇女之家有什么建议?", required=False
    )
    actions.update_question(
        staff,
        visited,
        kind=QuestionKind.SINGLE,
        text="您去过妇女之家吗?",
        required=True,
        options=["去过", "没去过"],
        skip={"1": advice.pk},
    )
    survey = actions.publish_survey(staff, survey)
    for n in range(60):
        went = rng.random() < 0.75
        raw = {visited.pk: "0" if went else "1", advice.pk: rng.choice(ADVICE)}
        if went:
            raw[services.pk] = sorted(rng.sample(["0", "1", "2", "3"], rng.randint(1, 3)))
            raw[rating.pk] = str(rng.choice([3, 4, 4, 5, 5, 5]))
        actions.submit_response(
            None, survey, raw, device=f"demo-device-{n:04d}".ljust(40, "x"), ip=f"198.51.100.{n}"
        )
    return 60


def _staff(unit: OrgUnit):
    editors = actions.unit_editors(unit)
    return editors[0] if editors else None
