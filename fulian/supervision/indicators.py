"""Supervision figures for the statistics service (fulian.reports): expected / on-time submissions of the tasks
issued in the period, over all those tasks at once, with ``reporting_rates``' definitions (a unit closed before
a task's deadline is not expected; on time = reported and not late)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q
from django.db.models.functions import Substr, TruncMonth

from fulian.accounts.roles import Cap
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.reports.registry import RATIO, Source, month_of, months, register

from .models import REPORTED_STATUSES, Assignment
from .queries import pct

# reporting_rates' _expected_q, for assignments of many tasks: the unit exists on its own task's deadline
EXPECTED_Q = Q(org_unit__closed_on__isnull=True) | Q(org_unit__closed_on__gt=F("task__deadline"))
COUNTS = {
    "tasks_expected": Count("id"),
    "tasks_on_time": Count("id", filter=Q(status__in=REPORTED_STATUSES, is_late=False)),
}


def _assignments(unit: OrgUnit, start: dt.date, end: dt.date):
    return (
        Assignment.objects.under(unit)
        .filter(task__created_at__date__gte=start, task__created_at__date__lte=end)
        .filter(EXPECTED_Q)
    )


def _values(counts: dict, codes: list[str]) -> dict:
    values = {
        "tasks_expected": counts.get("tasks_expected") or 0,
        "tasks_on_time": counts.get("tasks_on_time") or 0,
    }
    values["tasks_on_time_pct"] = pct(values["tasks_on_time"], values["tasks_expected"])
    return {code: values[code] for code in codes}


def _compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    return _values(_assignments(unit, start, end).aggregate(**COUNTS), codes)


def _grouped(unit: OrgUnit, start: dt.date, end: dt.date) -> dict[str, dict]:
    return {
        g.pop("branch"): g
        for g in _assignments(unit, start, end)
        .annotate(branch=Substr("org_unit__path", 1, prefix_length(unit.depth + 1)))
        .values("branch")
        .annotate(**COUNTS)
        .order_by()
    }


def _rows(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str], grouped: dict) -> dict:
    children = OrgUnit.objects.filter(parent=unit).active_during(start, end).values_list("pk", "path")
    units = [(unit.pk, unit.path), *children] if unit.path in grouped else list(children)
    out: dict = {code: {} for code in codes}
    for pk, path in units:
        for code, value in _values(grouped.get(path, {}), codes).items():
            out[code][pk] = value
    return out


def _by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    return _rows(unit, start, end, codes, _grouped(unit, start, end))


def _table(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> tuple[dict, dict]:
    """The rows and the total from one GROUP BY: the total adds up every branch's counts (the same
    assignments as ``_compute``'s)."""
    grouped = _grouped(unit, start, end)
    counts = {key: sum(g[key] or 0 for g in grouped.values()) for key in COUNTS}
    return _rows(unit, start, end, codes, grouped), _values(counts, codes)


def _by_month(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    """Per calendar month of the tasks' creation, one GROUP BY."""
    grouped = {
        month_of(g.pop("month")): g
        for g in _assignments(unit, start, end)
        .annotate(month=TruncMonth("task__created_at"))
        .values("month")
        .annotate(**COUNTS)
        .order_by()
    }
    return {
        low.replace(day=1): _values(grouped.get(low.replace(day=1), {}), codes)
        for low, _ in months(start, end)
    }


TASKS = Source("supervision.assignments", _compute, _by_child, table=_table, by_month=_by_month)

register("tasks_expected", "督办任务应报", "次", module="supervision", source=TASKS, cap=Cap.VIEW_WORK)
register("tasks_on_time", "按时报送", "次", module="supervision", source=TASKS, cap=Cap.VIEW_WORK)
register(
    "tasks_on_time_pct",
    "按时报送率",
    "%",
    module="supervision",
    source=TASKS,
    rollup=RATIO,
    cap=Cap.VIEW_WORK,
    description="本期下发任务中按时报送的单位次 / 应报单位次",
)
