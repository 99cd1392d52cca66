"""Writes of the reports app: only the audit trail of what was exported."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from fulian.audit.actions import Where, record
from fulian.orgs.models import OrgUnit


@transaction.atomic
def record_summary_export(actor, unit: OrgUnit, start: dt.date, end: dt.date, genre: str) -> None:
    record(
        actor,
        "reports.summary.export",
        obj=unit,
        where=Where.of(unit),
        detail={"genre": genre, "start": start.isoformat(), "end": end.isoformat()},
    )


@transaction.atomic
def record_table_export(actor, unit: OrgUnit, start, end, codes: list[str]) -> None:
    record(
        actor,
        "reports.table.export",
        obj=unit,
        where=Where.of(unit),
        detail={"start": start.isoformat(), "end": end.isoformat(), "codes": codes},
    )
