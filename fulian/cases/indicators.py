"""Case figures for the statistics service (fulian.reports): received / closed in the period and open cases
overdue now, with ``case_statistics``' aggregates and its small-cell rule (1 or 2 below county level is "<3").
Only viewers holding VIEW_CASES over the unit get them."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.orgs.queries import children_of
from fulian.reports.registry import LATEST, Source, register

from .models import Case, State, overdue_condition
from .queries import stat_aggregates, suppress

PERIOD_CODES = {"cases_received": "received", "cases_closed": "closed"}


def _query(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]):
    """case_statistics' cases (registered in the period, not drafts) with its aggregates for the period codes;
    cases_overdue counts the open cases overdue now, whenever they were registered."""
    in_period = Q(created_at__date__gte=start, created_at__date__lte=end)
    stats = stat_aggregates()
    aggs = {}
    for code, key in PERIOD_CODES.items():
        if code in codes:
            condition = stats[key].filter  # Django wraps an aggregate's filter: take its Q back
            condition = getattr(condition, "condition", condition)
            aggs[code] = Count("id", filter=in_period & condition if condition else in_period)
    rows = in_period
    if "cases_overdue" in codes:
        overdue = overdue_condition(timezone.now())
        aggs["cases_overdue"] = Count("id", filter=overdue)
        rows = in_period | overdue
    return Case.objects.under(unit).exclude(state=State.DRAFT).filter(rows), aggs


def _compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    qs, aggs = _query(unit, start, end, codes)
    values = qs.aggregate(**aggs)
    return {code: suppress(values[code] or 0, unit) for code in codes}


def _by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    qs, aggs = _query(unit, start, end, codes)
    grouped = {
        g.pop("branch"): g
        for g in qs.annotate(branch=Substr("org_unit__path", 1, prefix_length(unit.depth + 1)))
        .values("branch")
        .annotate(**aggs)
        .order_by()
    }
    units = list(children_of(unit).active_during(start, end))
    if unit.path in grouped:
        units.insert(0, unit)
    return {
        code: {u.pk: suppress((grouped.get(u.path) or {}).get(code, 0), u) for u in units} for code in codes
    }


CASES = Source("cases.statistics", _compute, _by_child)

register("cases_received", "维权案件受理登记", "件", module="cases", source=CASES, cap=Cap.VIEW_CASES)
register("cases_closed", "维权案件办结", "件", module="cases", source=CASES, cap=Cap.VIEW_CASES)
register(
    "cases_overdue",
    "逾期未办结案件",
    "件",
    module="cases",
    source=CASES,
    rollup=LATEST,
    cap=Cap.VIEW_CASES,
    description="当前在办且已超过首次联系或办理期限的案件",
)
