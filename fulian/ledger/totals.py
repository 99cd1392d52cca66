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

One level coarser, ``LedgerBranchMonth`` holds per unit below the root and month the figures of everything
strictly below it; ``Deltas.apply`` adds each delta to every such ancestor with one more statement (a recursive
walk up ``parent_id``, rows in (ancestor, month) order, after the unit's own rows), so a province's year is read
from ~children × months rows (``branch_sums``). A unit move (``orgs.actions.move_unit``) keeps those rows right
in its own transaction through the hooks ``moving`` (the lock, first) and ``moved`` (registered through
``fulian.orgs.hooks`` in ``LedgerConfig.ready``): the moved subtree's figures leave the old ancestors' rows and
join the new ones'. So the rows are always valid and always read; ``rebuild_branches`` is for restores and the
bulk generators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth

from fulian.orgs import statsql
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import subtree_q

from . import periods
from .models import LedgerBranchMonth, LedgerMonthTotal, LedgerRecord
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
BRANCH_TABLE = LedgerBranchMonth._meta.db_table
UNIT_TABLE = OrgUnit._meta.db_table
RECORD_TABLE = LedgerRecord._meta.db_table
_SOURCE_OF = {key: (kind, field) for key, kind, field in SOURCES}


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
        """Write the changes with the additive upsert: the units' own rows (LedgerMonthTotal), then their
        ancestors' rows (LedgerBranchMonth, one more statement per batch); returns the number of
        (unit, month) rows of the units touched."""
        rows = [(k, d) for k, d in sorted(self.rows.items()) if any(d.values())]
        for start in range(0, len(rows), UPSERT_BATCH):
            _upsert(rows[start : start + UPSERT_BATCH])
        for start in range(0, len(rows), UPSERT_BATCH):
            _upsert_branches(rows[start : start + UPSERT_BATCH])
        return len(rows)


UPSERT_BATCH = 500  # 20 parameters a row: 10,000 per statement, well under SQLite's 32,766


def _upsert(rows: list[tuple[Key, Delta]], table: str = TABLE) -> None:
    """Add each (unit, month) delta to that row of ``table`` (``TABLE`` or ``BRANCH_TABLE``: the same columns
    and unique key), inserting it when missing; one statement, rows in the order given."""
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
    updates = ", ".join(f"{qn(k)} = {qn(table)}.{qn(k)} + excluded.{qn(k)}" for k in COLUMNS)
    sql = (
        f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608 (names are ours)
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({qn('org_unit_id')}, {qn('month')}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _upsert_branches(rows: list[tuple[Key, Delta]]) -> None:
    """Add each (unit, month) delta to the LedgerBranchMonth rows of every ancestor of the unit below the root,
    in one statement: the ancestors by a recursive walk up ``parent_id`` (primary-key lookups, any depth), the
    deltas summed per (ancestor, month) and written in (ancestor, month) order — the order every writer takes
    these rows in, after its own LedgerMonthTotal rows, so two writers never wait on each other crosswise."""
    qn = connection.ops.quote_name
    ops = connection.ops
    names = ["unit", "month", *COLUMNS]
    date_cast = "CAST(%s AS date)" if connection.vendor == "postgresql" else "%s"
    numeric = "CAST(%s AS numeric)" if connection.vendor == "postgresql" else "%s"
    row_sql = (
        "("
        + ", ".join(["%s", date_cast, *[numeric if k == "service_amount" else "%s" for k in COLUMNS]])
        + ")"
    )
    params: list = []
    for (unit_id, month), delta in rows:
        params += [unit_id, ops.adapt_datefield_value(month)]
        for key in COLUMNS:
            value = delta.get(key, 0)
            params.append(ops.adapt_decimalfield_value(value) if isinstance(value, Decimal) else value)
    updates = ", ".join(f"{qn(k)} = {qn(BRANCH_TABLE)}.{qn(k)} + excluded.{qn(k)}" for k in COLUMNS)
    sums = ", ".join(f"SUM(d.{qn(k)})" for k in COLUMNS)
    columns = ", ".join(qn(c) for c in ["org_unit_id", "month", *COLUMNS])
    sql = (
        f"WITH RECURSIVE d({', '.join(qn(n) for n in names)}) AS (VALUES {', '.join([row_sql] * len(rows))}), "  # noqa: S608
        f"anc(unit, id) AS ("
        f"SELECT o.id, o.parent_id FROM {qn(UNIT_TABLE)} o WHERE o.id IN (SELECT unit FROM d) "
        f"AND o.parent_id IS NOT NULL "
        f"UNION ALL SELECT anc.unit, o.parent_id FROM anc JOIN {qn(UNIT_TABLE)} o ON o.id = anc.id "
        f"WHERE o.parent_id IS NOT NULL) "
        f"INSERT INTO {qn(BRANCH_TABLE)} ({columns}) "
        f"SELECT a.id, d.month, {sums} FROM d JOIN anc ON anc.unit = d.unit "
        f"JOIN {qn(UNIT_TABLE)} a ON a.id = anc.id WHERE a.parent_id IS NOT NULL "
        f"GROUP BY a.id, d.month ORDER BY a.id, d.month "
        f"ON CONFLICT ({qn('org_unit_id')}, {qn('month')}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def moving(unit: OrgUnit, new_parent: OrgUnit) -> None:
    """The ``orgs.hooks.unit_moving`` hook: take ``moved``'s lock before the move locks any unit row. Taken
    only in ``moved``, after the rewrite, it deadlocks with a writer that upserted before the move began: the
    writer's deferred foreign-key checks at COMMIT take a share lock on its unit (a moved one, locked by the
    move) while it holds the table lock the move waits for. In this order the move waits for such writers to
    commit before it locks a unit, and the writers after it hold no unit row lock (their foreign keys are
    checked only at their COMMIT) while they wait for the move."""
    _lock_for_rebuild()


def moved(unit: OrgUnit, old_ancestor_ids: list[int], new_ancestor_ids: list[int]) -> None:
    """The ``orgs.hooks.unit_moved`` hook: ``unit`` (already at its new path, in ``move_unit``'s transaction)
    took its subtree from under ``old_ancestor_ids`` to under ``new_ancestor_ids``. The subtree's own figures
    per month S (one GROUP BY month over LedgerMonthTotal, the subtree by the unit's new path prefix) leave
    the LedgerBranchMonth rows of every old ancestor that is not also a new one (−S) and join those of every
    new ancestor that is not also an old one (+S), with the additive upsert, rows in (ancestor, month) order;
    roots (``parent_id`` NULL) keep no row. The ancestors both before and after (the common part of the two
    paths) hold the subtree either way, and the units inside the subtree keep their rows: what lies below
    them did not change.

    Concurrency (PostgreSQL): first the rebuild's lock (``_lock_for_rebuild``: SHARE ROW EXCLUSIVE on
    LedgerMonthTotal, which every record write takes ROW EXCLUSIVE on with its first upsert and holds until
    commit) — already taken by ``moving`` at the start of the move, so this is a no-op there. Taking it waits
    until every writer that already upserted has committed; those walked up the tree as it was before this
    move (the move's rewrite was not even begun, let alone committed), so their records sit in the old
    ancestors' rows — and, committed before our statements start, in S too: −S takes them out again exactly.
    A writer that upserts after we hold the lock waits until the move commits; its branch statement then reads
    the moved tree and adds to the new ancestors, and its record is not in our S. Either way every record is
    counted once, under the ancestors it has at the end. A concurrent ``rebuild_branches`` or
    ``rebuild_units`` takes the same lock, so it runs wholly before (we adjust its result) or wholly after (it
    reads the moved tree). (SQLite: the write transaction already excludes every other writer.)"""
    _lock_for_rebuild()
    gone = set(old_ancestor_ids) - set(new_ancestor_ids)
    added = set(new_ancestor_ids) - set(old_ancestor_ids)
    targets = set(
        OrgUnit.objects.filter(pk__in=gone | added, parent__isnull=False).values_list("pk", flat=True)
    )
    if not targets:
        return
    subtree = (
        LedgerMonthTotal.objects.filter(subtree_q([unit.path], "org_unit__path"))
        .values("month")
        .annotate(**{k: Sum(k) for k in COLUMNS})
        .order_by("month")
    )
    months = [(row.pop("month"), row) for row in subtree]
    months = [(month, row) for month, row in months if any(row.values())]
    rows: list[tuple[Key, Delta]] = []
    for ancestor in sorted(targets):
        sign = -1 if ancestor in gone else 1
        rows += [((ancestor, month), {k: sign * (v or 0) for k, v in row.items()}) for month, row in months]
    for start in range(0, len(rows), UPSERT_BATCH):
        _upsert(rows[start : start + UPSERT_BATCH], BRANCH_TABLE)


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
    """PostgreSQL: hold off the actions' upserts while a branch is recomputed (or a unit moves: ``moving``). A
    writer that committed before the lock is in the recomputation's snapshot; one that has not yet upserted
    waits here and adds its record on top afterwards. (SQLite: the write transaction already excludes every
    other writer.)"""
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
    """Recompute ``unit``'s subtree: the unit's own rows, then one transaction per child branch; then the
    whole LedgerBranchMonth table from the monthly rows (``rebuild_branches``)."""
    rows = rebuild_units(unit, include_subtree=False)
    branches = 1
    for child in OrgUnit.objects.filter(parent=unit).order_by("path"):
        rows += rebuild_units(child, include_subtree=True)
        branches += 1
    branch_rows = rebuild_branches()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:  # the planner's row estimates, after rewriting the whole table
            cursor.execute(
                f"ANALYZE {connection.ops.quote_name(TABLE)}, {connection.ops.quote_name(BRANCH_TABLE)}"
            )
    return {"rows": rows, "branches": branches, "branch_rows": branch_rows}


def rebuild_branches(*, from_records: bool = True) -> int:
    """Recompute LedgerBranchMonth level by level from the deepest units up (each level's rows: its units' own
    figures plus their own below-rows, summed per parent), in one transaction that holds off the actions'
    upserts (and unit moves) on PostgreSQL. The units' own figures come from the records (aggregated once into
    a temporary table), or with ``from_records=False`` from LedgerMonthTotal (the bulk generator, right after
    rebuilding that table from the records). The actions and the moves keep the table right on their own:
    this is for restores, bulk loads and the proof."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in ["org_unit_id", "month", *COLUMNS])
    sums = ", ".join(f"SUM(x.{qn(k)})" for k in COLUMNS)
    own = qn(TABLE)
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the writers' order: the monthly rows, then the branch rows
            cursor.execute(f"LOCK TABLE {qn(TABLE)} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"LOCK TABLE {qn(BRANCH_TABLE)} IN SHARE ROW EXCLUSIVE MODE")
        LedgerBranchMonth.objects.all().delete()
        if from_records:
            own = "fulian_ledger_own_months"
            select, params = computed(
                Subquery(OrgUnit.objects.order_by().values("pk"))
            ).query.sql_with_params()
            cursor.execute(f"DROP TABLE IF EXISTS {own}")
            cursor.execute(f"CREATE TEMPORARY TABLE {own} AS {select}", params)  # noqa: S608
        deepest = OrgUnit.objects.order_by("-depth").values_list("depth", flat=True).first() or 0
        for depth in range(deepest, 1, -1):  # units at ``depth`` add up into their parents (depth - 1)
            cursor.execute(
                f"INSERT INTO {qn(BRANCH_TABLE)} ({columns}) "  # noqa: S608 (names are ours)
                f"SELECT c.parent_id, x.month, {sums} FROM ("
                f"SELECT {columns} FROM {own} UNION ALL SELECT {columns} FROM {qn(BRANCH_TABLE)}"
                f") x JOIN {qn(UNIT_TABLE)} c ON c.id = x.org_unit_id "
                f"JOIN {qn(UNIT_TABLE)} p ON p.id = c.parent_id "
                f"WHERE c.depth = %s AND p.parent_id IS NOT NULL GROUP BY c.parent_id, x.month",
                [depth],
            )
            written += max(cursor.rowcount, 0)
        if from_records:
            cursor.execute(f"DROP TABLE {own}")
    return written


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
    """Where the tables and the records disagree in ``unit``'s subtree (an all-zero row equals no row): the
    units' own monthly rows, and the below-rows of the subtree's units, column names prefixed ``below.``. All
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
        # the branch rows of the subtree's units below the root, from the same snapshot
        parents = dict(OrgUnit.objects.under(unit).values_list("pk", "parent_id"))
        stored_below = {
            (r.pop("org_unit_id"), r.pop("month")): r
            for r in LedgerBranchMonth.objects.filter(org_unit_id__in=ids).values(
                "org_unit_id", "month", *COLUMNS
            )
        }
    out: list[tuple[Key, str, object, object]] = []
    for key in sorted(set(expected) | set(stored)):
        want, have = expected.get(key) or _zero_row(), stored.get(key) or _zero_row()
        for name in COLUMNS:
            if (want[name] or 0) != (have[name] or 0):
                out.append((key, name, have[name], want[name]))
    # expected below-rows: every unit's records added into its ancestors within the subtree (roots excluded)
    expected_below: dict[Key, dict] = {}
    for (uid, month), row in expected.items():
        ancestor = parents.get(uid)
        while ancestor is not None and ancestor in parents and parents[ancestor] is not None:
            acc = expected_below.setdefault((ancestor, month), _zero_row())
            for name in COLUMNS:
                acc[name] += row[name] or 0
            ancestor = parents[ancestor]
    for key in sorted(set(expected_below) | set(stored_below)):
        want, have = expected_below.get(key) or _zero_row(), stored_below.get(key) or _zero_row()
        for name in COLUMNS:
            if (want[name] or 0) != (have[name] or 0):
                out.append((key, f"below.{name}", have[name], want[name]))
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


# --- reads -------------------------------------------------------------------------------------------------


def branch_sums(unit: OrgUnit, start: dt.date, end: dt.date, keys: list[str], *, by: str | None) -> dict:
    """The indicators ``keys`` over ``unit``'s subtree and [start, end] as {group: (records, values)}, group
    being the path prefix of the child unit (``by="child"``; the unit's own path for its own records), the
    first day of the month (``by="month"``) or "" (``by=None``) — read from the unit's and its children's own
    monthly rows, the children's LedgerBranchMonth rows and, for partial months at the period's edges, the
    records of the subtree: one statement (``UNION ALL``) touching ~(children + 1) × months table rows
    whatever the size of the subtree. Hand-written (``fulian.orgs.statsql``): the statistics pages ask it
    several times per request, and the ORM's compilation cost more than the database's work."""
    from .queries import _split, _zero

    keys = [k for k in KEYS if k in keys]  # one column order for every part of the UNION
    split = _split(start, end)
    grouped = by in ("child", "month")

    def group(path_column: str, month_sql: str) -> str:
        if by == "child":
            return statsql.branch(path_column, unit)
        if by == "month":
            return month_sql
        return "''"

    parts: list[str] = []
    params: list = []
    if split.days:
        where, where_params = statsql.ids_in("r.org_unit_id", unit)
        days = " OR ".join("(r.date >= %s AND r.date <= %s)" for _ in split.days)
        join = f" JOIN {UNIT_TABLE} u ON u.id = r.org_unit_id" if by == "child" else ""
        parts.append(
            f"SELECT {group('u.path', statsql.month_of_date('r.date'))} AS g, COUNT(r.id) AS n"  # noqa: S608
            + "".join(f", {_record_sum(key)}" for key in keys)
            + f" FROM {RECORD_TABLE} r{join} WHERE {where} AND ({days})"
            + (" GROUP BY 1" if grouped else "")
        )
        params += where_params + [d for pair in split.days for d in pair]
    if split.months:
        for table, children_only in ((TABLE, False), (BRANCH_TABLE, True)):
            where, where_params = statsql.family_in("t.org_unit_id", unit, children_only=children_only)
            join = f" JOIN {UNIT_TABLE} u ON u.id = t.org_unit_id" if by == "child" else ""
            parts.append(
                f"SELECT {group('u.path', 't.month')} AS g, SUM(t.records) AS n"  # noqa: S608
                + "".join(f", SUM(t.{key})" for key in keys)
                + f" FROM {table} t{join} WHERE {where} AND t.month BETWEEN %s AND %s"
                + (" GROUP BY 1" if grouped else "")
            )
            params += [*where_params, *split.months]
    out: dict = {}
    if not parts:
        return out
    decimals = [i for i, key in enumerate(keys) if isinstance(_zero(key), Decimal)]
    for g, n, *values in statsql.fetch(" UNION ALL ".join(parts), params):
        if by == "month":
            g = statsql.as_date(g).replace(day=1)
        for i in decimals:
            values[i] = statsql.as_decimal(values[i])
        count, acc = out.get(g) or (0, {k: _zero(k) for k in keys})
        for k, v in zip(keys, values, strict=True):
            acc[k] += v or 0
        out[g] = (count + (n or 0), acc)
    return out


def _record_sum(key: str) -> str:
    """The record-level aggregate of one indicator (``queries.INDICATORS``: a count or a sum of one kind)."""
    kind, field = _SOURCE_OF[key]
    if field is None:
        return f"COUNT(CASE WHEN r.kind = '{kind}' THEN 1 END)"
    column = LedgerRecord._meta.get_field(field).column
    return f"SUM(CASE WHEN r.kind = '{kind}' THEN r.{column} END)"
