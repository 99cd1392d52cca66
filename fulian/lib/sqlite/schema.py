"""Django's SQLite schema editor, keeping a rebuilt table's planner statistics.

SQLite cannot alter most columns in place, so Django rebuilds the table (a new table, the rows copied, the old one
dropped and the new one renamed), and ``sqlite_stat1`` loses the old table's rows with it: after a migration
that rebuilt the cases table, the county case lists went back from ~3 ms to ~170 ms until something ran
``ANALYZE`` (see ``fulian.lib.sqlite.base``). A table that had statistics is analysed again at the end of the
migration that rebuilt it; one that had none (a new database, the tests) is left as it was.
"""

from __future__ import annotations

from django.db.backends.sqlite3 import schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._analyse: list[str] = []  # tables rebuilt in this session that had statistics

    def _remake_table(self, model, create_field=None, delete_field=None, alter_fields=None):
        table = model._meta.db_table
        had_statistics = table in self._analyse or self._has_statistics(table)
        super()._remake_table(
            model, create_field=create_field, delete_field=delete_field, alter_fields=alter_fields
        )
        if had_statistics and table not in self._analyse:
            self._analyse.append(table)

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:  # last of the deferred statements: after every index of the migration exists
            self.deferred_sql.extend(f"ANALYZE {self.quote_name(table)}" for table in self._analyse)
        return super().__exit__(exc_type, exc_value, traceback)

    def _has_statistics(self, table: str) -> bool:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return False
            cursor.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = %s LIMIT 1", [table])
            return cursor.fetchone() is not None
