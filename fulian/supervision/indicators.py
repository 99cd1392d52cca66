"""Supervision figures for the statistics service (fulian.reports): expected / on-time submissions of the tasks
issued in the period, over all those tasks at once, with ``reporting_rates``' definitions (a unit closed before
a task's deadline is not expected; on time = reported and not late)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q

from fulian.accounts.roles import Cap
from fulian.orgs import statsql
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import subtree_range
from fulian.reports.registry import RATIO, Source, month_of, months, register

from .models import REPORTED_STATUSES, Assignment, Task
from .queries import pct

# reporting_rates' _expected_q, for assignments of many tasks: the unit exists on its own task's deadline
EXPECTED_Q = Q(org_unit__closed_on__isnull=True) | Q(org_unit__closed_on__gt=F("task__deadline"))
COUNTS = {
    "tasks_expected": Count("id"),
    "tasks_on_time": Count("id", filter=Q(status__in=REPORTED_STATUSES, is_late=False)),
}


ASSIGNMENTS = Assignment._meta.db_table
TASKS_TABLE = Task._meta.db_table
_REPORTED = statsql.literals(REPORTED_STATUSES)


def _counted(
    unit: OrgUnit, start: dt.date, end: dt.date, group: str = "''", group_params: tuple = ()
) -> list[tuple]:
    """(group, tasks_expected, tasks_on_time) of the assignments under ``unit`` of the tasks created in
    [start, end] (local dates), ``EXPECTED_Q`` applied; hand-written (``fulian.orgs.statsql``) with the
    definitions of ``COUNTS`` and ``EXPECTED_Q``, which the tests compare it with."""
    low, high = subtree_range(unit.path)
    t0, t1 = statsql.day_moments(start, end)
    return statsql.fetch(
        f"SELECT {group}, COUNT(a.id), COUNT(CASE WHEN a.status IN ({_REPORTED}) AND NOT a.is_late THEN 1 END) "  # noqa: S608
        f"FROM {ASSIGNMENTS} a JOIN {statsql.UNITS} u ON u.id = a.org_unit_id "
        f"JOIN {TASKS_TABLE} t ON t.id = a.task_id WHERE u.path >= %s AND u.path < %s "
        "AND t.created_at >= %s AND t.created_at < %s AND (u.closed_on IS NULL OR u.closed_on > t.deadline) "
        "GROUP BY 1",
        [*group_params, low, high, t0, t1],
    )


def _as_counts(row: tuple) -> dict:
    return {"tasks_expected": row[1], "tasks_on_time": row[2]}


def _values(counts: dict, codes: list[str]) -> dict:
    values = {
        "tasks_expected": counts.get("tasks_expected") or 0,
        "tasks_on_time": counts.get("tasks_on_time") or 0,
    }
    values["tasks_on_time_pct"] = pct(values["tasks_on_time"], values["tasks_expected"])
    return {code: values[code] for code in codes}


def _compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    rows = _counted(unit, start, end)
    return _values(_as_counts(rows[0]) if rows else {}, codes)


def _grouped(unit: OrgUnit, start: dt.date, end: dt.date) -> dict[str, dict]:
    return {row[0]: _as_counts(row) for row in _counted(unit, start, end, statsql.branch("u.path", unit))}


def _rows(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str], grouped: dict) -> dict:
    children = [(c.pk, c.path) for c in statsql.children_during(unit, start, end)]
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
    month, params = statsql.month_of_moment("t.created_at")
    grouped = {
        month_of(statsql.as_date(row[0])): _as_counts(row)
        for row in _counted(unit, start, end, month, params)
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
