"""The task flow: create → pre-filled submission → accept / return → resubmit; versions, lateness, snapshots."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fulian.audit.models import AuditEvent
from fulian.ledger import actions as ledger_actions
from fulian.ledger import queries as ledger_queries
from fulian.notify.models import Notification
from fulian.orgs.actions import ConflictError, create_unit, update_unit
from fulian.orgs.models import Kind
from fulian.supervision import actions, queries
from fulian.supervision.models import Assignment, EventKind, Status, Task

from .conftest import LEDGER_KEYS, assignment_of, make_late, period, sanba_task


def good_values(a):
    return {**actions.ledger_prefill(a.task, a.org_unit), "materials": 300}


def submit(a, user, **kw):
    a.refresh_from_db()
    kw.setdefault("values", good_values(a))
    kw.setdefault("text", "三八节期间开展宣传活动,发放资料300份。")
    return actions.submit_assignment(user, a, expected_version=a.version, **kw)


def test_task_goes_to_every_township_as_one_bulk_insert(cast, ledger, django_assert_max_num_queries):
    task = sanba_task(cast)
    assert task.expected == 2
    assert {a.org_unit for a in task.assignments.all()} == {cast.town_a, cast.town_b}
    assert all(a.status == Status.PENDING for a in task.assignments.all())
    event = AuditEvent.objects.get(action="supervision.task.create", object_id=str(task.pk))
    assert event.org_path == cast.county.path and event.detail["expected"] == 2
    # the townships' people are told (leader and staff: the roles that submit), nobody else
    told = set(Notification.objects.filter(kind="task.new").values_list("user__username", flat=True))
    assert told == {"a_leader", "a_staff", "b_leader", "b_staff"}


def test_units_closed_before_the_deadline_are_not_expected(cast, ledger):
    deadline = timezone.localdate() + dt.timedelta(days=10)
    merged = create_unit(None, parent=cast.county, kind=Kind.TOWNSHIP, name="丙镇妇联", code="M")
    update_unit(None, merged, closed_on=deadline - dt.timedelta(days=1))
    later = create_unit(None, parent=cast.county, kind=Kind.STREET, name="新城街道妇联", code="N")
    update_unit(None, later, opened_on=deadline + dt.timedelta(days=1))
    task = sanba_task(cast, deadline=deadline, targets=[cast.town_a, cast.town_b, merged, later])
    assert task.expected == 2
    assert set(task.assignments.values_list("org_unit__code", flat=True)) == {"A", "B"}
    assert AuditEvent.objects.get(action="supervision.task.create").detail["not_expected"] == [
        merged.pk,
        later.pk,
    ]
    # a unit closed after the task was sent (but before its deadline) drops out of the rates
    update_unit(None, cast.town_b, closed_on=deadline - dt.timedelta(days=2))
    assert queries.reporting_rates(task).total.expected == 1


def test_targets_must_lie_below_the_issuer(cast):
    with pytest.raises(ValidationError) as exc:
        sanba_task(cast, actor=cast.users.a_staff, issuer_unit=cast.town_a, targets=[cast.village_b1])
    assert "只能向本单位的下级单位下发任务" in exc.value.message_dict["targets"][0]
    with pytest.raises(ValidationError):
        sanba_task(cast, actor=cast.users.a_staff, issuer_unit=cast.town_a, targets=[cast.town_a])
    with pytest.raises(PermissionDenied):
        sanba_task(cast, actor=cast.users.a_staff)  # the county is not township A's to speak for
    with pytest.raises(PermissionDenied):
        sanba_task(cast, actor=cast.users.county_caseworker)
    assert not Task.objects.exists() and not Assignment.objects.exists()


def test_bad_task_input_is_refused_in_chinese(cast):
    with pytest.raises(ValidationError) as exc:
        sanba_task(
            cast,
            title=" ",
            deadline=timezone.localdate() - dt.timedelta(days=1),
            ledger_keys=["nope"],
            fields=[{"key": "x", "label": "", "type": "choice", "choices": ["只有一个"]}],
        )
    errors = exc.value.message_dict
    assert errors["title"] == ["请填写任务名称。"]
    assert errors["deadline"] == ["截止日期不能早于今天。"]
    assert "未知的台账指标" in errors["ledger_keys"][0]
    assert any("选项至少要有两个" in m for m in errors["fields"])
    assert not Task.objects.exists()


def test_prefill_equals_the_subtrees_ledger_totals(cast, task):
    start, end = period()
    expected = ledger_queries.totals(cast.town_a, start, end, LEDGER_KEYS)
    assert actions.ledger_prefill(task, cast.town_a) == expected
    # township A's own record and both of its villages' — not township B's
    assert expected == {"activity_count": 2, "activity_people": 180, "training_sessions": 2}


def test_full_flow_submit_accept_with_timeline_and_audit(cast, task):
    a = assignment_of(task, cast.town_a)
    a = submit(a, cast.users.a_staff)
    assert a.status == Status.SUBMITTED and not a.is_late and a.version == 2
    assert a.values == {"activity_count": 2, "activity_people": 180, "training_sessions": 2, "materials": 300}
    assert a.ledger_values == {"activity_count": 2, "activity_people": 180, "training_sessions": 2}
    assert a.corrections == {}
    a = actions.accept_assignment(cast.users.county_staff, a, expected_version=a.version)
    assert a.status == Status.ACCEPTED and a.reviewed_by == cast.users.county_staff
    assert [e.kind for e in queries.timeline(a)] == [EventKind.SUBMIT, EventKind.ACCEPT]
    actions_logged = list(
        AuditEvent.objects.filter(object_type="supervision.assignment", object_id=str(a.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions_logged == ["supervision.assignment.submit", "supervision.assignment.accept"]
    assert Notification.objects.filter(kind="task.accepted", user=cast.users.a_staff).exists()
    # once accepted, the unit cannot change it
    with pytest.raises(PermissionDenied):
        submit(a, cast.users.a_staff)


@pytest.mark.parametrize("who", ["county_staff", "a1_staff", "b_staff", "a_caseworker", "a_auditor"])
def test_only_the_units_own_people_submit(cast, task, who):
    a = assignment_of(task, cast.town_a)
    with pytest.raises(PermissionDenied):
        submit(a, getattr(cast.users, who))
    a.refresh_from_db()
    assert a.status == Status.PENDING and a.version == 1


def test_only_the_issuer_reviews(cast, task):
    a = submit(assignment_of(task, cast.town_a), cast.users.a_staff)
    for who in ("a_leader", "b_staff", "county_caseworker"):
        with pytest.raises(PermissionDenied):
            actions.accept_assignment(getattr(cast.users, who), a, expected_version=a.version)
    a.refresh_from_db()
    assert a.status == Status.SUBMITTED


def test_a_corrected_value_needs_a_reason_and_both_numbers_are_kept(cast, task):
    a = assignment_of(task, cast.town_a)
    values = {**good_values(a), "activity_people": 200}
    with pytest.raises(ValidationError) as exc:
        submit(a, cast.users.a_staff, values=values)
    assert "与台账合计(180)不一致,请填写更正原因" in exc.value.message_dict["activity_people"][0]
    a.refresh_from_db()
    assert a.status == Status.PENDING and a.values == {}
    a = submit(a, cast.users.a_staff, values=values, reasons={"activity_people": "甲二村活动未录入台账"})
    assert a.values["activity_people"] == 200 and a.ledger_values["activity_people"] == 180
    assert a.corrections == {"activity_people": "甲二村活动未录入台账"}


def test_the_submission_keeps_its_snapshot_when_the_ledger_changes_later(cast, task, ledger):
    a = submit(assignment_of(task, cast.town_a), cast.users.a_staff)
    rec = ledger.a1
    ledger_actions.update_record(cast.users.a1_staff, rec, expected_version=rec.version, participants=999)
    a.refresh_from_db()
    assert a.values["activity_people"] == 180 and a.ledger_values["activity_people"] == 180
    assert actions.ledger_prefill(task, cast.town_a)["activity_people"] == 120 + 999


def test_two_people_submitting_the_same_version_conflict(cast, task):
    a = assignment_of(task, cast.town_a)
    stale = Assignment.objects.get(pk=a.pk)
    submit(a, cast.users.a_staff)
    with pytest.raises(ConflictError):
        actions.submit_assignment(
            cast.users.a_leader,
            stale,
            expected_version=stale.version,
            values=good_values(stale),
            text="另一份",
        )
    a.refresh_from_db()
    assert a.text.startswith("三八节期间") and a.submitted_by == cast.users.a_staff


def test_a_late_submission_is_accepted_and_marked(cast, task):
    make_late(task)
    a = submit(assignment_of(task, cast.town_b), cast.users.b_staff)
    assert a.status == Status.SUBMITTED and a.is_late
    assert queries.timeline(a)[0].late
    rates = queries.reporting_rates(task)
    assert (rates.total.expected, rates.total.reported, rates.total.late, rates.total.on_time) == (2, 1, 1, 0)
    assert [x.org_unit for x in queries.red_list(task, cast.county)] == [cast.town_a]


def test_returned_then_resubmitted(cast, task):
    a = submit(assignment_of(task, cast.town_a), cast.users.a_staff)
    with pytest.raises(ValidationError):
        actions.return_assignment(cast.users.county_staff, a, expected_version=a.version, reason=" ")
    a = actions.return_assignment(
        cast.users.county_staff, a, expected_version=a.version, reason="请补充各村活动照片说明"
    )
    assert a.status == Status.RETURNED and a.return_reason == "请补充各村活动照片说明"
    assert Notification.objects.get(kind="task.returned", user=cast.users.a_staff).body.endswith("照片说明")
    rates = queries.reporting_rates(task)
    assert (rates.total.reported, rates.total.missing, rates.total.returned) == (0, 2, 1)
    a = actions.save_draft(cast.users.a_staff, a, expected_version=a.version, text="补充中", values={})
    assert a.status == Status.RETURNED  # a draft does not hide that it was returned
    a = submit(a, cast.users.a_staff, text="已补充各村活动说明。")
    assert a.status == Status.SUBMITTED and a.return_reason == ""
    assert [e.kind for e in queries.timeline(a)] == [
        EventKind.SUBMIT,
        EventKind.RETURN,
        EventKind.DRAFT,
        EventKind.RESUBMIT,
    ]
    assert queries.timeline(a)[1].reason == "请补充各村活动照片说明"
    assert Notification.objects.filter(kind="task.resubmitted", user=cast.users.county_staff).exists()


def test_required_fields_and_text(cast, task):
    a = assignment_of(task, cast.town_a)
    with pytest.raises(ValidationError) as exc:
        submit(a, cast.users.a_staff, values={"activity_count": "两次"}, text="")
    errors = exc.value.message_dict
    assert errors["activity_count"] == ["活动次数:请填写数字。"]
    assert errors["materials"] == ["发放宣传资料(份):此项必填。"]
    assert errors["text"] == ["请填写情况说明。"]
    # a draft keeps whatever was typed, incomplete
    a = actions.save_draft(cast.users.a_staff, a, expected_version=a.version, values={"materials": "12"})
    assert a.status == Status.DRAFT and a.values == {"materials": 12}


def test_reporting_rates_by_township_with_drill_down(cast, ledger):
    villages = [cast.village_a1, cast.village_a2, cast.village_b1]
    task = sanba_task(cast, targets=villages, target_label="全部村(社区)")
    submit(assignment_of(task, cast.village_a1), cast.users.a1_staff)
    table = queries.reporting_rates(task)
    by = {r.label: r for r in table.rows}
    assert set(by) == {"甲镇妇联", "乙镇妇联"}
    assert (by["甲镇妇联"].expected, by["甲镇妇联"].reported, by["甲镇妇联"].reported_pct) == (2, 1, 50.0)
    assert by["甲镇妇联"].has_below and by["甲镇妇联"].own_assignment_id is None
    assert (table.total.expected, table.total.reported, table.total.missing) == (3, 1, 2)
    down = queries.reporting_rates(task, cast.town_a)
    assert [r.label for r in down.rows] == ["甲一村", "甲二村"]
    assert down.rows[0].own_assignment_id == assignment_of(task, cast.village_a1).pk
    assert not down.rows[0].has_below


def test_reporting_rates_is_one_group_by(cast, task, django_assert_num_queries):
    with django_assert_num_queries(2):
        queries.reporting_rates(task)
