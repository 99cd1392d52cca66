"""rectify → portal: accepting a measure marked for disclosure creates one 整改情况 draft, in the same
transaction, which then goes through the normal review."""

from __future__ import annotations

import pytest

from fulian.notify.models import Notification
from fulian.portal import actions
from fulian.portal.models import Category, DisclosureItem, State
from fulian.rectify import actions as rectify
from fulian.rectify.tests.conftest import make_measure, make_problem


def done_measure(cast, **kw):
    problem = make_problem(cast, title="妇女之家活动开展不经常")
    m = make_measure(cast, problem, **kw)
    return rectify.mark_done(
        cast.users.a1_staff, m, expected_version=m.version, result="已制定开放制度,本月开展活动5次。"
    )


def test_accepting_a_disclosed_measure_creates_a_draft(cast):
    m = done_measure(cast, disclose=True)
    m = rectify.accept_measure(cast.users.a_leader, m, expected_version=m.version)
    item = DisclosureItem.objects.get()
    assert item.state == State.DRAFT and item.category == Category.RECTIFICATION
    assert item.org_unit == cast.town_a and item.measure == m
    assert item.title == "整改情况:妇女之家活动开展不经常"
    assert "整改措施:制定妇女之家开放制度" in item.body and "整改完成情况:已制定开放制度" in item.body
    notices = Notification.objects.filter(kind="portal.measure_draft")
    assert {n.user.username for n in notices} == {"a_staff", "a_leader"}  # the township's editors
    assert {n.url for n in notices} == {f"/portal/items/{item.pk}/"}
    # then the normal procedure: the township's staff submits, its leader publishes
    item = actions.submit_item(cast.users.a_staff, item, expected_version=item.version)
    item = actions.publish_item(cast.users.a_leader, item, expected_version=item.version)
    assert item.state == State.PUBLISHED


def test_a_measure_not_marked_for_disclosure_creates_nothing(cast):
    m = done_measure(cast, disclose=False)
    rectify.accept_measure(cast.users.a_leader, m, expected_version=m.version)
    assert not DisclosureItem.objects.exists()


def test_one_draft_per_measure(cast):
    m = done_measure(cast, disclose=True)
    m = rectify.accept_measure(cast.users.a_leader, m, expected_version=m.version)
    again = actions.draft_from_measure(cast.users.a_leader, m)
    assert DisclosureItem.objects.count() == 1 and again.measure == m


def test_a_failing_draft_rolls_the_acceptance_back(cast, monkeypatch):
    m = done_measure(cast, disclose=True)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(actions, "compose_measure_text", broken)
    with pytest.raises(RuntimeError):
        rectify.accept_measure(cast.users.a_leader, m, expected_version=m.version)
    m.refresh_from_db()
    assert m.state != "accepted" and not DisclosureItem.objects.exists()
