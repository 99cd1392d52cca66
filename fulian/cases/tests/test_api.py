"""The cases API: intake with Idempotency-Key, scope (404 + audit), masks, transitions, conflicts, query counts."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from fulian.accounts.actions import create_token
from fulian.audit.models import AuditEvent
from fulian.cases.models import Case, State

from .conftest import ID_WOMAN, dv_parties, make_case

CASES = "/api/v1/cases/"
# token lookup + memberships + COUNT(*) + the page's ids + those cases + their parties
LIST_QUERIES = 6


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
