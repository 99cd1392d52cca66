"""The only way to write the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fulian.lib import lean

from .chain import GENESIS, chain_lanes, compute_hash
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
    """Append one event to its lane's chain, holding that lane's head lock until the surrounding transaction
    commits — call it last in an action. The lane is the transaction's (see ``_pinned_lane``), else its unit's."""
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
    conn = transaction.get_connection()
    # a transaction of its own outside one; inside the caller's, no savepoint (two round trips per audited write):
    # a failed append fails the caller's transaction, which then cannot commit a write without its event
    with transaction.atomic(savepoint=False):
        lane = _pinned_lane(conn)
        if lane is None:
            lane = lane_for(where.unit_id)
            _pin_lane(conn, lane)
        event.lane = lane
        last_hash = _lock_head(conn, lane)
        event.prev_hash = last_hash
        event.hash = compute_hash(last_hash, event)
        # append-only: one plain INSERT, no ORM compilation (every audited write), the head moved along with it
        moved = lean.insert(event, along=(_HEAD_UPDATE_SQL, [event.hash, lane]))
        if moved != 1:
            raise RuntimeError(f"audit chain head {lane} was not moved")
    return event


def pin_lane(where: Where) -> None:
    """The events of the current transaction go to the lane of ``where`` (unless an event already chose one):
    call it before code that writes events of no unit (a notification's ``notify.send``), so that they join the
    action's own lane instead of the shared lane 0. Takes no lock."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and _pinned_lane(conn) is None:
        _pin_lane(conn, lane_for(where.unit_id))


def lane_for(unit_id: int | None) -> int:
    """The chain an event goes to: lane 0 for events of no unit (sign-ins …), else one of the others by unit id
    — intakes and changes in different units do not wait for each other (the case counter is per unit too)."""
    lanes = chain_lanes()
    if unit_id is None or lanes == 1:
        return 0
    return 1 + unit_id % (lanes - 1)


_HEAD_TABLE = AuditChainHead._meta.db_table
_HEAD_SELECT_SQL = f'SELECT "last_hash" FROM "{_HEAD_TABLE}" WHERE "id" = %s'  # noqa: S608 (metadata only)
_HEAD_UPDATE_SQL = f'UPDATE "{_HEAD_TABLE}" SET "last_hash" = %s WHERE "id" = %s'  # noqa: S608 (metadata only)


def _lock_head(conn, lane: int) -> str:
    """The lane head's last hash, its row locked until the transaction ends (plain SQL: the statement runs for
    every audited write, and the ORM's compilation of it cost more than the database's work)."""
    sql = _HEAD_SELECT_SQL + (" FOR UPDATE" if conn.features.has_select_for_update else "")
    with lean.cursor(conn.alias) as cursor:
        cursor.execute(sql, [lane])
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    return _locked_head(lane).last_hash


def _locked_head(lane: int) -> AuditChainHead:
    try:
        return AuditChainHead.objects.select_for_update().get(id=lane)
    except AuditChainHead.DoesNotExist:
        # after a flush (or a larger AUDIT_CHAIN_LANES): every missing head at once, then lock ours
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(id=i, last_hash=GENESIS) for i in range(max(chain_lanes(), lane + 1))],
            ignore_conflicts=True,
        )
        return AuditChainHead.objects.select_for_update().get(id=lane)


# One transaction appends to one lane only, whatever units its events concern: the lane of its first event.
# Two transactions each holding one lane and waiting for the other's cannot happen (no deadlock between chain
# heads), and the events of one action stay together in one chain. The pin lives on the connection and is valid
# while the on-commit callback registered with it is pending: a commit runs (and drops) it, a rollback discards
# it — either way the next transaction picks its own lane.
def _pinned_lane(conn) -> int | None:
    pin = getattr(conn, "_fulian_audit_lane", None)
    if pin is None:
        return None
    lane, marker = pin
    if any(entry[1] is marker for entry in conn.run_on_commit):
        return lane
    return None


def _pin_lane(conn, lane: int) -> None:
    def unpin() -> None:
        conn._fulian_audit_lane = None

    conn._fulian_audit_lane = (lane, unpin)
    transaction.on_commit(unpin)
