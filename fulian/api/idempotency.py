"""Idempotent POSTs: the same ``Idempotency-Key`` from the same user returns the first response."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.response import Response

from .models import IdempotencyKey


def _digest(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def idempotent_create(request, endpoint: str, create) -> Response:
    """Run ``create()`` (returning a 201 Response) at most once per (user, Idempotency-Key)."""
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
            row = IdempotencyKey.objects.create(
                user=request.user, key=key, endpoint=endpoint, request_digest=digest
            )
            response = create()
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            row.status_code = response.status_code
            row.response = response.data
            row.save(update_fields=["status_code", "response"])
            return response
    except IntegrityError:
        pass
    row = IdempotencyKey.objects.get(user=request.user, key=key)
    if row.endpoint != endpoint or row.request_digest != digest:
        return Response(
            {"detail": "该 Idempotency-Key 已用于另一个不同的请求。", "code": "idempotency_mismatch"},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    replay = Response(row.response, status=row.status_code)
    replay["Idempotent-Replayed"] = "true"
    return replay
