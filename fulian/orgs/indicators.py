"""The org tree's figures for the statistics service (fulian.reports): units by kind, coverage, cadres.

Both are stocks on the period's last day (rollup "latest"), from the same queries as the tree and cadre pages.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Count, Q

from fulian.accounts.roles import Cap
from fulian.reports.registry import LATEST, RATIO, Source, register

from .models import Cadre, Kind, OrgUnit
from .paths import prefix_length, subtree_range
from .queries import EDUCATION_BANDS, TreeRow, children_of, tree_overview

UNIT_CODES = {f"units_{kind}": kind for kind in Kind.values}


def _tree_value(row, code: str):
    if code == "units_total":
        return row.total
    if code == "units_established":
        return row.established
    if code == "coverage_pct":
        return row.coverage
    return row.by_kind.get(UNIT_CODES[code], 0)


def _tree_compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    """tree_overview's total row (units below ``unit`` existing on ``end``), in one aggregate: no child rows,
    and no count per kind unless a kind is asked for."""
    below = OrgUnit.objects.under(unit).exclude(pk=unit.pk).active_on(end)
    total = TreeRow(unit=None, label="合计")
    if any(code in UNIT_CODES for code in codes):
        for g in below.values("kind").annotate(n=Count("id"), est=Count("id", filter=Q(established=True))):
            total.by_kind[g["kind"]] = g["n"]
            total.total += g["n"]
            total.established += g["est"]
    else:
        counts = below.aggregate(n=Count("id"), est=Count("id", filter=Q(established=True)))
        total.total, total.established = counts["n"], counts["est"]
    return {code: _tree_value(total, code) for code in codes}


def _tree_by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    rows, _, _ = tree_overview(unit, end)
    return {code: {r.unit.pk: _tree_value(r, code) for r in rows} for code in codes}


def _tree_table(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> tuple[dict, dict]:
    rows, total, _ = tree_overview(unit, end)
    by_child = {code: {r.unit.pk: _tree_value(r, code) for r in rows} for code in codes}
    return by_child, {code: _tree_value(total, code) for code in codes}


TREE = Source("orgs.tree_overview", _tree_compute, _tree_by_child, table=_tree_table)

register("units_total", "下级组织总数", "个", module="orgs", source=TREE, rollup=LATEST)
for _kind, _label in Kind.choices:
    register(f"units_{_kind}", _label, "个", module="orgs", source=TREE, rollup=LATEST)
register("units_established", "已建妇联组织", "个", module="orgs", source=TREE, rollup=LATEST)
register(
    "coverage_pct",
    "组织覆盖率",
    "%",
    module="orgs",
    source=TREE,
    rollup=RATIO,
    description="已建妇联组织 / 下级组织总数",
)

CADRE_CODES = {"cadres_total": "total"} | {f"cadres_{key}": key for key, _, _ in EDUCATION_BANDS}
EDUCATION = {f"cadres_{key}": values for key, _, values in EDUCATION_BANDS}


def _cadre_aggs(codes: list[str]) -> dict:
    """Only the counts asked for (the dashboard asks for the total: no twelve filtered counts per row as in
    ``cadre_stats``, which computes the age bands of every cadre too); the same definitions."""
    return {
        # of org_unit_id (never null, in its index), so that the total is an index-only count
        code: Count("org_unit_id", filter=Q(education__in=EDUCATION[code]))
        if code in EDUCATION
        else Count("org_unit_id")
        for code in codes
    }


def _whole_tree(unit: OrgUnit) -> bool:
    """Whether ``unit``'s subtree is every unit of the database (the only root: no unit filter needed); asked
    once per unit object, as ``fulian.cases.indicators.whole_tree`` (the same answer kept on the unit)."""
    if unit.parent_id is not None:
        return False
    known = unit.__dict__.get("_stats_whole_tree")
    if known is None:
        known = not OrgUnit.objects.filter(parent__isnull=True).exclude(pk=unit.pk).exists()
        unit.__dict__["_stats_whole_tree"] = known
    return known


def _cadres_of(unit: OrgUnit):
    if _whole_tree(unit):
        return Cadre.objects.all()
    return Cadre.objects.filter(org_unit__in=OrgUnit.objects.under(unit).order_by().values("pk"))


def _cadre_grouped(unit: OrgUnit, codes: list[str], by_branch: bool) -> dict:
    """{branch path (or ""): {code: count}}: the cadres counted per unit first (an index scan of the cadres
    alone, no join per cadre; MATERIALIZED, so the planner — which cannot estimate how many units a path range
    holds — does not re-run it per unit), then those per-unit counts joined to the subtree's units and summed
    per child branch in the same statement (~140,000 cadres, ~25,000 units with cadres in the province)."""
    qn = connection.ops.quote_name
    inner, params = (
        _cadres_of(unit)
        .values("org_unit_id")
        .annotate(**_cadre_aggs(codes))
        .order_by()
        .query.sql_with_params()
    )
    low, high = subtree_range(unit.path)
    group = f"SUBSTR(u.path, 1, {prefix_length(unit.depth + 1)})" if by_branch else "''"
    sums = ", ".join(f"SUM(c.{qn(code)})" for code in codes)
    sql = (
        f"WITH c AS MATERIALIZED ({inner}) "  # noqa: S608 (names and numbers are ours)
        f"SELECT {group}, {sums} FROM c JOIN {qn(OrgUnit._meta.db_table)} u ON u.id = c.org_unit_id "
        f"WHERE u.path >= %s AND u.path < %s GROUP BY 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, low, high])
        return {
            row[0]: dict(zip(codes, (int(v or 0) for v in row[1:]), strict=True)) for row in cursor.fetchall()
        }


def _cadre_compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    """The cadres of the subtree (as ``cadre_stats``' total: every cadre, whatever ``end``): one aggregate,
    no join (the province's total is an index-only count)."""
    total = _cadres_of(unit).aggregate(**_cadre_aggs(codes))
    return {code: total[code] or 0 for code in codes}


def _cadre_table(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> tuple[dict, dict]:
    """``cadre_stats``' rows (本级 when the unit has cadres of its own; every child, a closed one only when it
    still has cadres) and total, for the codes asked for."""
    grouped = _cadre_grouped(unit, codes, by_branch=True)
    units = [] if unit.path not in grouped else [unit]
    units += [c for c in children_of(unit) if c.path in grouped or not c.is_closed]
    rows = {code: {u.pk: (grouped.get(u.path) or {}).get(code, 0) for u in units} for code in codes}
    total = {code: sum(g[code] for g in grouped.values()) for code in codes}
    return rows, total


def _cadre_by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    return _cadre_table(unit, start, end, codes)[0]


CADRES = Source("orgs.cadre_stats", _cadre_compute, _cadre_by_child, table=_cadre_table, period_free=True)

register(
    "cadres_total", "妇联干部总数", "人", module="orgs", source=CADRES, rollup=LATEST, cap=Cap.VIEW_CADRES
)
for _key, _label, _ in EDUCATION_BANDS:
    register(
        f"cadres_{_key}",
        f"干部学历:{_label}",
        "人",
        module="orgs",
        source=CADRES,
        rollup=LATEST,
        cap=Cap.VIEW_CADRES,
    )
