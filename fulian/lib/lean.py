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
    if connection.vendor != "postgresql":
        return connection.cursor()
    _cache_hot_conversions()
    if not settings.DB_PREPARE_HOT:
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's statement cache off unless asked (prepare_threshold=None): with it off, a
        # statement executed with prepare=True is prepared anew each time. Its own cursors bind on the client
        # and never prepare, so enabling the cache changes nothing for them.
        raw.prepare_threshold = 5
    return connection._prepare_cursor(_preparing_cursor_class()(raw))


# psycopg translates a statement's %s placeholders into $n with a regex pass over its text and a part per
# parameter, and caches the result (an LRU of 128) only for statements of at most 50 parameters: ORMs generate
# multi-row INSERTs of every size, which would only churn it. The hot path's statements have fixed shapes, and the
# intake's one INSERT of a case, its parties and its entry has 62–92 parameters: translated afresh on every
# request, that cost 1.4 million instructions per intake (12 % of its Python, measured with callgrind). The limit
# is raised to HOT_PARAMS for the process (a bulk_create batch still stays out). psycopg is pinned, and
# fulian/lib/tests/test_lean.py fails if the name it sets is gone or no longer used.
HOT_PARAMS = 160


@cache
def _cache_hot_conversions() -> None:
    from psycopg import _queries

    if _queries.MAX_CACHED_STATEMENT_PARAMS < HOT_PARAMS:
        _queries.MAX_CACHED_STATEMENT_PARAMS = HOT_PARAMS


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


def _plain(obj) -> bool:
    """Whether ``obj`` may be written by a plain INSERT: a new row (no key) of a model without ``pre_save`` or
    ``post_save`` receivers (the ORM would send those signals)."""
    from django.db.models.signals import post_save, pre_save

    model = type(obj)
    return obj.pk is None and not pre_save.has_listeners(model) and not post_save.has_listeners(model)


def _saved(obj, pk, using: str) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using


def insert(obj, using: str = "default", *, along: tuple[str, list] | None = None) -> int | None:
    """``obj.save(force_insert=True)`` for a new row of an append-only model (no primary key yet) in one
    hand-written INSERT: each field's value prepared exactly as the ORM prepares it (``pre_save`` — e.g.
    ``auto_now_add`` — then ``get_db_prep_save``), the key read back; the statement's text is built once per
    model. A model with ``pre_save``/``post_save`` receivers, or a row that already has a key, goes through
    ``save()`` instead, so no signal is ever skipped. What a model's own ``save()`` override would add to the
    first INSERT is the caller's to know: use it only where that override adds nothing to a new row.

    ``along``: an UPDATE or INSERT (sql, params) to run with it — in the same statement on PostgreSQL (a
    data-modifying CTE: one round trip instead of two), right after it elsewhere; returns the number of rows that
    statement touched (None without one)."""
    model = type(obj)
    connection = connections[using]
    if not _plain(obj):
        obj.save(force_insert=True, using=using)
        return None if along is None else _run(along, using)
    fields, sql, returning = _insert_plan(model, connection.vendor, using)
    obj._prepare_related_fields_for_save(operation_name="save")
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    touched = None
    with cursor(using) as c:
        if along is not None and returning and connection.vendor == "postgresql":
            c.execute(
                f"WITH along AS ({along[0]} RETURNING 1) {sql}, (SELECT count(*) FROM along)",  # noqa: S608 (fixed)
                [*along[1], *params],
            )
            pk, touched = c.fetchone()
        else:
            c.execute(sql, params)
            if returning:
                pk = c.fetchone()[0]
            else:
                pk = connection.ops.last_insert_id(c, model._meta.db_table, model._meta.pk.column)
    _saved(obj, pk, using)
    if along is not None and touched is None:
        touched = _run(along, using)
    return touched


def _run(statement: tuple[str, list], using: str) -> int:
    with cursor(using) as c:
        c.execute(*statement)
        return c.rowcount


def insert_family(parent, *groups: list, using: str = "default") -> None:
    """``insert(parent)``, then ``insert_many(group)`` for each group of new rows whose foreign key points to
    ``parent`` (set as ``Child(parent_field=parent)`` before its key exists): on PostgreSQL all in one statement —
    the parent's INSERT and each group's as data-modifying CTEs, the children's key column
    ``(SELECT id FROM parent)`` — and every key read back (the children's in their rows' order, which ``RETURNING``
    keeps, as ``bulk_create`` relies on too). Each value is prepared as ``insert`` prepares it; the parent follows
    ``insert``'s rule on signals, the children ``insert_many``'s (none, as ``bulk_create``). Elsewhere, or when a row
    needs the ORM (those functions' rules), one statement after the other."""
    connection = connections[using]
    groups = tuple(g for g in groups if g)
    links = tuple(_link(g[0], parent) for g in groups)
    if (
        connection.vendor != "postgresql"
        or not _plain(parent)
        # the children as insert_many takes them: new rows of one model, sent no signal (as bulk_create sends none)
        or any(
            len(g) > MANY_ROWS or any(o.pk is not None or type(o) is not type(g[0]) for o in g)
            for g in groups
        )
    ):
        insert(parent, using)
        for group in groups:
            insert_many(group, using)
        return
    shape = tuple((type(g[0]), link, len(g)) for g, link in zip(groups, links, strict=True))
    sql, parent_fields, child_fields = _family_plan(type(parent), shape, using)
    parent._prepare_related_fields_for_save(operation_name="save")
    params = [f.get_db_prep_save(f.pre_save(parent, True), connection) for f in parent_fields]
    for group, link, fields in zip(groups, links, child_fields, strict=True):
        for obj in group:
            # the link's key is the parent's, not known yet: check the row's other relations as save() would
            link.delete_cached_value(obj)
            obj._prepare_related_fields_for_save(operation_name="bulk_create")
            setattr(obj, link.name, parent)
            params += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with cursor(using) as c:
        c.execute(sql, params)
        row = c.fetchone()
    _saved(parent, row[0], using)
    for group, link, keys in zip(groups, links, row[1:], strict=True):
        for obj, pk in zip(group, keys, strict=True):
            setattr(obj, link.name, parent)  # now with its key
            _saved(obj, pk, using)


def _link(child, parent):
    """The foreign key of ``child`` that holds ``parent`` (exactly one, to its primary key)."""
    found = [
        f
        for f in child._meta.concrete_fields
        if f.many_to_one and f.is_cached(child) and f.get_cached_value(child) is parent
    ]
    if len(found) != 1 or found[0].target_field is not parent._meta.pk:
        raise ValueError(
            f"{type(child).__name__} must point to the parent's key through exactly one foreign key"
        )
    return found[0]


@cache
def _family_plan(model, shape: tuple, using: str):
    """The statement of ``insert_family`` for a parent ``model`` and children of ``shape`` ((model, link, rows),
    …): its text, the parent's fields and each group's fields other than the key and the link."""
    q = connections[using].ops.quote_name

    def cols(m, skip=()):
        return tuple(f for f in m._meta.concrete_fields if f is not m._meta.pk and f not in skip)

    parent_fields = cols(model)
    # every identifier from the models' metadata, every value a parameter
    pk = q(model._meta.pk.column)
    parts = [
        f"p AS (INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in parent_fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(parent_fields))}) RETURNING {pk})"
    ]
    child_fields, selects = [], [f"(SELECT {pk} FROM p)"]  # noqa: S608
    for i, (child, link, rows) in enumerate(shape):
        fields = cols(child, (link,))
        child_fields.append(fields)
        row = f"((SELECT {pk} FROM p), {', '.join(['%s'] * len(fields))})"  # noqa: S608
        parts.append(
            f"c{i} AS (INSERT INTO {q(child._meta.db_table)} "  # noqa: S608
            f"({', '.join(q(f.column) for f in (link, *fields))}) VALUES {', '.join([row] * rows)} "
            f"RETURNING {q(child._meta.pk.column)})"
        )
        selects.append(f"ARRAY(SELECT {q(child._meta.pk.column)} FROM c{i})")  # noqa: S608
    sql = f"WITH {', '.join(parts)} SELECT {', '.join(selects)}"
    return sql, parent_fields, tuple(child_fields)


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
        _saved(obj, pk, using)
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
