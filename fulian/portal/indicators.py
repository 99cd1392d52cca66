"""The public site's figures for the statistics service (fulian.reports): disclosure items published in the
period, and the published commitments of the period's years with their average progress, over a subtree and
per child unit (one GROUP BY on the path prefix each)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count
from django.db.models.functions import Substr

from fulian.accounts.roles import Cap
from fulian.orgs import statsql
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.reports.registry import RATIO, Source, register

from .models import Commitment, DisclosureItem, State


def _items(unit: OrgUnit, start: dt.date, end: dt.date):
    return DisclosureItem.objects.under(unit).filter(
        state=State.PUBLISHED, published_at__date__gte=start, published_at__date__lte=end
    )


def _commitments(unit: OrgUnit, start: dt.date, end: dt.date):
    return Commitment.objects.under(unit).filter(published=True, year__gte=start.year, year__lte=end.year)


def _avg(value) -> float | None:
    return round(float(value), 1) if value is not None else None


def _compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    values: dict = {}
    if "disclosures_published" in codes:
        values["disclosures_published"] = _items(unit, start, end).count()
    if {"commitments_published", "commitments_avg_progress"} & set(codes):
        agg = _commitments(unit, start, end).aggregate(n=Count("id"), avg=Avg("progress"))
        values["commitments_published"] = agg["n"]
        values["commitments_avg_progress"] = _avg(agg["avg"])
    return {code: values[code] for code in codes}


def _by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    branch = Substr("org_unit__path", 1, prefix_length(unit.depth + 1))
    items: dict[str, int] = {}
    commitments: dict[str, dict] = {}
    if "disclosures_published" in codes:
        items = {
            g["branch"]: g["n"]
            for g in _items(unit, start, end)
            .annotate(branch=branch)
            .values("branch")
            .annotate(n=Count("id"))
            .order_by()
        }
    if {"commitments_published", "commitments_avg_progress"} & set(codes):
        commitments = {
            g.pop("branch"): g
            for g in _commitments(unit, start, end)
            .annotate(branch=branch)
            .values("branch")
            .annotate(n=Count("id"), avg=Avg("progress"))
            .order_by()
        }
    children = [(c.pk, c.path) for c in statsql.children_during(unit, start, end)]
    units = list(children)
    if unit.path in items or unit.path in commitments:
        units.insert(0, (unit.pk, unit.path))
    out: dict = {code: {} for code in codes}
    for pk, path in units:
        row = {
            "disclosures_published": items.get(path, 0),
            "commitments_published": commitments.get(path, {}).get("n", 0),
            "commitments_avg_progress": _avg(commitments.get(path, {}).get("avg")),
        }
        for code in codes:
            out[code][pk] = row[code]
    return out


PORTAL = Source("portal.disclosures", _compute, _by_child)

register(
    "disclosures_published",
    "公开事项",
    "项",
    module="portal",
    source=PORTAL,
    cap=Cap.VIEW_WORK,
    description="本期经审核公开的公开栏事项数",
)
register(
    "commitments_published",
    "公开承诺",
    "项",
    module="portal",
    source=PORTAL,
    cap=Cap.VIEW_WORK,
    description="统计期所在年度已公开的承诺事项数",
)
register(
    "commitments_avg_progress",
    "承诺平均完成进度",
    "%",
    module="portal",
    source=PORTAL,
    rollup=RATIO,
    cap=Cap.VIEW_WORK,
    description="统计期所在年度已公开承诺的完成进度平均值",
)
