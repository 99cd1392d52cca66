"""The ledger's figures for the statistics service (fulian.reports): every roll-up indicator of ``INDICATORS``,
computed by ``totals`` and ``rollup`` (live: monthly totals + the edge days from the records)."""

from __future__ import annotations

import datetime as dt

from fulian.accounts.roles import Cap
from fulian.orgs.models import OrgUnit
from fulian.reports.registry import SUM, Source, register

from .queries import INDICATORS, rollup, totals

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
    return totals(unit, start, end, codes)


def _by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    rows, _ = rollup(unit, start, end, keys=codes)
    return {code: {r.unit.pk: r.values[code] for r in rows} for code in codes}


LEDGER = Source("ledger.rollup", _compute, _by_child)

for _key, _label, _, _ in INDICATORS:
    register(
        _key, _label, MEASURE.get(_key, "人"), module="ledger", source=LEDGER, rollup=SUM, cap=Cap.VIEW_WORK
    )
