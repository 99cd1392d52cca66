"""For the tests' pinned query counts: what the audit log adds to a request."""

from django.db import connection


def record_queries(events: int = 1) -> int:
    """The statements ``record()`` runs for ``events`` events inside a caller's transaction: for each, the lock of
    its lane's head, then the event's INSERT with the head's UPDATE — one statement on PostgreSQL (a
    data-modifying CTE), two elsewhere. No savepoint of its own."""
    return events * (2 if connection.vendor == "postgresql" else 3)
