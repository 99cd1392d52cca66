"""``fulian.lib.sqlite``: a SQLite connection leaves the planner's statistics behind when it closes (``PRAGMA
optimize``), so a file database is planned with them from then on; Django's own backend leaves none. Runs on a
file database of its own in a temporary directory, whichever backend the suite runs on."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as DjangoWrapper

from fulian.lib.sqlite.base import DatabaseWrapper


@pytest.fixture(autouse=True)
def own_database(django_db_blocker):
    """These connections go to a file of their own, not to the suite's database."""
    with django_db_blocker.unblock():
        yield


def settings_for(path) -> dict:
    return {
        "ENGINE": "fulian.lib.sqlite",
        "NAME": str(path),
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS": {},
        "TIME_ZONE": None,
        "TEST": {},
    }


def use_and_close(wrapper_class, path, *, in_atomic_block: bool = False) -> None:
    """A table with an index, filled, queried through the index (as a list page does), then the connection
    closed."""
    db = wrapper_class(settings_for(path), alias=f"stats_{path.stem}")
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, unit INTEGER, state TEXT)")
        cursor.execute("CREATE INDEX item_unit ON item (unit)")
        cursor.executemany(
            "INSERT INTO item (unit, state) VALUES (%s, %s)", [(i % 50, "open") for i in range(2000)]
        )
        cursor.execute("SELECT id FROM item WHERE unit = %s", [7])
        assert len(cursor.fetchall()) == 40
    db.in_atomic_block = in_atomic_block
    db._close()
    db.connection = None


def statistics(path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as raw:
        tables = raw.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchall()
        if not tables:
            return []
        return raw.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'item'").fetchall()


def test_closing_a_connection_leaves_the_planner_statistics(tmp_path):
    path = tmp_path / "ours.sqlite3"
    use_and_close(DatabaseWrapper, path)
    assert statistics(path) == [("item_unit", "2000 40")]  # 2,000 rows, 40 per unit


def test_django_backend_alone_leaves_none(tmp_path):
    """The control: the same work through Django's backend leaves SQLite planning without statistics."""
    path = tmp_path / "django.sqlite3"
    use_and_close(DjangoWrapper, path)
    assert statistics(path) == []


def test_no_analysis_inside_a_transaction_being_abandoned(tmp_path):
    """A connection closed inside an atomic block (an error path) is closed as it is, with nothing run on it."""
    path = tmp_path / "atomic.sqlite3"
    use_and_close(DatabaseWrapper, path, in_atomic_block=True)
    assert statistics(path) == []


@pytest.mark.django_db
def test_settings_use_this_backend_for_sqlite(settings):
    if connection.vendor == "sqlite":
        assert settings.DATABASES["default"]["ENGINE"] == "fulian.lib.sqlite"
        assert isinstance(connections["default"], DatabaseWrapper)
    else:
        assert connection.vendor == "postgresql"


def rebuild_with_an_altered_field(path, *, analysed: bool) -> None:
    """A model's table filled and (or not) analysed, then a field altered, which SQLite can only do by
    rebuilding the table (a new table, the rows copied, the old one dropped), and an index added."""
    alias = f"rebuild_{path.stem}"
    db = DatabaseWrapper(settings_for(path), alias=alias)
    connections[alias] = db  # the schema editor opens its transactions by alias
    try:
        _rebuild(db, analysed=analysed)
    finally:
        db.close()
        del connections[alias]


def _rebuild(db, *, analysed: bool) -> None:
    from django.db import models
    from django.test.utils import isolate_apps

    with isolate_apps("fulian.lib"):

        class Item(models.Model):
            unit = models.IntegerField(db_index=True)
            note = models.CharField(max_length=10)

            class Meta:
                app_label = "lib"
                db_table = "item"

            def __str__(self) -> str:
                return self.note

        with db.schema_editor() as editor:
            editor.create_model(Item)
        with db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO item (unit, note) VALUES (%s, %s)", [(i % 50, "x") for i in range(2000)]
            )
            if analysed:
                cursor.execute("ANALYZE item")
        old = Item._meta.get_field("note")
        new = models.CharField(max_length=20)
        new.set_attributes_from_name("note")
        new.model = Item
        with db.schema_editor() as editor:  # one migration: the rebuild, then an index added after it
            editor.alter_field(Item, old, new)
            editor.add_index(Item, models.Index(fields=["note"], name="item_note"))


def test_a_rebuilt_table_keeps_its_statistics(tmp_path):
    path = tmp_path / "rebuilt.sqlite3"
    rebuild_with_an_altered_field(path, analysed=True)
    found = dict(statistics(path))
    assert found.pop("item_note") == "2000 2000"  # the index added after the rebuild, in the same migration
    assert list(found.values()) == ["2000 40"]  # the unit index: 2,000 rows, 40 per unit


def test_a_table_without_statistics_is_not_analysed_by_a_rebuild(tmp_path):
    """A new database (and the tests') has none: a rebuild leaves it so (an empty table's statistics would
    mislead the planner once the table fills)."""
    path = tmp_path / "fresh.sqlite3"
    rebuild_with_an_altered_field(path, analysed=False)
    assert statistics(path) == []
