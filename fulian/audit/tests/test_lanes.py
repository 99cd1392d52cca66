"""The log as several hash chains (lanes): writers in different units do not share a lock, and every lane is
verified on its own — an edit, a deletion, a move to another lane or a cut tail are still found."""

import pytest
from django.db import connection, transaction

from fulian.audit.actions import Where, lane_for, record
from fulian.audit.chain import GENESIS, chain_lanes
from fulian.audit.models import AuditChainHead, AuditEvent
from fulian.audit.verify import verify_chain


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# Transactional: a lane is pinned per transaction, and a normal test runs entirely inside one.
pytestmark = pytest.mark.django_db(transaction=True)


def _two_lanes(cast=None):
    """Two units (only their ids and paths matter to the log) whose events land in different lanes."""
    a, b = Where(unit_id=101, path="0001.0001"), Where(unit_id=102, path="0001.0002")
    assert lane_for(a.unit_id) != lane_for(b.unit_id) and chain_lanes() > 2
    return a, b


def test_events_of_different_units_go_to_their_units_lanes():
    a, b = _two_lanes()
    ea = record(None, "test.a", where=a)
    eb = record(None, "test.b", where=b)
    none = record(None, "test.none")
    assert (ea.lane, eb.lane, none.lane) == (lane_for(a.unit_id), lane_for(b.unit_id), 0)
    assert ea.lane != eb.lane and 0 < ea.lane < chain_lanes()
    assert AuditChainHead.objects.get(id=ea.lane).last_hash == ea.hash
    assert AuditChainHead.objects.get(id=eb.lane).last_hash == eb.hash
    result = verify_chain()
    assert result.ok, result.problems
    assert result.lanes >= 3


def test_each_lane_is_linked_only_to_its_own_events():
    a, b = _two_lanes()
    first = record(None, "test.1", where=a)
    record(None, "test.2", where=b)
    third = record(None, "test.3", where=a)
    assert third.prev_hash == first.hash


def test_one_transaction_stays_in_one_lane():
    a, b = _two_lanes()
    with transaction.atomic():
        ea = record(None, "test.a", where=a)
        eb = record(None, "test.b", where=b)  # pinned to a's lane: no second head locked
    assert ea.lane == eb.lane == lane_for(a.unit_id)
    assert eb.prev_hash == ea.hash
    # the next transaction chooses again
    assert record(None, "test.b2", where=b).lane == lane_for(b.unit_id)
    assert verify_chain().ok


def test_a_rolled_back_transaction_leaves_no_pin():
    a, b = _two_lanes()
    with pytest.raises(RuntimeError), transaction.atomic():
        record(None, "test.a", where=a)
        raise RuntimeError
    assert not AuditEvent.objects.filter(action="test.a").exists()
    assert record(None, "test.b", where=b).lane == lane_for(b.unit_id)
    assert verify_chain().ok


def test_edit_in_a_lane_is_detected():
    a, _ = _two_lanes()
    events = [record(None, "test.x", where=a, detail={"n": i}) for i in range(3)]
    _raw("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"n": 9}', events[1].pk])
    result = verify_chain()
    assert any(f"#{events[1].pk}" in p and "篡改" in p for p in result.problems)


def test_moving_an_event_to_another_lane_is_detected():
    a, b = _two_lanes()
    event = record(None, "test.x", where=a)
    _raw("UPDATE audit_auditevent SET lane = %s WHERE id = %s", [lane_for(b.unit_id), event.pk])
    result = verify_chain()
    assert not result.ok
    assert any(f"#{event.pk}" in p for p in result.problems)


def test_deleted_middle_and_tail_of_a_lane_are_detected():
    a, _ = _two_lanes()
    events = [record(None, "test.x", where=a) for _ in range(4)]
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    assert any(f"#{events[2].pk}" in p and "链断开" in p for p in verify_chain().problems)
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events[3].pk])
    assert any("末尾" in p for p in verify_chain().problems)


def test_emptied_lane_is_detected():
    a, _ = _two_lanes()
    lane = lane_for(a.unit_id)
    record(None, "test.x", where=a)
    _raw("DELETE FROM audit_auditevent WHERE lane = %s", [lane])
    assert AuditChainHead.objects.get(id=lane).last_hash != GENESIS
    assert any("末尾" in p for p in verify_chain().problems)


def test_missing_heads_are_recreated_after_a_flush():
    AuditChainHead.objects.all().delete()
    event = record(None, "test.x", where=Where(unit_id=5, path="0001"))
    assert AuditChainHead.objects.count() == chain_lanes()
    assert event.prev_hash == GENESIS
    assert verify_chain().ok


def test_pin_lane_puts_unitless_events_into_the_actions_lane():
    from fulian.audit.actions import pin_lane

    a, _ = _two_lanes()
    with transaction.atomic():
        pin_lane(a)
        note = record(None, "notify.send")  # no unit: would be lane 0 on its own
        own = record(None, "test.action", where=a)
    assert note.lane == own.lane == lane_for(a.unit_id)
    assert record(None, "notify.send").lane == 0  # outside: lane 0 again
    assert verify_chain().ok
