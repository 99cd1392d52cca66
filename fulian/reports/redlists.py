"""The dashboard's lists beside the figures: overdue cases (through the cases app's own scoped reads) and coverage
gaps (villages and communities without a federation or without a 妇女之家). The late-task list is
``queries.late_assignments``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.cases.queries import CaseFilter, cases_of
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
    """Open cases under ``unit`` past a deadline, as the actor's case list filters them (``cases_of`` with
    ``overdue``), the highest risk and the longest overdue first. None when the actor holds no VIEW_CASES over
    ``unit`` (the list is not shown at all). One query."""
    if not scope_for(actor, Cap.VIEW_CASES).contains(unit):
        return None
    now = timezone.now()
    qs = cases_of(actor, CaseFilter(unit=unit, state="open", overdue=True)).order_by(
        "-risk", "handling_due", "id"
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
    has_home = Exists(WomensHome.objects.filter(org_unit=OuterRef("pk"), kind__in=HOME_KINDS))
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
