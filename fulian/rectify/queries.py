"""Scoped reads of rectification: access helpers, the ledger (整改台账) of a unit's subtree, a problem's page.

Who sees what (VIEW_WORK): a problem and all its measures are seen by the problem's unit and the units above
it; the owner of a measure set by a unit above (a village working on its township's problem) sees that
problem and only the measures its own subtree owns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from fulian.accounts.access import deny
from fulian.accounts.roles import Cap
from fulian.accounts.scope import Scope, scope_for
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import subtree_q

from .models import Evidence, Measure, MeasureEvent, Problem, Progress, Source, State

# --- visibility and access -----------------------------------------------------------------------------------


def _measure_q(scope: Scope) -> Q:
    return subtree_q(scope.paths, "problem__unit__path") | subtree_q(scope.paths, "owner_unit__path")


def measures_visible(actor) -> QuerySet[Measure]:
    scope = scope_for(actor, Cap.VIEW_WORK)
    if not scope:
        return Measure.objects.none()
    return Measure.objects.filter(_measure_q(scope))


def problems_visible(actor) -> QuerySet[Problem]:
    """Problems of units in the actor's subtree, and problems with a measure its subtree owns."""
    scope = scope_for(actor, Cap.VIEW_WORK)
    if not scope:
        return Problem.objects.none()
    return Problem.objects.filter(
        subtree_q(scope.paths, "unit__path")
        | Q(pk__in=Measure.objects.filter(subtree_q(scope.paths, "owner_unit__path")).values("problem_id"))
    )


def _pk(actor, object_type: str, value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise deny(actor, object_type, value, Cap.VIEW_WORK) from None


def access_problem(actor, problem_id) -> Problem:
    """A problem the actor may see, or the same 404 for missing and forbidden."""
    pk = _pk(actor, "rectify.problem", problem_id)
    problem = problems_visible(actor).select_related("unit", "created_by").filter(pk=pk).first()
    if problem is None:
        raise deny(actor, "rectify.problem", problem_id, Cap.VIEW_WORK)
    return problem


def access_measure(actor, measure_id) -> Measure:
    pk = _pk(actor, "rectify.measure", measure_id)
    m = measures_visible(actor).select_related("problem", "problem__unit", "owner_unit").filter(pk=pk).first()
    if m is None:
        raise deny(actor, "rectify.measure", measure_id, Cap.VIEW_WORK)
    return m


def access_evidence(actor, evidence_id) -> Evidence:
    """An evidence file of a measure the actor may see (one query)."""
    pk = _pk(actor, "rectify.evidence", evidence_id)
    scope = scope_for(actor, Cap.VIEW_WORK)
    ev = None
    if scope:
        ev = (
            Evidence.objects.filter(pk=pk)
            .filter(
                subtree_q(scope.paths, "progress__measure__problem__unit__path")
                | subtree_q(scope.paths, "progress__measure__owner_unit__path")
            )
            .select_related("file", "file__org_unit", "progress")
            .first()
        )
    if ev is None:
        raise deny(actor, "rectify.evidence", evidence_id, Cap.VIEW_WORK)
    return ev


def sees_whole_problem(actor, problem: Problem) -> bool:
    return scope_for(actor, Cap.VIEW_WORK).contains(problem.unit)


# --- a problem's page ----------------------------------------------------------------------------------------


def measures_of(actor, problem: Problem) -> list[Measure]:
    """The measures of ``problem`` the actor may see, with their progress (and evidence) and timelines:
    three queries whatever the number of measures."""
    qs = problem.measures.all()
    if not sees_whole_problem(actor, problem):
        qs = qs.filter(subtree_q(scope_for(actor, Cap.VIEW_WORK).paths, "owner_unit__path"))
    return list(
        qs.select_related("owner_unit", "accepted_by", "done_by")
        .prefetch_related(*HISTORY)
        .order_by("deadline", "id")
    )


HISTORY = (
    Prefetch(
        "progress",
        queryset=Progress.objects.select_related("reported_by").prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.select_related("file"))
        ),
    ),
    Prefetch("events", queryset=MeasureEvent.objects.select_related("actor")),
)


def with_history(m: Measure) -> Measure:
    """Load one measure's progress (with evidence) and timeline: three queries."""
    prefetch_related_objects([m], *HISTORY)
    return m


# --- the ledger (整改台账) -----------------------------------------------------------------------------------

STATUS_FILTERS = [
    ("", "全部状态"),
    ("none", "未制定措施"),
    (State.IN_PROGRESS, "整改中"),
    ("returned", "退回重改"),
    (State.DONE, "已整改(待验收)"),
    (State.ACCEPTED, "已验收"),
]


@dataclass
class LedgerFilter:
    status: str = ""
    overdue: bool = False
    source: str = ""
    child: OrgUnit | None = None
    year: int | None = None

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "overdue": self.overdue,
            "source": self.source,
            "child": self.child.pk if self.child else None,
            "year": self.year,
        }


@dataclass
class LedgerRow:
    problem: Problem
    measure: Measure | None
    overdue_days: int = 0  # today − deadline, for a measure not accepted and past its deadline

    @property
    def status(self) -> str:
        return self.measure.status_label if self.measure else "未制定措施"

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


def overdue_days(m: Measure, today: dt.date) -> int:
    if m.state == State.ACCEPTED:
        return 0
    return max(0, (today - m.deadline).days)


def ledger_rows(
    unit: OrgUnit, f: LedgerFilter | None = None, today: dt.date | None = None
) -> list[LedgerRow]:
    """One row per measure whose problem or owner lies in ``unit``'s subtree, and one per problem of the
    subtree that has no measure yet; newest problem first. Two queries. ``unit`` must already be in the
    viewer's VIEW_WORK scope (access_unit)."""
    f = f or LedgerFilter()
    today = today or timezone.localdate()
    root = f.child or unit
    measures = Measure.objects.filter(
        subtree_q([root.path], "problem__unit__path") | subtree_q([root.path], "owner_unit__path")
    )
    if f.source:
        measures = measures.filter(problem__source=f.source)
    if f.year:
        measures = measures.filter(problem__found_on__year=f.year)
    if f.status == "returned":
        measures = measures.filter(state=State.IN_PROGRESS, returned_count__gt=0)
    elif f.status in State.values:
        measures = measures.filter(state=f.status)
    elif f.status == "none":
        measures = measures.none()
    if f.overdue:
        measures = measures.exclude(state=State.ACCEPTED).filter(deadline__lt=today)
    rows = [
        LedgerRow(m.problem, m, overdue_days(m, today))
        for m in measures.select_related("problem", "problem__unit", "owner_unit")
    ]
    if f.status in ("", "none") and not f.overdue:
        bare = Problem.objects.under(root).filter(measures__isnull=True)
        if f.source:
            bare = bare.filter(source=f.source)
        if f.year:
            bare = bare.filter(found_on__year=f.year)
        rows += [LedgerRow(p, None) for p in bare.select_related("unit")]
    rows.sort(
        key=lambda r: (
            -r.problem.found_on.toordinal(),
            -r.problem.pk,
            r.measure.deadline if r.measure else dt.date.min,
            r.measure.pk if r.measure else 0,
        )
    )
    return rows


@dataclass
class LedgerSummary:
    problems: int = 0
    measures: int = 0
    accepted: int = 0
    overdue: int = 0


def summarize(rows: list[LedgerRow]) -> LedgerSummary:
    return LedgerSummary(
        problems=len({r.problem.pk for r in rows}),
        measures=sum(1 for r in rows if r.measure),
        accepted=sum(1 for r in rows if r.measure and r.measure.state == State.ACCEPTED),
        overdue=sum(1 for r in rows if r.overdue),
    )


def ledger_years(today: dt.date | None = None) -> list[int]:
    year = (today or timezone.localdate()).year
    return list(range(year, year - 6, -1))


SOURCE_FILTERS = [("", "全部来源"), *Source.choices]
