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
