"""Case pages: who sees what (404 + audit), masks, reveal, intake form errors, transitions, XSS, query counts."""

from __future__ import annotations

import pytest

from fulian.audit.models import AuditEvent
from fulian.cases.models import Case, CaseView, Party, State

from .conftest import ID_WOMAN, advance, category, dv_parties, make_case


def denied_count() -> int:
    return AuditEvent.objects.filter(action="access.denied").count()


def intake_post(cast, **overrides):
    data = {
        "unit": cast.village_a1.pk,
        "channel": "hotline",
        "category": category("marriage_family").pk,
        "subcategory": category("domestic_violence").pk,
        "caller_name": "李秀英",
        "caller_phone": "13787654321",
        "caller_relation": "邻居",
        "affected_name": "张玉梅",
        "affected_phone": "138 1234 5678",
        "affected_id_number": ID_WOMAN,
        "affected_safe_phone": "13900001111",
        "affected_safe_time": "工作日上午",
        "perpetrator_name": "王大军",
        "perpetrator_relation": "丈夫",
        "account": "丈夫喝酒后掐她脖子。",
        "request": "想离开家",
        "risk_checklist": ["strangulation", "escalating"],
        "consent_store": "on",
        "consent_refer": "on",
    }
    data.update(overrides)
    return data


# --- scope -------------------------------------------------------------------------------------------------------


def test_caseworker_list_is_masked_and_scoped(cast, login, cases):
    client = login(cast.users.a_caseworker)
    response = client.get("/cases/")
    assert response.status_code == 200
    assert [c.pk for c in response.context["rows"]] == [cases.a1.pk]
    html = response.content.decode()
    assert "张*梅" in html and "138****5678" in html
    for secret in ("张玉梅", "13812345678", "赵春兰", "丈夫经常喝酒"):
        assert secret not in html
    rows = login(cast.users.county_leader).get("/cases/").context["rows"]
    assert {c.pk for c in rows} == {cases.a1.pk, cases.b.pk}


@pytest.mark.parametrize("username", ["a_staff", "a_sysadmin", "a_auditor", "county_staff", "b_caseworker"])
def test_others_see_nothing_of_a_case(cast, login, cases, username):
    user = getattr(cast.users, username)
    client = login(user)
    case = cases.a1
    before = denied_count()
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert client.post(f"/cases/{case.pk}/reveal/", {"reason": "看看"}).status_code == 404
    assert client.post(f"/cases/{case.pk}/do/accept/", {"version": case.version}).status_code == 404
    assert denied_count() == before + 3
    assert Case.objects.get(pk=case.pk).state == State.REGISTERED
    assert not CaseView.objects.exists()
    listing = client.get("/cases/")
    if username == "b_caseworker":
        assert [c.pk for c in listing.context["rows"]] == [cases.b.pk]
    else:  # no case capability at all: the page is refused, the nav has no link
        assert listing.status_code == 403
        assert "nav-cases" not in client.get("/notices/").content.decode()
    lookup = client.get("/cases/lookup/", {"caller_phone": "13812345678"})
    assert "WQ-" not in lookup.content.decode()


def test_hotline_sees_only_its_own_open_intakes(cast, login):
    u = cast.users
    client = login(u.county_hotline)
    assert client.get("/cases/").url == "/cases/new/"
    response = client.post("/cases/new/", intake_post(cast))
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    assert case.risk == 3 and case.created_by == u.county_hotline and case.org_unit == cast.village_a1
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    assert "张*梅" in detail and "掐她脖子" not in detail and "reveal-form" not in detail
    assert case.number in client.get("/cases/new/").content.decode()
    assert login(u.a_hotline).get(f"/cases/{case.pk}/").status_code == 404
    advance(case, u.a_caseworker, "accepted")
    client = login(u.county_hotline)
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert case.number not in client.get("/cases/new/").content.decode()


# --- intake form ------------------------------------------------------------------------------------------------


def test_intake_errors_are_chinese_and_keep_what_was_typed(cast, login):
    client = login(cast.users.a_caseworker)
    data = intake_post(
        cast,
        unit=cast.town_a.pk,
        affected_id_number="360102199003070023",
        affected_phone="2381234567",
        account="她说的话一字不能丢",
    )
    response = client.post("/cases/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "身份证号码校验位不正确,请核对" in html
    assert "电话号码无效" in html
    assert "她说的话一字不能丢" in html and "360102199003070023" in html and "王大军" in html
    assert Case.objects.count() == 0 and Party.objects.count() == 0


def test_xss_payload_is_escaped(cast, login):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    case = make_case(
        cast.users.a_caseworker, cast.town_a, account=payload, parties=dv_parties(relation=payload[:20])
    )
    advance(case, cast.users.a_caseworker, "accepted")
    from fulian.cases import actions

    actions.record_action(cast.users.a_caseworker, case, kind="note", text=payload)
    html = cast_client_html(cast, case)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def cast_client_html(cast, case) -> str:
    from django.test import Client

    client = Client()
    client.force_login(cast.users.a_caseworker)
    return client.get(f"/cases/{case.pk}/").content.decode()


def test_lookup_offers_earlier_cases_of_the_same_number(cast, login, cases):
    client = login(cast.users.a_caseworker)
    html = client.get("/cases/lookup/", {"affected_phone": "+86 138-1234-5678"}).content.decode()
    assert cases.a1.number in html and cases.b.number not in html
    assert AuditEvent.objects.filter(action="cases.lookup").count() == 1


# --- reveal and transitions ---------------------------------------------------------------------------------------


def test_reveal_with_a_reason_shows_plaintext_and_is_recorded(cast, login, cases):
    client = login(cast.users.a_leader)
    case = cases.a1
    assert "张玉梅" not in client.get(f"/cases/{case.pk}/").content.decode()
    response = client.post(f"/cases/{case.pk}/reveal/", {"reason": ""})
    assert response.status_code == 400 and not CaseView.objects.exists()
    response = client.post(f"/cases/{case.pk}/reveal/", {"reason": "审批前核实"})
    html = response.content.decode()
    assert "张玉梅" in html and "13812345678" in html and ID_WOMAN in html
    assert CaseView.objects.filter(case=case, user=cast.users.a_leader).count() == 1
    assert "审批前核实" in html  # the leader sees who looked
    assert AuditEvent.objects.filter(action="cases.identity.reveal", actor_id=cast.users.a_leader.pk).exists()


def test_transitions_through_the_page_with_conflict(cast, login, cases):
    client = login(cast.users.a_caseworker)
    case = cases.a1
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "/do/accept/" in html and "/do/approve_closure/" not in html
    response = client.post(f"/cases/{case.pk}/do/accept/", {"version": case.version})
    assert response.status_code == 302
    response = client.post(f"/cases/{case.pk}/do/reject/", {"version": case.version, "reason": "重复"})
    assert response.status_code == 409
    assert "该记录已被其他人修改" in response.content.decode()
    case.refresh_from_db()
    response = client.post(
        f"/cases/{case.pk}/do/request_closure/", {"version": case.version, "outcome": "写好的结果"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "不能变更为“待审批办结”" in html and "写好的结果" in html
    response = client.post(
        f"/cases/{case.pk}/do/action/",
        {"verb": "action", "kind": "police_warning", "result": "公安已出具告诫书", "text": "派出所已出具"},
    )
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED
    assert "公安已出具告诫书" in client.get(f"/cases/{case.pk}/").content.decode()


# --- query counts ---------------------------------------------------------------------------------------------------


def grow(cast, n=6):
    for i in range(n):
        make_case(cast.users.a_caseworker, cast.village_a1, parties=dv_parties(name=f"测试{i}"))


def test_list_query_count_does_not_grow(cast, login, cases, django_assert_num_queries):
    client = login(cast.users.a_caseworker)
    client.get("/cases/")
    # session, user, memberships, COUNT, the page's ids, those cases, their parties, unread-notice COUNT,
    # session touch x3
    with django_assert_num_queries(11):
        client.get("/cases/")
    grow(cast)
    with django_assert_num_queries(11):
        response = client.get("/cases/")
    assert len(response.context["rows"]) == 7


def test_rows_partial_query_count(cast, login, cases, django_assert_num_queries):
    client = login(cast.users.county_caseworker)
    grow(cast)
    # the page without the nav: no unread-notice COUNT
    with django_assert_num_queries(10):
        response = client.get("/cases/?state=all&risk=", HTTP_HX_REQUEST="true")
    assert len(response.context["rows"]) == 8


# --- drafts (autosave) ----------------------------------------------------------------------------------------------


def test_intake_draft_autosaves_restores_and_disappears_on_registration(cast, login):
    from django.db import connection

    from fulian.cases.models import IntakeDraft

    client = login(cast.users.county_hotline)
    typed = {"affected_name": "张玉梅", "affected_phone": "13812345678", "account": "还没说完的陈述"}
    response = client.post("/cases/new/autosave/", typed)
    draft = IntakeDraft.objects.get()
    assert f'value="{draft.pk}"' in response.content.decode()
    client.post("/cases/new/autosave/", {**typed, "draft": draft.pk, "request": "想离开家"})
    assert IntakeDraft.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM cases_intakedraft")
        assert "张玉梅" not in cursor.fetchone()[0]
    html = client.get(f"/cases/new/?draft={draft.pk}").content.decode()
    assert "还没说完的陈述" in html and "想离开家" in html and 'value="13812345678"' in html
    # nobody else opens it, whatever their role
    other = login(cast.users.county_leader)
    assert other.get(f"/cases/new/?draft={draft.pk}").status_code == 404
    assert other.post("/cases/new/autosave/", {"draft": draft.pk, "account": "x"}).status_code == 404
    client = login(cast.users.county_hotline)
    response = client.post("/cases/new/", {**intake_post(cast), "draft": draft.pk})
    assert response.status_code == 302
    assert not IntakeDraft.objects.exists()
    assert AuditEvent.objects.filter(action="cases.draft.discard").count() == 1


def test_staff_cannot_save_drafts(cast, login):
    response = login(cast.users.a_staff).post("/cases/new/autosave/", {"account": "x"})
    assert response.status_code == 403


def test_detail_query_count_does_not_grow_with_the_timeline(cast, login, cases, django_assert_num_queries):
    from fulian.cases import actions

    case = cases.a1
    advance(case, cast.users.a_caseworker, "accepted")
    client = login(cast.users.a_leader)
    client.get(f"/cases/{case.pk}/")
    with django_assert_num_queries(DETAIL_QUERIES):
        client.get(f"/cases/{case.pk}/")
    for i in range(5):
        actions.record_action(cast.users.a_caseworker, case, kind="visit", text=f"第{i}次走访")
        actions.reveal_identity(cast.users.a_leader, case, reason=f"核实{i}")
    actions.refer_external(cast.users.a_caseworker, case, agency="police")
    actions.refer_external(cast.users.a_caseworker, case, agency="court")
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(f"/cases/{case.pk}/")
    assert response.content.decode().count("第") >= 5


# session, user, memberships, case, parties, timeline, referrals, views, related cases, assignable units,
# handlers, the unit's parent, transfer targets, the correction form's category choices (3), unread COUNT,
# session touch x3
DETAIL_QUERIES = 20


def test_corrections_through_the_page_after_a_reveal(cast, login, cases):
    client = login(cast.users.a_caseworker)
    case = cases.a1
    html = client.post(f"/cases/{case.pk}/reveal/", {"reason": "当事人要求更正电话"}).content.decode()
    assert "party-edit" in html and 'value="13812345678"' in html
    party = case.parties.get(role="affected")
    data = {
        "version": case.version,
        "party": party.pk,
        "name": "张玉梅",
        "phone": "13955556666",
        "id_number": ID_WOMAN,
        "address": "甲镇甲一村三组18号",
        "relation": "本人",
        "safe_phone": "13900001111",
        "safe_time": "工作日上午",
    }
    assert client.post(f"/cases/{case.pk}/do/party/", data).status_code == 302
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "电话:138****5678 → 139****6666" in html and "13955556666" not in html
