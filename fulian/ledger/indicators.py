"""The ledger's figures for the statistics service (fulian.reports): every roll-up indicator of ``INDICATORS``,
live: whole months from the maintained tables — the unit's and its children's own monthly rows
(``LedgerMonthTotal``) and the children's rows of everything below them (``LedgerBranchMonth``), so a province
reads ~children × months rows — and the partial months at a period's edges from the records
(``totals.branch_sums``). The branch rows are always valid: the record writes and the unit moves keep them
(``totals.moved``), so there is no slower fallback to choose."""

from __future__ import annotations

import datetime as dt

from fulian.accounts.roles import Cap
from fulian.orgs import statsql
from fulian.orgs.models import OrgUnit
from fulian.reports.registry import SUM, Source, months, register

from .queries import INDICATORS, _zero
from .totals import branch_sums

# the measure word of each figure (the labels and aggregates themselves come from INDICATORS)
MEASURE = {
    "training_sessions": "期",
    "training_person_times": "人次",
    "activity_count": "次",
    "fair_count": "场",
    "fair_employers": "家",
    "fair_jobs": "个",
    "workpoint_count": "个",
    "service_count": "次",
    "service_amount": "元",
}


def _compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    _, values = branch_sums(unit, start, end, codes, by=None).get("", (0, {}))
    return {code: values.get(code) or _zero(code) for code in codes}


def _table(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> tuple[dict, dict]:
    """One row per child unit active in the period (+ the unit's own records when it has any, as ``rollup``
    shows them) and the total of the whole subtree (``_compute``'s), from one statement."""
    grouped = branch_sums(unit, start, end, codes, by="child")
    units = [(c.pk, c.path) for c in statsql.children_during(unit, start, end)]
    if grouped.get(unit.path, (0, {}))[0]:
        units.insert(0, (unit.pk, unit.path))
    rows = {
        code: {pk: (grouped.get(path) or (0, {}))[1].get(code, _zero(code)) for pk, path in units}
        for code in codes
    }
    total = {code: sum((v[1][code] for v in grouped.values()), _zero(code)) for code in codes}
    return rows, total


def _by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    return _table(unit, start, end, codes)[0]


def _by_month(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    grouped = branch_sums(unit, start, end, codes, by="month")
    out = {}
    for low, _ in months(start, end):
        values = (grouped.get(low.replace(day=1)) or (0, {}))[1]
        out[low.replace(day=1)] = {code: values.get(code) or _zero(code) for code in codes}
    return out


LEDGER = Source("ledger.rollup", _compute, _by_child, table=_table, by_month=_by_month)

for _key, _label, _, _ in INDICATORS:
    register(
        _key, _label, MEASURE.get(_key, "人"), module="ledger", source=LEDGER, rollup=SUM, cap=Cap.VIEW_WORK
    )
