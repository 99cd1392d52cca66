"""The cases API: intake with Idempotency-Key, scope (404 + audit), masks, transitions, conflicts, query counts."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from fulian.accounts.actions import create_token
from fulian.api.models import IdempotencyKey
from fulian.audit.models import AuditEvent
from fulian.audit.testing import record_queries
from fulian.cases.models import Case, State

from .conftest import ID_WOMAN, category, dv_parties, make_case

CASES = "/api/v1/cases/"
# the token with its user and memberships (one statement) + COUNT(*) + the page's ids + those cases + their
# parties
LIST_QUERIES = 5


def warmed(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(None, user)}")
    assert client.get("/api/v1/me").status_code == 200
    return client


def intake_body(cast, **overrides):
    body = {
        "org_unit_id": cast.village_a1.pk,
        "channel": "hotline",
        "category": "marriage_family",
        "subcategory": "domestic_violence",
        "parties": dv_parties(),
        "account": "丈夫持刀威胁。",
        "risk_checklist": ["weapon"],
        "consent_store": True,
    }
    body.update(overrides)
    return body


def test_switchboard_intake_is_idempotent(cast):
    client = warmed(cast.users.county_hotline)
    body = intake_body(cast)
    first = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="call-1")
    assert first.status_code == 201, first.json()
    data = first.json()
    assert data["risk"] == 3 and data["state"] == State.REGISTERED
    assert data["number"].startswith("WQ-A1-")
    affected = next(p for p in data["parties"] if p["role"] == "affected")
    assert affected == {
        "role": "affected",
        "role_display": "当事人(受害人)",
        "name": "张*梅",
        "phone": "138****5678",
        "relation": "本人",
    }
    again = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="call-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == data["number"]
    assert Case.objects.count() == 1


def test_bad_intake_gets_chinese_errors_and_saves_nothing(cast):
    client = warmed(cast.users.a_caseworker)
    body = intake_body(cast, parties=dv_parties(id_number=ID_WOMAN[:-1] + "3", phone="1381234"))
    response = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert response.status_code == 400
    errors = response.json()
    assert errors["affected_id_number"] == ["身份证号码校验位不正确,请核对"]
    assert "电话" in errors["affected_phone"][0]
    assert Case.objects.count() == 0
    response = client.post(CASES, intake_body(cast, org_unit_id=cast.town_b.pk), format="json")
    assert response.status_code == 404
    assert Case.objects.count() == 0


@pytest.mark.parametrize("username", ["a_staff", "a_sysadmin", "a_auditor", "b_caseworker"])
def test_outsiders_get_404_and_nothing_changes(cast, cases, username):
    user = getattr(cast.users, username)
    client = warmed(user)
    before = AuditEvent.objects.filter(action="access.denied", actor_id=user.pk).count()
    assert client.get(f"{CASES}{cases.a1.pk}/").status_code == 404
    response = client.post(
        f"{CASES}{cases.a1.pk}/transitions/", {"action": "accept", "version": 1}, format="json"
    )
    assert response.status_code in (403, 404)
    assert AuditEvent.objects.filter(action="access.denied", actor_id=user.pk).count() == before + 2
    assert Case.objects.get(pk=cases.a1.pk).state == State.REGISTERED
    listing = client.get(CASES)
    if username == "b_caseworker":
        assert [r["id"] for r in listing.json()["results"]] == [cases.b.pk]
    else:
        assert listing.status_code == 403


def test_transitions_and_conflicts(cast, cases):
    client = warmed(cast.users.a_caseworker)
    url = f"{CASES}{cases.a1.pk}/transitions/"
    response = client.post(url, {"action": "start", "version": 1}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["案件当前状态为“登记”,不能变更为“处理中”。"]}
    response = client.post(url, {"action": "accept", "version": 1}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "accepted"
    response = client.post(url, {"action": "start", "version": 1}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    response = client.post(
        url,
        {"action": "action", "kind": "legal_aid", "result": "已转介,待回复", "text": "转县法律援助中心"},
        format="json",
    )
    assert response.status_code == 200
    assert Case.objects.get(pk=cases.a1.pk).timeline.filter(kind="legal_aid").count() == 1
    hotline = warmed(cast.users.county_hotline)
    assert hotline.get(f"{CASES}{cases.a1.pk}/").status_code == 404  # accepted: gone for the hotline


def test_list_query_count_is_fixed(cast, cases, django_assert_num_queries):
    client = warmed(cast.users.county_caseworker)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(CASES)
    assert len(response.json()["results"]) == 2
    for i in range(5):
        make_case(cast.users.a_caseworker, cast.town_a, parties=dv_parties(name=f"测试{i}"))
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(CASES)
    rows = response.json()["results"]
    assert len(rows) == 7
    assert "张玉梅" not in response.content.decode()


def test_openapi_documents_the_case_endpoints(cast):
    client = warmed(cast.users.a_caseworker)
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/cases/" in schema["paths"]
    assert "/api/v1/cases/{id}/transitions/" in schema["paths"]
    description = schema["paths"]["/api/v1/cases/{id}/transitions/"]["post"]["description"]
    assert "归档" in description and "409" in description


def test_referral_through_the_api(cast, cases):
    client = warmed(cast.users.a_caseworker)
    url = f"{CASES}{cases.a1.pk}/transitions/"
    assert client.post(url, {"action": "accept", "version": 1}, format="json").status_code == 200
    response = client.post(
        url,
        {
            "action": "refer",
            "agency": "police",
            "agency_name": "甲镇派出所",
            "expected_reply_on": "2099-01-01",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    referral = cases.a1.referrals.get()
    assert referral.agency_name == "甲镇派出所"
    response = client.post(
        url, {"action": "reply", "referral": referral.pk, "reply": "已出具告诫书"}, format="json"
    )
    assert response.status_code == 200
    referral.refresh_from_db()
    assert referral.state == "replied"


def test_switchboard_draft_then_submit(cast):
    client = warmed(cast.users.county_hotline)
    response = client.post(CASES, intake_body(cast, draft=True), format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["state"] == "draft" and data["number"] is None
    url = f"{CASES}{data['id']}/transitions/"
    response = client.post(url, {"action": "submit_draft", "version": data["version"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["number"].startswith("WQ-A1-") and response.json()["state"] == "registered"
    assert Case.objects.get().first_contact_due is not None
    response = client.post(url, {"action": "accept", "version": 2}, format="json")
    assert response.status_code == 404  # the hotline handles nothing


# --- categories resolved in one query (bad input) ------------------------------------------------------------------


def test_intake_with_unknown_or_mismatched_categories_is_refused(cast):
    client = warmed(cast.users.county_hotline)
    bad = client.post(CASES, intake_body(cast, category="no_such"), format="json")
    assert bad.status_code == 400 and "不存在或已停用" in bad.json()["category"][0]
    bad = client.post(CASES, intake_body(cast, subcategory="marriage_family"), format="json")  # a top level
    assert bad.status_code == 400 and "subcategory" in bad.json()
    bad = client.post(CASES, intake_body(cast, category="other"), format="json")  # 家庭暴力 is not under 其他
    assert bad.status_code == 400 and "子类别必须属于" in bad.json()["subcategory"][0]
    bad = client.post(CASES, intake_body(cast, category="domestic_violence", subcategory=None), format="json")
    assert bad.status_code == 400 and "category" in bad.json()
    assert Case.objects.count() == 0
    ok = client.post(CASES, intake_body(cast, subcategory=""), format="json")
    assert ok.status_code == 201 and ok.json()["subcategory"] is None


@pytest.mark.django_db(transaction=True)
def test_parallel_retries_of_one_intake_create_one_case(cast):
    """A switchboard that times out and retries at once: the same key, the same body, 6 requests at the same
    moment. Each runs the intake, but only the first to commit keeps its idempotency row; the others fail on the
    unique key (waiting for that commit), roll back their case, number and audit event, and replay it."""
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite serialises writers (one IMMEDIATE transaction at a time); the race needs PostgreSQL"
        )
    category("domestic_violence")  # re-seed the tree if a transactional test before this one flushed it
    token = create_token(None, cast.users.county_hotline)
    body = intake_body(cast)
    barrier = threading.Barrier(6)
    responses, errors = [], []

    def worker():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            barrier.wait()
            responses.append(client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [r.status_code for r in responses] == [201] * 6
    assert sum("Idempotent-Replayed" not in r for r in responses) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    case = Case.objects.get()
    assert case.sequence == 1 and responses[0].json()["number"] == case.number
    assert AuditEvent.objects.filter(action="cases.case.intake").count() == 1
    assert IdempotencyKey.objects.get().response["id"] == case.pk


def test_a_sequential_retry_replays_and_adds_nothing(cast):
    client = warmed(cast.users.county_hotline)
    first = client.post(CASES, intake_body(cast), format="json", HTTP_IDEMPOTENCY_KEY="again")
    events = AuditEvent.objects.count()
    again = client.post(CASES, intake_body(cast), format="json", HTTP_IDEMPOTENCY_KEY="again")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Case.objects.count() == 1 and Case.objects.get().sequence == 1
    assert AuditEvent.objects.count() == events  # the retry's own event was rolled back with its case
    other = client.post(
        CASES, intake_body(cast, account="另一件事。"), format="json", HTTP_IDEMPOTENCY_KEY="again"
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert Case.objects.count() == 1
    fresh = client.post(CASES, intake_body(cast), format="json", HTTP_IDEMPOTENCY_KEY="fresh")
    assert fresh.status_code == 201 and Case.objects.get(pk=fresh.json()["id"]).sequence == 2


def test_intake_response_needs_no_query_for_the_parties(cast, django_assert_num_queries):
    client = warmed(cast.users.county_hotline)
    body = intake_body(cast, risk_checklist=[], account="咨询离婚后孩子的抚养问题。")
    client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="warm")
    # the token with its user and memberships (one statement), both categories (one query), the unit; the
    # idempotency transaction (a savepoint inside the test's; the intake opens none of its own); then
    # - on PostgreSQL: the counter (UPDATE … RETURNING) with the holidays; the case with its parties and its
    #   timeline entry (one INSERT … of data-modifying CTEs); the audit event (head lock; the INSERT with the
    #   head's UPDATE)
    # - elsewhere: the counter, the holidays, the case, its parties (one INSERT), the timeline entry, the audit
    #   event (head lock, INSERT, head UPDATE)
    # and the idempotency row with the response, release — nothing after the audit event but that row (one
    # INSERT, as the UPDATE of it was before) and the bookkeeping
    postgresql = connection.vendor == "postgresql"
    with django_assert_num_queries(10 if postgresql else 14) as ctx:
        response = client.post(CASES, body, format="json", HTTP_IDEMPOTENCY_KEY="counted")
    assert response.status_code == 201 and len(response.json()["parties"]) == 3
    # (a prepared statement is logged by Django as "QUERY = '…' - PARAMS = (…)" on PostgreSQL)
    sqls = [q["sql"].removeprefix("QUERY = '") for q in ctx.captured_queries]
    audit = 'WITH along AS (UPDATE "audit_auditchainhead"' if postgresql else 'UPDATE "audit_auditchainhead"'
    last_audit = next(i for i, q in enumerate(sqls) if q.startswith(audit))
    after = sqls[last_audit + 1 :]
    assert [q.split(" (")[0] for q in after if q.startswith(("SELECT", "INSERT", "UPDATE", "WITH"))] == [
        'INSERT INTO "api_idempotencykey"'
    ]


# --- reveal through the API ------------------------------------------------------------------------------------------


def reveal(client, case, reason="核实身份后回电"):
    return client.post(f"{CASES}{case.pk}/reveal/", {"reason": reason}, format="json")


def test_reveal_through_the_api_is_audited_and_in_the_view_history(cast, cases):
    from fulian.cases.models import CaseView

    for user in (cast.users.a_leader, cast.users.a_caseworker, cast.users.county_leader):
        response = reveal(warmed(user), cases.a1)
        assert response.status_code == 200, response.json()
        assert response["Cache-Control"] == "no-store"
        affected = next(p for p in response.json()["parties"] if p["role"] == "affected")
        assert affected["name"] == "张玉梅" and affected["phone"] == "13812345678"
        assert affected["id_number"] == ID_WOMAN and affected["safe_phone"] == "13900001111"
    events = AuditEvent.objects.filter(action="cases.identity.reveal", object_id=str(cases.a1.pk))
    assert sorted(e.actor_username for e in events) == ["a_caseworker", "a_leader", "county_leader"]
    assert all(e.detail["reason"] == "核实身份后回电" for e in events)
    assert CaseView.objects.filter(case=cases.a1).count() == 3


@pytest.mark.parametrize("username", ["a_staff", "a_sysadmin", "a_auditor", "b_caseworker", "b_leader"])
def test_reveal_outside_scope_or_role_is_404(cast, cases, username):
    denied = AuditEvent.objects.filter(action="access.denied").count()
    response = reveal(warmed(getattr(cast.users, username)), cases.a1)
    assert response.status_code == 404
    assert "张玉梅" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="cases.identity.reveal").exists()
    assert AuditEvent.objects.filter(action="access.denied").count() == denied + 1


def test_hotline_cannot_reveal_even_its_own_draft(cast):
    from fulian.cases import actions

    hotline = cast.users.county_hotline
    draft = make_case(hotline, cast.village_a1, draft=True)
    assert warmed(hotline).get(f"{CASES}{draft.pk}/").status_code == 200
    response = reveal(warmed(hotline), draft)
    assert response.status_code == 403 and "没有查看当事人身份信息的权限" in response.json()["detail"]
    assert not AuditEvent.objects.filter(action="cases.identity.reveal").exists()
    assert actions  # the page's action is the one refusing


def test_reveal_needs_a_reason(cast, cases):
    client = warmed(cast.users.a_leader)
    for reason in ("", "   "):
        response = reveal(client, cases.a1, reason=reason)
        assert response.status_code == 400 and "请填写查看身份信息的原因" in str(response.json())
    response = reveal(client, cases.a1, reason="长" * 201)
    assert response.status_code == 400 and "reason" in response.json()
    response = client.post(f"{CASES}{cases.a1.pk}/reveal/", {}, format="json")
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="cases.identity.reveal").exists()


def test_reveal_query_count(cast, cases, django_assert_num_queries):
    client = warmed(cast.users.a_leader)
    reveal(client, cases.a1)
    # the token with its user and memberships (one statement), the case, savepoint, the view row, the parties,
    # the audit event, release
    with django_assert_num_queries(6 + record_queries()):
        assert reveal(client, cases.a1).status_code == 200


def test_reveal_is_in_the_openapi_schema(cast):
    schema = APIClient().get("/api/v1/openapi.json", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    operation = schema.json()["paths"]["/api/v1/cases/{id}/reveal/"]["post"]
    assert "查看当事人身份信息" in operation["summary"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])


def test_case_payload_equals_the_serializer(cast, cases):
    from fulian.cases import actions
    from fulian.cases.api import CaseSerializer, case_payload

    from .conftest import advance

    draft = make_case(cast.users.county_hotline, cast.village_a1, draft=True, sub="other")
    advance(cases.a1, cast.users.a_caseworker, "accepted")
    actions.record_action(cast.users.a_caseworker, cases.a1, kind="contact", result="已联系上")
    for case in (cases.a1, cases.b, draft):
        case = Case.objects.get(pk=case.pk)
        assert case_payload(case) == dict(CaseSerializer(case).data)
        assert case_payload(case)["first_contact_at"] or case.first_contact_at is None


def test_each_thread_validates_intakes_with_its_own_serializer(cast):
    """gthread workers serve requests from several threads: the reused intake serializer is one per thread, and
    every thread's validation gives the same result and the same errors."""
    from rest_framework import serializers

    from fulian.cases.api import _intake_validators, validate_intake_body

    good = intake_body(cast)
    bad = intake_body(cast, channel="fax", parties=[{"role": "nobody"}])
    seen, results, errors = [], [], []

    def validate():
        try:
            results.append(validate_intake_body(good))
            with pytest.raises(serializers.ValidationError) as refused:
                validate_intake_body(bad)
            errors.append(refused.value.detail)
            seen.append(_intake_validators.serializer)
        finally:
            connections.close_all()

    validate()
    threads = [threading.Thread(target=validate) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and len({id(s) for s in seen}) == 4
    assert all(r == results[0] for r in results) and results[0]["category"].code == "marriage_family"
    assert all(e == errors[0] for e in errors) and set(errors[0]) == {"channel", "parties"}
