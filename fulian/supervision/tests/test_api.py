"""The tasks API: scope (404 + audited, lists never hold foreign rows), idempotent submit, versions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from fulian.accounts.actions import create_token
from fulian.audit.models import AuditEvent
from fulian.supervision.models import Assignment, AssignmentEvent, Status

from .conftest import assignment_of, sanba_task
from .test_flow import good_values, submit


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(None, user)}")
    return client


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def payload(a, **kw):
    return {"version": a.version, "text": "已开展三八节系列活动。", "values": good_values(a), **kw}


def test_task_list_and_detail_are_scoped(cast, task):
    own = sanba_task(cast, actor=cast.users.a_staff, issuer_unit=cast.town_a, targets=[cast.village_a1])
    assert ids(bearer(cast.users.county_staff).get("/api/v1/tasks/")) == {task.pk, own.pk}
    assert ids(bearer(cast.users.a1_staff).get("/api/v1/tasks/")) == {own.pk}
    assert ids(bearer(cast.users.b_staff).get("/api/v1/tasks/")) == {task.pk}
    client = bearer(cast.users.b_staff)
    assert client.get(f"/api/v1/tasks/{own.pk}/").status_code == 404
    data = client.get(f"/api/v1/tasks/{task.pk}/").json()
    assert data["rates"]["total"]["expected"] == 1  # only B's own assignment is counted for B
    assert [f["key"] for f in data["form_fields"]][:2] == ["activity_count", "activity_people"]
    assert AuditEvent.objects.filter(action="access.denied", actor_id=cast.users.b_staff.pk).count() == 1


def test_assignment_list_never_includes_foreign_rows(cast, task):
    a, b = assignment_of(task, cast.town_a), assignment_of(task, cast.town_b)
    assert ids(bearer(cast.users.b_staff).get("/api/v1/assignments/")) == {b.pk}
    assert ids(bearer(cast.users.county_staff).get("/api/v1/assignments/")) == {a.pk, b.pk}
    assert ids(bearer(cast.users.county_staff).get("/api/v1/assignments/?mine=1")) == set()
    assert ids(bearer(cast.users.a_staff).get("/api/v1/assignments/?mine=1&status=pending")) == {a.pk}
    assert bearer(cast.users.b_staff).get(f"/api/v1/assignments/{a.pk}/").status_code == 404


def test_submit_and_review_through_the_api(cast, task):
    a = assignment_of(task, cast.town_a)
    response = bearer(cast.users.a_staff).post(
        f"/api/v1/assignments/{a.pk}/submit/", payload(a), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "submitted" and response.json()["values"]["activity_people"] == 180
    a.refresh_from_db()
    county = bearer(cast.users.county_staff)
    response = county.post(f"/api/v1/assignments/{a.pk}/return/", {"version": a.version}, format="json")
    assert response.status_code == 400 and "退回原因" in str(response.json())
    response = county.post(
        f"/api/v1/assignments/{a.pk}/return/", {"version": a.version, "reason": "缺数据"}, format="json"
    )
    assert response.json()["status"] == "returned"
    a.refresh_from_db()
    response = bearer(cast.users.a_staff).post(
        f"/api/v1/assignments/{a.pk}/submit/", payload(a), format="json"
    )
    assert response.status_code == 201
    a.refresh_from_db()
    response = county.post(f"/api/v1/assignments/{a.pk}/accept/", {"version": a.version}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "accepted"


def test_idempotent_submit_returns_the_first_result(cast, task):
    a = assignment_of(task, cast.town_a)
    client = bearer(cast.users.a_staff)
    body = payload(a)
    first = client.post(
        f"/api/v1/assignments/{a.pk}/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        f"/api/v1/assignments/{a.pk}/submit/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert AssignmentEvent.objects.filter(assignment=a).count() == 1
    other = client.post(
        f"/api/v1/assignments/{a.pk}/submit/",
        {**body, "text": "别的"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert other.status_code == 422


def test_stale_version_is_a_conflict(cast, task):
    a = assignment_of(task, cast.town_a)
    stale = payload(a)
    submit(a, cast.users.a_leader)
    response = bearer(cast.users.a_staff).post(f"/api/v1/assignments/{a.pk}/submit/", stale, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"


@pytest.mark.parametrize("who", ["b_staff", "b_leader"])
def test_outsiders_cannot_submit_or_review(cast, task, who):
    a = assignment_of(task, cast.town_a)
    client = bearer(getattr(cast.users, who))
    assert client.post(f"/api/v1/assignments/{a.pk}/submit/", payload(a), format="json").status_code == 404
    assert (
        client.post(f"/api/v1/assignments/{a.pk}/accept/", {"version": 1}, format="json").status_code == 404
    )
    after = Assignment.objects.get(pk=a.pk)
    assert (after.status, after.version) == (Status.PENDING, 1)


def test_county_cannot_submit_for_a_township(cast, task):
    a = assignment_of(task, cast.town_a)
    response = bearer(cast.users.county_staff).post(
        f"/api/v1/assignments/{a.pk}/submit/", payload(a), format="json"
    )
    assert response.status_code == 403 and "本单位" in response.json()["detail"]
    assert Assignment.objects.get(pk=a.pk).status == Status.PENDING


# the token with its user and memberships (one statement) + COUNT(*) for the paginator + the page itself
TASK_LIST_QUERIES = 3
ASSIGNMENT_LIST_QUERIES = 3


def test_list_query_counts_are_fixed(cast, task, django_assert_num_queries):
    county = bearer(cast.users.county_staff)
    county.get("/api/v1/me")  # the first use of a token stamps last_used_at
    with django_assert_num_queries(TASK_LIST_QUERIES):
        county.get("/api/v1/tasks/")
    with django_assert_num_queries(ASSIGNMENT_LIST_QUERIES):
        county.get("/api/v1/assignments/")
    for i in range(4):
        extra = sanba_task(
            cast, title=f"任务{i}", targets=[cast.village_a1, cast.village_a2, cast.village_b1]
        )
        submit(assignment_of(extra, cast.village_a1), cast.users.a1_staff)
    with django_assert_num_queries(TASK_LIST_QUERIES):
        assert len(county.get("/api/v1/tasks/").json()["results"]) == 5
    with django_assert_num_queries(ASSIGNMENT_LIST_QUERIES):
        assert len(county.get("/api/v1/assignments/").json()["results"]) == 14
