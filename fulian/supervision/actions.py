"""Every write of task supervision. Each takes the acting user first (None = the system, e.g. demo data)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from fulian.accounts.models import User
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.audit.actions import Where, record
from fulian.files.actions import PreparedUpload, delete_stored, save_prepared
from fulian.notify.actions import notify
from fulian.orgs.actions import ConflictError, save_versioned
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import is_within

from .forms_spec import as_json_number, clean_field_specs, number_of, parse_values
from .models import (
    OPEN_STATUSES,
    Assignment,
    AssignmentEvent,
    Attachment,
    EventKind,
    Status,
    Task,
)

__all__ = [
    "ConflictError",
    "accept_assignment",
    "can_review",
    "can_submit",
    "create_task",
    "remove_attachment",
    "return_assignment",
    "save_draft",
    "submit_assignment",
]

SUBMITTER_ROLES = [role for role, caps in ROLE_CAPS.items() if Cap.EDIT_WORK in caps]


def can_submit(actor, unit: OrgUnit) -> bool:
    """A unit's submission is made by its own people: a membership on exactly that unit with EDIT_WORK."""
    if actor is None:
        return True
    return any(m.org_unit_id == unit.pk and Cap.EDIT_WORK in ROLE_CAPS[m.role] for m in memberships_of(actor))


def can_review(actor, task: Task) -> bool:
    """The issuer side: ASSIGN_WORK over the issuing unit."""
    return actor is None or scope_for(actor, Cap.ASSIGN_WORK).contains(task.issuer_unit)


def unit_users(units_q) -> list[User]:
    """Active users who submit for the given units (a queryset of unit ids or units): one query."""
    return list(
        User.objects.filter(
            is_active=True,
            memberships__org_unit__in=units_q,
            memberships__role__in=SUBMITTER_ROLES,
        ).distinct()
    )


# --- creating a task ------------------------------------------------------------------------------------------


@transaction.atomic
def create_task(
    actor,
    *,
    issuer_unit: OrgUnit,
    title: str,
    instructions: str,
    deadline: dt.date,
    targets: list[OrgUnit],
    fields: list[dict] | None = None,
    ledger_keys: list[str] | None = None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    target_label: str = "",
    require_text: bool = True,
    require_files: bool = False,
    attachments: list[PreparedUpload] = (),
) -> Task:
    """Send a task to ``targets`` (units strictly below the issuer). Units that do not exist on the deadline
    (closed in a merger, not yet opened) are not expected and get no assignment. One bulk insert."""
    from fulian.ledger.queries import INDICATOR_LABELS

    if actor is not None and not scope_for(actor, Cap.ASSIGN_WORK).contains(issuer_unit):
        raise PermissionDenied("您无权以该单位名义下发任务。")
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = ["请填写任务名称。"]
    elif len(title) > 200:
        errors["title"] = ["任务名称不能超过200字。"]
    if deadline is None:
        errors["deadline"] = ["请填写报送截止日期。"]
    elif actor is not None and deadline < timezone.localdate():
        errors["deadline"] = ["截止日期不能早于今天。"]
    ledger_keys = list(dict.fromkeys(ledger_keys or []))
    unknown = [k for k in ledger_keys if k not in INDICATOR_LABELS]
    if unknown:
        errors["ledger_keys"] = [f"未知的台账指标:{'、'.join(unknown)}。"]
    if ledger_keys and (period_start is None or period_end is None):
        errors["period_start"] = ["引用台账数据时,请填写统计期的起止日期。"]
    elif period_start and period_end and period_end < period_start:
        errors["period_end"] = ["统计期的结束日期不能早于开始日期。"]
    try:
        fields = clean_field_specs(fields, reserved=set(ledger_keys))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    unique_targets = list({u.pk: u for u in targets}.values())
    outside = [
        u.name for u in unique_targets if u.pk == issuer_unit.pk or not is_within(u.path, issuer_unit.path)
    ]
    if outside:
        errors["targets"] = [f"只能向本单位的下级单位下发任务:{'、'.join(outside[:5])}不在其中。"]
    expected: list[OrgUnit] = []
    excluded: list[int] = []
    if deadline is not None:
        for u in unique_targets:
            alive = (u.opened_on is None or u.opened_on <= deadline) and (
                u.closed_on is None or u.closed_on > deadline
            )
            (expected if alive else excluded).append(u if alive else u.pk)
    if not errors.get("targets") and not expected:
        errors["targets"] = ["请选择报送单位(截止日期时仍存在的下级单位)。"]
    if errors:
        raise ValidationError(errors)

    task = Task.objects.create(
        issuer_unit=issuer_unit,
        title=title,
        instructions=(instructions or "").strip(),
        deadline=deadline,
        target_label=target_label[:200],
        require_text=require_text,
        require_files=require_files,
        fields=fields,
        ledger_keys=ledger_keys,
        period_start=period_start,
        period_end=period_end,
        created_by=actor,
        expected=len(expected),
    )
    Assignment.objects.bulk_create(
        [Assignment(task=task, org_unit=u) for u in sorted(expected, key=lambda u: u.path)], batch_size=1000
    )
    _attach(actor, task, None, issuer_unit, attachments)
    record(
        actor,
        "supervision.task.create",
        obj=task,
        where=Where.of(issuer_unit),
        detail={
            "title": title,
            "deadline": deadline.isoformat(),
            "expected": len(expected),
            "not_expected": excluded,
            "ledger_keys": ledger_keys,
        },
    )
    notify(
        unit_users(Assignment.objects.filter(task=task).values("org_unit_id")),
        kind="task.new",
        title=f"新任务:{title}",
        body=f"{issuer_unit.name}下发,请于{deadline:%Y年%m月%d日}前报送。",
        url=reverse("supervision:todo"),
        dedupe_key=f"task:{task.pk}:new",
    )
    return task


def _attach(actor, task: Task, a: Assignment | None, unit: OrgUnit, uploads) -> list[Attachment]:
    """Store checked uploads (``fulian.files.actions.prepare_upload``, done by the caller before its
    transaction) and link them to the task or the assignment."""
    return [
        Attachment.objects.create(
            task=task, assignment=a, file=save_prepared(actor, p, unit=unit), added_by=actor
        )
        for p in uploads
    ]


# --- the target side ----------------------------------------------------------------------------------------


def _require_submit(actor, a: Assignment) -> None:
    if not can_submit(actor, a.org_unit):
        raise PermissionDenied("只能由本单位的工作人员报送本单位的任务。")
    if a.status == Status.ACCEPTED:
        raise PermissionDenied("该报送已被采纳,不能再修改。")


def _save(a: Assignment, expected_version: int, **changes) -> Assignment:
    return save_versioned(a, expected_version, **changes)


def _event(a: Assignment, actor, kind: str, *, reason: str = "", late: bool = False, detail=None) -> None:
    AssignmentEvent.objects.create(
        assignment=a, actor=actor, kind=kind, reason=reason, late=late, version=a.version, detail=detail or {}
    )


def ledger_prefill(task: Task, unit: OrgUnit) -> dict:
    """The ledger totals of ``unit``'s subtree for the task's period and indicators (JSON numbers)."""
    if not task.ledger_keys:
        return {}
    from fulian.ledger.queries import totals

    raw = totals(unit, task.period_start, task.period_end, list(task.ledger_keys))
    return {k: as_json_number(Decimal(str(v))) for k, v in raw.items()}


@transaction.atomic
def save_draft(
    actor,
    a: Assignment,
    *,
    expected_version: int,
    text: str = "",
    values: dict | None = None,
    reasons: dict | None = None,
    files: list[PreparedUpload] = (),
) -> Assignment:
    """Keep what was typed; nothing is checked for completeness. Refused once submitted (and not returned)."""
    _require_submit(actor, a)
    if a.status not in OPEN_STATUSES:
        raise PermissionDenied("已报送的内容不能存为草稿;如需修改,请直接重新报送。")
    parsed, errors = parse_values(a.task.form_fields(), values or {}, required=False)
    if errors:
        raise ValidationError(errors)
    reasons = {k: str(v).strip()[:500] for k, v in (reasons or {}).items() if str(v).strip()}
    status = Status.DRAFT if a.status == Status.PENDING else a.status
    a = _save(
        a, expected_version, status=status, text=(text or "").strip(), values=parsed, corrections=reasons
    )
    added = _attach(actor, a.task, a, a.org_unit, files)
    _event(a, actor, EventKind.DRAFT, detail={"files": [x.file_id for x in added]} if added else None)
    record(
        actor, "supervision.assignment.draft", obj=a, where=Where.of(a.org_unit), detail={"task": a.task_id}
    )
    return a


@transaction.atomic
def submit_assignment(
    actor,
    a: Assignment,
    *,
    expected_version: int,
    text: str = "",
    values: dict | None = None,
    reasons: dict | None = None,
    now: dt.datetime | None = None,
    files: list[PreparedUpload] = (),
) -> Assignment:
    """Submit (or resubmit after a return). A value that differs from the ledger total needs a reason; both
    numbers are kept. After the deadline the submission is accepted and marked 逾期报送, never refused."""
    _require_submit(actor, a)
    task = a.task
    text = (text or "").strip()
    parsed, errors = parse_values(task.form_fields(), values or {}, required=True)
    if task.require_text and not text:
        errors["text"] = ["请填写情况说明。"]
    reasons = {k: str(v).strip()[:500] for k, v in (reasons or {}).items()}
    ledger = ledger_prefill(task, a.org_unit)
    corrections: dict[str, str] = {}
    for key, ledger_value in ledger.items():
        if key in errors or key not in parsed:
            continue
        if number_of(parsed[key]) != number_of(ledger_value):
            if not reasons.get(key):
                label = next(f["label"] for f in task.form_fields() if f["key"] == key)
                errors[key] = [f"{label}:与台账合计({ledger_value})不一致,请填写更正原因。"]
            else:
                corrections[key] = reasons[key]
    if task.require_files and not files and not a.attachments.exists():
        errors["files"] = ["请上传附件(材料、照片等)。"]
    if errors:
        raise ValidationError(errors)
    if now is not None and actor is not None:
        raise ValueError("only the system (demo data) may backdate a submission")
    now = now or timezone.now()
    late = timezone.localdate(now) > task.deadline
    first = a.first_submitted_at is None
    resubmit = not first
    changes = dict(
        status=Status.SUBMITTED,
        text=text,
        values=parsed,
        ledger_values=ledger,
        corrections=corrections,
        submitted_at=now,
        submitted_by=actor,
        return_reason="",
    )
    if first:
        changes.update(first_submitted_at=now, is_late=late)
    a = _save(a, expected_version, **changes)
    added = _attach(actor, task, a, a.org_unit, files)
    detail = {"values": parsed, "ledger": ledger, "corrections": corrections}
    if added:
        detail["files"] = [x.file_id for x in added]
    _event(a, actor, EventKind.RESUBMIT if resubmit else EventKind.SUBMIT, late=late, detail=detail)
    record(
        actor,
        "supervision.assignment.submit",
        obj=a,
        where=Where.of(a.org_unit),
        detail={"task": task.pk, "late": late, "resubmit": resubmit, "corrections": corrections},
    )
    if resubmit and task.created_by_id:
        notify(
            [task.created_by],
            kind="task.resubmitted",
            title=f"{a.org_unit.name}已重新报送:{task.title}",
            url=reverse("supervision:assignment", args=[a.pk]),
        )
    return a


# --- the issuer side -----------------------------------------------------------------------------------------


def _require_review(actor, a: Assignment) -> None:
    if not can_review(actor, a.task):
        raise PermissionDenied("只有下发单位可以采纳或退回报送。")
    if a.status != Status.SUBMITTED:
        raise PermissionDenied(f"当前状态为“{a.get_status_display()}”,只能审核已报送的内容。")


@transaction.atomic
def accept_assignment(actor, a: Assignment, *, expected_version: int) -> Assignment:
    _require_review(actor, a)
    a = _save(a, expected_version, status=Status.ACCEPTED, reviewed_at=timezone.now(), reviewed_by=actor)
    _event(a, actor, EventKind.ACCEPT)
    record(
        actor, "supervision.assignment.accept", obj=a, where=Where.of(a.org_unit), detail={"task": a.task_id}
    )
    notify(
        unit_users([a.org_unit_id]),
        kind="task.accepted",
        title=f"报送已采纳:{a.task.title}",
        url=reverse("supervision:assignment", args=[a.pk]),
    )
    return a


@transaction.atomic
def return_assignment(actor, a: Assignment, *, expected_version: int, reason: str) -> Assignment:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写退回原因,告诉报送单位需要怎样修改。"]})
    _require_review(actor, a)
    a = _save(
        a,
        expected_version,
        status=Status.RETURNED,
        reviewed_at=timezone.now(),
        reviewed_by=actor,
        return_reason=reason[:1000],
    )
    _event(a, actor, EventKind.RETURN, reason=reason[:1000])
    record(
        actor,
        "supervision.assignment.return",
        obj=a,
        where=Where.of(a.org_unit),
        detail={"task": a.task_id, "reason": reason[:200]},
    )
    notify(
        unit_users([a.org_unit_id]),
        kind="task.returned",
        title=f"报送被退回:{a.task.title}",
        body=f"退回原因:{reason}",
        url=reverse("supervision:assignment", args=[a.pk]),
    )
    return a


@transaction.atomic
def remove_attachment(actor, attachment: Attachment) -> None:
    """A file can be taken back while the submission is still open (pending, draft, returned) — never from a
    submitted or accepted one (the submission keeps what it was sent with)."""
    a = attachment.assignment
    if a is None:
        if not can_review(actor, attachment.task):
            raise PermissionDenied("只有下发单位可以删除任务附件。")
    else:
        _require_submit(actor, a)
        if a.status not in OPEN_STATUSES:
            raise PermissionDenied("已报送的附件不能删除。")
    stored = attachment.file
    attachment.delete()
    delete_stored(actor, stored)
