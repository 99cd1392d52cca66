"""The rectification flow through the actions: every transition, the forbidden ones, version conflicts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from fulian.audit.models import AuditEvent
from fulian.notify.models import Notification
from fulian.rectify import actions, hooks
from fulian.rectify.models import EventKind, Measure, MeasureEvent, Problem, Progress, State

from .conftest import accepted, done, make_measure, make_problem, today


def kinds(m):
    return list(MeasureEvent.objects.filter(measure=m).values_list("kind", flat=True))


def test_create_problem_checks_input_in_chinese_and_saves_nothing(cast):
    with pytest.raises(ValidationError) as exc:
        actions.create_problem(
            cast.users.a_staff,
            unit=cast.town_a,
            source="rumour",
            title=" ",
            description="",
            category="gossip",
            found_on=today() + dt.timedelta(days=1),
        )
    errors = exc.value.message_dict
    assert errors["title"] == ["请填写问题。"]
    assert errors["description"] == ["请填写问题描述。"]
    assert errors["source"] == ["请选择问题来源。"]
    assert errors["category"] == ["请选择有效的问题类别。"]
    assert errors["found_on"] == ["查摆日期不能晚于今天。"]
    with pytest.raises(ValidationError) as exc:
        actions.create_problem(
            cast.users.a_staff, unit=cast.town_a, source="self", title="长" * 201, description="x" * 5001
        )
    assert exc.value.message_dict == {
        "title": ["问题不能超过200字。"],
        "description": ["问题描述不能超过5000字。"],
    }
    assert not Problem.objects.exists()


def test_create_problem_defaults_and_audit(cast):
    p = actions.create_problem(
        cast.users.a_staff, unit=cast.town_a, source="suggestion", title=" 意见箱反映 ", description="内容"
    )
    assert (p.title, p.found_on, p.category, p.created_by) == ("意见箱反映", today(), "", cast.users.a_staff)
    event = AuditEvent.objects.get(action="rectify.problem.create")
    assert event.object_id == str(p.pk) and event.org_unit_id == cast.town_a.pk


def test_only_the_units_people_or_above_record_its_problems(cast):
    for user in (cast.users.b_staff, cast.users.a1_staff, cast.users.a_caseworker, cast.users.a_auditor):
        with pytest.raises(PermissionDenied):
            make_problem(cast, actor=user)
    assert not Problem.objects.exists()
    assert make_problem(cast, actor=cast.users.county_staff).unit == cast.town_a


def test_the_whole_flow_with_a_return(cast, problem):
    m = make_measure(cast, problem)
    assert m.state == State.IN_PROGRESS and m.version == 1
    # the village that owns it is told
    assert Notification.objects.filter(user=cast.users.a1_staff, kind="rectify.measure.new").count() == 1
    p = actions.report_progress(cast.users.a1_staff, m, text="已起草开放制度。")
    assert p.measure == m and Progress.objects.count() == 1
    m = done(cast, m)
    assert m.state == State.DONE and m.done_by == cast.users.a1_staff and m.version == 2
    assert Notification.objects.filter(user=cast.users.a_leader, kind="rectify.measure.done").exists()
    m = actions.return_measure(
        cast.users.a_leader, m, expected_version=m.version, reason="制度未上墙,请补充照片。"
    )
    assert (m.state, m.return_reason, m.returned_count, m.done_at) == (
        State.IN_PROGRESS,
        "制度未上墙,请补充照片。",
        1,
        None,
    )
    assert m.was_returned and m.status_label == "整改中(退回重改)"
    assert Notification.objects.filter(user=cast.users.a1_staff, kind="rectify.measure.returned").exists()
    actions.report_progress(cast.users.a1_staff, m, text="制度已上墙。")
    m = done(cast, m)
    assert m.return_reason == ""
    m = actions.accept_measure(cast.users.a_leader, m, expected_version=m.version, note="符合要求")
    assert m.state == State.ACCEPTED and m.accepted_by == cast.users.a_leader and m.accepted_at
    assert kinds(m) == [
        EventKind.CREATE,
        EventKind.PROGRESS,
        EventKind.DONE,
        EventKind.RETURN,
        EventKind.PROGRESS,
        EventKind.DONE,
        EventKind.ACCEPT,
    ]
    actions_logged = list(
        AuditEvent.objects.filter(action__startswith="rectify.measure")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions_logged == [
        "rectify.measure.create",
        "rectify.measure.progress",
        "rectify.measure.done",
        "rectify.measure.return",
        "rectify.measure.progress",
        "rectify.measure.done",
        "rectify.measure.accept",
    ]


def test_the_owner_of_a_lower_unit_cannot_accept_its_own_work(cast, measure):
    m = done(cast, measure)
    for user in (cast.users.a1_staff, cast.users.b_leader, cast.users.a_caseworker):
        with pytest.raises(PermissionDenied) as exc:
            actions.accept_measure(user, m, expected_version=m.version)
        assert "只有问题所在单位" in str(exc.value)
        with pytest.raises(PermissionDenied):
            actions.return_measure(user, m, expected_version=m.version, reason="不行")
    m.refresh_from_db()
    assert m.state == State.DONE and m.version == 2
    # the county, above the problem's unit, may
    assert (
        actions.accept_measure(cast.users.county_leader, m, expected_version=m.version).state
        == State.ACCEPTED
    )


def test_whoever_reported_a_measure_done_cannot_sign_it_off(cast, problem):
    """四眼: township A's staff may accept measures of A's problems, but not one she reported done herself."""
    m = make_measure(cast, problem, owner_unit=cast.town_a)
    m = done(cast, m, actor=cast.users.a_staff)
    for step in ("accept", "return"):
        with pytest.raises(PermissionDenied) as exc:
            if step == "accept":
                actions.accept_measure(cast.users.a_staff, m, expected_version=m.version)
            else:
                actions.return_measure(cast.users.a_staff, m, expected_version=m.version, reason="再看看")
        assert "由您本人报告" in str(exc.value)
    m.refresh_from_db()
    assert m.state == State.DONE and not actions.can_accept(cast.users.a_staff, m)
    assert actions.can_accept(cast.users.a_leader, m)
    assert actions.accept_measure(cast.users.a_leader, m, expected_version=m.version).state == State.ACCEPTED


@pytest.mark.parametrize(
    "state, step",
    [
        ("in_progress", "accept"),
        ("in_progress", "return"),
        ("done", "progress"),
        ("done", "done"),
        ("done", "edit"),
        ("accepted", "progress"),
        ("accepted", "done"),
        ("accepted", "accept"),
        ("accepted", "return"),
        ("accepted", "edit"),
    ],
)
def test_forbidden_transitions_say_why_and_change_nothing(cast, measure, state, step):
    m = measure
    if state == "done":
        m = done(cast, m)
    elif state == "accepted":
        m = accepted(cast, m)
    before = (m.state, m.version, MeasureEvent.objects.count(), Progress.objects.count())
    v = m.version
    call = {
        "accept": lambda: actions.accept_measure(cast.users.a_leader, m, expected_version=v),
        "return": lambda: actions.return_measure(cast.users.a_leader, m, expected_version=v, reason="退回"),
        "progress": lambda: actions.report_progress(cast.users.a1_staff, m, text="又做了一点"),
        "done": lambda: actions.mark_done(cast.users.a1_staff, m, expected_version=v, result="完成"),
        "edit": lambda: actions.edit_measure(
            cast.users.a_staff,
            m,
            expected_version=v,
            text="改",
            owner_unit=cast.town_a,
            owner_person="王桂兰",
            deadline=m.deadline,
        ),
    }[step]
    with pytest.raises(PermissionDenied) as exc:
        call()
    assert "当前状态为" in str(exc.value)
    m.refresh_from_db()
    assert (m.state, m.version, MeasureEvent.objects.count(), Progress.objects.count()) == before


def test_a_stale_version_is_refused_and_nothing_changes(cast, measure):
    stale = Measure.objects.get(pk=measure.pk)
    actions.edit_measure(
        cast.users.a_leader,
        measure,
        expected_version=1,
        text="每周开放三天",
        owner_unit=cast.village_a1,
        owner_person="张玉梅",
        deadline=measure.deadline,
        expected_result=measure.expected_result,
    )
    with pytest.raises(actions.ConflictError) as exc:
        actions.edit_measure(
            cast.users.a_staff,
            stale,
            expected_version=stale.version,
            text="每周开放一天",
            owner_unit=cast.village_a1,
            owner_person="张玉梅",
            deadline=measure.deadline,
        )
    assert "其他人修改" in exc.value.message
    with pytest.raises(actions.ConflictError):
        actions.mark_done(cast.users.a1_staff, stale, expected_version=1, result="完成")
    m = Measure.objects.get(pk=measure.pk)
    assert (m.text, m.version, m.state) == ("每周开放三天", 2, State.IN_PROGRESS)
    assert kinds(m) == [EventKind.CREATE, EventKind.EDIT]
    edit = MeasureEvent.objects.get(kind=EventKind.EDIT)
    assert edit.detail["changed"] == {"text": ["制定妇女之家开放制度,每周固定开放两天。", "每周开放三天"]}


def test_measure_owner_and_deadline_are_checked(cast, problem):
    with pytest.raises(ValidationError) as exc:
        make_measure(
            cast,
            problem,
            owner_unit=cast.village_b1,
            owner_person="",
            text="",
            deadline=problem.found_on - dt.timedelta(days=1),
        )
    errors = exc.value.message_dict
    assert errors["owner_unit"] == ["责任单位只能是甲镇妇联或其下级单位。"]
    assert errors["owner_person"] == ["请填写责任人。"]
    assert errors["text"] == ["请填写整改措施。"]
    assert errors["deadline"][0].startswith("整改时限不能早于问题查摆日期")
    with pytest.raises(ValidationError) as exc:
        make_measure(cast, problem, owner_person="张" * 51, deadline=None)
    assert set(exc.value.message_dict) == {"owner_person", "deadline"}
    with pytest.raises(PermissionDenied):
        make_measure(cast, problem, actor=cast.users.a1_staff)  # the village owns, it does not set measures
    assert not Measure.objects.exists() and not MeasureEvent.objects.exists()


def test_only_the_owner_side_reports_progress_and_completion(cast, measure):
    for user in (cast.users.b_staff, cast.users.b1_staff, cast.users.a_auditor):
        with pytest.raises(PermissionDenied):
            actions.report_progress(user, measure, text="进展")
        with pytest.raises(PermissionDenied):
            actions.mark_done(user, measure, expected_version=measure.version, result="完成")
    with pytest.raises(ValidationError) as exc:
        actions.mark_done(cast.users.a1_staff, measure, expected_version=measure.version, result=" ")
    assert exc.value.message_dict == {"result": ["请填写整改完成情况。"]}
    with pytest.raises(ValidationError):
        actions.report_progress(cast.users.a1_staff, measure, text="")
    measure.refresh_from_db()
    assert measure.state == State.IN_PROGRESS and measure.version == 1
    assert not Progress.objects.exists()
    # the township above the owner may report for it
    assert actions.report_progress(cast.users.a_staff, measure, text="镇里代报").pk


def test_return_needs_a_reason(cast, measure):
    m = done(cast, measure)
    with pytest.raises(ValidationError) as exc:
        actions.return_measure(cast.users.a_leader, m, expected_version=m.version, reason="  ")
    assert exc.value.message_dict == {"reason": ["请填写退回原因。"]}
    m.refresh_from_db()
    assert m.state == State.DONE


def test_the_database_refuses_inconsistent_states(cast, measure):
    with pytest.raises(IntegrityError), transaction.atomic():
        Measure.objects.filter(pk=measure.pk).update(state="returned")
    with pytest.raises(IntegrityError), transaction.atomic():
        Measure.objects.filter(pk=measure.pk).update(state=State.DONE)  # done without a time
    with pytest.raises(IntegrityError), transaction.atomic():
        Measure.objects.filter(pk=measure.pk).update(state=State.ACCEPTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Problem.objects.filter(pk=measure.problem_id).update(source="rumour")


def test_nothing_can_be_deleted_from_under_a_measure(cast, measure):
    from django.db.models import ProtectedError

    actions.report_progress(cast.users.a1_staff, measure, text="进展")
    with pytest.raises(ProtectedError):
        measure.problem.delete()
    with pytest.raises(ProtectedError):
        measure.delete()


@pytest.fixture
def recorder():
    calls = []

    def hook(actor, measure):
        calls.append((actor, measure.pk, measure.state, Measure.objects.get(pk=measure.pk).state))

    hooks.on_measure_accepted(hook)
    hooks.on_measure_accepted(hook)  # registering twice is harmless
    yield calls
    hooks.measure_accepted.remove(hook)


def test_accepting_runs_the_registered_hooks_inside_the_transaction(cast, measure, recorder):
    m = done(cast, measure)
    assert recorder == []
    m = actions.accept_measure(cast.users.a_leader, m, expected_version=m.version)
    # called once, after the state change was written
    assert recorder == [(cast.users.a_leader, m.pk, State.ACCEPTED, State.ACCEPTED)]


def test_a_failing_hook_rolls_the_acceptance_back(cast, measure):
    m = done(cast, measure)

    def broken(actor, measure):
        raise RuntimeError("disclosure draft failed")

    hooks.on_measure_accepted(broken)
    try:
        with pytest.raises(RuntimeError):
            actions.accept_measure(cast.users.a_leader, m, expected_version=m.version)
    finally:
        hooks.measure_accepted.remove(broken)
    m.refresh_from_db()
    assert m.state == State.DONE and not AuditEvent.objects.filter(action="rectify.measure.accept").exists()


def test_moving_a_measure_to_another_owner_tells_the_new_owner(cast, measure):
    from fulian.accounts.roles import Role
    from fulian.conftest import make_user

    a2_staff = make_user(cast.village_a2, Role.STAFF, username="a2_staff")
    actions.edit_measure(
        cast.users.a_staff,
        measure,
        expected_version=1,
        text=measure.text,
        owner_unit=cast.village_a2,
        owner_person="赵敏",
        deadline=measure.deadline,
        expected_result=measure.expected_result,
    )
    assert Notification.objects.filter(user=a2_staff, kind="rectify.measure.new").count() == 1
    edit = MeasureEvent.objects.get(kind=EventKind.EDIT)
    assert edit.detail["changed"]["owner_unit"] == [cast.village_a1.pk, cast.village_a2.pk]
