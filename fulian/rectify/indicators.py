"""Rectification figures for the statistics service (fulian.reports), over a unit's subtree and a period.

- problems found (查摆问题): problems whose 查摆日期 lies in the period, counted at the problem's unit;
- measures due (整改措施): measures whose 整改时限 lies in the period, counted at the OWNER unit (who does
  the work); of these: accepted (已验收), accepted on time (accepted, and the completion it was accepted on was
  reported on or before the deadline), and overdue (not accepted, deadline already past today);
- on-time rate: accepted on time / measures due (a ratio: recomputed from the two sums at every level).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q
from django.db.models.functions import Substr
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.orgs import statsql
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length, subtree_q
from fulian.reports.registry import RATIO, Source, register

from .models import Measure, Problem, State


def pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


def _problems(unit: OrgUnit, start: dt.date, end: dt.date):
    return Problem.objects.under(unit).filter(found_on__gte=start, found_on__lte=end)


def _measures(unit: OrgUnit, start: dt.date, end: dt.date):
    return Measure.objects.filter(
        subtree_q([unit.path], "owner_unit__path"), deadline__gte=start, deadline__lte=end
    )


def _measure_counts(today: dt.date) -> dict:
    accepted = Q(state=State.ACCEPTED)
    return {
        "rectify_measures": Count("id"),
        "rectify_accepted": Count("id", filter=accepted),
        "rectify_on_time": Count("id", filter=accepted & Q(done_at__date__lte=F("deadline"))),
        "rectify_overdue": Count("id", filter=~accepted & Q(deadline__lt=today)),
    }


MEASURE_CODES = ("rectify_measures", "rectify_accepted", "rectify_on_time", "rectify_overdue")


def _values(counts: dict, codes: list[str]) -> dict:
    values = {code: counts.get(code) or 0 for code in MEASURE_CODES}
    values["rectify_on_time_pct"] = pct(values["rectify_on_time"], values["rectify_measures"])
    return {code: values[code] for code in codes}


def _by_branch(qs, path_field: str, unit: OrgUnit, counts: dict) -> dict[str, dict]:
    return {
        g.pop("branch"): g
        for g in qs.annotate(branch=Substr(path_field, 1, prefix_length(unit.depth + 1)))
        .values("branch")
        .annotate(**counts)
        .order_by()
    }


def _units(unit: OrgUnit, start: dt.date, end: dt.date, own: bool) -> list[tuple[int, str]]:
    children = [(c.pk, c.path) for c in statsql.children_during(unit, start, end)]
    return [(unit.pk, unit.path), *children] if own else children


# --- problems found ------------------------------------------------------------------------------------------


def _problems_compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    return {"rectify_problems": _problems(unit, start, end).count()}


def _problems_by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    grouped = _by_branch(_problems(unit, start, end), "unit__path", unit, {"n": Count("id")})
    units = _units(unit, start, end, unit.path in grouped)
    return {"rectify_problems": {pk: grouped.get(path, {}).get("n", 0) for pk, path in units}}


# --- measures ------------------------------------------------------------------------------------------------


def _measures_compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    counts = _measures(unit, start, end).aggregate(**_measure_counts(timezone.localdate()))
    return _values(counts, codes)


def _measures_by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    grouped = _by_branch(
        _measures(unit, start, end), "owner_unit__path", unit, _measure_counts(timezone.localdate())
    )
    out: dict = {code: {} for code in codes}
    for pk, path in _units(unit, start, end, unit.path in grouped):
        for code, value in _values(grouped.get(path, {}), codes).items():
            out[code][pk] = value
    return out


PROBLEMS = Source("rectify.problems", _problems_compute, _problems_by_child)
MEASURES = Source("rectify.measures", _measures_compute, _measures_by_child)

register(
    "rectify_problems",
    "查摆问题",
    "个",
    module="rectify",
    source=PROBLEMS,
    cap=Cap.VIEW_WORK,
    description="查摆日期在本期内的问题数(计入问题所在单位)",
)
register(
    "rectify_measures",
    "到期整改措施",
    "条",
    module="rectify",
    source=MEASURES,
    cap=Cap.VIEW_WORK,
    description="整改时限在本期内的整改措施数(计入责任单位)",
)
register("rectify_accepted", "已验收整改措施", "条", module="rectify", source=MEASURES, cap=Cap.VIEW_WORK)
register(
    "rectify_on_time",
    "按时整改并验收",
    "条",
    module="rectify",
    source=MEASURES,
    cap=Cap.VIEW_WORK,
    description="已验收、且整改完成日期不晚于整改时限的措施数",
)
register(
    "rectify_on_time_pct",
    "按时整改率",
    "%",
    module="rectify",
    source=MEASURES,
    rollup=RATIO,
    cap=Cap.VIEW_WORK,
    description="按时整改并验收的措施 / 本期到期的整改措施",
)
register(
    "rectify_overdue",
    "逾期未验收整改措施",
    "条",
    module="rectify",
    source=MEASURES,
    cap=Cap.VIEW_WORK,
    description="本期到期、已过整改时限仍未验收的措施数",
)
