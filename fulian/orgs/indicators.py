"""The org tree's figures for the statistics service (fulian.reports): units by kind, coverage, cadres.

Both are stocks on the period's last day (rollup "latest"), from the same queries as the tree and cadre pages.
"""

from __future__ import annotations

import datetime as dt

from fulian.accounts.roles import Cap
from fulian.reports.registry import LATEST, RATIO, Source, register

from .models import Kind, OrgUnit
from .queries import EDUCATION_BANDS, cadre_stats, tree_overview

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
    _, total, _ = tree_overview(unit, end)
    return {code: _tree_value(total, code) for code in codes}


def _tree_by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    rows, _, _ = tree_overview(unit, end)
    return {code: {r.unit.pk: _tree_value(r, code) for r in rows} for code in codes}


TREE = Source("orgs.tree_overview", _tree_compute, _tree_by_child)

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


def _cadre_compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    _, total = cadre_stats(unit, end)
    return {code: total.values[CADRE_CODES[code]] for code in codes}


def _cadre_by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    rows, _ = cadre_stats(unit, end)
    return {code: {r.unit.pk: r.values[CADRE_CODES[code]] for r in rows} for code in codes}


CADRES = Source("orgs.cadre_stats", _cadre_compute, _cadre_by_child)

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
