"""The audit log is append-only and its hash chain exposes any edited, deleted or inserted row."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from openpyxl import load_workbook

from fulian.audit.actions import Where, record
from fulian.audit.models import AppendOnlyError, AuditEvent
from fulian.audit.verify import verify_chain


@pytest.fixture
def events(db):
    return [record(None, "test.event", object_type="x", object_id=i, detail={"n": i}) for i in range(5)]


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_intact_chain_verifies(events, capsys):
    assert verify_chain().ok
    call_command("audit", "verify")
    assert "审计日志完整" in capsys.readouterr().out


def test_edited_row_is_detected(events):
    _raw("UPDATE audit_auditevent SET actor_username = %s WHERE id = %s", ["mallory", events[2].pk])
    result = verify_chain()
    assert not result.ok
    assert any(f"#{events[2].pk}" in p and "篡改" in p for p in result.problems)
    with pytest.raises(CommandError):
        call_command("audit", "verify", stderr=io.StringIO())


def test_edited_detail_is_detected(events):
    _raw("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"n": 99}', events[1].pk])
    assert not verify_chain().ok


def test_deleted_row_is_detected(events):
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    result = verify_chain()
    assert any(f"#{events[3].pk}" in p and "链断开" in p for p in result.problems)


def test_deleted_last_row_is_detected(events):
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
    assert any("末尾" in p for p in verify_chain().problems)


def test_rehashed_forgery_without_the_key_is_detected(events):
    import hashlib

    forged = hashlib.sha256(b"forged").hexdigest()
    _raw("UPDATE audit_auditevent SET hash = %s WHERE id = %s", [forged, events[4].pk])
    assert not verify_chain().ok


def test_orm_refuses_update_and_delete(events):
    event = events[0]
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert verify_chain().ok


def test_admin_cannot_change_or_delete(events, admin_client):
    url = f"/admin/audit/auditevent/{events[0].pk}/change/"
    response = admin_client.post(url, {"action": "changed"})
    assert response.status_code in (403, 200)
    events[0].refresh_from_db()
    assert events[0].action == "test.event"
    response = admin_client.post(f"/admin/audit/auditevent/{events[0].pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=events[0].pk).exists()
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403


def test_auditor_reads_only_the_log_of_its_subtree(cast, login):
    record(cast.users.a_staff, "test.in_a", where=Where.of(cast.town_a))
    record(cast.users.b_staff, "test.in_b", where=Where.of(cast.town_b))
    client = login(cast.users.a_auditor)
    response = client.get("/audit/?action=test.")
    actions = {e.action for e in response.context["page"]}
    assert actions == {"test.in_a"}
    county = login(cast.users.county_auditor).get("/audit/?action=test.")
    assert {e.action for e in county.context["page"]} == {"test.in_a", "test.in_b"}


def test_auditor_export_is_scoped_and_itself_audited(cast, login):
    record(cast.users.a_staff, "test.in_a", where=Where.of(cast.town_a))
    record(cast.users.b_staff, "test.in_b", where=Where.of(cast.town_b))
    response = login(cast.users.a_auditor).get("/audit/export.xlsx?action=test.")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    assert [row[2] for row in ws.iter_rows(min_row=2, values_only=True)] == ["test.in_a"]
    assert AuditEvent.objects.filter(action="audit.export", actor_username="a_auditor").exists()


def test_non_auditors_cannot_read_the_log(cast, login):
    for user in (cast.users.county_leader, cast.users.county_sysadmin, cast.users.a_staff):
        assert login(user).get("/audit/").status_code == 403
        assert login(user).get("/audit/export.xlsx").status_code == 403


def test_changes_to_org_units_users_and_memberships_are_audited(cast):
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"orgs.unit.create", "accounts.user.create", "orgs.cadre.create"} <= actions
    assert verify_chain().ok


def test_audit_log_query_count(cast, login, django_assert_num_queries):
    for i in range(3):
        record(cast.users.a_staff, f"test.{i}", where=Where.of(cast.town_a))
    client = login(cast.users.a_auditor)
    client.get("/audit/")  # warm the session
    # session, user, memberships, count, page, the nav's unread-notice count, then the idle-expiry session
    # touch (savepoint, update, release)
    with django_assert_num_queries(9):
        client.get("/audit/")
    for i in range(10):
        record(cast.users.a_staff, f"test.more.{i}", where=Where.of(cast.town_a))
    with django_assert_num_queries(9):
        client.get("/audit/")


def test_refusals_are_audited(cast, login):
    client = login(cast.users.county_leader)
    assert client.get("/audit/").status_code == 403
    event = AuditEvent.objects.filter(action="access.denied").first()
    assert event.actor_username == "county_leader" and event.object_id == "/audit/"
    assert "审计管理员" in event.detail["reason"]


def test_the_event_and_its_head_in_one_statement_on_postgresql(db):
    """``record`` appends with ``lean.insert(event, along=head update)``: one statement on PostgreSQL, two
    elsewhere, no savepoint inside a transaction; ``along`` reports the rows it touched, even none."""
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from fulian.lib import lean

    record(None, "test.first")  # the heads exist
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        event = record(None, "test.counted", where=Where(unit_id=5, path="x"))
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert len(sqls) == (2 if connection.vendor == "postgresql" else 3)
    assert not any("SAVEPOINT" in q for q in sqls)
    assert verify_chain().ok and AuditEvent.objects.get(pk=event.pk).hash == event.hash
    stray = AuditEvent(created_at=event.created_at, action="test.stray", prev_hash="0" * 64, hash="f" * 64)
    nothing = ('UPDATE "audit_auditchainhead" SET "last_hash" = %s WHERE "id" = %s', ["x", 9999])
    with transaction.atomic():
        assert lean.insert(stray, along=nothing) == 0
        assert stray.pk and AuditEvent.objects.filter(pk=stray.pk).exists()
        transaction.set_rollback(True)
