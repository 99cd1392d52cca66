"""Database-backed rate limits for everything the public can send (no cache, no single-process state).

    if hit("voice.suggest.ip", ip, limit=5, window=dt.timedelta(minutes=10)):
        ...  # over the limit: hold the suggestion for review / refuse with RateLimited

Keys are stored as a keyed hash (hmac-sha256 with settings.SECRET_KEY), never the raw IP or phone. A ``None``
key (no IP known) is a key of its own: all such requests share one bucket.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import Attempt

# Attempts are kept for a day: the longest window a caller may ask for.
RETENTION = dt.timedelta(days=1)

__all__ = ["RETENTION", "RateLimited", "hit", "key_hash", "over", "prune"]


class RateLimited(ValidationError):
    """Too many attempts: show ``messages`` to the person (HTTP 429)."""


def key_hash(kind: str, key: str | None) -> str:
    """The stored form of a raw key: hmac-sha256 (SECRET_KEY), bound to ``kind`` so the same IP gives a
    different hash in each kind of limit. 64 hex characters."""
    raw = "" if key is None else str(key).strip()
    return salted_hmac("fulian.throttle.key", f"{kind}\x00{raw}", algorithm="sha256").hexdigest()


def _check(kind: str, limit: int, window: dt.timedelta) -> None:
    if not kind or len(kind) > 40:
        raise ValueError("kind must be 1–40 characters")
    if limit < 0:
        raise ValueError("limit must be >= 0")
    if not dt.timedelta(0) < window <= RETENTION:
        raise ValueError(f"window must be positive and at most {RETENTION}")


PRUNE_BATCH = 500


def prune_older(model, field: str, cutoff: dt.datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete at most ``batch`` rows of ``model`` whose ``field`` is before ``cutoff``: one statement on an
    indexed column, bounded work per call. On PostgreSQL rows another transaction is deleting are skipped
    (SKIP LOCKED), so concurrent requests never wait on, or deadlock over, each other's pruning; SQLite
    serialises writers anyway."""
    qn = connection.ops.quote_name
    table, column, pk = (
        qn(model._meta.db_table),
        qn(model._meta.get_field(field).column),
        qn(model._meta.pk.column),
    )
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    # identifiers come from the model's meta, quoted; the values are parameters
    sql = (
        f"DELETE FROM {table} WHERE {pk} IN "  # noqa: S608
        f"(SELECT {pk} FROM {table} WHERE {column} < %s ORDER BY {column} LIMIT %s{lock})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [cutoff, batch])
        return max(cursor.rowcount, 0)


def prune(now: dt.datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete (at most ``batch``) attempts older than a day. Called by every ``hit``: a steady trickle of
    requests keeps the table to about a day of attempts."""
    now = now or timezone.now()
    return prune_older(Attempt, "created_at", now - RETENTION, batch)


def _count(kind: str, hashed: str, since: dt.datetime) -> int:
    return Attempt.objects.filter(kind=kind, key=hashed, created_at__gt=since).count()


def hit(kind: str, key: str | None, *, limit: int, window: dt.timedelta) -> bool:
    """Record one attempt; True when the attempts in ``window`` (this one included) exceed ``limit``.

    Three queries: prune the expired, insert this one, count the window. The attempt is recorded even when the
    limit is exceeded, so hammering keeps the holder over the limit."""
    _check(kind, limit, window)
    now = timezone.now()
    prune(now)
    hashed = key_hash(kind, key)
    Attempt.objects.create(kind=kind, key=hashed, created_at=now)
    return _count(kind, hashed, now - window) > limit


def over(kind: str, key: str | None, *, limit: int, window: dt.timedelta) -> bool:
    """True when the attempts already in ``window`` reach ``limit`` (so one more would exceed it). Records
    nothing; one query."""
    _check(kind, limit, window)
    return _count(kind, key_hash(kind, key), timezone.now() - window) >= limit
