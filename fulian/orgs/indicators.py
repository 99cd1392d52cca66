"""The org tree's figures for the statistics service (fulian.reports): units by kind, coverage, cadres.

Both are stocks on the period's last day (rollup "latest"), from the same queries as the tree and cadre pages.
"""

from __future__ import annotations

import datetime as dt

from fulian.accounts.roles import Cap
from fulian.reports.registry import LATEST, RATIO, Source, register

from . import statsql
from .models import Cadre, Kind, OrgUnit
from .paths import subtree_range
from .queries import EDUCATION_BANDS, TreeRow, tree_overview, unit_counts

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
    total = TreeRow(unit=None, label="合计")
    by_kind = any(code in UNIT_CODES for code in codes)
    for _, kind, n, est in unit_counts(unit, end, by_branch=False, by_kind=by_kind):
        if by_kind:
            total.by_kind[kind] = n
        total.total += n
        total.established += est
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


CADRE_TABLE = Cadre._meta.db_table


def _cadre_counts(codes: list[str]) -> str:
    """Only the counts asked for (the dashboard asks for the total: no twelve filtered counts per row as in
    ``cadre_stats``, which computes the age bands of every cadre too); the same definitions. Counts of
    org_unit_id (never null, in its index), so that the total is an index-only count."""
    out = []
    for code in codes:
        if code in EDUCATION:
            values = statsql.literals(EDUCATION[code])
            out.append(f"COUNT(CASE WHEN c0.education IN ({values}) THEN 1 END) AS {code}")
        else:
            out.append(f"COUNT(c0.org_unit_id) AS {code}")
    return ", ".join(out)


def _cadres_of(unit: OrgUnit) -> tuple[str, list]:
    """FROM and WHERE of the subtree's cadres (alias c0): the only root reads them all."""
    if statsql.whole_tree(unit):
        return f"FROM {CADRE_TABLE} c0", []
    where, params = statsql.ids_in("c0.org_unit_id", unit, array=False)
    return f"FROM {CADRE_TABLE} c0 WHERE {where}", params


def _cadre_grouped(unit: OrgUnit, codes: list[str], by_branch: bool) -> dict:
    """{branch path (or ""): {code: count}}: the cadres counted per unit first (an index scan of the cadres
    alone, no join per cadre; MATERIALIZED, so the planner — which cannot estimate how many units a path range
    holds — does not re-run it per unit), then those per-unit counts joined to the subtree's units and summed
    per child branch in the same statement (~140,000 cadres, ~25,000 units with cadres in the province)."""
    cadres, params = _cadres_of(unit)
    low, high = subtree_range(unit.path)
    group = statsql.branch("u.path", unit) if by_branch else "''"
    sums = ", ".join(f"SUM(c.{code})" for code in codes)
    rows = statsql.fetch(
        f"WITH c AS MATERIALIZED (SELECT c0.org_unit_id, {_cadre_counts(codes)} {cadres} "  # noqa: S608
        f"GROUP BY c0.org_unit_id) SELECT {group}, {sums} FROM c JOIN {statsql.UNITS} u "
        "ON u.id = c.org_unit_id WHERE u.path >= %s AND u.path < %s GROUP BY 1",
        [*params, low, high],
    )
    return {row[0]: dict(zip(codes, (int(v or 0) for v in row[1:]), strict=True)) for row in rows}


def _cadre_compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    """The cadres of the subtree (as ``cadre_stats``' total: every cadre, whatever ``end``): one aggregate,
    no join (the province's total is an index-only count)."""
    cadres, params = _cadres_of(unit)
    (row,) = statsql.fetch(f"SELECT {_cadre_counts(codes)} {cadres}", params)  # noqa: S608
    return {code: int(value or 0) for code, value in zip(codes, row, strict=True)}


def _cadre_table(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> tuple[dict, dict]:
    """``cadre_stats``' rows (本级 when the unit has cadres of its own; every child, a closed one only when it
    still has cadres) and total, for the codes asked for."""
    grouped = _cadre_grouped(unit, codes, by_branch=True)
    units = [] if unit.path not in grouped else [unit]
    units += [c for c in statsql.children(unit) if c.path in grouped or not c.is_closed]
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
