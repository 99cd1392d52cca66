"""``lean.cursor``: the hot path's fixed statements are prepared on PostgreSQL (once per connection), logged like
Django's own statements, and not prepared when ``DB_PREPARE_HOT`` is off or on SQLite."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulian.lib import lean

pytestmark = pytest.mark.django_db

SQL = "SELECT COUNT(*) FROM orgs_orgunit WHERE id = %s"


def prepared() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{SQL[:30]}%"]
        )
        return cursor.fetchone()[0]


def run_twice() -> list[int]:
    out = []
    for pk in (1, 2):
        with lean.cursor() as cursor:
            cursor.execute(SQL, [pk])
            out.append(cursor.fetchone()[0])
    return out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_hot_statements_are_prepared_once_per_connection_and_logged(settings):
    settings.DB_PREPARE_HOT = True
    with CaptureQueriesContext(connection) as ctx:
        assert run_twice() == [0, 0]
    assert len(ctx.captured_queries) == 2  # the tests' query counts see them
    assert prepared() == 1  # prepared once, run twice


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_hot_statements_are_not_prepared_when_switched_off(settings):
    settings.DB_PREPARE_HOT = False
    assert run_twice() == [0, 0]
    assert prepared() == 0


def test_on_sqlite_and_everywhere_the_cursor_answers_like_djangos(cast):
    with lean.cursor() as cursor:
        cursor.execute(SQL, [cast.county.pk])
        assert cursor.fetchone()[0] == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's placeholder translation")
@pytest.mark.parametrize("prepare_hot", [True, False])
def test_the_translation_of_a_hot_statement_with_many_parameters_is_cached(settings, prepare_hot):
    """psycopg caches its %s → $n translation only up to 50 parameters; the hot path raises that to HOT_PARAMS
    (the intake's INSERT of a case with its parties has 62–92): the second run of such a statement is a cache hit
    (with the server-binding cursor of prepared statements, or Django's client-binding one)."""
    from psycopg import _queries

    settings.DB_PREPARE_HOT = prepare_hot
    n = 80
    sql = f"SELECT {' + '.join(['%s::int'] * n)}"  # noqa: S608 (placeholders only)
    cached = _queries._query2pg if prepare_hot else _queries._query2pg_client
    results = []
    for _ in range(2):
        before = cached.cache_info().hits
        with lean.cursor() as cursor:
            cursor.execute(sql, list(range(n)))
            results.append(cursor.fetchone()[0])
        hit = cached.cache_info().hits > before
    assert results == [sum(range(n))] * 2
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= lean.HOT_PARAMS > n and hit
