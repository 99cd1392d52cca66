"""The maintained monthly figures (``LedgerMonthTotal``): what one record adds to its unit's month, the additive
upsert that the actions run in the same transaction as the record write, and the recomputation from the
records (``fulian ledger_rebuild_totals``).

A record's contribution is derived from ``queries.INDICATORS`` itself — ``Count`` → 1 and ``Sum(field)`` → the
field, when the record's kind is the indicator's — so a new indicator needs a column on the model (a migration)
and a rebuild, not a second list.

Concurrency: every change is ``INSERT … ON CONFLICT (org_unit_id, month) DO UPDATE SET col = col + excluded.col``,
one statement, so two writers adding to the same unit and month never lose an increment (PostgreSQL takes the
row lock inside the statement; SQLite serialises writers). Several rows in one statement go in (unit, month)
order, so two writers never wait on each other's rows crosswise; and the actions write here before their
audit event (whose chain-head row lock is held until commit), never after it, for the same reason. Rows that
fall back to all zero are kept: deleting them would race with a concurrent increment and gains nothing (a
rebuild drops them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth

from fulian.orgs.models import OrgUnit

from . import periods
from .models import LedgerMonthTotal, LedgerRecord
from .queries import INDICATORS, aggregates

Delta = dict[str, int | Decimal]
Key = tuple[int, dt.date]  # (org_unit_id, first day of the month)


def _sources() -> list[tuple[str, str, str | None]]:
    """(key, kind, record field or None for a count) per indicator, read off INDICATORS."""
    out = []
    for key, _, kind, agg in INDICATORS:
        if isinstance(agg, Count):
            out.append((key, str(kind), None))
        elif isinstance(agg, Sum):
            (source,) = agg.source_expressions
            if not isinstance(source, F):
                raise TypeError(f"indicator {key}: Sum over {source!r}, expected a field")
            out.append((key, str(kind), source.name))
        else:
            raise TypeError(f"indicator {key}: {type(agg).__name__} cannot be kept as a monthly total")
    return out


SOURCES = _sources()
KEYS = [key for key, _, _ in SOURCES]
COLUMNS = ["records", *KEYS]  # the table's figures: how many records, then one column per indicator
# what a record's contribution depends on: its unit, month, kind and the summed fields
CONTRIBUTION_FIELDS = ["org_unit_id", "date", "kind", *sorted({f for _, _, f in SOURCES if f})]

TABLE = LedgerMonthTotal._meta.db_table


def contribution(values: Mapping) -> Delta:
    """What one record (a mapping of CONTRIBUTION_FIELDS) adds to its unit's month, per indicator."""
    kind = str(values["kind"])
    return {
        key: (1 if name is None else values[name] or 0) for key, ind_kind, name in SOURCES if ind_kind == kind
    }


def record_values(rec: LedgerRecord) -> dict:
    return {name: getattr(rec, name) for name in CONTRIBUTION_FIELDS}


def stored_values(pk: int) -> dict | None:
    """The record as the database holds it, locked until the transaction ends (None: already gone)."""
    return LedgerRecord.objects.select_for_update().filter(pk=pk).values(*CONTRIBUTION_FIELDS).first()


@dataclass
class Deltas:
    """Changes per (unit, month), summed before they are written (one row per key and statement)."""

    rows: dict[Key, Delta] = field(default_factory=dict)

    def add(self, values: Mapping, sign: int = 1) -> Deltas:
        row = self.rows.setdefault((values["org_unit_id"], periods.month_start(values["date"])), {})
        row["records"] = row.get("records", 0) + sign
        for key, value in contribution(values).items():
            row[key] = row.get(key, 0) + sign * value
        return self

    def apply(self) -> int:
        """Write the changes with the additive upsert; returns the number of (unit, month) rows touched."""
        rows = [(k, d) for k, d in sorted(self.rows.items()) if any(d.values())]
        for start in range(0, len(rows), UPSERT_BATCH):
            _upsert(rows[start : start + UPSERT_BATCH])
        return len(rows)


UPSERT_BATCH = 500  # 20 parameters a row: 10,000 per statement, well under SQLite's 32,766


def _upsert(rows: list[tuple[Key, Delta]]) -> None:
    qn = connection.ops.quote_name
    ops = connection.ops
    columns = ["org_unit_id", "month", *COLUMNS]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params: list = []
    for (unit_id, month), delta in rows:
        params += [unit_id, ops.adapt_datefield_value(month)]
        for key in COLUMNS:
            value = delta.get(key, 0)
            params.append(ops.adapt_decimalfield_value(value) if isinstance(value, Decimal) else value)
    updates = ", ".join(f"{qn(k)} = {qn(TABLE)}.{qn(k)} + excluded.{qn(k)}" for k in COLUMNS)
    sql = (
        f"INSERT INTO {qn(TABLE)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608 (names are ours)
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({qn('org_unit_id')}, {qn('month')}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- recomputation -----------------------------------------------------------------------------------------


def _unit_ids(unit: OrgUnit, include_subtree: bool) -> Subquery | list[int]:
    if not include_subtree:
        return [unit.pk]
    return Subquery(OrgUnit.objects.under(unit).order_by().values("pk"))


def computed(unit_ids) -> QuerySet:
    """The monthly figures of the given units, computed from the records: rows of
    (org_unit_id, month, *COLUMNS), zeros rather than NULLs."""
    return (
        LedgerRecord.objects.filter(org_unit_id__in=unit_ids)
        .annotate(month=TruncMonth("date"))
        .values("org_unit_id", "month")
        .annotate(records=Count("id"), **aggregates(KEYS, default=True))
        .order_by()
    )


def _lock_for_rebuild() -> None:
    """PostgreSQL: hold off the actions' upserts while a branch is recomputed. A writer that committed before
    the lock is in the recomputation's snapshot; one that has not yet upserted waits here and adds its record
    on top afterwards. (SQLite: the write transaction already excludes every other writer.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {connection.ops.quote_name(TABLE)} IN SHARE ROW EXCLUSIVE MODE")


def rebuild_units(unit: OrgUnit, *, include_subtree: bool) -> int:
    """Replace the rows of ``unit`` (and its subtree) by the records' figures, in one transaction; returns the
    number of rows written. One INSERT … SELECT … GROUP BY org_unit_id, month."""
    qn = connection.ops.quote_name
    with transaction.atomic():
        _lock_for_rebuild()
        LedgerMonthTotal.objects.filter(org_unit_id__in=_unit_ids(unit, include_subtree)).delete()
        select, params = computed(_unit_ids(unit, include_subtree)).query.sql_with_params()
        columns = ", ".join(qn(c) for c in ["org_unit_id", "month", *COLUMNS])
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {qn(TABLE)} ({columns}) {select}", params)  # noqa: S608
            return cursor.rowcount


def rebuild(unit: OrgUnit) -> dict:
    """Recompute ``unit``'s subtree: the unit's own rows, then one transaction per child branch."""
    rows = rebuild_units(unit, include_subtree=False)
    branches = 1
    for child in OrgUnit.objects.filter(parent=unit).order_by("path"):
        rows += rebuild_units(child, include_subtree=True)
        branches += 1
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:  # the planner's row estimates, after rewriting the whole table
            cursor.execute(f"ANALYZE {connection.ops.quote_name(TABLE)}")
    return {"rows": rows, "branches": branches}


@dataclass(frozen=True)
class Difference:
    unit: str  # the unit's code
    unit_name: str
    month: dt.date
    key: str
    table: int | Decimal
    records: int | Decimal


def _zero_row() -> Delta:
    return {k: Decimal("0.00") if k == "service_amount" else 0 for k in COLUMNS}


def differences(unit: OrgUnit, limit: int | None = None) -> list[Difference]:
    """Where the table and the records disagree in ``unit``'s subtree (an all-zero row equals no row). Both
    reads see one snapshot (REPEATABLE READ on PostgreSQL), so writes going on meanwhile cause no false
    alarm."""
    outermost = not connection.in_atomic_block  # else the caller's transaction decides
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        ids = _unit_ids(unit, include_subtree=True)
        expected = {(r.pop("org_unit_id"), r.pop("month")): r for r in computed(ids)}
        stored = {
            (r.pop("org_unit_id"), r.pop("month")): r
            for r in LedgerMonthTotal.objects.filter(org_unit_id__in=ids).values(
                "org_unit_id", "month", *COLUMNS
            )
        }
    out: list[tuple[Key, str, object, object]] = []
    for key in sorted(set(expected) | set(stored)):
        want, have = expected.get(key) or _zero_row(), stored.get(key) or _zero_row()
        for name in COLUMNS:
            if (want[name] or 0) != (have[name] or 0):
                out.append((key, name, have[name], want[name]))
    units = dict(OrgUnit.objects.filter(pk__in={k[0] for k, _, _, _ in out}).values_list("pk", "code"))
    names = dict(OrgUnit.objects.filter(pk__in=units).values_list("pk", "name"))
    diffs = [
        Difference(units.get(uid, str(uid)), names.get(uid, ""), month, name, have, want)
        for (uid, month), name, have, want in out
    ]
    return diffs[:limit] if limit else diffs


def deltas_for(records: Iterable[Mapping], sign: int = 1) -> Deltas:
    deltas = Deltas()
    for values in records:
        deltas.add(values, sign)
    return deltas
