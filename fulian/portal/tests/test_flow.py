"""The disclosure procedure 提出 → 审核 → 公开 → 反馈 through the actions, with the forbidden steps."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fulian.audit.models import AuditEvent
from fulian.notify.models import Notification
from fulian.orgs.actions import ConflictError
from fulian.portal import actions
from fulian.portal.models import Category, DisclosureItem, Period, State, add_period

from .conftest import draft, leader_of, published, staff_of, submitted


def test_draft_submit_publish(cast):
    item = draft(cast)
    assert item.state == State.DRAFT and item.created_by == cast.users.a_staff
    item = actions.submit_item(cast.users.a_staff, item, expected_version=item.version)
    assert item.state == State.SUBMITTED and item.submitted_at is not None
    item = actions.publish_item(cast.users.a_leader, item, expected_version=item.version)
    assert item.state == State.PUBLISHED and item.published_at is not None
    assert item.reviewed_by == cast.users.a_leader
    actions_logged = list(
        AuditEvent.objects.filter(object_type="portal.disclosureitem", object_id=str(item.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions_logged == ["portal.item.create", "portal.item.submit", "portal.item.publish"]
    assert Notification.objects.filter(user=cast.users.a_staff, kind="portal.published").count() == 1


def test_staff_cannot_publish_and_nothing_is_saved(cast):
    item = submitted(cast)
    before = DisclosureItem.objects.filter(pk=item.pk).values().get()
    with pytest.raises(PermissionDenied, match="只有本单位或上级妇联的主席"):
        actions.publish_item(cast.users.a_staff, item, expected_version=item.version)
    with pytest.raises(PermissionDenied, match="只有本单位或上级妇联的主席"):
        actions.return_item(cast.users.a_staff, item, expected_version=item.version, reason="不行")
    assert DisclosureItem.objects.filter(pk=item.pk).values().get() == before
    assert not AuditEvent.objects.filter(action="portal.item.publish").exists()


def test_leader_of_another_township_cannot_publish(cast):
    item = submitted(cast)
    with pytest.raises(PermissionDenied):
        actions.publish_item(cast.users.b_leader, item, expected_version=item.version)
    item.refresh_from_db()
    assert item.state == State.SUBMITTED


def test_county_leader_may_publish_a_village_item(cast):
    item = submitted(cast, cast.village_a1)
    item = actions.publish_item(cast.users.county_leader, item, expected_version=item.version)
    assert item.state == State.PUBLISHED


def test_only_submitted_items_are_reviewed(cast):
    item = draft(cast)
    with pytest.raises(PermissionDenied, match="只能审核待审核的事项"):
        actions.publish_item(cast.users.a_leader, item, expected_version=item.version)
    item.refresh_from_db()
    assert item.state == State.DRAFT and item.published_at is None


def test_return_needs_a_reason_then_edit_and_resubmit(cast):
    item = submitted(cast)
    with pytest.raises(ValidationError) as exc:
        actions.return_item(cast.users.a_leader, item, expected_version=item.version, reason="  ")
    assert exc.value.message_dict["reason"] == ["请填写退回原因,告诉经办人需要怎样修改。"]
    item.refresh_from_db()
    assert item.state == State.SUBMITTED
    item = actions.return_item(
        cast.users.a_leader, item, expected_version=item.version, reason="请补充明细。"
    )
    assert item.state == State.RETURNED and item.return_reason == "请补充明细。"
    assert Notification.objects.filter(user=cast.users.a_staff, kind="portal.returned").exists()
    item = actions.update_item(
        cast.users.a_staff,
        item,
        expected_version=item.version,
        category=Category.FUNDS,
        title=item.title,
        body=item.body + "\n三、明细:宣传资料800元,场地布置1500元。",
    )
    item = actions.submit_item(cast.users.a_staff, item, expected_version=item.version)
    assert item.state == State.SUBMITTED
    item = actions.publish_item(cast.users.a_leader, item, expected_version=item.version)
    assert item.state == State.PUBLISHED and item.return_reason == ""


def test_submitted_and_published_items_cannot_be_edited(cast):
    for item in (submitted(cast), published(cast, title="组织建设情况")):
        with pytest.raises(PermissionDenied, match="不能修改"):
            actions.update_item(
                cast.users.a_staff,
                item,
                expected_version=item.version,
                category=item.category,
                title="改过的标题",
                body="改过的内容",
            )
        item.refresh_from_db()
        assert item.title != "改过的标题"


def test_stale_version_is_a_conflict(cast):
    item = draft(cast)
    stale = item.version
    actions.update_item(
        cast.users.a_staff,
        item,
        expected_version=stale,
        category=Category.FUNDS,
        title="新标题",
        body="新内容",
    )
    with pytest.raises(ConflictError):
        actions.update_item(
            cast.users.a_staff, item, expected_version=stale, category=Category.FUNDS, title="旧", body="旧"
        )
    item.refresh_from_db()
    assert item.title == "新标题"


def test_other_townships_staff_cannot_draft_edit_or_submit(cast):
    with pytest.raises(PermissionDenied):
        draft(cast, cast.town_a, actor=cast.users.b_staff)
    item = draft(cast)
    with pytest.raises(PermissionDenied):
        actions.submit_item(cast.users.b_staff, item, expected_version=item.version)
    with pytest.raises(PermissionDenied):
        actions.update_item(
            cast.users.b_staff,
            item,
            expected_version=item.version,
            category=Category.FUNDS,
            title="x",
            body="y",
        )
    item.refresh_from_db()
    assert item.state == State.DRAFT and DisclosureItem.objects.count() == 1


def test_bad_input_is_refused_in_chinese(cast):
    with pytest.raises(ValidationError) as exc:
        draft(cast, title="", body="x" * 20001, category="nonsense", period="weekly")
    errors = exc.value.message_dict
    assert errors["title"] == ["请填写标题。"]
    assert "公开内容不能超过20000字" in errors["body"][0]
    assert errors["category"] == ["请选择公开类别。"]
    assert errors["period"] == ["请选择公开周期。"]
    with pytest.raises(ValidationError) as exc:
        draft(cast, title="标" * 201)
    assert exc.value.message_dict["title"] == ["标题不能超过200字。"]
    assert not DisclosureItem.objects.exists()


def test_a_closed_unit_cannot_disclose(cast):
    type(cast.village_a1).objects.filter(pk=cast.village_a1.pk).update(
        closed_on=timezone.localdate() - dt.timedelta(days=1)
    )
    cast.village_a1.refresh_from_db()
    with pytest.raises(ValidationError, match="该单位已撤销"):
        draft(cast, cast.village_a1)


def test_add_period_clamps_to_month_end():
    assert add_period(dt.date(2026, 1, 31), Period.MONTH) == dt.date(2026, 2, 28)
    assert add_period(dt.date(2026, 11, 30), Period.QUARTER) == dt.date(2027, 2, 28)
    assert add_period(dt.date(2024, 8, 31), Period.HALF_YEAR) == dt.date(2025, 2, 28)
    assert add_period(dt.date(2024, 2, 29), Period.YEAR) == dt.date(2025, 2, 28)
    assert add_period(dt.date(2026, 12, 15), Period.MONTH) == dt.date(2027, 1, 15)


def test_periodic_item_gets_next_due_and_a_new_edition_takes_it_over(cast):
    today = timezone.localdate()
    first = published(cast, period=Period.QUARTER)
    assert first.next_due == add_period(today, Period.QUARTER)
    # the quarter passed: the next edition is due
    DisclosureItem.objects.filter(pk=first.pk).update(next_due=today - dt.timedelta(days=2))
    first.refresh_from_db()
    second = actions.new_edition(cast.users.a_staff, first)
    assert second.follows == first and second.period == Period.QUARTER and second.state == State.DRAFT
    second = actions.submit_item(cast.users.a_staff, second, expected_version=second.version)
    second = actions.publish_item(cast.users.a_leader, second, expected_version=second.version)
    first.refresh_from_db()
    assert first.next_due is None  # the schedule moved on to the new edition
    assert second.next_due == add_period(today - dt.timedelta(days=2), Period.QUARTER)
    assert second.next_due > today


def test_typed_next_due_in_the_future_is_kept(cast):
    due = timezone.localdate() + dt.timedelta(days=40)
    item = published(cast, period=Period.MONTH, next_due=due)
    assert item.next_due == due
    item = published(cast, title="不定期事项", next_due=due)
    assert item.next_due is None  # only regular disclosures have a next date


def test_rectification_is_disclosed_again_after_rectification(cast):
    item = published(cast, category=Category.RECTIFICATION, title="关于妇女之家开放问题的整改情况")
    again = actions.new_edition(cast.users.a_staff, item)
    assert again.title == "【再次公开】关于妇女之家开放问题的整改情况"
    assert again.follows == item and again.category == Category.RECTIFICATION
    with pytest.raises(PermissionDenied, match="只能接续已公开的事项"):
        actions.new_edition(cast.users.a_staff, again)


def test_new_edition_is_refused_to_another_township(cast):
    item = published(cast)
    with pytest.raises(PermissionDenied):
        actions.new_edition(cast.users.b_staff, item)
    assert DisclosureItem.objects.count() == 1


def test_village_staff_drafts_for_the_village_only(cast):
    item = draft(cast, cast.village_a1)
    assert item.org_unit == cast.village_a1
    with pytest.raises(PermissionDenied):
        draft(cast, cast.town_a, actor=cast.users.a1_staff)
    assert staff_of(cast, cast.village_a1) == cast.users.a1_staff
    assert leader_of(cast, cast.village_a1) == cast.users.a_leader
