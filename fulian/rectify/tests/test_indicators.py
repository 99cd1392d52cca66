"""The rectification figures of the statistics service, over the subtree and by child unit."""

from __future__ import annotations

import datetime as dt

from fulian.rectify import actions
from fulian.rectify.models import Measure
from fulian.reports import registry

from .conftest import accepted, done, make_measure, make_problem, set_deadline, today

CODES = [
    "rectify_problems",
    "rectify_measures",
    "rectify_accepted",
    "rectify_on_time",
    "rectify_on_time_pct",
    "rectify_overdue",
]


def values(unit, start, end):
    return {code: registry.get(code).compute(unit, start, end) for code in CODES}


def test_the_figures_are_registered(cast):
    codes = {i.code: i for i in registry.all_indicators()}
    assert set(CODES) <= set(codes)
    assert {codes[c].module for c in CODES} == {"rectify"}
    assert codes["rectify_on_time_pct"].rollup == "ratio" and codes["rectify_on_time_pct"].unit == "%"


def test_indicator_values(cast):
    start, end = today() - dt.timedelta(days=60), today() + dt.timedelta(days=60)
    pa = make_problem(cast, cast.town_a)
    make_problem(cast, cast.town_a, title="没有措施的问题")
    pb = make_problem(cast, cast.town_b)
    make_problem(cast, cast.town_a, title="去年的问题", found_on=today() - dt.timedelta(days=400))
    # A1: accepted on time; A (own): accepted but completed late; A1: overdue in progress; B: done not accepted
    on_time = accepted(cast, make_measure(cast, pa))
    late = make_measure(cast, pa, owner_unit=cast.town_a, text="镇里自己的措施")
    set_deadline(late, today() - dt.timedelta(days=2))
    late = accepted(cast, late)
    overdue = make_measure(cast, pa, text="逾期的措施")
    set_deadline(overdue, today() - dt.timedelta(days=1))
    b = done(
        cast, make_measure(cast, pb, actor=cast.users.b_staff, owner_unit=cast.town_b), cast.users.b_staff
    )
    # outside the period: not counted
    far = make_measure(cast, pa, text="明年的措施", deadline=today() + dt.timedelta(days=200))
    assert Measure.objects.count() == 5 and far.pk and on_time.pk and b.pk

    assert values(cast.county, start, end) == {
        "rectify_problems": 3,
        "rectify_measures": 4,
        "rectify_accepted": 2,
        "rectify_on_time": 1,
        "rectify_on_time_pct": 25.0,
        "rectify_overdue": 1,
    }
    assert values(cast.village_a1, start, end) == {
        "rectify_problems": 0,
        "rectify_measures": 2,
        "rectify_accepted": 1,
        "rectify_on_time": 1,
        "rectify_on_time_pct": 50.0,
        "rectify_overdue": 1,
    }
    by_child = registry.get("rectify_measures").by_child(cast.county, start, end)
    assert by_child[cast.town_a.pk] == 3 and by_child[cast.town_b.pk] == 1
    problems = registry.get("rectify_problems").by_child(cast.county, start, end)
    assert problems[cast.town_a.pk] == 2 and problems[cast.town_b.pk] == 1
    pct = registry.get("rectify_on_time_pct").by_child(cast.town_a, start, end)
    assert pct[cast.town_a.pk] == 0.0 and pct[cast.village_a1.pk] == 50.0
    # a later acceptance changes nothing about lateness; a return takes the completion away
    actions.return_measure(cast.users.b_leader, b, expected_version=b.version, reason="不完整")
    assert values(cast.town_b, start, end)["rectify_accepted"] == 0
