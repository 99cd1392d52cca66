"""Hand-written statistics statements: the dialect pieces the modules' indicator sources share.

The statistics service (``fulian.reports``) asks a dozen small aggregate statements per page. Built through the
ORM, each costs 1–3 ms of Python (building the query, compiling it) for a statement that PostgreSQL answers in
a fraction of that: below a county the dashboard's Python was three times its database time. The sources'
statements are fixed in shape (only the unit, the period and the codes vary), so they are written here as SQL
text with parameters — the same statements the ORM produced (tests compare the figures with the ORM's
definitions), for PostgreSQL and SQLite. See docs/performance.md, "Reports at province scale", "Session 9:
hand-written statements".

Everything that varies is a parameter except names and numbers that come from our own code (table and column
names, path prefix lengths), never from input.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection

from fulian.lib import lean

from .models import OrgUnit
from .paths import prefix_length, subtree_range

UNITS = OrgUnit._meta.db_table
_DECIMAL = decimal.Context(prec=15)


def is_pg() -> bool:
    return connection.vendor == "postgresql"


def fetch(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def literals(values) -> str:
    """``'a', 'b'`` for ``IN (…)``: the choices of our own models (states, kinds …), never input — checked to be
    plain words, so that a value can never close the quote."""
    words = [str(value) for value in values]
    if not words or not all(re.fullmatch(r"\w+", word) for word in words):
        raise ValueError(f"not a list of plain words: {words!r}")
    return ", ".join(f"'{word}'" for word in words)


def ids_in(column: str, unit: OrgUnit, *, array: bool | None = None) -> tuple[str, list]:
    """``column`` among the ids of ``unit``'s subtree (the unit included): on PostgreSQL below the root
    ``= ANY(ARRAY(…))`` — one index probe per unit instead of a scan of the period that drops the rest (see
    ``fulian.orgs.paths.InSubquery``) —, else ``IN (…)``. ``array`` forces either form."""
    low, high = subtree_range(unit.path)
    ids = f"SELECT u0.id FROM {UNITS} u0 WHERE u0.path >= %s AND u0.path < %s"  # noqa: S608
    if array is None:
        array = unit.parent_id is not None
    if array and is_pg():
        return f"{column} = ANY(ARRAY({ids}))", [low, high]
    return f"{column} IN ({ids})", [low, high]


def family_in(column: str, unit: OrgUnit, *, children_only: bool = False) -> tuple[str, list]:
    """``column`` among the ids of ``unit`` and its children (``children_only``: the children)."""
    where = "u0.parent_id = %s" if children_only else "(u0.id = %s OR u0.parent_id = %s)"
    params = [unit.pk] if children_only else [unit.pk, unit.pk]
    ids = f"SELECT u0.id FROM {UNITS} u0 WHERE {where}"  # noqa: S608
    if is_pg():
        return f"{column} = ANY(ARRAY({ids}))", params
    return f"{column} IN ({ids})", params


def branch(path_column: str, unit: OrgUnit) -> str:
    """The child branch of a row below ``unit``: the first ``depth + 1`` segments of its unit's path."""
    return f"SUBSTR({path_column}, 1, {prefix_length(unit.depth + 1)})"


def month_of_date(column: str) -> str:
    """The first day of the month of a date column (a date on PostgreSQL, 'YYYY-MM-01' on SQLite)."""
    if is_pg():
        return f"CAST(DATE_TRUNC('month', {column}) AS date)"
    return f"strftime('%%Y-%%m-01', {column})"


def month_of_moment(column: str) -> tuple[str, tuple]:
    """The month of a datetime column in the current time zone (its first moment; ``TruncMonth``)."""
    from django.utils import timezone

    return connection.ops.datetime_trunc_sql("month", column, (), timezone.get_current_timezone_name())


def as_date(value) -> dt.date | None:
    """A date from what a date expression gives back (SQLite: text)."""
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def as_moment(value) -> dt.datetime | None:
    """An aware datetime from what a datetime column gives back (SQLite: naive UTC, or text)."""
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.make_aware(value, dt.UTC) if timezone.is_naive(value) else value


def as_decimal(value) -> decimal.Decimal | None:
    """A sum of a decimal column as the ORM gives it back (SQLite returns a float or an int: converted as
    Django's SQLite backend converts an aggregate's decimal, PostgreSQL a Decimal already)."""
    if value is None or isinstance(value, decimal.Decimal):
        return value
    return _DECIMAL.create_decimal_from_float(value) if isinstance(value, float) else decimal.Decimal(value)


def day_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end] (dates in the current time zone) as a half-open range of moments: a range on a datetime
    column itself, which an index can serve (``column__date`` converts every row)."""
    from django.utils import timezone

    tz = timezone.get_current_timezone()
    low = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    return low, dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def day_moments(start: dt.date, end: dt.date) -> tuple:
    """``day_range`` as the backend stores it, for a hand-written statement."""
    low, high = day_range(start, end)
    return moment(low), moment(high)


def moment(value: dt.datetime):
    """An aware datetime as the backend stores it (SQLite: UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


# --- one statistics request -------------------------------------------------------------------------------------
#
# Every source of a page asks for the unit's children (its rows), and the cases and cadre sources whether the
# unit is the only root. Inside ``memo()`` — the statistics service opens one per call of a page, the API, the
# .xlsx or the Word report — each is read once; outside it, every call reads afresh (so a test or a command
# that changes the tree between two calls never sees a stale answer).

_MEMO: ContextVar[dict | None] = ContextVar("fulian_statistics_memo", default=None)


@contextmanager
def memo() -> Iterator[None]:
    """Share the tree lookups of one statistics request between its sources (nested calls join the outer)."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _remember(key: tuple, read):
    store = _MEMO.get()
    if store is None:
        return read()
    if key not in store:
        store[key] = read()
    return store[key]


def children(unit: OrgUnit) -> list[OrgUnit]:
    """Every child of ``unit`` (closed ones too) in the tree's order (``orgs.queries.children_of``)."""

    def read() -> list[OrgUnit]:
        rows = fetch(
            f"SELECT {lean.columns(OrgUnit, 'c')} FROM {UNITS} c "  # noqa: S608
            "WHERE c.parent_id = %s ORDER BY c.sort_order, c.path",
            [unit.pk],
        )
        return [lean.build(OrgUnit, row)[0] for row in rows]

    return _remember(("children", unit.pk), read)


def children_on(unit: OrgUnit, day: dt.date) -> list[OrgUnit]:
    """The children that existed on ``day`` (``OrgUnitQuerySet.active_on``)."""
    return [
        c
        for c in children(unit)
        if (c.opened_on is None or c.opened_on <= day) and (c.closed_on is None or c.closed_on > day)
    ]


def children_during(unit: OrgUnit, start: dt.date, end: dt.date) -> list[OrgUnit]:
    """The children that existed at some point in [start, end] (``OrgUnitQuerySet.active_during``)."""
    return [
        c
        for c in children(unit)
        if (c.opened_on is None or c.opened_on <= end) and (c.closed_on is None or c.closed_on > start)
    ]


def whole_tree(unit: OrgUnit) -> bool:
    """Whether ``unit``'s subtree is every unit of the database (the only root): then a source needs no unit
    filter and reads the period alone (an index on the time column)."""
    if unit.parent_id is not None:
        return False
    return _remember(
        ("whole_tree", unit.pk),
        lambda: (
            not fetch(
                f"SELECT 1 FROM {UNITS} WHERE parent_id IS NULL AND id <> %s LIMIT 1",  # noqa: S608
                [unit.pk],
            )
        ),
    )
