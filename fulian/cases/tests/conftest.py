"""Case fixtures: builders that go through the real intake action."""

from __future__ import annotations

import importlib

import pytest

from fulian.cases import actions
from fulian.cases.models import CaseCategory, Channel

# valid mainland ID numbers (check digits computed): a woman born 1990-03-07, a girl born 2015-06-01
ID_WOMAN = "360102199003070022"
ID_GIRL = "360102201506010021"


def category(code: str) -> CaseCategory:
    if not CaseCategory.objects.exists():  # a transactional test before this one flushed the seeded tree
        from django.apps import apps

        importlib.import_module("fulian.cases.migrations.0002_default_categories").add_categories(apps, None)
    return CaseCategory.objects.get(code=code)


def dv_parties(**affected_overrides):
    affected = {
        "role": "affected",
        "name": "张玉梅",
        "phone": "13812345678",
        "id_number": ID_WOMAN,
        "address": "甲镇甲一村三组18号",
        "relation": "本人",
        "safe_phone": "13900001111",
        "safe_time": "工作日上午",
        "may_leave_message": False,
    }
    affected.update(affected_overrides)
    return [
        {"role": "caller", "name": "李秀英", "phone": "13787654321", "relation": "邻居"},
        affected,
        {"role": "perpetrator", "name": "王大军", "relation": "丈夫"},
    ]


def make_case(actor, unit, *, sub="domestic_violence", parties=None, **kw):
    sub_cat = category(sub)
    values = dict(
        channel=Channel.HOTLINE,
        category=sub_cat.parent or sub_cat,
        subcategory=sub_cat if sub_cat.parent_id else None,
        parties=parties if parties is not None else dv_parties(),
        account="丈夫经常喝酒后打她,昨晚又动了手。",
        request="希望妇联帮助她离开家暂住。",
        consent_store=True,
        consent_refer=True,
        consent_contact=True,
    )
    values.update(kw)
    return actions.intake_case(actor, unit=unit, **values)


def advance(case, actor, *states):
    """Walk a case through plain transitions with its current version."""
    for state in states:
        if state == "accepted":
            actions.accept(actor, case, expected_version=case.version)
        elif state == "in_progress":
            actions.start(actor, case, expected_version=case.version)
        elif state == "closure_requested":
            actions.request_closure(
                actor, case, outcome="已调解,双方签订协议。", expected_version=case.version
            )
        elif state == "closed":
            actions.approve_closure(actor, case, expected_version=case.version)
        else:
            raise ValueError(state)
    return case


@pytest.fixture
def cases(cast):
    """A case registered by the county hotline at township A's village A1, one by B's caseworker at B."""
    from types import SimpleNamespace

    u = cast.users
    return SimpleNamespace(
        a1=make_case(u.county_hotline, cast.village_a1),
        b=make_case(
            u.b_caseworker, cast.town_b, parties=dv_parties(name="赵春兰", phone="13611112222", id_number="")
        ),
    )
