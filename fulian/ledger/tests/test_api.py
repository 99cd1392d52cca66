"""The ledger API: scope (404 + audit outside it), idempotent creates, versions, locks, Chinese validation
errors, the roll-up table (same figures as the page), fixed query counts and the OpenAPI document."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from fulian.accounts.actions import create_token
from fulian.api.models import IdempotencyKey
from fulian.audit.models import AuditEvent
from fulian.ledger import queries
from fulian.ledger.models import BrandTag, LedgerRecord, RecordKind
from fulian.orgs.actions import ConflictError

from .builders import activity, training

# the token with its user and memberships (one statement, fulian/api/auth.py) + COUNT(*) for the paginator +
# the page + the tags of the page (one prefetch)
RECORD_LIST_QUERIES = 4
# the token with its user and memberships + COUNT(*) + the page
TAG_LIST_QUERIES = 3
# the token with its user and memberships + the roll-up's GROUP BY + the child units
ROLLUP_QUERIES = 3

RECORDS = "/api/v1/ledger/records/"
ROLLUP = "/api/v1/ledger/rollup/"
NOT_FOUND = {"detail": "未找到该记录,或您无权查看。"}


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(None, user)}")
    return client


def warmed(user) -> APIClient:
    """A client whose token was already used once (the first use stamps last_used_at: one extra write)."""
    client = bearer(user)
    assert client.get("/api/v1/me").status_code == 200
    return client


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def denied_events(user):
    return AuditEvent.objects.filter(action="access.denied", actor_id=user.pk)


def this_month() -> dt.date:
    return dt.date.today().replace(day=1)


def locked_day() -> dt.date:
    return (this_month() - dt.timedelta(days=60)).replace(day=8)


def payload(unit, **overrides) -> dict:
    body = {
        "org_unit_id": unit.pk,
        "kind": RecordKind.TRAINING,
        "category": "实用技术",
        "title": "茶叶种植实用技术培训",
        "date": this_month().isoformat(),
        "sessions": 2,
        "participants": 30,
        "person_times": 60,
        "employed": 3,
        "partner": "县农业农村局",
    }
    body.update(overrides)
    return body


@pytest.fixture
def records(cast):
    """One record in each village and township of the cast, typed by its own staff."""
    return {
        "a1": training(cast.village_a1, cast.users.a1_staff, sessions=2, people=30, employed=4),
        "a": activity(cast.town_a, cast.users.a_staff, people=80, title="三八节巾帼宣传"),
        "b1": training(cast.village_b1, cast.users.b1_staff, sessions=3, people=12),
        "b": activity(cast.town_b, cast.users.b_staff, people=45),
    }


# --- reading and scope ----------------------------------------------------------------------------------------


def test_list_is_scoped_to_the_subtree(cast, records):
    assert ids(bearer(cast.users.a_staff).get(RECORDS)) == {records["a1"].pk, records["a"].pk}
    assert ids(bearer(cast.users.a1_staff).get(RECORDS)) == {records["a1"].pk}
    assert ids(bearer(cast.users.b1_staff).get(RECORDS)) == {records["b1"].pk}
    assert ids(bearer(cast.users.county_leader).get(RECORDS)) == {r.pk for r in records.values()}


def test_a_filter_matching_only_foreign_rows_finds_nothing(cast, records):
    client = bearer(cast.users.a_staff)
    assert client.get(RECORDS, {"q": "茶叶"}).json()["count"] == 1  # A1's, not B1's
    assert client.get(RECORDS, {"kind": RecordKind.TRAINING, "limit": 1}).json()["count"] == 1
    body = client.get(RECORDS, {"category": "宣传"}).json()
    assert [row["title"] for row in body["results"]] == ["三八节巾帼宣传"]


def test_filters(cast, records):
    tag = BrandTag.objects.get(name="巾帼建功")
    old = training(cast.village_a2, None, day=dt.date(2024, 5, 6), title="家庭教育讲座", tags=[tag])
    client = bearer(cast.users.county_staff)

    def found(**params):
        response = client.get(RECORDS, params)
        assert response.status_code == 200, response.json()
        return ids(response)

    assert found(unit=cast.town_a.pk) == {records["a1"].pk, records["a"].pk, old.pk}
    assert found(unit=cast.village_b1.pk) == {records["b1"].pk}
    assert found(kind=RecordKind.ACTIVITY) == {records["a"].pk, records["b"].pk}
    assert found(tag=tag.pk) == {old.pk}
    assert found(start="2024-01-01", end="2024-12-31") == {old.pk}
    assert found(start=this_month().isoformat()) == {r.pk for r in records.values()}
    assert found(q="家庭教育") == {old.pk}
    row = client.get(f"{RECORDS}{old.pk}/").json()
    assert row["tags"] == [tag.pk] and row["org_unit_name"] == "甲二村" and row["kind_display"] == "培训"


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"start": "2026-13-01"}, "start", "开始日期格式应为 YYYY-MM-DD。"),
        ({"unit": "甲镇"}, "unit", "单位应为整数 id。"),
    ],
)
def test_bad_filters_are_400_in_chinese(cast, params, field, message):
    response = bearer(cast.users.a_staff).get(RECORDS, params)
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_listing_under_a_foreign_unit_is_404_and_audited(cast, records):
    user = cast.users.a_staff
    response = bearer(user).get(RECORDS, {"unit": cast.town_b.pk})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert denied_events(user).filter(object_type="orgs.orgunit", object_id=str(cast.town_b.pk)).exists()


def test_a_foreign_record_is_404_and_audited(cast, records):
    user = cast.users.a_leader
    client = bearer(user)
    assert client.get(f"{RECORDS}{records['a1'].pk}/").status_code == 200
    for rec in (records["b1"], records["b"]):
        response = client.get(f"{RECORDS}{rec.pk}/")
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert sorted(denied_events(user).values_list("object_type", "object_id")) == sorted(
        ("ledger.ledgerrecord", str(r.pk)) for r in (records["b1"], records["b"])
    )
    # a village sees neither its township's nor its neighbour's records
    assert bearer(cast.users.a1_staff).get(f"{RECORDS}{records['a'].pk}/").status_code == 404


def test_a_missing_record_is_the_same_404(cast):
    response = bearer(cast.users.a_staff).get(f"{RECORDS}999999/")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert denied_events(cast.users.a_staff).count() == 1


@pytest.mark.parametrize("who", ["a_auditor", "county_auditor", "county_sysadmin"])
def test_roles_without_the_work_capability_get_403(cast, records, who):
    client = bearer(getattr(cast.users, who))
    for url in (RECORDS, f"{RECORDS}{records['a1'].pk}/", ROLLUP, "/api/v1/ledger/tags/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json() == {"detail": "您没有此项权限。"}
    assert client.post(RECORDS, payload(cast.village_a1), format="json").status_code == 403
    assert LedgerRecord.objects.count() == 4


# --- creating --------------------------------------------------------------------------------------------------


def test_village_staff_creates_a_record_of_its_own_village(cast):
    tag = BrandTag.objects.get(name="双学双比")
    response = bearer(cast.users.a1_staff).post(
        RECORDS, payload(cast.village_a1, tags=[tag.pk]), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["org_unit_id"] == cast.village_a1.pk and body["org_unit_name"] == "甲一村"
    assert (body["version"], body["tags"], body["amount"]) == (1, [tag.pk], "0.00")
    rec = LedgerRecord.objects.get(pk=body["id"])
    assert (rec.sessions, rec.participants, rec.employed, rec.created_by) == (2, 30, 3, cast.users.a1_staff)
    assert list(rec.tags.all()) == [tag]
    event = AuditEvent.objects.get(action="ledger.record.create", object_id=str(rec.pk))
    assert event.actor_username == "a1_staff" and event.org_unit_id == cast.village_a1.pk


def test_creating_in_a_foreign_unit_is_404_and_creates_nothing(cast):
    user = cast.users.a_staff
    response = bearer(user).post(
        RECORDS, payload(cast.village_b1), format="json", HTTP_IDEMPOTENCY_KEY="k-foreign"
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert not LedgerRecord.objects.exists()
    assert not IdempotencyKey.objects.exists()
    assert denied_events(user).filter(object_id=str(cast.village_b1.pk)).exists()


def test_the_township_cannot_type_a_villages_ledger(cast):
    """A township sees its villages' ledgers but only the village's own people type them."""
    response = bearer(cast.users.a_staff).post(RECORDS, payload(cast.village_a1), format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "只能由本单位的工作人员填报本单位的台账。"}
    assert not LedgerRecord.objects.exists()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        (
            {"date": (dt.date.today() + dt.timedelta(days=3)).isoformat()},
            "date",
            "日期不能晚于今天:台账记录已经开展的工作。",
        ),
        ({"participants": 30, "person_times": 10}, "person_times", "人次不能少于参加人数。"),
        (
            {"category": "跳广场舞"},
            "category",
            "类型必须是:实用技术、职业技能、创业就业、家庭教育、法治宣传、干部培训、其他。",
        ),
        ({"kind": "party"}, "kind", "“party” 不是合法选项。"),
        ({"title": ""}, "title", "该字段不能为空。"),
        ({"sessions": -1}, "sessions", "请确保该值大于或者等于 0。"),
        ({"tags": [999999]}, "tags", "无效主键 “999999” － 对象不存在。"),
        ({"date": "去年三月"}, "date", "日期格式错误。请从这些格式中选择：YYYY-MM-DD。"),
    ],
)
def test_invalid_record_is_400_in_chinese_and_creates_nothing(cast, overrides, field, message):
    response = bearer(cast.users.a1_staff).post(RECORDS, payload(cast.village_a1, **overrides), format="json")
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert not LedgerRecord.objects.exists()
    assert not AuditEvent.objects.filter(action="ledger.record.create").exists()


def test_creating_in_a_locked_month_is_403_with_the_lock_message(cast):
    day = locked_day()
    response = bearer(cast.users.a1_staff).post(
        RECORDS, payload(cast.village_a1, date=day.isoformat()), format="json"
    )
    assert response.status_code == 403
    assert "锁定" in response.json()["detail"] and f"{day:%Y年%m月}的台账" in response.json()["detail"]
    assert not LedgerRecord.objects.exists()


def test_a_retried_create_with_the_same_idempotency_key_creates_one_record(cast):
    client = bearer(cast.users.a1_staff)
    body = payload(cast.village_a1)
    first = client.post(RECORDS, body, format="json", HTTP_IDEMPOTENCY_KEY="ledger-2026-001")
    second = client.post(RECORDS, body, format="json", HTTP_IDEMPOTENCY_KEY="ledger-2026-001")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert LedgerRecord.objects.count() == 1
    assert AuditEvent.objects.filter(action="ledger.record.create").count() == 1

    different = client.post(
        RECORDS, {**body, "participants": 31}, format="json", HTTP_IDEMPOTENCY_KEY="ledger-2026-001"
    )
    assert different.status_code == 422
    assert different.json() == {
        "detail": "该 Idempotency-Key 已用于另一个不同的请求。",
        "code": "idempotency_mismatch",
    }
    assert LedgerRecord.objects.count() == 1

    fresh = client.post(RECORDS, body, format="json", HTTP_IDEMPOTENCY_KEY="ledger-2026-002")
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    assert LedgerRecord.objects.count() == 2


def test_a_refused_create_does_not_burn_the_idempotency_key(cast):
    client = bearer(cast.users.a1_staff)
    bad = payload(cast.village_a1, category="跳广场舞")
    assert client.post(RECORDS, bad, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 400
    assert not IdempotencyKey.objects.exists()
    response = client.post(RECORDS, payload(cast.village_a1), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert LedgerRecord.objects.count() == 1


# --- updating and deleting ---------------------------------------------------------------------------------------


def test_patch_with_the_current_version_saves_and_bumps_it(cast, records):
    rec = records["a1"]
    tag = BrandTag.objects.get(name="美在农家")
    response = bearer(cast.users.a1_staff).patch(
        f"{RECORDS}{rec.pk}/",
        {"participants": 35, "person_times": 70, "tags": [tag.pk], "version": 1},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["version"], response.json()["participants"]) == (2, 35)
    rec.refresh_from_db()
    assert (rec.participants, rec.person_times, rec.version) == (35, 70, 2)
    assert list(rec.tags.all()) == [tag]
    event = AuditEvent.objects.get(action="ledger.record.update", object_id=str(rec.pk))
    assert event.detail["after"] == {"participants": "35", "person_times": "70"}


def test_put_replaces_the_record(cast, records):
    rec = records["a1"]
    body = payload(cast.village_a1, title="电商直播培训", category="创业就业", version=1)
    response = bearer(cast.users.a1_staff).put(f"{RECORDS}{rec.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    rec.refresh_from_db()
    assert (rec.title, rec.category, rec.version) == ("电商直播培训", "创业就业", 2)


def test_patch_with_a_stale_version_is_409_and_changes_nothing(cast, records):
    rec = records["a1"]
    client = bearer(cast.users.a1_staff)
    ok = client.patch(f"{RECORDS}{rec.pk}/", {"title": "第一次修改", "version": 1}, format="json")
    assert ok.status_code == 200
    response = client.patch(f"{RECORDS}{rec.pk}/", {"title": "第二次修改", "version": 1}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": ConflictError.message, "code": "conflict"}
    rec.refresh_from_db()
    assert (rec.title, rec.version) == ("第一次修改", 2)


def test_patch_without_a_version_is_400(cast, records):
    rec = records["a1"]
    response = bearer(cast.users.a1_staff).patch(f"{RECORDS}{rec.pk}/", {"title": "改"}, format="json")
    assert response.status_code == 400
    assert response.json()["version"] in (
        "修改时必须提供版本号 version。",
        ["修改时必须提供版本号 version。"],
    )
    rec.refresh_from_db()
    assert rec.version == 1 and rec.title == "茶叶种植实用技术培训"


def test_patch_with_invalid_data_is_400_and_changes_nothing(cast, records):
    rec = records["a1"]
    response = bearer(cast.users.a1_staff).patch(
        f"{RECORDS}{rec.pk}/", {"person_times": 5, "version": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"person_times": ["人次不能少于参加人数。"]}
    rec.refresh_from_db()
    assert (rec.person_times, rec.version) == (60, 1)


def test_a_record_cannot_move_to_another_unit(cast, records):
    rec = records["a1"]
    response = bearer(cast.users.a1_staff).patch(
        f"{RECORDS}{rec.pk}/", {"org_unit_id": cast.village_a2.pk, "version": 1}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"org_unit_id": ["台账记录不能改到其他单位,请删除后重新填报。"]}
    rec.refresh_from_db()
    assert (rec.org_unit_id, rec.version) == (cast.village_a1.pk, 1)


def test_the_township_reads_but_cannot_edit_a_villages_record(cast, records):
    rec = records["a1"]
    response = bearer(cast.users.a_staff).patch(
        f"{RECORDS}{rec.pk}/", {"title": "改", "version": 1}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "只能由本单位的工作人员填报本单位的台账。"}
    assert bearer(cast.users.a_staff).delete(f"{RECORDS}{rec.pk}/").status_code == 403
    rec.refresh_from_db()
    assert (rec.title, rec.version) == ("茶叶种植实用技术培训", 1)


def test_editing_or_deleting_a_foreign_record_is_404_and_changes_nothing(cast, records):
    rec = records["b1"]
    user = cast.users.a1_staff
    client = bearer(user)
    assert (
        client.patch(f"{RECORDS}{rec.pk}/", {"title": "改", "version": 1}, format="json").status_code == 404
    )
    assert client.delete(f"{RECORDS}{rec.pk}/").status_code == 404
    rec.refresh_from_db()
    assert (rec.title, rec.version) == ("茶叶种植实用技术培训", 1)
    assert denied_events(user).filter(object_id=str(rec.pk)).count() == 2


def test_a_locked_month_refuses_changes_with_the_lock_message(cast):
    day = locked_day()
    rec = training(cast.village_a1, None, day=day)  # the system may place records in a locked month
    client = bearer(cast.users.a1_staff)
    response = client.patch(f"{RECORDS}{rec.pk}/", {"title": "改", "version": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith(f"{day:%Y年%m月}的台账已于")
    assert "锁定" in response.json()["detail"]
    assert client.delete(f"{RECORDS}{rec.pk}/").status_code == 403
    rec.refresh_from_db()
    assert (rec.title, rec.version) == ("茶叶种植实用技术培训", 1)
    # moving an open record into the locked month is refused as well
    fresh = training(cast.village_a1, cast.users.a1_staff)
    response = client.patch(f"{RECORDS}{fresh.pk}/", {"date": day.isoformat(), "version": 1}, format="json")
    assert response.status_code == 403
    fresh.refresh_from_db()
    assert fresh.date == this_month()


def test_delete_own_record(cast, records):
    rec = records["a1"]
    response = bearer(cast.users.a1_staff).delete(f"{RECORDS}{rec.pk}/")
    assert response.status_code == 204
    assert not LedgerRecord.objects.filter(pk=rec.pk).exists()
    assert AuditEvent.objects.filter(action="ledger.record.delete", object_id=str(rec.pk)).exists()


# --- the roll-up ---------------------------------------------------------------------------------------------


def test_rollup_gives_the_figures_of_the_page(cast, records):
    start, end = this_month(), dt.date.today()
    response = bearer(cast.users.county_staff).get(
        ROLLUP, {"unit": cast.county.pk, "start": start.isoformat(), "end": end.isoformat()}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    rows, total = queries.rollup(cast.county, start, end)
    assert (
        [r["label"] for r in body["rows"]]
        == [r.label for r in rows]
        == ["甲镇妇联", "乙镇妇联", "县教育局妇委会"]
    )
    assert [r["unit_id"] for r in body["rows"]] == [cast.town_a.pk, cast.town_b.pk, cast.agency.pk]
    by = {r["label"]: r["values"] for r in body["rows"]}
    assert by["甲镇妇联"]["training_sessions"] == 2 and by["甲镇妇联"]["activity_people"] == 80
    assert by["乙镇妇联"]["training_people"] == 12
    assert body["total"]["label"] == "合计" and body["total"]["unit_id"] is None
    assert body["total"]["values"]["training_sessions"] == total.values["training_sessions"] == 5
    assert body["total"]["values"]["service_amount"] == "0.00"
    assert body["columns"][0] == {"key": "training_sessions", "label": "培训期数"}
    assert (body["unit_name"], body["start"], body["end"], body["tag"]) == (
        "测试县妇联",
        start.isoformat(),
        end.isoformat(),
        None,
    )


def test_rollup_defaults_to_the_users_unit_and_this_year(cast, records):
    body = bearer(cast.users.a_staff).get(ROLLUP).json()
    today = dt.date.today()
    assert body["unit_id"] == cast.town_a.pk
    assert (body["start"], body["end"]) == (today.replace(month=1, day=1).isoformat(), today.isoformat())
    assert [r["label"] for r in body["rows"]] == ["甲镇妇联(本级)", "甲一村", "甲二村"]
    assert body["total"]["values"]["training_people"] == 30
    assert body["total"]["values"]["activity_count"] == 1


def test_rollup_by_tag(cast, records):
    tag = BrandTag.objects.get(name="巾帼建功")
    training(cast.village_a1, cast.users.a1_staff, sessions=7, tags=[tag])
    body = bearer(cast.users.a_staff).get(ROLLUP, {"tag": tag.pk}).json()
    assert body["tag"] == tag.pk and body["total"]["values"]["training_sessions"] == 7


def test_rollup_of_a_foreign_unit_is_404_and_audited(cast, records):
    user = cast.users.a_staff
    response = bearer(user).get(ROLLUP, {"unit": cast.town_b.pk})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert denied_events(user).filter(object_type="orgs.orgunit", object_id=str(cast.town_b.pk)).exists()
    # nor can a township count the county (its neighbour's totals would leak)
    assert bearer(user).get(ROLLUP, {"unit": cast.county.pk}).status_code == 404


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"start": "2026-03-01", "end": "2026-02-01"}, "start", "开始日期不能晚于结束日期。"),
        ({"end": "2026/03/01"}, "end", "结束日期格式应为 YYYY-MM-DD。"),
        ({"tag": "999999"}, "tag", "品牌标签不存在。"),
    ],
)
def test_rollup_bad_parameters_are_400_in_chinese(cast, params, field, message):
    response = bearer(cast.users.a_staff).get(ROLLUP, params)
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_tags_list(cast):
    BrandTag.objects.filter(name="最美家庭").update(active=False)
    body = bearer(cast.users.a1_staff).get("/api/v1/ledger/tags/").json()
    names = [row["name"] for row in body["results"]]
    assert names[:3] == ["双学双比", "巾帼建功", "美在农家"] and "最美家庭" not in names


# --- query counts (no N+1) ---------------------------------------------------------------------------------------


def test_record_list_query_count_is_fixed(cast, records, django_assert_num_queries):
    client = warmed(cast.users.county_staff)
    with django_assert_num_queries(RECORD_LIST_QUERIES):
        before = client.get(RECORDS)
    assert before.json()["count"] == 4
    tags = list(BrandTag.objects.all()[:3])
    for i in range(10):
        training(cast.village_b1, cast.users.b1_staff, title=f"培训{i}", tags=tags[: i % 4])
        activity(cast.agency, None, title=f"活动{i}")
    with django_assert_num_queries(RECORD_LIST_QUERIES):
        after = client.get(RECORDS)
    assert after.json()["count"] == 24
    assert {row["org_unit_name"] for row in after.json()["results"]} >= {"乙一村", "县教育局妇委会"}
    # a unit filter costs exactly one more query (the scoped lookup of that unit)
    with django_assert_num_queries(RECORD_LIST_QUERIES + 1):
        assert client.get(RECORDS, {"unit": cast.town_b.pk}).json()["count"] == 12


def test_rollup_and_tags_query_counts_are_fixed(cast, records, django_assert_num_queries):
    client = warmed(cast.users.county_staff)
    with django_assert_num_queries(ROLLUP_QUERIES):
        assert client.get(ROLLUP).status_code == 200
    for i in range(5):
        training(cast.village_a2, None, title=f"培训{i}")
    with django_assert_num_queries(ROLLUP_QUERIES + 1):  # + the scoped lookup of the unit
        assert client.get(ROLLUP, {"unit": cast.town_a.pk}).status_code == 200
    with django_assert_num_queries(TAG_LIST_QUERIES):
        assert client.get("/api/v1/ledger/tags/").json()["count"] == 8


# --- the OpenAPI document -------------------------------------------------------------------------------------


def test_openapi_document_has_the_ledger(db):
    response = APIClient().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    paths = doc["paths"]
    assert set(paths[RECORDS]) >= {"get", "post"}
    assert set(paths[RECORDS + "{id}/"]) >= {"get", "put", "patch", "delete"}
    assert "get" in paths[ROLLUP] and "get" in paths["/api/v1/ledger/tags/"]
    assert paths[RECORDS]["get"]["summary"] == "台账记录列表(限于本人权限范围)"
    assert paths[ROLLUP]["get"]["summary"] == "台账汇总表:按下级单位分行,含合计行"
    post_params = {p["name"] for p in paths[RECORDS]["post"].get("parameters", [])}
    assert "Idempotency-Key" in post_params
    list_params = {p["name"] for p in paths[RECORDS]["get"]["parameters"]}
    assert list_params >= {"unit", "kind", "category", "tag", "start", "end", "q"}
    assert {"bearerAuth": []} in paths[RECORDS]["post"]["security"]
