"""The reporting-rate figure of the ledger benchmark: one task sent to every unit of the benchmark city.

The task is created once through ``fulian.supervision.actions.create_task`` (one bulk insert of ~5,000
assignments) and reused on later runs; its assignments then get a deterministic mix of statuses by a bulk
UPDATE (bench data, like the bulk city: 55 % submitted on time, 15 % late, 5 % accepted, 5 % returned, 5 %
drafts, 15 % never started). ``reporting_rates(task, parent)`` is timed next to one hand-written GROUP BY.
"""

from __future__ import annotations

import datetime as dt

from _measure import compare, log, raw
from django.db.models import F, Value
from django.db.models.functions import Mod
from django.utils import timezone

from fulian.orgs.models import Kind, OrgUnit
from fulian.orgs.paths import prefix_length, subtree_range

TITLE = "报送三八节活动开展情况(基准测试)"
DEADLINE = dt.date(2025, 3, 20)
TODAY = dt.date(2025, 4, 1)  # after the deadline: missing ones are overdue
KEYS = ("expected", "reported", "late", "missing", "accepted", "returned", "drafts")


def _task(city: OrgUnit, create_task):
    from fulian.supervision.models import Assignment, Status, Task

    task = Task.objects.filter(issuer_unit=city, title=TITLE).first()
    if task is not None:
        return task
    targets = list(OrgUnit.objects.under(city, include_self=False).order_by("path"))
    task = create_task(
        None,
        issuer_unit=city,
        title=TITLE,
        instructions="请各单位报送“三八”国际妇女节系列活动开展情况及活动照片。",
        deadline=DEADLINE,
        targets=targets,
        target_label="全市所有单位",
    )
    on_time = timezone.make_aware(dt.datetime(2025, 3, 15, 10))
    late = timezone.make_aware(dt.datetime(2025, 3, 25, 16))
    mod = Assignment.objects.filter(task=task).annotate(m=Mod(F("id"), Value(20)))
    plan = [
        (range(0, 11), Status.SUBMITTED, on_time, False),
        (range(11, 14), Status.SUBMITTED, late, True),
        (range(14, 15), Status.ACCEPTED, on_time, False),
        (range(15, 16), Status.RETURNED, on_time, False),
        (range(16, 17), Status.DRAFT, None, False),
    ]  # 17..19: pending
    for rng, status, when, is_late in plan:
        mod.filter(m__in=list(rng)).update(
            status=status, first_submitted_at=when, submitted_at=when, is_late=is_late
        )
    log(f"supervision task {task.pk}: {Assignment.objects.filter(task=task).count()} assignments")
    return task


def rates_sql(task, parent: OrgUnit) -> tuple[str, list]:
    from fulian.supervision.models import Assignment

    low, high = subtree_range(parent.path)
    length = prefix_length(parent.depth + 1)
    table = Assignment._meta.db_table
    units = OrgUnit._meta.db_table
    sql = (
        f"SELECT substr(u.path, 1, {length}), COUNT(*), "
        "SUM(CASE WHEN a.status IN ('submitted', 'accepted') THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN a.status IN ('submitted', 'accepted') AND a.is_late THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN a.status IN ('pending', 'draft', 'returned') THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN a.status = 'accepted' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN a.status = 'returned' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN a.status = 'draft' THEN 1 ELSE 0 END) "
        f"FROM {table} a JOIN {units} u ON u.id = a.org_unit_id "
        "WHERE a.task_id = %s AND u.path >= %s AND u.path < %s AND (u.closed_on IS NULL OR u.closed_on > %s) "
        f"GROUP BY substr(u.path, 1, {length})"
    )
    return sql, [task.pk, low, high, task.deadline]


def rates_raw(task, parent):
    sql, params = rates_sql(task, parent)
    return {row[0]: dict(zip(KEYS, (int(v or 0) for v in row[1:]), strict=True)) for row in raw(sql, params)}


def assert_same(task, parent, reporting_rates) -> int:
    table = reporting_rates(task, parent, today=TODAY)
    ours = {r.unit.path: {k: getattr(r, k) for k in KEYS} for r in table.rows}
    theirs = rates_raw(task, parent)
    assert ours == theirs, (parent.name, len(ours), len(theirs))
    total = {k: getattr(table.total, k) for k in KEYS}
    assert total == {k: sum(v[k] for v in theirs.values()) for k in KEYS}
    log(f"reporting_rates({parent.name}) == raw SQL: {total}")
    return total["expected"]


def measure_supervision(city: OrgUnit, create_task, reporting_rates) -> list[dict]:
    task = _task(city, create_task)
    county = OrgUnit.objects.filter(parent=city, kind=Kind.COUNTY).order_by("path").first()
    expected = assert_same(task, city, reporting_rates)
    assert_same(task, county, reporting_rates)
    results = [
        compare(
            f"reporting rates (task to {expected} units, city by child unit)",
            lambda: reporting_rates(task, city, today=TODAY),
            lambda: rates_raw(task, city),
        ),
        compare(
            "reporting rates (same task, one county by child unit)",
            lambda: reporting_rates(task, county, today=TODAY),
            lambda: rates_raw(task, county),
        ),
    ]
    return results
