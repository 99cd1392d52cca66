"""Scoped reads of tasks and assignments, and the reporting rates (DHIS2's expected / reported / on time)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from fulian.accounts.access import deny, get_in_scope
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import is_within, prefix_length

from .models import OPEN_STATUSES, REPORTED_STATUSES, Assignment, AssignmentEvent, Status, Task

# --- access --------------------------------------------------------------------------------------------------


def tasks_visible(actor) -> QuerySet[Task]:
    """Tasks issued in the actor's subtree, or with an assignment to a unit of it."""
    scope = scope_for(actor, Cap.VIEW_WORK)
    if not scope:
        return Task.objects.none()
    return Task.objects.filter(
        Q(pk__in=Task.objects.within(scope).values("pk"))
        | Q(pk__in=Assignment.objects.within(scope).values("task_id"))
    )


def access_task(actor, task_id) -> Task:
    try:
        pk = int(task_id)
    except (TypeError, ValueError):
        raise deny(actor, "supervision.task", task_id, Cap.VIEW_WORK) from None
    task = tasks_visible(actor).select_related("issuer_unit", "created_by").filter(pk=pk).first()
    if task is None:
        raise deny(actor, "supervision.task", task_id, Cap.VIEW_WORK)
    return task


def access_assignment(actor, assignment_id) -> Assignment:
    """An assignment of a unit inside the actor's VIEW_WORK scope (the issuer's people see all of theirs)."""
    return get_in_scope(
        actor,
        Assignment.objects.select_related("task", "task__issuer_unit", "task__created_by", "org_unit"),
        assignment_id,
        Cap.VIEW_WORK,
    )


def sees_issuer_side(actor, task: Task) -> bool:
    return scope_for(actor, Cap.VIEW_WORK).contains(task.issuer_unit)


def default_parent(actor, task: Task) -> OrgUnit:
    """Where the rates table starts for this viewer: the issuer, or the viewer's own unit below it."""
    if sees_issuer_side(actor, task):
        return task.issuer_unit
    for path in scope_for(actor, Cap.VIEW_WORK).paths:
        if is_within(path, task.issuer_unit.path):
            return OrgUnit.objects.get(path=path)
    raise deny(actor, "supervision.task", task.pk, Cap.VIEW_WORK)


def rates_parent(actor, task: Task, unit_id) -> OrgUnit:
    """The unit to break the rates down by: inside the viewer's scope and the issuer's subtree, or 404."""
    if unit_id in (None, ""):
        return default_parent(actor, task)
    unit = get_in_scope(actor, OrgUnit.objects.all(), unit_id, Cap.VIEW_WORK)
    if not is_within(unit.path, task.issuer_unit.path):
        raise deny(actor, "orgs.orgunit", unit_id, Cap.VIEW_WORK)
    return unit


# --- lists ---------------------------------------------------------------------------------------------------


def submitting_unit_ids(actor) -> list[int]:
    return sorted({m.org_unit_id for m in memberships_of(actor) if Cap.EDIT_WORK in ROLE_CAPS[m.role]})


def my_todo(actor, limit: int = 20) -> list[Assignment]:
    """Open assignments of the units the actor submits for, the nearest deadline first (one query)."""
    ids = submitting_unit_ids(actor)
    if not ids:
        return []
    return list(
        Assignment.objects.filter(org_unit_id__in=ids, status__in=OPEN_STATUSES)
        .select_related("task", "task__issuer_unit", "org_unit")
        .order_by("task__deadline", "task_id", "org_unit__path")[:limit]
    )


def my_assignments(actor) -> QuerySet[Assignment]:
    """Assignments of the units the actor submits for (any status)."""
    return (
        Assignment.objects.filter(org_unit_id__in=submitting_unit_ids(actor))
        .select_related("task", "task__issuer_unit", "org_unit")
        .order_by("-task__deadline", "-task_id", "org_unit__path")
    )


def assignments_in_scope(actor) -> QuerySet[Assignment]:
    return (
        Assignment.objects.within(scope_for(actor, Cap.VIEW_WORK))
        .select_related("task", "task__issuer_unit", "org_unit")
        .order_by("-task__deadline", "-task_id", "org_unit__path")
    )


def issued_tasks(actor) -> QuerySet[Task]:
    return (
        Task.objects.within(scope_for(actor, Cap.VIEW_WORK))
        .select_related("issuer_unit")
        .order_by("-deadline", "-id")
    )


@dataclass
class TaskSummary:
    expected: int = 0
    reported: int = 0
    late: int = 0
    accepted: int = 0

    @property
    def rate(self) -> float | None:
        return pct(self.reported, self.expected)


def summaries(actor, tasks: list[Task]) -> dict[int, TaskSummary]:
    """Counts per task, limited to the assignments inside the actor's scope (one GROUP BY)."""
    if not tasks:
        return {}
    rows = (
        Assignment.objects.within(scope_for(actor, Cap.VIEW_WORK))
        .filter(task__in=[t.pk for t in tasks])
        .values("task_id")
        .annotate(
            expected=Count("id"),
            reported=Count("id", filter=Q(status__in=REPORTED_STATUSES)),
            late=Count("id", filter=Q(status__in=REPORTED_STATUSES, is_late=True)),
            accepted=Count("id", filter=Q(status=Status.ACCEPTED)),
        )
        .order_by()
    )
    return {r.pop("task_id"): TaskSummary(**r) for r in rows}


# --- reporting rates -----------------------------------------------------------------------------------------


def pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


@dataclass
class RateRow:
    unit: OrgUnit | None
    label: str
    expected: int = 0
    reported: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    overdue: int = 0  # 逾期未报: still missing after the deadline
    accepted: int = 0
    returned: int = 0
    drafts: int = 0
    own_assignment_id: int | None = None  # the row's unit is itself a target
    has_below: bool = False  # targets further down: the row can be drilled into

    @property
    def reported_pct(self) -> float | None:
        return pct(self.reported, self.expected)

    @property
    def on_time_pct(self) -> float | None:
        return pct(self.on_time, self.expected)

    @property
    def late_pct(self) -> float | None:
        return pct(self.late, self.expected)

    @property
    def missing_pct(self) -> float | None:
        return pct(self.missing, self.expected)


COUNT_KEYS = (
    "expected",
    "reported",
    "on_time",
    "late",
    "missing",
    "overdue",
    "accepted",
    "returned",
    "drafts",
)


@dataclass
class RatesTable:
    task: Task
    parent: OrgUnit
    rows: list[RateRow] = field(default_factory=list)
    total: RateRow | None = None


def _expected_q(task: Task) -> Q:
    """Units that exist on the deadline (a unit closed in a merger afterwards is no longer expected)."""
    return Q(org_unit__closed_on__isnull=True) | Q(org_unit__closed_on__gt=task.deadline)


def reporting_rates(task: Task, parent: OrgUnit | None = None, today: dt.date | None = None) -> RatesTable:
    """Expected / reported / on time / late / missing per child unit of ``parent`` (default: the issuer), and
    a total. One GROUP BY over the path prefix plus one query for the child units' names."""
    parent = parent or task.issuer_unit
    today = today or timezone.localdate()
    overdue_now = today > task.deadline
    child_depth = parent.depth + 1
    reported_q = Q(status__in=REPORTED_STATUSES)
    open_q = Q(status__in=OPEN_STATUSES)
    grouped = (
        Assignment.objects.filter(task=task)
        .under(parent)
        .filter(_expected_q(task))
        .annotate(branch=Substr("org_unit__path", 1, prefix_length(child_depth)))
        .values("branch")
        .annotate(
            expected=Count("id"),
            reported=Count("id", filter=reported_q),
            late=Count("id", filter=reported_q & Q(is_late=True)),
            missing=Count("id", filter=open_q),
            accepted=Count("id", filter=Q(status=Status.ACCEPTED)),
            returned=Count("id", filter=Q(status=Status.RETURNED)),
            drafts=Count("id", filter=Q(status=Status.DRAFT)),
            own=Max("id", filter=Q(org_unit__depth__lte=child_depth)),
            deepest=Max("org_unit__depth"),
        )
        .order_by()
    )
    by_branch = {g.pop("branch"): g for g in grouped}
    table = RatesTable(task=task, parent=parent)

    def row(unit: OrgUnit, label: str, g: dict) -> RateRow:
        r = RateRow(unit=unit, label=label)
        for key in ("expected", "reported", "late", "missing", "accepted", "returned", "drafts"):
            setattr(r, key, g[key])
        r.on_time = r.reported - r.late
        r.overdue = r.missing if overdue_now else 0
        r.own_assignment_id = g["own"]
        r.has_below = g["deepest"] > unit.depth
        return r

    own = by_branch.pop(parent.path, None)
    if own:
        table.rows.append(row(parent, f"{parent.name}(本级)", own))
    if by_branch:
        for child in OrgUnit.objects.filter(path__in=list(by_branch)).order_by("sort_order", "path"):
            table.rows.append(row(child, child.name, by_branch[child.path]))
    total = RateRow(unit=None, label="合计")
    for key in COUNT_KEYS:
        setattr(total, key, sum(getattr(r, key) for r in table.rows))
    table.total = total
    return table


def red_list(task: Task, parent: OrgUnit, today: dt.date | None = None, limit: int = 300) -> list[Assignment]:
    """逾期未报: units under ``parent`` that still owe a submission after the deadline (empty before it)."""
    today = today or timezone.localdate()
    if today <= task.deadline:
        return []
    return list(
        Assignment.objects.filter(task=task, status__in=OPEN_STATUSES)
        .under(parent)
        .filter(_expected_q(task))
        .select_related("org_unit", "org_unit__parent")
        .order_by("org_unit__path")[:limit]
    )


def awaiting_review(task: Task, parent: OrgUnit, limit: int = 300) -> list[Assignment]:
    return list(
        Assignment.objects.filter(task=task, status=Status.SUBMITTED)
        .under(parent)
        .select_related("org_unit", "org_unit__parent", "submitted_by")
        .order_by("submitted_at", "id")[:limit]
    )


def submissions(task: Task, parent: OrgUnit) -> QuerySet[Assignment]:
    """Every expected assignment under ``parent`` (for the export), in tree order."""
    return (
        Assignment.objects.filter(task=task)
        .under(parent)
        .filter(_expected_q(task))
        .select_related("org_unit", "org_unit__parent", "submitted_by")
        .order_by("org_unit__path")
    )


def timeline(a: Assignment) -> list[AssignmentEvent]:
    return list(a.events.select_related("actor").order_by("created_at", "id"))


# --- choosing targets ----------------------------------------------------------------------------------------


def township_units(issuer: OrgUnit, day: dt.date | None = None) -> QuerySet[OrgUnit]:
    from .forms import TOWNSHIP_KINDS

    qs = OrgUnit.objects.under(issuer, include_self=False).filter(kind__in=TOWNSHIP_KINDS)
    return (qs.active_on(day) if day else qs).order_by("path")


def resolve_targets(
    actor, issuer: OrgUnit, mode: str, *, village_parent_id=None, child_ids=(), day: dt.date
) -> tuple[list[OrgUnit], str]:
    """The target units of a task form's choice and a label for it. Only units of the issuer's subtree, below
    it, that exist on ``day`` (the deadline)."""
    from .forms import VILLAGE_KINDS, TargetMode

    below = OrgUnit.objects.under(issuer, include_self=False).active_on(day)
    if mode == TargetMode.TOWNSHIPS:
        return list(township_units(issuer, day)), "下辖全部乡镇(街道)"
    if mode == TargetMode.VILLAGES:
        parent = get_in_scope(actor, OrgUnit.objects.all(), village_parent_id, Cap.ASSIGN_WORK)
        if not is_within(parent.path, issuer.path):
            raise deny(actor, "orgs.orgunit", village_parent_id, Cap.ASSIGN_WORK)
        units = list(below.under(parent).filter(kind__in=VILLAGE_KINDS).order_by("path"))
        return units, f"{parent.name}全部村(社区)"
    ids = [int(i) for i in child_ids]
    units = list(below.filter(parent=issuer, pk__in=ids).order_by("sort_order", "path"))
    return units, f"选定的下级单位({len(units)}个)"


# --- attachments ---------------------------------------------------------------------------------------------


def access_attachment(actor, attachment_id):
    """A task's document (whoever sees the task) or a submission's file (whoever sees the assignment)."""
    from .models import Attachment

    try:
        pk = int(attachment_id)
    except (TypeError, ValueError):
        raise deny(actor, "supervision.attachment", attachment_id, Cap.VIEW_WORK) from None
    att = (
        Attachment.objects.select_related("file", "task", "task__issuer_unit", "assignment")
        .filter(pk=pk)
        .first()
    )
    if att is None:
        raise deny(actor, "supervision.attachment", attachment_id, Cap.VIEW_WORK)
    if att.assignment_id is None:
        access_task(actor, att.task_id)
    else:
        access_assignment(actor, att.assignment_id)
    return att


def attachments_of(task: Task, a: Assignment | None = None) -> list:
    qs = (
        task.attachments.filter(assignment=a)
        if a is not None
        else task.attachments.filter(assignment__isnull=True)
    )
    return list(qs.select_related("file"))


def task_and_assignment_files(task: Task, a: Assignment) -> list:
    """The task's documents and the assignment's files in one query."""
    return list(task.attachments.filter(Q(assignment=a) | Q(assignment__isnull=True)).select_related("file"))
