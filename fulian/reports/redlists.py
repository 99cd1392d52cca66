"""The dashboard's lists beside the figures: overdue cases (through the cases app's own scoped reads) and coverage
gaps (villages and communities without a federation or without a 妇女之家). The late-task list is
``queries.late_assignments``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.cases.indicators import in_subtree
from fulian.cases.models import Case, overdue_condition
from fulian.orgs.models import HomeKind, OrgUnit, WomensHome

from .queries import VILLAGE_KINDS


@dataclass
class OverdueCase:
    """What the dashboard shows of an overdue case: no party, no account — number, category, days overdue."""

    pk: int
    number: str
    category: str
    unit: str
    risk: int
    high_risk: bool
    days: int  # whole days past the first missed deadline (0: less than a day)
    which: str  # 首次联系 / 办理
    escalated: bool  # reported to the level above (fulian escalate_cases)


def overdue_cases(actor, unit: OrgUnit, limit: int = 20) -> list[OverdueCase] | None:
    """Open cases under ``unit`` past a deadline, the highest risk and the longest overdue first. None when the
    actor holds no VIEW_CASES over ``unit`` (the list is not shown at all). One query.

    These are the cases the actor's case list shows with ``overdue`` (``cases_of(actor, CaseFilter(unit=unit,
    state="open", overdue=True))``): holding VIEW_CASES over ``unit`` the actor sees every case of its subtree,
    and that list keeps only the subtree. So the scope is the subtree itself, and the rows come straight from the
    front of the partial index ``case_open_risk_due`` (open cases by risk, handling deadline, id; with their
    unit and deadlines): at the province the first ~20 index entries that are overdue, not a sort of every
    overdue case. Below the root the subtree's units are probed (``org_unit_id = ANY(ARRAY(…))``)."""
    if not scope_for(actor, Cap.VIEW_CASES).contains(unit):
        return None
    now = timezone.now()
    qs = (
        Case.objects.filter(in_subtree(unit))
        .filter(overdue_condition(now))
        .select_related("org_unit", "category", "subcategory")
        .order_by("-risk", "handling_due", "id")
    )
    out = []
    for case in qs[:limit]:
        missed = []
        if case.first_contact_at is None and case.first_contact_due and case.first_contact_due < now:
            missed.append((case.first_contact_due, "首次联系"))
        if case.handling_due and case.handling_due < now and case.paused_since is None:
            missed.append((case.handling_due, "办理"))
        due, which = min(missed) if missed else (now, "办理")
        category = case.subcategory.name if case.subcategory_id else case.category.name
        out.append(
            OverdueCase(
                pk=case.pk,
                number=str(case),
                category=category,
                unit=case.org_unit.name,
                risk=case.risk,
                high_risk=case.risk >= 3,
                days=(now - due).days,
                which=which,
                escalated=case.escalated_at is not None,
            )
        )
    out.sort(key=lambda c: (-c.risk, -c.days, c.pk))
    return out


HOME_KINDS = (HomeKind.WOMEN, HomeKind.BOTH)


def _villages(unit: OrgUnit, day: dt.date) -> QuerySet[OrgUnit]:
    # ``id IN (the homes' units)``, not a correlated EXISTS: the homes are read once into a hash and each village
    # probes it (the counts below use the flag three times; an EXISTS ran once per village and use)
    homes = WomensHome.objects.filter(kind__in=HOME_KINDS).order_by().values("org_unit_id")
    has_home = ExpressionWrapper(Q(pk__in=homes), output_field=BooleanField())
    return (
        OrgUnit.objects.under(unit).active_on(day).filter(kind__in=VILLAGE_KINDS).annotate(has_home=has_home)
    )


def coverage_gaps(unit: OrgUnit, day: dt.date, limit: int = 50) -> list[OrgUnit]:
    """Villages and communities under ``unit`` (existing on ``day``) without an established federation or
    without a 妇女之家 (``has_home``), in tree order."""
    return list(
        _villages(unit, day)
        .filter(Q(established=False) | Q(has_home=False))
        .select_related("parent")
        .order_by("path")[:limit]
    )


def gap_counts(unit: OrgUnit, day: dt.date) -> dict[str, int]:
    """How many villages/communities lack a federation, a 妇女之家, either (the list above stops at its limit)."""
    return _villages(unit, day).aggregate(
        no_federation=Count("id", filter=Q(established=False)),
        no_home=Count("id", filter=Q(has_home=False)),
        any=Count("id", filter=Q(established=False) | Q(has_home=False)),
    )
