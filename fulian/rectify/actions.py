"""Every write of rectification (整改). Each takes the acting user first (None = the system, e.g. demo data),
runs in a transaction, writes the measure's timeline and an audit event (last), and notifies the people who
must act next.

Who may do what:
- create_problem, add_measure, edit_measure: EDIT_WORK over the problem's unit (its own people or above);
- report_progress, mark_done: EDIT_WORK over the measure's owner unit (the owner or a unit above it);
- accept_measure, return_measure: ASSIGN_WORK over the PROBLEM's unit — a village that owns a measure of its
  township's problem cannot accept its own work.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from fulian.accounts.models import User
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import scope_for
from fulian.audit.actions import Where, record
from fulian.files.actions import PreparedUpload, save_prepared
from fulian.notify.actions import notify
from fulian.orgs.actions import ConflictError, save_versioned
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import is_within

from . import hooks
from .models import Category, EventKind, Evidence, Measure, MeasureEvent, Problem, Progress, Source, State

__all__ = [
    "ConflictError",
    "accept_measure",
    "add_measure",
    "can_accept",
    "can_edit_problem",
    "can_report",
    "create_problem",
    "edit_measure",
    "mark_done",
    "report_progress",
    "return_measure",
]

MAX_TITLE = 200
MAX_TEXT = 5000
MAX_PERSON = 50
EDITOR_ROLES = [role for role, caps in ROLE_CAPS.items() if Cap.EDIT_WORK in caps]
ACCEPTOR_ROLES = [role for role, caps in ROLE_CAPS.items() if Cap.ASSIGN_WORK in caps]


# --- permissions ---------------------------------------------------------------------------------------------


def can_edit_problem(actor, problem: Problem) -> bool:
    return actor is None or scope_for(actor, Cap.EDIT_WORK).contains(problem.unit)


def can_report(actor, measure: Measure) -> bool:
    return actor is None or scope_for(actor, Cap.EDIT_WORK).contains(measure.owner_unit)


def can_accept(actor, measure: Measure) -> bool:
    """ASSIGN_WORK over the problem's unit, and not the person who reported the measure done (四眼: nobody
    signs off their own report)."""
    if actor is None:
        return True
    return not _reported_by(actor, measure) and scope_for(actor, Cap.ASSIGN_WORK).contains(
        measure.problem.unit
    )


def _reported_by(actor, measure: Measure) -> bool:
    return measure.done_by_id is not None and measure.done_by_id == actor.pk


def unit_users(unit_ids, roles) -> list[User]:
    """Active users with one of ``roles`` on exactly the given units: one query."""
    return list(
        User.objects.filter(
            is_active=True, memberships__org_unit__in=list(unit_ids), memberships__role__in=roles
        ).distinct()
    )


# --- helpers -------------------------------------------------------------------------------------------------


def _text(errors: dict, name: str, value, label: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[name] = [f"请填写{label}。"]
    elif len(value) > limit:
        errors[name] = [f"{label}不能超过{limit}字。"]
    return value


def _event(m: Measure, actor, kind: str, *, text: str = "", detail: dict | None = None) -> MeasureEvent:
    return MeasureEvent.objects.create(
        measure=m, actor=actor, kind=kind, text=text, version=m.version, detail=detail or {}
    )


def _save(m: Measure, expected_version: int, **changes) -> Measure:
    """Optimistic update: only if nobody saved the measure since ``expected_version`` was read."""
    return save_versioned(m, expected_version, **changes)


def _url(problem: Problem) -> str:
    return reverse("rectify:problem", args=[problem.pk])


# --- problems ------------------------------------------------------------------------------------------------


@transaction.atomic
def create_problem(
    actor,
    *,
    unit: OrgUnit,
    source: str,
    title: str,
    description: str,
    category: str = "",
    found_on: dt.date | None = None,
) -> Problem:
    """Record a problem found (查摆问题) of ``unit``. ``found_on`` defaults to today and may not be in the
    future. Raises PermissionDenied without EDIT_WORK over the unit, ValidationError (Chinese) on bad input."""
    if actor is not None and not scope_for(actor, Cap.EDIT_WORK).contains(unit):
        raise PermissionDenied("您无权为该单位登记问题。")
    errors: dict[str, list[str]] = {}
    title = _text(errors, "title", title, "问题", limit=MAX_TITLE)
    description = _text(errors, "description", description, "问题描述")
    if source not in Source.values:
        errors["source"] = ["请选择问题来源。"]
    category = (category or "").strip()
    if category not in Category.values and category != "":
        errors["category"] = ["请选择有效的问题类别。"]
    today = timezone.localdate()
    found_on = found_on or today
    if found_on > today:
        errors["found_on"] = ["查摆日期不能晚于今天。"]
    if errors:
        raise ValidationError(errors)
    problem = Problem.objects.create(
        unit=unit,
        source=source,
        title=title,
        description=description,
        category=category,
        found_on=found_on,
        created_by=actor,
    )
    record(
        actor,
        "rectify.problem.create",
        obj=problem,
        where=Where.of(unit),
        detail={"title": title, "source": source, "found_on": found_on.isoformat()},
    )
    return problem


# --- measures ------------------------------------------------------------------------------------------------


def _check_measure_fields(
    errors: dict,
    problem: Problem,
    *,
    text: str,
    owner_unit: OrgUnit | None,
    owner_person: str,
    deadline: dt.date | None,
    expected_result: str,
) -> tuple[str, str, str]:
    text = _text(errors, "text", text, "整改措施")
    owner_person = _text(errors, "owner_person", owner_person, "责任人", limit=MAX_PERSON)
    expected_result = _text(errors, "expected_result", expected_result, "预期效果", required=False)
    if owner_unit is None:
        errors["owner_unit"] = ["请选择责任单位。"]
    elif not is_within(owner_unit.path, problem.unit.path):
        errors["owner_unit"] = [f"责任单位只能是{problem.unit.name}或其下级单位。"]
    if deadline is None:
        errors["deadline"] = ["请填写整改时限。"]
    elif deadline < problem.found_on:
        errors["deadline"] = [f"整改时限不能早于问题查摆日期({problem.found_on:%Y年%m月%d日})。"]
    return text, owner_person, expected_result


@transaction.atomic
def add_measure(
    actor,
    problem: Problem,
    *,
    text: str,
    owner_unit: OrgUnit,
    owner_person: str,
    deadline: dt.date,
    expected_result: str = "",
    disclose: bool = False,
) -> Measure:
    """Set a measure (整改措施) against ``problem``: the owner is the problem's unit or a unit below it."""
    if not can_edit_problem(actor, problem):
        raise PermissionDenied("您无权为该问题制定整改措施。")
    errors: dict[str, list[str]] = {}
    text, owner_person, expected_result = _check_measure_fields(
        errors,
        problem,
        text=text,
        owner_unit=owner_unit,
        owner_person=owner_person,
        deadline=deadline,
        expected_result=expected_result,
    )
    if errors:
        raise ValidationError(errors)
    m = Measure.objects.create(
        problem=problem,
        text=text,
        owner_unit=owner_unit,
        owner_person=owner_person,
        deadline=deadline,
        expected_result=expected_result,
        disclose=bool(disclose),
        created_by=actor,
    )
    _event(
        m,
        actor,
        EventKind.CREATE,
        text=text,
        detail={"owner_unit": owner_unit.pk, "owner_person": owner_person, "deadline": deadline},
    )
    if owner_unit.pk != problem.unit_id:
        notify(
            unit_users([owner_unit.pk], EDITOR_ROLES),
            kind="rectify.measure.new",
            title=f"新的整改任务:{problem.title}"[:200],
            body=f"{problem.unit.name}交办整改措施,责任人{owner_person},请于{deadline:%Y年%m月%d日}前完成。",
            url=_url(problem),
            dedupe_key=f"rectify:measure:{m.pk}:new",
        )
    record(
        actor,
        "rectify.measure.create",
        obj=m,
        where=Where.of(problem.unit),
        detail={"problem": problem.pk, "owner_unit": owner_unit.pk, "deadline": deadline.isoformat()},
    )
    return m


@transaction.atomic
def edit_measure(
    actor,
    m: Measure,
    *,
    expected_version: int,
    text: str,
    owner_unit: OrgUnit,
    owner_person: str,
    deadline: dt.date,
    expected_result: str = "",
    disclose: bool = False,
) -> Measure:
    """Change a measure still being worked on (整改中). Done or accepted measures are kept as they were."""
    problem = m.problem
    if not can_edit_problem(actor, problem):
        raise PermissionDenied("您无权修改该整改措施。")
    if m.state != State.IN_PROGRESS:
        raise PermissionDenied(f"当前状态为“{m.get_state_display()}”,只有整改中的措施可以修改。")
    errors: dict[str, list[str]] = {}
    text, owner_person, expected_result = _check_measure_fields(
        errors,
        problem,
        text=text,
        owner_unit=owner_unit,
        owner_person=owner_person,
        deadline=deadline,
        expected_result=expected_result,
    )
    if errors:
        raise ValidationError(errors)
    before = {
        "text": m.text,
        "owner_unit": m.owner_unit_id,
        "owner_person": m.owner_person,
        "deadline": m.deadline,
        "expected_result": m.expected_result,
        "disclose": m.disclose,
    }
    after = {
        "text": text,
        "owner_unit": owner_unit.pk,
        "owner_person": owner_person,
        "deadline": deadline,
        "expected_result": expected_result,
        "disclose": bool(disclose),
    }
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    m = _save(
        m,
        expected_version,
        text=text,
        owner_unit=owner_unit,
        owner_person=owner_person,
        deadline=deadline,
        expected_result=expected_result,
        disclose=bool(disclose),
    )
    _event(m, actor, EventKind.EDIT, detail={"changed": changed})
    if "owner_unit" in changed and owner_unit.pk != problem.unit_id:
        notify(
            unit_users([owner_unit.pk], EDITOR_ROLES),
            kind="rectify.measure.new",
            title=f"新的整改任务:{problem.title}"[:200],
            body=f"{problem.unit.name}交办整改措施,责任人{owner_person},请于{deadline:%Y年%m月%d日}前完成。",
            url=_url(problem),
            dedupe_key=f"rectify:measure:{m.pk}:owner:{owner_unit.pk}",
        )
    record(
        actor,
        "rectify.measure.edit",
        obj=m,
        where=Where.of(problem.unit),
        detail={"problem": problem.pk, "changed": sorted(changed)},
    )
    return m


# --- the owner side ------------------------------------------------------------------------------------------


@transaction.atomic
def report_progress(actor, m: Measure, *, text: str, files: list[PreparedUpload] = ()) -> Progress:
    """A progress report (进展) with evidence files (checked by ``fulian.files.actions.prepare_upload`` before
    the transaction). Only while the measure is being worked on. Append-only: no version check needed."""
    if not can_report(actor, m):
        raise PermissionDenied("只有责任单位(或其上级)可以报告整改进展。")
    if m.state != State.IN_PROGRESS:
        raise PermissionDenied(f"当前状态为“{m.get_state_display()}”,不能再报告进展。")
    errors: dict[str, list[str]] = {}
    text = _text(errors, "text", text, "进展情况")
    if errors:
        raise ValidationError(errors)
    p = Progress.objects.create(measure=m, text=text, reported_by=actor)
    evidence = [
        Evidence.objects.create(progress=p, file=save_prepared(actor, f, unit=m.owner_unit), added_by=actor)
        for f in files
    ]
    _event(
        m,
        actor,
        EventKind.PROGRESS,
        text=text,
        detail={"progress": p.pk, "files": [e.file_id for e in evidence]},
    )
    record(
        actor,
        "rectify.measure.progress",
        obj=m,
        where=Where.of(m.owner_unit),
        detail={"problem": m.problem_id, "progress": p.pk, "files": len(evidence)},
    )
    return p


@transaction.atomic
def mark_done(actor, m: Measure, *, expected_version: int, result: str) -> Measure:
    """The owner says the measure is finished (已整改,待验收), with what was done."""
    if not can_report(actor, m):
        raise PermissionDenied("只有责任单位(或其上级)可以报告整改完成。")
    if m.state != State.IN_PROGRESS:
        raise PermissionDenied(f"当前状态为“{m.get_state_display()}”,不能再报告整改完成。")
    errors: dict[str, list[str]] = {}
    result = _text(errors, "result", result, "整改完成情况")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    m = _save(
        m, expected_version, state=State.DONE, result=result, done_at=now, done_by=actor, return_reason=""
    )
    late = timezone.localdate(now) > m.deadline
    _event(m, actor, EventKind.DONE, text=result, detail={"late": late})
    problem = m.problem
    notify(
        unit_users([problem.unit_id], ACCEPTOR_ROLES),
        kind="rectify.measure.done",
        title=f"整改措施待验收:{problem.title}"[:200],
        body=f"{m.owner_unit.name}报告已完成整改,请验收。",
        url=_url(problem),
        dedupe_key=f"rectify:measure:{m.pk}:done:{m.version}",
    )
    record(
        actor,
        "rectify.measure.done",
        obj=m,
        where=Where.of(m.owner_unit),
        detail={"problem": problem.pk, "late": late},
    )
    return m


# --- the problem's side --------------------------------------------------------------------------------------


def _require_accept(actor, m: Measure) -> None:
    if actor is not None and not scope_for(actor, Cap.ASSIGN_WORK).contains(m.problem.unit):
        raise PermissionDenied("只有问题所在单位(或其上级)的负责人可以验收或退回整改措施。")
    if actor is not None and _reported_by(actor, m):
        raise PermissionDenied("整改完成情况由您本人报告,须由另一位负责同志验收或退回。")
    if m.state != State.DONE:
        raise PermissionDenied(f"当前状态为“{m.get_state_display()}”,只能验收或退回已整改待验收的措施。")


@transaction.atomic
def accept_measure(actor, m: Measure, *, expected_version: int, note: str = "") -> Measure:
    """验收通过. Then every hook of ``fulian.rectify.hooks.measure_accepted`` runs in this same transaction
    (the portal's disclosure draft commits with the acceptance, or neither does)."""
    _require_accept(actor, m)
    errors: dict[str, list[str]] = {}
    note = _text(errors, "note", note, "验收意见", required=False, limit=1000)
    if errors:
        raise ValidationError(errors)
    m = _save(m, expected_version, state=State.ACCEPTED, accepted_at=timezone.now(), accepted_by=actor)
    _event(m, actor, EventKind.ACCEPT, text=note)
    hooks.run_measure_accepted(actor, m)
    problem = m.problem
    notify(
        unit_users([m.owner_unit_id], EDITOR_ROLES),
        kind="rectify.measure.accepted",
        title=f"整改措施已验收:{problem.title}"[:200],
        url=_url(problem),
        dedupe_key=f"rectify:measure:{m.pk}:accepted",
    )
    record(
        actor,
        "rectify.measure.accept",
        obj=m,
        where=Where.of(problem.unit),
        detail={"problem": problem.pk, "disclose": m.disclose},
    )
    return m


@transaction.atomic
def return_measure(actor, m: Measure, *, expected_version: int, reason: str) -> Measure:
    """退回: the measure goes back to 整改中 with the reason; the owner reworks it and reports again."""
    errors: dict[str, list[str]] = {}
    reason = _text(errors, "reason", reason, "退回原因", limit=1000)
    if errors:
        raise ValidationError(errors)
    _require_accept(actor, m)
    m = _save(
        m,
        expected_version,
        state=State.IN_PROGRESS,
        return_reason=reason,
        returned_count=F("returned_count") + 1,
        done_at=None,
        done_by=None,
    )
    _event(m, actor, EventKind.RETURN, text=reason)
    problem = m.problem
    notify(
        unit_users([m.owner_unit_id], EDITOR_ROLES),
        kind="rectify.measure.returned",
        title=f"整改措施被退回:{problem.title}"[:200],
        body=f"退回原因:{reason}",
        url=_url(problem),
        dedupe_key=f"rectify:measure:{m.pk}:returned:{m.version}",
    )
    record(
        actor,
        "rectify.measure.return",
        obj=m,
        where=Where.of(problem.unit),
        detail={"problem": problem.pk, "reason": reason[:200]},
    )
    return m
