"""Supervision fixtures: the county's 「报送三八节活动开展情况」 with a ledger-prefilled form."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from fulian.ledger.tests.builders import activity, training
from fulian.supervision import actions, queries

LEDGER_KEYS = ["activity_count", "activity_people", "training_sessions"]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files go to a temporary directory, never into the data dir."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def period():
    today = timezone.localdate()
    return today.replace(day=1), today


@pytest.fixture
def ledger(cast):
    """Villages' and townships' own ledger records this month (through the ledger actions)."""
    return SimpleNamespace(
        a1=activity(cast.village_a1, cast.users.a1_staff, people=60),
        a1_training=training(cast.village_a1, cast.users.a1_staff, sessions=2, people=25),
        a_own=activity(cast.town_a, cast.users.a_staff, people=120),
        b1=activity(cast.village_b1, cast.users.b1_staff, people=45),
    )


def sanba_task(cast, *, actor=None, deadline=None, targets=None, **kw):
    start, end = period()
    issuer = kw.pop("issuer_unit", cast.county)
    return actions.create_task(
        actor if actor is not None else cast.users.county_staff,
        issuer_unit=issuer,
        title=kw.pop("title", "报送三八节活动开展情况"),
        instructions=kw.pop(
            "instructions", "请各乡镇妇联汇总本辖区三八节期间活动开展情况,核对台账数据后报送。"
        ),
        deadline=deadline or timezone.localdate() + dt.timedelta(days=5),
        targets=targets if targets is not None else list(queries.township_units(issuer)),
        fields=kw.pop(
            "fields", [{"key": "materials", "label": "发放宣传资料(份)", "type": "number", "required": True}]
        ),
        ledger_keys=kw.pop("ledger_keys", LEDGER_KEYS),
        period_start=kw.pop("period_start", start),
        period_end=kw.pop("period_end", end),
        **kw,
    )


@pytest.fixture
def task(cast, ledger):
    return sanba_task(cast)


def assignment_of(task, unit):
    return task.assignments.get(org_unit=unit)


def make_late(task, days: int = 2):
    """Move the deadline into the past (a task cannot be created that way by a user)."""
    type(task).objects.filter(pk=task.pk).update(deadline=timezone.localdate() - dt.timedelta(days=days))
    task.refresh_from_db()
    return task
