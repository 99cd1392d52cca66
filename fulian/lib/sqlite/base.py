"""Django's SQLite backend, plus ``PRAGMA optimize`` when a connection closes.

SQLite plans without statistics until ``ANALYZE`` has run, and nothing runs it by itself. Without them it
guesses, and for a county's case list it guessed wrong: it read every archived case of the city through the
state index (~115 ms, ~200 ms p95 under the benchmark) where probing the county's units through
``(org_unit, state, risk)`` takes ~1 ms (docs/performance.md, "Cases"). SQLite's own advice is to run
``PRAGMA optimize`` as a connection closes: it analyses only the tables this connection queried whose indexes
were never analysed or which grew 25-fold since, so it is nearly always a no-op (measured: the 300,000-case
table analysed in 0.2 s, once). Our connections close after every request (``CONN_MAX_AGE`` 0), once the
response has gone out.
"""

from __future__ import annotations

from django.db.backends.sqlite3 import base
from django.db.backends.sqlite3.base import Database

from .schema import DatabaseSchemaEditor


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor  # a rebuilt table keeps its statistics (see .schema)

    def _close(self) -> None:
        if self.connection is not None and not self.in_atomic_block:
            try:
                self.connection.execute("PRAGMA optimize")
            except Database.Error:
                pass  # statistics are an optimisation: a busy or read-only database still closes
        super()._close()
