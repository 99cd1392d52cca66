"""The statistics service: any set of registered indicators for (unit, period), broken down by child unit or by
month. The page, the API, the dashboard and the Word report all read these functions (one code path)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.orgs import statsql
from fulian.orgs.models import Kind, OrgUnit
from fulian.orgs.queries import access_unit
from fulian.supervision.indicators import EXPECTED_Q
from fulian.supervision.models import OPEN_STATUSES, Assignment

from . import registry
from .registry import Indicator


def access_stats_unit(actor, unit_id) -> OrgUnit:
    """The unit whose statistics are asked for, inside the actor's scope (the same audited 404 otherwise)."""
    return access_unit(actor, unit_id, Cap.VIEW_ORG)


def parse_codes(raw: str | None) -> list[str] | None:
    """``a,b,c`` from a query string → the codes (None: all); an unknown code is a ValidationError."""
    codes = [c.strip() for c in (raw or "").split(",") if c.strip()]
    if not codes:
        return None
    unknown = sorted(set(codes) - set(registry.known(codes)))
    if unknown:
        raise ValidationError({"codes": [f"未知的指标代码:{','.join(unknown)}"]})
    return codes


def visible_indicators(actor, unit: OrgUnit, codes: list[str] | None = None) -> list[Indicator]:
    """The registered indicators (``codes``: only these) whose capability the actor holds over ``unit``:
    a staff member gets no case figures, a caseworker no cadre figures."""
    wanted = registry.known(codes) if codes is not None else None
    return [
        ind
        for ind in registry.all_indicators()
        if (wanted is None or ind.code in wanted) and scope_for(actor, ind.cap).contains(unit)
    ]


def plain(value):
    """A JSON-friendly number: Decimal amounts as int/float; None and suppressed cells ("<3") unchanged."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@statsql.memo()
def compute(unit: OrgUnit, start: dt.date, end: dt.date, indicators: list[Indicator]) -> dict:
    """{code: value} over the subtree and period, one query per source."""
    values: dict = {}
    for source, codes in registry.by_source(i.code for i in indicators).items():
        values.update(source.compute(unit, start, end, codes))
    return values


@dataclass
class TableRow:
    unit: OrgUnit | None
    label: str
    values: dict = field(default_factory=dict)


@dataclass
class Table:
    unit: OrgUnit
    start: dt.date
    end: dt.date
    indicators: list[Indicator]
    rows: list[TableRow]
    total: TableRow


@statsql.memo()
def indicator_table(
    actor, unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str] | None = None
) -> Table:
    """One row per child unit (and "本级" when the unit has figures of its own) plus the subtree's total.

    ``unit`` must come from ``access_stats_unit``. The total is each indicator's own ``compute`` (not a sum of
    the rows: ratios, stocks and suppressed cells do not add up) — from the same query as the rows where the
    source offers ``table`` (one query per source instead of two)."""
    indicators = visible_indicators(actor, unit, codes)
    total: dict = {}
    by_child: dict[str, dict[int, object]] = {}
    for source, group in registry.by_source(i.code for i in indicators).items():
        if source.table is not None:  # rows and total from one query
            rows_of, total_of = source.table(unit, start, end, group)
        else:
            rows_of, total_of = (
                source.by_child(unit, start, end, group),
                source.compute(unit, start, end, group),
            )
        by_child.update(rows_of)
        total.update(total_of)
    total = {i.code: total[i.code] for i in indicators}  # registry order
    unit_ids = {pk for values in by_child.values() for pk in values}
    units = {c.pk: c for c in statsql.children(unit) if c.pk in unit_ids}
    rows = []
    if unit.pk in unit_ids:
        rows.append(TableRow(unit, f"{unit.name}(本级)", {}))
    rows += [TableRow(u, u.name, {}) for u in sorted(units.values(), key=lambda u: (u.sort_order, u.path))]
    for row in rows:
        row.values = {i.code: by_child.get(i.code, {}).get(row.unit.pk) for i in indicators}
    return Table(unit, start, end, indicators, rows, TableRow(None, "合计", total))


def months_of(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The calendar months of [start, end], clipped to it."""
    return registry.months(start, end)


@statsql.memo()
def by_month(
    actor, unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str] | None = None
) -> list[tuple[dt.date, dict]]:
    """[(first day of the month, {code: value})] for each month of the period (``unit`` from
    ``access_stats_unit``): one grouped query per source where the source offers ``by_month``, else its
    ``compute`` month by month. Each month's figures equal ``compute`` over that month (clipped to the
    period)."""
    indicators = visible_indicators(actor, unit, codes)
    months = months_of(start, end)
    out: list[tuple[dt.date, dict]] = [(low.replace(day=1), {}) for low, _ in months]
    for source, group in registry.by_source(i.code for i in indicators).items():
        if source.by_month is not None:
            grouped = source.by_month(unit, start, end, group)
            for first, values in out:
                values.update(grouped[first])
        else:
            for (low, high), (_, values) in zip(months, out, strict=True):
                values.update(source.compute(unit, low, high, group))
    order = [i.code for i in indicators]
    return [(first, {code: values[code] for code in order}) for first, values in out]


# --- the dashboard's lists ---------------------------------------------------------------------------------------


def late_assignments(unit: OrgUnit, today: dt.date | None = None, limit: int = 20) -> QuerySet[Assignment]:
    """逾期未报: assignments of units under ``unit`` still owed after their task's deadline (units closed before
    the deadline are not expected, as in ``reporting_rates``), the oldest deadline first."""
    today = today or timezone.localdate()
    return (
        Assignment.objects.under(unit)
        .filter(status__in=OPEN_STATUSES, task__deadline__lt=today)
        .filter(EXPECTED_Q)
        .select_related("task", "org_unit")
        .order_by("task__deadline", "org_unit__path")[:limit]
    )


VILLAGE_KINDS = (Kind.VILLAGE, Kind.COMMUNITY)
