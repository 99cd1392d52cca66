"""Reminders: overdue regular disclosures to the unit's staff, items waiting for review to the leaders."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from fulian.notify.models import Notification
from fulian.portal.models import DisclosureItem, Period
from fulian.portal.reminders import remind

from .conftest import draft, published, submitted


def test_overdue_regular_disclosure_reminds_the_units_staff_once(cast):
    today = timezone.localdate()
    item = published(cast, cast.village_a1, period=Period.MONTH)
    published(cast, title="不定期事项")
    assert "到期未更新的定期公开0项" in remind(today)
    DisclosureItem.objects.filter(pk=item.pk).update(next_due=today - dt.timedelta(days=1))
    summary = remind(today)
    assert summary == "公开栏:到期未更新的定期公开1项,待审核超过3天0项,发出提醒1条。"
    notice = Notification.objects.get(kind="portal.remind.due")
    assert notice.user == cast.users.a1_staff and notice.url == f"/portal/items/{item.pk}/"
    assert remind(today).endswith("发出提醒0条。")  # idempotent
    assert remind(today + dt.timedelta(days=1)).endswith("发出提醒0条。")  # same due date: no new notice
    assert Notification.objects.filter(kind="portal.remind.due").count() == 1


def test_due_today_is_not_yet_overdue(cast):
    today = timezone.localdate()
    item = published(cast, period=Period.QUARTER)
    DisclosureItem.objects.filter(pk=item.pk).update(next_due=today)
    assert "到期未更新的定期公开0项" in remind(today)


def test_waiting_review_reminds_the_nearest_leaders_once(cast):
    today = timezone.localdate()
    village = submitted(cast, cast.village_a1, title="村务公开")
    town = submitted(cast, cast.town_b, title="乙镇公开")
    fresh = submitted(cast, title="刚提交的")
    draft(cast, title="草稿不提醒")
    old = timezone.now() - dt.timedelta(days=5)
    DisclosureItem.objects.filter(pk__in=[village.pk, town.pk]).update(submitted_at=old)
    summary = remind(today)
    assert summary == "公开栏:到期未更新的定期公开0项,待审核超过3天2项,发出提醒2条。"
    got = {(n.user.username, n.url) for n in Notification.objects.filter(kind="portal.remind.review")}
    assert got == {("a_leader", f"/portal/items/{village.pk}/"), ("b_leader", f"/portal/items/{town.pk}/")}
    assert fresh.pk not in {int(u.rsplit("/", 2)[-2]) for _, u in got}
    assert remind(today).endswith("发出提醒0条。")
    assert Notification.objects.filter(kind="portal.remind.review").count() == 2


def test_exactly_three_days_is_not_yet_late(cast):
    today = timezone.localdate()
    item = submitted(cast)
    DisclosureItem.objects.filter(pk=item.pk).update(submitted_at=timezone.now() - dt.timedelta(days=3))
    assert "待审核超过3天0项" in remind(today)
