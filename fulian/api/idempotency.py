"""Idempotent POSTs: the same ``Idempotency-Key`` from the same user returns the first response."""

from __future__ import annotations

import hashlib
import json

from django.db import transaction
from rest_framework import status
from rest_framework.response import Response

from fulian.lib import lean

from .models import IdempotencyKey


def _digest(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def idempotent_create(request, endpoint: str, create) -> Response:
    """Run ``create()`` (returning a 201 Response) at most once per (user, Idempotency-Key).

    One statement of bookkeeping: the key's row is inserted with the response, in the same transaction as
    ``create()``, after it. A retry — sequential or concurrent — runs ``create()`` too, but its INSERT then
    hits the unique (user, key) constraint (on PostgreSQL a concurrent one waits for the first transaction to
    commit), the whole transaction rolls back (its case, number, audit event) and the first response is
    replayed. A create that fails (a 4xx response or an exception) while a row for the key exists replays that
    row too, so a retry never answers differently from the first call because something changed in between."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return create()
    if len(key) > 100:
        return Response(
            {"detail": "Idempotency-Key 不能超过 100 个字符。"}, status=status.HTTP_400_BAD_REQUEST
        )
    digest = _digest(request.data)
    try:
        with transaction.atomic():
            response = create()
            if response.status_code >= 400:
                transaction.set_rollback(True)
            else:
                row = IdempotencyKey(
                    user=request.user,
                    key=key,
                    endpoint=endpoint,
                    request_digest=digest,
                    status_code=response.status_code,
                    response=response.data,
                )
                lean.insert(row)
                return response
    except Exception:  # IntegrityError: the key's row exists (a retry); else create() failed
        row = _stored(request.user, key)
        if row is None:
            raise
        return _replay(row, endpoint, digest)
    row = _stored(request.user, key)
    return response if row is None else _replay(row, endpoint, digest)


def _stored(user, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, key=key).first()


def _replay(row: IdempotencyKey, endpoint: str, digest: str) -> Response:
    if row.endpoint != endpoint or row.request_digest != digest:
        return Response(
            {"detail": "该 Idempotency-Key 已用于另一个不同的请求。", "code": "idempotency_mismatch"},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    replay = Response(row.response, status=row.status_code)
    replay["Idempotent-Replayed"] = "true"
    return replay
