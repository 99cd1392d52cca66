"""The REST API: bearer tokens, scoping (404 + audit outside the scope), idempotent creates, optimistic
versions, the OpenAPI document, and fixed query counts (no N+1) on the list endpoints."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from fulian.accounts.actions import create_token
from fulian.accounts.models import ApiToken
from fulian.api.models import IdempotencyKey
from fulian.audit.models import AuditEvent
from fulian.conftest import make_cadre
from fulian.orgs.actions import ConflictError, create_unit
from fulian.orgs.models import Cadre, Education, Kind, Position

CONFLICT_MESSAGE = ConflictError.message

# Pinned query counts for the list endpoints (see test_*_query_count_is_fixed).
# the token with its user and memberships (one statement) + COUNT(*) for the paginator + the page itself.
UNIT_LIST_QUERIES = 3
CADRE_LIST_QUERIES = 3
# the token with its user and memberships (one statement)
ME_QUERIES = 1


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(None, user)}")
    return client


@pytest.fixture
def api():
    return bearer


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def denied_events(user):
    return AuditEvent.objects.filter(action="access.denied", actor_id=user.pk)


def new_cadre_payload(unit, **overrides) -> dict:
    payload = {
        "org_unit_id": unit.pk,
        "name": "赵小红",
        "gender": "F",
        "birth_date": "1988-06-01",
        "education": Education.BACHELOR,
        "position": Position.VICE_CHAIR,
        "full_time": False,
        "party_member": True,
        "in_two_committees": True,
        "phone": "13900002222",
    }
    payload.update(overrides)
    return payload


# --- authentication -----------------------------------------------------------------------------------------


def test_without_a_token_the_api_answers_401_in_chinese(cast):
    response = APIClient().get("/api/v1/units/")
    assert response.status_code == 401
    assert response.json()["detail"] == "身份认证信息未提供。"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header, message",
    [
        ("Bearer fl_not-a-real-token", "令牌无效或已被吊销。"),
        ("Bearer", "令牌格式错误,应为:Authorization: Bearer <令牌>"),
        ("Bearer one two", "令牌格式错误,应为:Authorization: Bearer <令牌>"),
    ],
)
def test_a_bad_token_is_401_with_a_chinese_message(cast, header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"detail": message}


def test_a_revoked_token_stops_working(cast):
    token = create_token(None, cast.users.a_staff, name="phone")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(user=cast.users.a_staff, name="phone").update(revoked=True)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "令牌无效或已被吊销。"}


def test_a_token_of_a_deactivated_user_stops_working(cast):
    client = bearer(cast.users.a_staff)
    cast.users.a_staff.is_active = False
    cast.users.a_staff.save(update_fields=["is_active"])
    assert client.get("/api/v1/me").status_code == 401


def test_token_create_command_prints_a_working_token(cast):
    out = io.StringIO()
    call_command("token", "create", "b_staff", stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("fl_")
    row = ApiToken.objects.get(user=cast.users.b_staff)
    assert row.name == "cli" and row.prefix == token[:8] and token not in row.digest
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "b_staff"
    assert AuditEvent.objects.filter(action="accounts.token.create", object_id=str(row.user_id)).exists()


def test_token_create_command_rejects_an_unknown_user(cast):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="用户不存在:nobody"):
        call_command("token", "create", "nobody", stdout=io.StringIO())


# --- /me ------------------------------------------------------------------------------------------------------


def test_me_lists_the_memberships(cast):
    response = bearer(cast.users.a_staff).get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == cast.users.a_staff.pk
    assert body["username"] == "a_staff"
    assert body["memberships"] == [
        {
            "org_unit_id": cast.town_a.pk,
            "org_unit_name": "甲镇妇联",
            "org_unit_kind": Kind.TOWNSHIP,
            "org_unit_path": cast.town_a.path,
            "role": "staff",
            "role_display": "工作人员",
        }
    ]


# --- units ----------------------------------------------------------------------------------------------------


def test_township_user_lists_exactly_its_subtree(cast):
    response = bearer(cast.users.a_staff).get("/api/v1/units/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["code"] for row in body["results"]] == ["A", "A1", "A2"]
    assert ids(response) == {cast.town_a.pk, cast.village_a1.pk, cast.village_a2.pk}


def test_unit_filters(cast):
    client = bearer(cast.users.county_leader)
    villages = client.get("/api/v1/units/", {"kind": Kind.VILLAGE})
    assert ids(villages) == {cast.village_a1.pk, cast.village_a2.pk, cast.village_b1.pk}
    assert ids(client.get("/api/v1/units/", {"q": "甲"})) == {
        cast.town_a.pk,
        cast.village_a1.pk,
        cast.village_a2.pk,
    }
    under_b = client.get("/api/v1/units/", {"under": cast.town_b.pk})
    assert ids(under_b) == {cast.town_b.pk, cast.village_b1.pk}


def test_listing_under_a_foreign_unit_is_404_and_audited(cast):
    user = cast.users.a_staff
    response = bearer(user).get("/api/v1/units/", {"under": cast.town_b.pk})
    assert response.status_code == 404
    assert response.json() == {"detail": "未找到该记录,或您无权查看。"}
    event = denied_events(user).get()
    assert event.object_type == "orgs.orgunit"
    assert event.object_id == str(cast.town_b.pk)
    assert event.outcome == "denied"


@pytest.mark.parametrize("suffix", ["", "children/"])
def test_a_foreign_unit_and_its_children_are_404_and_audited(cast, suffix):
    user = cast.users.a_leader
    client = bearer(user)
    for unit in (cast.town_b, cast.village_b1, cast.county):
        response = client.get(f"/api/v1/units/{unit.pk}/{suffix}")
        assert response.status_code == 404, unit
        assert response.json() == {"detail": "未找到该记录,或您无权查看。"}
    assert sorted(denied_events(user).values_list("object_id", flat=True)) == sorted(
        str(u.pk) for u in (cast.town_b, cast.village_b1, cast.county)
    )


def test_a_missing_unit_is_the_same_404(cast):
    response = bearer(cast.users.a_staff).get("/api/v1/units/999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "未找到该记录,或您无权查看。"}
    assert denied_events(cast.users.a_staff).count() == 1


def test_own_unit_detail_and_children(cast):
    client = bearer(cast.users.a_staff)
    detail = client.get(f"/api/v1/units/{cast.town_a.pk}/")
    assert detail.status_code == 200
    assert detail.json()["name"] == "甲镇妇联"
    assert detail.json()["parent_id"] == cast.county.pk
    assert detail.json()["kind_display"] == "乡镇妇联"
    children = client.get(f"/api/v1/units/{cast.town_a.pk}/children/")
    assert children.status_code == 200
    assert [row["code"] for row in children.json()["results"]] == ["A1", "A2"]
    assert not denied_events(cast.users.a_staff).exists()


def test_the_county_user_sees_everything(cast):
    response = bearer(cast.users.county_staff).get("/api/v1/units/")
    assert response.status_code == 200
    assert response.json()["count"] == 7
    assert {row["code"] for row in response.json()["results"]} == {"C", "A", "B", "A1", "A2", "B1", "CA"}
    client = bearer(cast.users.county_caseworker)  # view_org only: may still list the tree
    assert client.get(f"/api/v1/units/{cast.village_b1.pk}/").status_code == 200


# --- cadres: reading ----------------------------------------------------------------------------------------


def test_cadre_list_is_scoped(cast):
    a_names = {"王桂兰", "张玉梅"}
    for user in (cast.users.a_staff, cast.users.a_leader, cast.users.a_sysadmin):
        body = bearer(user).get("/api/v1/cadres/").json()
        assert body["count"] == 2, user
        assert {row["name"] for row in body["results"]} == a_names
    body = bearer(cast.users.b1_staff).get("/api/v1/cadres/").json()
    assert body["count"] == 1
    assert [row["name"] for row in body["results"]] == ["陈丽"]
    assert bearer(cast.users.county_leader).get("/api/v1/cadres/").json()["count"] == 5


def test_cadre_count_never_includes_foreign_rows(cast):
    for i in range(7):
        make_cadre(cast.village_b1, f"乙村委员{i}", position=Position.MEMBER)
    client = bearer(cast.users.a_staff)
    body = client.get("/api/v1/cadres/", {"limit": 1}).json()
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert body["next"] is not None
    # a filter that matches only B's rows finds nothing for A
    assert client.get("/api/v1/cadres/", {"q": "乙村委员"}).json()["count"] == 0
    assert client.get("/api/v1/cadres/", {"position": Position.MEMBER}).json()["count"] == 0


def test_cadre_filters(cast):
    client = bearer(cast.users.county_staff)

    def names(**params):
        response = client.get("/api/v1/cadres/", params)
        assert response.status_code == 200
        return {row["name"] for row in response.json()["results"]}

    assert names(unit=cast.town_a.pk) == {"王桂兰", "张玉梅"}
    assert names(unit=cast.village_b1.pk) == {"陈丽"}
    assert names(q="秀英") == {"刘秀英"}
    assert names(q="13800001111") == {"周红梅", "王桂兰", "张玉梅", "刘秀英", "陈丽"}
    assert names(education=Education.BACHELOR) == {"周红梅"}
    assert names(education=Education.HIGH_SCHOOL) == {"张玉梅"}
    assert names(full_time="true") == {"周红梅", "王桂兰", "刘秀英"}
    assert names(full_time="false") == {"张玉梅", "陈丽"}
    assert names(in_two_committees="1") == {"张玉梅"}
    assert names(party_member="0") == set()
    assert names(position=Position.CHAIR, unit=cast.town_b.pk, full_time="是") == {"刘秀英"}


def test_cadre_filter_on_a_foreign_unit_is_404_and_audited(cast):
    user = cast.users.a_staff
    response = bearer(user).get("/api/v1/cadres/", {"unit": cast.town_b.pk})
    assert response.status_code == 404
    assert denied_events(user).filter(object_id=str(cast.town_b.pk)).exists()


def test_a_foreign_cadre_is_404_and_audited(cast):
    user = cast.users.a_staff
    client = bearer(user)
    assert client.get(f"/api/v1/cadres/{cast.cadres.a1_chair.pk}/").status_code == 200
    response = client.get(f"/api/v1/cadres/{cast.cadres.b1_chair.pk}/")
    assert response.status_code == 404
    event = denied_events(user).get()
    assert (event.object_type, event.object_id) == ("orgs.cadre", str(cast.cadres.b1_chair.pk))


@pytest.mark.parametrize("who", ["a_caseworker", "a_auditor", "county_caseworker", "county_auditor"])
def test_roles_without_the_cadre_capability_get_403(cast, who):
    client = bearer(getattr(cast.users, who))
    response = client.get("/api/v1/cadres/")
    assert response.status_code == 403
    assert response.json() == {"detail": "您没有此项权限。"}
    assert (
        client.post("/api/v1/cadres/", new_cadre_payload(cast.village_a1), format="json").status_code == 403
    )
    assert client.get(f"/api/v1/cadres/{cast.cadres.a1_chair.pk}/").status_code == 403
    assert Cadre.objects.count() == 5


# --- cadres: creating ---------------------------------------------------------------------------------------


def test_staff_creates_a_cadre_in_a_village_of_the_township(cast):
    response = bearer(cast.users.a_staff).post(
        "/api/v1/cadres/", new_cadre_payload(cast.village_a1), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["org_unit_id"] == cast.village_a1.pk
    assert body["org_unit_name"] == "甲一村"
    assert body["version"] == 1
    cadre = Cadre.objects.get(pk=body["id"])
    assert (cadre.name, cadre.org_unit_id, cadre.birth_date) == (
        "赵小红",
        cast.village_a1.pk,
        dt.date(1988, 6, 1),
    )
    event = AuditEvent.objects.get(action="orgs.cadre.create", object_id=str(cadre.pk))
    assert event.actor_username == "a_staff"
    assert event.org_unit_id == cast.village_a1.pk


def test_creating_a_cadre_in_a_foreign_unit_is_404_and_creates_nothing(cast):
    user = cast.users.a_staff
    response = bearer(user).post("/api/v1/cadres/", new_cadre_payload(cast.village_b1), format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "未找到该记录,或您无权查看。"}
    assert not Cadre.objects.filter(name="赵小红").exists()
    assert denied_events(user).filter(object_id=str(cast.village_b1.pk)).exists()


def test_creating_in_a_foreign_unit_with_an_idempotency_key_is_still_audited(cast):
    user = cast.users.a_staff
    response = bearer(user).post(
        "/api/v1/cadres/", new_cadre_payload(cast.village_b1), format="json", HTTP_IDEMPOTENCY_KEY="k-b1"
    )
    assert response.status_code == 404
    assert not Cadre.objects.filter(name="赵小红").exists()
    assert not IdempotencyKey.objects.exists()
    assert denied_events(user).filter(object_id=str(cast.village_b1.pk)).exists()


def test_a_viewer_without_edit_rights_cannot_create_in_a_unit_it_sees(cast):
    """A village staff member sees only A1; 甲镇 itself is outside her edit scope."""
    response = bearer(cast.users.a1_staff).post(
        "/api/v1/cadres/", new_cadre_payload(cast.town_a), format="json"
    )
    assert response.status_code == 404
    assert not Cadre.objects.filter(name="赵小红").exists()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        (
            {"birth_date": (dt.date.today() + dt.timedelta(days=30)).isoformat()},
            "birth_date",
            "出生日期不能晚于今天。",
        ),
        ({"education": "kindergarten"}, "education", "“kindergarten” 不是合法选项。"),
        ({"name": ""}, "name", "该字段不能为空。"),
        ({"org_unit_id": None}, "org_unit_id", "该字段不能为 null。"),
    ],
)
def test_invalid_cadre_is_400_in_chinese_and_creates_nothing(cast, overrides, field, message):
    response = bearer(cast.users.a_staff).post(
        "/api/v1/cadres/", new_cadre_payload(cast.village_a1, **overrides), format="json"
    )
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert Cadre.objects.count() == 5
    assert not AuditEvent.objects.filter(action="orgs.cadre.create", actor_id=cast.users.a_staff.pk).exists()


def test_a_retried_create_with_the_same_idempotency_key_creates_one_cadre(cast):
    client = bearer(cast.users.a_staff)
    payload = new_cadre_payload(cast.village_a1)
    first = client.post("/api/v1/cadres/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-2026-001")
    second = client.post("/api/v1/cadres/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-2026-001")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Cadre.objects.filter(name="赵小红").count() == 1
    assert IdempotencyKey.objects.filter(user=cast.users.a_staff).count() == 1

    different = client.post(
        "/api/v1/cadres/", {**payload, "name": "钱小兰"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2026-001"
    )
    assert different.status_code == 422
    assert different.json() == {
        "detail": "该 Idempotency-Key 已用于另一个不同的请求。",
        "code": "idempotency_mismatch",
    }
    assert not Cadre.objects.filter(name="钱小兰").exists()

    fresh = client.post("/api/v1/cadres/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-2026-002")
    assert fresh.status_code == 201
    assert fresh.json()["id"] != first.json()["id"]
    assert Cadre.objects.filter(name="赵小红").count() == 2


def test_idempotency_keys_belong_to_one_user(cast):
    payload = new_cadre_payload(cast.village_a1)
    first = bearer(cast.users.a_staff).post(
        "/api/v1/cadres/", payload, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    other = bearer(cast.users.a_leader).post(
        "/api/v1/cadres/", payload, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert first.status_code == other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert Cadre.objects.filter(name="赵小红").count() == 2


def test_a_failed_create_does_not_burn_the_idempotency_key(cast):
    client = bearer(cast.users.a_staff)
    bad = new_cadre_payload(cast.village_a1, education="kindergarten")
    assert client.post("/api/v1/cadres/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = new_cadre_payload(cast.village_a1)
    response = client.post("/api/v1/cadres/", good, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Cadre.objects.filter(name="赵小红").count() == 1


def test_an_overlong_idempotency_key_is_400(cast):
    response = bearer(cast.users.a_staff).post(
        "/api/v1/cadres/", new_cadre_payload(cast.village_a1), format="json", HTTP_IDEMPOTENCY_KEY="k" * 101
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Idempotency-Key 不能超过 100 个字符。"}
    assert Cadre.objects.count() == 5


# --- cadres: updating with a version ------------------------------------------------------------------------


def test_patch_with_the_current_version_saves_and_bumps_the_version(cast):
    cadre = cast.cadres.a1_chair
    client = bearer(cast.users.a_staff)
    response = client.patch(
        f"/api/v1/cadres/{cadre.pk}/", {"phone": "13700003333", "version": 1}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    assert response.json()["phone"] == "13700003333"
    cadre.refresh_from_db()
    assert (cadre.phone, cadre.version) == ("13700003333", 2)
    event = AuditEvent.objects.get(action="orgs.cadre.update", object_id=str(cadre.pk))
    assert event.detail["after"] == {"phone": "13700003333"}


def test_patch_with_a_stale_version_is_409_and_changes_nothing(cast):
    cadre = cast.cadres.a1_chair
    client = bearer(cast.users.a_staff)
    assert (
        client.patch(
            f"/api/v1/cadres/{cadre.pk}/", {"phone": "13700003333", "version": 1}, format="json"
        ).status_code
        == 200
    )
    response = client.patch(f"/api/v1/cadres/{cadre.pk}/", {"name": "张玉兰", "version": 1}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": CONFLICT_MESSAGE, "code": "conflict"}
    assert CONFLICT_MESSAGE == "该记录已被其他人修改,请刷新后重新编辑。您填写的内容没有丢失。"
    cadre.refresh_from_db()
    assert (cadre.name, cadre.phone, cadre.version) == ("张玉梅", "13700003333", 2)


def test_patch_without_a_version_is_400(cast):
    cadre = cast.cadres.a1_chair
    response = bearer(cast.users.a_staff).patch(
        f"/api/v1/cadres/{cadre.pk}/", {"name": "张玉兰"}, format="json"
    )
    assert response.status_code == 400
    # (the message comes back as a bare string, not a one-element list like the other field errors)
    assert response.json()["version"] in (
        "修改时必须提供版本号 version。",
        ["修改时必须提供版本号 version。"],
    )
    cadre.refresh_from_db()
    assert (cadre.name, cadre.version) == ("张玉梅", 1)


def test_patch_with_invalid_data_is_400_and_changes_nothing(cast):
    cadre = cast.cadres.a1_chair
    future = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    response = bearer(cast.users.a_staff).patch(
        f"/api/v1/cadres/{cadre.pk}/", {"birth_date": future, "version": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"birth_date": ["出生日期不能晚于今天。"]}
    cadre.refresh_from_db()
    assert (cadre.birth_date, cadre.version) == (dt.date(1965, 3, 2), 1)


def test_moving_a_cadre_out_of_the_scope_is_404(cast):
    cadre = cast.cadres.a1_chair
    user = cast.users.a_staff
    response = bearer(user).patch(
        f"/api/v1/cadres/{cadre.pk}/", {"org_unit_id": cast.village_b1.pk, "version": 1}, format="json"
    )
    assert response.status_code == 404
    cadre.refresh_from_db()
    assert (cadre.org_unit_id, cadre.version) == (cast.village_a1.pk, 1)
    assert denied_events(user).filter(object_id=str(cast.village_b1.pk)).exists()


def test_patching_a_foreign_cadre_is_404(cast):
    cadre = cast.cadres.b1_chair
    response = bearer(cast.users.a_leader).patch(
        f"/api/v1/cadres/{cadre.pk}/", {"name": "改名", "version": 1}, format="json"
    )
    assert response.status_code == 404
    cadre.refresh_from_db()
    assert (cadre.name, cadre.version) == ("陈丽", 1)


# --- the OpenAPI document -----------------------------------------------------------------------------------


def test_openapi_document(cast):
    response = bearer(cast.users.a_staff).get("/api/v1/openapi.json", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "Fulian API (妇联工作平台)"
    for path in ("/api/v1/me", "/api/v1/units/", "/api/v1/cadres/", "/api/v1/cadres/{id}/"):
        assert path in doc["paths"], path
    assert set(doc["paths"]["/api/v1/cadres/"]) >= {"get", "post"}
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "令牌由 `fulian token create 用户名` 生成",
    }
    for path, method in (("/api/v1/me", "get"), ("/api/v1/units/", "get"), ("/api/v1/cadres/", "post")):
        assert {"bearerAuth": []} in doc["paths"][path][method]["security"], path
    post_params = {p["name"] for p in doc["paths"]["/api/v1/cadres/"]["post"].get("parameters", [])}
    assert "Idempotency-Key" in post_params


def test_openapi_document_is_served_without_a_token(db):
    response = APIClient().get("/api/v1/openapi.json", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/v1/cadres/" in response.json()["paths"]


def test_openapi_json_is_json_without_an_accept_header(db):
    response = APIClient().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    assert response.json()["openapi"].startswith("3.")


# --- query counts (no N+1) ----------------------------------------------------------------------------------


def warmed(user) -> APIClient:
    """A client whose token was already used once (the first use stamps last_used_at: one extra write)."""
    client = bearer(user)
    assert client.get("/api/v1/me").status_code == 200
    return client


def test_me_query_count_is_fixed(cast, django_assert_num_queries):
    client = warmed(cast.users.a_staff)
    with django_assert_num_queries(ME_QUERIES):
        assert client.get("/api/v1/me").status_code == 200


def test_unit_list_query_count_is_fixed(cast, django_assert_num_queries):
    client = warmed(cast.users.county_staff)
    with django_assert_num_queries(UNIT_LIST_QUERIES):
        before = client.get("/api/v1/units/")
    assert before.json()["count"] == 7
    for i in range(10):
        create_unit(None, parent=cast.town_a, kind=Kind.VILLAGE, name=f"新村{i}", code=f"N{i}")
    with django_assert_num_queries(UNIT_LIST_QUERIES):
        after = client.get("/api/v1/units/")
    assert after.json()["count"] == 17
    # children: one more query, the scoped lookup of the parent unit
    with django_assert_num_queries(UNIT_LIST_QUERIES + 1):
        assert len(client.get(f"/api/v1/units/{cast.town_a.pk}/children/").json()["results"]) == 12


def test_cadre_list_query_count_is_fixed(cast, django_assert_num_queries):
    client = warmed(cast.users.county_staff)
    with django_assert_num_queries(CADRE_LIST_QUERIES):
        before = client.get("/api/v1/cadres/")
    assert before.json()["count"] == 5
    units = [cast.village_a1, cast.village_a2, cast.village_b1, cast.town_b, cast.agency]
    for i in range(10):
        make_cadre(units[i % len(units)], f"新干部{i}", position=Position.MEMBER)
    with django_assert_num_queries(CADRE_LIST_QUERIES):
        after = client.get("/api/v1/cadres/")
    assert after.json()["count"] == 15
    assert {row["org_unit_name"] for row in after.json()["results"]} >= {"甲二村", "县教育局妇委会"}
    # a unit filter costs exactly one more query (the scoped lookup of that unit)
    with django_assert_num_queries(CADRE_LIST_QUERIES + 1):
        assert client.get("/api/v1/cadres/", {"unit": cast.town_a.pk}).json()["count"] == 6
