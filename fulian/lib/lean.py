"""Lean reads and inserts for the API's hot path: one hand-written SELECT whose rows become model instances with
the same values an ORM query would give (``Model.from_db`` after the backend's and the fields' converters), and
INSERTs of new rows with the values prepared as the ORM prepares them, without the ORM's per-query SQL
compilation — the largest single cost of a request that runs a dozen small statements.

Only for fixed statements run on every request (token + user + memberships, the intake's unit, the intake's case,
parties, timeline entry, audit event and idempotency row); the column lists come from the models' metadata, built
once per process per database vendor (immutable within a deploy)."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db import connections


def cursor(using: str = "default"):
    """A cursor for the fixed statements of the hot path (the reads and inserts here and their callers): on
    PostgreSQL each statement is prepared on the connection — parsed and planned once, then run by name with
    its values bound on the server — unless ``settings.DB_PREPARE_HOT`` is off (``FULIAN_DB_PREPARE_HOT=0``,
    behind a pooler that does not track prepared statements). Safe to plan once because these statements'
    best plan does not depend on their values (inserts, lookups by key or by a unique or equality index);
    statistics over path ranges, whose plan does, never come here (see settings, FULIAN_DB_PREPARED_STATEMENTS).
    Wrapped as Django wraps its own cursors, so query logging and the tests' query counts see every statement."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not settings.DB_PREPARE_HOT:
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's statement cache off unless asked (prepare_threshold=None): with it off, a
        # statement executed with prepare=True is prepared anew each time. Its own cursors bind on the client
        # and never prepare, so enabling the cache changes nothing for them.
        raw.prepare_threshold = 5
    return connection._prepare_cursor(_preparing_cursor_class()(raw))


@cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        """Django's server-binding cursor, every statement prepared (psycopg keeps them per connection)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)

    return PreparingCursor


@cache
def _layout(model, vendor: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = model._meta.concrete_fields
    return tuple(f.attname for f in fields), tuple(f.column for f in fields)


def columns(model, alias: str, using: str = "default") -> str:
    """``alias."col1", alias."col2", …`` — every concrete column of ``model`` in field order."""
    return _columns_sql(model, alias, connections[using].vendor)


@cache
def _columns_sql(model, alias: str, vendor: str) -> str:
    return ", ".join(f'{alias}."{c}"' for c in _layout(model, vendor)[1])


def _converters(model, using: str) -> tuple:
    connection = connections[using]
    return _converters_for(model, connection.vendor, using)


# Cached per process, shared by the threads of a gthread worker: the backend's converters are bound to the
# connection of the thread that built the cache but receive the caller's connection (PostgreSQL has none for these
# models; SQLite's read only settings through it), the fields' converters are the fields' own.
@cache
def _converters_for(model, vendor: str, using: str) -> tuple:
    connection = connections[using]
    table = model._meta.db_table
    out = []
    for i, f in enumerate(model._meta.concrete_fields):
        col = f.get_col(table)
        convs = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
        if convs:
            out.append((i, col, tuple(convs)))
    return tuple(out)


def build(model, row, start: int = 0, using: str = "default"):
    """The instance of ``model`` from ``row[start:]`` (laid out as ``columns(model, …)``), or None when its
    primary key is NULL (the missing side of a LEFT JOIN); and the index after its columns."""
    connection = connections[using]
    names = _layout(model, connection.vendor)[0]
    end = start + len(names)
    values = list(row[start:end])
    if values[0] is None:
        return None, end
    for i, col, convs in _converters(model, using):
        value = values[i]
        for conv in convs:
            value = conv(value, col, connection)
        values[i] = value
    return model.from_db(using, names, values), end


def insert(obj, using: str = "default") -> None:
    """``obj.save(force_insert=True)`` for a new row of an append-only model (no primary key yet) in one
    hand-written INSERT: each field's value prepared exactly as the ORM prepares it (``pre_save`` — e.g.
    ``auto_now_add`` — then ``get_db_prep_save``), the key read back; the statement's text is built once per
    model. A model with ``pre_save``/``post_save`` receivers, or a row that already has a key, goes through
    ``save()`` instead, so no signal is ever skipped. What a model's own ``save()`` override would add to the
    first INSERT is the caller's to know: use it only where that override adds nothing to a new row."""
    from django.db.models.signals import post_save, pre_save

    model = type(obj)
    if obj.pk is not None or pre_save.has_listeners(model) or post_save.has_listeners(model):
        obj.save(force_insert=True, using=using)
        return
    connection = connections[using]
    fields, sql, returning = _insert_plan(model, connection.vendor, using)
    obj._prepare_related_fields_for_save(operation_name="save")
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with cursor(using) as c:
        c.execute(sql, params)
        if returning:
            pk = c.fetchone()[0]
        else:
            pk = connection.ops.last_insert_id(c, model._meta.db_table, model._meta.pk.column)
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using


MANY_ROWS = 50  # more rows than this: bulk_create, which batches within the backend's parameter limit


def insert_many(objs: list, using: str = "default") -> list:
    """``Model.objects.bulk_create(objs)`` for a few new rows of one model in one hand-written multi-row INSERT:
    like ``bulk_create`` it sends no signals and prepares each value as the ORM does (``pre_save`` with
    ``add=True``, then ``get_db_prep_save``); the keys come back in the rows' order (``RETURNING``, as
    ``bulk_create`` relies on too). Rows that already have a key, or a backend that cannot return the keys of a
    multi-row INSERT, and more than ``MANY_ROWS`` rows, go through ``bulk_create``. Returns ``objs``."""
    if not objs:
        return objs
    model = type(objs[0])
    connection = connections[using]
    if (
        len(objs) > MANY_ROWS
        or any(obj.pk is not None or type(obj) is not model for obj in objs)
        or not connection.features.can_return_rows_from_bulk_insert
    ):
        return model._default_manager.using(using).bulk_create(objs)
    fields, sql = _insert_many_plan(model, connection.vendor, using, len(objs))
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with cursor(using) as c:
        c.execute(sql, params)
        keys = [row[0] for row in c.fetchall()]
    for obj, pk in zip(objs, keys, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
    return objs


@cache
def _insert_plan(model, vendor: str, using: str):
    connection = connections[using]
    q = connection.ops.quote_name
    pk = model._meta.pk
    fields = tuple(f for f in model._meta.concrete_fields if f is not pk)
    returning = connection.features.can_return_columns_from_insert
    sql = (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})" + (f" RETURNING {q(pk.column)}" if returning else "")
    )
    return fields, sql, returning


@cache
def _insert_many_plan(model, vendor: str, using: str, rows: int):
    q = connections[using].ops.quote_name
    pk = model._meta.pk
    fields = tuple(f for f in model._meta.concrete_fields if f is not pk)
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * rows)} RETURNING {q(pk.column)}"
    )
    return fields, sql
