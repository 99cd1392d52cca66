"""Rectification fixtures: township A's problem from a 座谈会, with a measure owned by village A1."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from fulian.rectify import actions


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files go to a temporary directory, never into the data dir."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def today():
    return timezone.localdate()


def make_problem(cast, unit=None, actor=None, **kw):
    unit = unit or cast.town_a
    return actions.create_problem(
        actor if actor is not None else (cast.users.a_staff if unit == cast.town_a else cast.users.b_staff),
        unit=unit,
        source=kw.pop("source", "forum"),
        title=kw.pop("title", "妇女之家活动开展不经常"),
        description=kw.pop("description", "座谈会上群众反映,村妇女之家平时大门紧锁,活动少。"),
        category=kw.pop("category", "service"),
        found_on=kw.pop("found_on", today() - dt.timedelta(days=10)),
    )


def make_measure(cast, problem, actor=None, **kw):
    return actions.add_measure(
        actor if actor is not None else cast.users.a_staff,
        problem,
        text=kw.pop("text", "制定妇女之家开放制度,每周固定开放两天。"),
        owner_unit=kw.pop("owner_unit", cast.village_a1),
        owner_person=kw.pop("owner_person", "张玉梅"),
        deadline=kw.pop("deadline", today() + dt.timedelta(days=20)),
        expected_result=kw.pop("expected_result", "妇女之家每月开展活动不少于4次。"),
        disclose=kw.pop("disclose", False),
    )


def set_deadline(measure, deadline):
    """Move a deadline (e.g. into the past) without going through the form."""
    type(measure).objects.filter(pk=measure.pk).update(deadline=deadline)
    measure.refresh_from_db()
    return measure


@pytest.fixture
def problem(cast):
    return make_problem(cast)


@pytest.fixture
def measure(cast, problem):
    return make_measure(cast, problem)


def done(cast, m, actor=None):
    return actions.mark_done(
        actor or (cast.users.a1_staff if m.owner_unit == cast.village_a1 else cast.users.a_staff),
        m,
        expected_version=m.version,
        result="已制定开放制度并上墙公示。",
    )


def accepted(cast, m):
    m = done(cast, m)
    return actions.accept_measure(cast.users.a_leader, m, expected_version=m.version)


@pytest.fixture
def world(cast, problem, measure):
    """A's problem with A1's measure; B's own problem with its own measure."""
    b_problem = make_problem(cast, cast.town_b, title="乙镇问卷反映维权渠道不畅", source="survey")
    b_measure = make_measure(
        cast, b_problem, actor=cast.users.b_staff, owner_unit=cast.town_b, owner_person="刘秀英"
    )
    return SimpleNamespace(problem=problem, measure=measure, b_problem=b_problem, b_measure=b_measure)
