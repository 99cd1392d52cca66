"""The only way to write the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from .chain import GENESIS, compute_hash
from .context import current_ip
from .models import AuditChainHead, AuditEvent, Outcome


@dataclass(frozen=True)
class Where:
    """The org unit an event concerns (for the auditor's subtree view)."""

    unit_id: int | None = None
    path: str | None = None

    @classmethod
    def of(cls, unit) -> Where:
        if unit is None:
            return cls()
        return cls(unit.pk, unit.path)


def record(
    actor,
    action: str,
    *,
    obj: Any = None,
    object_type: str = "",
    object_id: Any = "",
    where: Where | None = None,
    ip: str | None = None,
    outcome: str = Outcome.SUCCESS,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event. Runs in its own (nested) transaction holding the chain-head lock."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    where = where or Where()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    now = timezone.now().astimezone(dt.UTC)
    event = AuditEvent(
        created_at=now,
        actor_id=actor.pk if authenticated else None,
        actor_username=actor.get_username() if authenticated else (detail or {}).get("username", ""),
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        org_unit_id=where.unit_id,
        org_path=where.path,
        ip=ip if ip is not None else current_ip.get(),
        outcome=outcome,
        detail=detail or {},
    )
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"last_hash": GENESIS}
        )
        event.prev_hash = head.last_hash
        event.hash = compute_hash(head.last_hash, event)
        event.save(force_insert=True)
        head.last_hash = event.hash
        head.save(update_fields=["last_hash"])
    return event
