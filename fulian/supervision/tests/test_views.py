"""Pages: the flow through the browser's forms, scope (404 + audited, nothing changes), exact query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from fulian.accounts.roles import Role
from fulian.audit.models import AuditEvent
from fulian.conftest import make_user
from fulian.ledger.tests.builders import activity
from fulian.orgs.actions import create_unit
from fulian.orgs.models import Kind
from fulian.supervision import actions
from fulian.supervision.models import Assignment, Status, Task

from .conftest import assignment_of, make_late, sanba_task
from .test_flow import good_values, submit


def post_submission(client, a, values, text="三八节期间开展活动。", op="submit", reasons=None, version=None):
    data = {f"v_{k}": v for k, v in values.items()}
    data.update({f"r_{k}": v for k, v in (reasons or {}).items()})
    data.update(text=text, op=op, version=version if version is not None else a.version)
    return client.post(f"/tasks/a/{a.pk}/", data)


def test_county_creates_a_task_for_all_townships_through_the_form(cast, ledger, login):
    client = login(cast.users.county_staff)
    page = client.get("/tasks/new/")
    assert page.status_code == 200 and "下辖全部乡镇(街道)" in page.content.decode()
    deadline = timezone.localdate() + dt.timedelta(days=7)
    data = {
        "title": "报送三八节活动开展情况",
        "instructions": "请核对台账后报送。",
        "deadline": deadline.isoformat(),
        "target_mode": "townships",
        "require_text": "on",
        "ledger_keys": ["activity_count", "activity_people"],
        "period_start": timezone.localdate().replace(day=1).isoformat(),
        "period_end": timezone.localdate().isoformat(),
        "field_lines": "发放宣传资料份数\n活动形式[线上/线下]\n典型经验(文字)(选填)",
    }
    response = client.post("/tasks/new/", data)
    task = Task.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    assert task.expected == 2 and task.target_label == "下辖全部乡镇(街道)"
    assert [(f["label"], f["type"], f["required"]) for f in task.fields] == [
        ("发放宣传资料份数", "number", True),
        ("活动形式", "choice", True),
        ("典型经验", "text", False),
    ]
    assert task.fields[1]["choices"] == ["线上", "线下"]


def test_task_form_keeps_input_on_error(cast, login):
    client = login(cast.users.county_staff)
    response = client.post(
        "/tasks/new/",
        {
            "title": "报送妇女之家建设情况",
            "deadline": "2020-01-01",
            "target_mode": "children",
            "ledger_keys": ["activity_count"],
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "请至少选择一个下级单位" in body
    assert 'value="报送妇女之家建设情况"' in body
    assert not Task.objects.exists()


def test_villages_under_a_township(cast, login):
    client = login(cast.users.county_staff)
    data = {
        "title": "报送妇女之家建设情况",
        "deadline": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
        "target_mode": "villages",
        "village_parent": cast.town_a.pk,
    }
    assert client.post("/tasks/new/", data).status_code == 302
    assert set(Task.objects.get().assignments.values_list("org_unit__name", flat=True)) == {
        "甲一村",
        "甲二村",
    }
    # township A may not send a task to township B's villages, even by forging the form
    client = login(cast.users.a_staff)
    data["village_parent"] = cast.town_b.pk
    assert client.post(f"/tasks/new/?unit={cast.town_a.pk}", data).status_code in (200, 404)
    assert Task.objects.count() == 1


def test_township_submits_through_the_prefilled_form_and_county_accepts(cast, task, login):
    a = assignment_of(task, cast.town_a)
    client = login(cast.users.a_staff)
    home = client.get(f"/orgs/units/{cast.town_a.pk}/").content.decode()
    assert "我的待办" in home and f"/tasks/a/{a.pk}/" in home
    page = client.get(f"/tasks/a/{a.pk}/").content.decode()
    assert 'name="v_activity_people" value="180"' in page and 'name="v_activity_count" value="2"' in page
    # a corrected number without a reason: refused, everything typed is still there
    values = {**good_values(a), "activity_people": "200", "materials": "300"}
    response = post_submission(client, a, values, text="开展了三场活动")
    body = response.content.decode()
    assert response.status_code == 400 and "请填写更正原因" in body
    assert 'value="200"' in body and "开展了三场活动" in body
    a.refresh_from_db()
    assert a.status == Status.PENDING
    response = post_submission(client, a, values, reasons={"activity_people": "甲二村活动尚未录入"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.status == Status.SUBMITTED and a.values["activity_people"] == 200
    assert f"/tasks/a/{a.pk}/" not in client.get(f"/orgs/units/{cast.town_a.pk}/").content.decode()
    received = client.get("/tasks/").content.decode().split('id="received"')[1]
    assert f"/tasks/a/{a.pk}/" in received and "已报送" in received
    # people who submit for no unit have no to-do block on their page
    assert (
        'id="my-todo"'
        not in login(cast.users.a_auditor).get(f"/orgs/units/{cast.town_a.pk}/").content.decode()
    )

    county = login(cast.users.county_staff)
    detail = county.get(f"/tasks/{task.pk}/").content.decode()
    assert "待审核的报送" in detail and "采纳甲镇妇联" in detail
    response = county.post(f"/tasks/a/{a.pk}/review/", {"op": "accept", "version": a.version})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.status == Status.ACCEPTED


def test_stale_form_shows_the_conflict_and_keeps_input(cast, task, login):
    a = assignment_of(task, cast.town_a)
    client = login(cast.users.a_staff)
    submit(a, cast.users.a_leader)
    response = post_submission(client, a, {**good_values(a), "materials": "77"}, text="我的说明", version=1)
    body = response.content.decode()
    assert "该记录已被其他人修改" in body and 'value="77"' in body and "我的说明" in body


def test_return_needs_a_reason_on_the_page(cast, task, login):
    a = submit(assignment_of(task, cast.town_a), cast.users.a_staff)
    client = login(cast.users.county_staff)
    response = client.post(
        f"/tasks/a/{a.pk}/review/", {"op": "return", "version": a.version, "reason": ""}, follow=True
    )
    assert "请填写退回原因" in response.content.decode()
    a.refresh_from_db()
    assert a.status == Status.SUBMITTED
    client.post(f"/tasks/a/{a.pk}/review/", {"op": "return", "version": a.version, "reason": "数据有误"})
    a.refresh_from_db()
    assert a.status == Status.RETURNED
    page = login(cast.users.a_staff).get(f"/tasks/a/{a.pk}/").content.decode()
    assert "已退回:数据有误" in page and "重新报送" in page


def test_red_list_and_late_mark_on_the_task_page(cast, task, login):
    make_late(task)
    submit(assignment_of(task, cast.town_b), cast.users.b_staff)
    body = login(cast.users.county_staff).get(f"/tasks/{task.pk}/").content.decode()
    red = body.split('id="red-list"')[1].split("</section>")[0]
    assert "甲镇妇联" in red and "乙镇妇联" not in red
    assert "逾期报送" in body


def test_export_has_numbers_in_columns_and_a_total_row(cast, task, login):
    submit(assignment_of(task, cast.town_a), cast.users.a_staff)
    b = assignment_of(task, cast.town_b)
    submit(b, cast.users.b_staff, values={**good_values(b), "materials": 50})
    response = login(cast.users.county_staff).get(f"/tasks/{task.pk}/export.xlsx")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    headers = list(rows[1])
    assert headers[:5] == ["单位", "上级单位", "状态", "报送时间", "是否逾期"]
    col = headers.index("活动参与人数")
    by_unit = {r[0]: r for r in rows[2:-1]}
    assert by_unit["甲镇妇联"][col] == 180 and by_unit["乙镇妇联"][col] == 45
    assert rows[-1][0] == "合计" and rows[-1][col] == 225
    assert rows[-1][headers.index("发放宣传资料(份)")] == 350
    assert AuditEvent.objects.filter(action="supervision.task.export").count() == 1


# --- scope ---------------------------------------------------------------------------------------------------


def test_township_b_cannot_reach_township_as_assignment(cast, task, login):
    a = assignment_of(task, cast.town_a)
    submit(a, cast.users.a_staff)
    before = Assignment.objects.get(pk=a.pk)
    client = login(cast.users.b_staff)
    denied = AuditEvent.objects.filter(action="access.denied").count
    n = denied()
    assert client.get(f"/tasks/a/{a.pk}/").status_code == 404
    assert post_submission(client, a, good_values(a), version=before.version).status_code == 404
    assert (
        client.post(f"/tasks/a/{a.pk}/review/", {"op": "accept", "version": before.version}).status_code
        == 404
    )
    assert client.get(f"/tasks/{task.pk}/?unit={cast.town_a.pk}").status_code == 404
    assert client.get(f"/tasks/{task.pk}/rates/?unit={cast.town_a.pk}").status_code == 404
    assert client.get(f"/tasks/{task.pk}/export.xlsx?unit={cast.town_a.pk}").status_code == 404
    assert denied() == n + 6
    after = Assignment.objects.get(pk=a.pk)
    assert (after.status, after.version, after.values) == (before.status, before.version, before.values)


def test_township_b_sees_only_its_own_row_and_counts(cast, task, login):
    submit(assignment_of(task, cast.town_a), cast.users.a_staff)
    client = login(cast.users.b_staff)
    response = client.get(f"/tasks/{task.pk}/")
    assert response.status_code == 200
    table = response.context["table"]
    assert [r.label for r in table.rows] == ["乙镇妇联(本级)"]
    assert (table.total.expected, table.total.reported) == (1, 0)  # A's submission is not counted in
    assert "甲镇妇联" not in response.content.decode()
    workbook = load_workbook(io.BytesIO(client.get(f"/tasks/{task.pk}/export.xlsx").content)).active
    assert [r[0] for r in workbook.iter_rows(min_row=3, values_only=True)] == ["乙镇妇联", "合计"]


def test_a_task_of_township_a_is_invisible_to_b(cast, ledger, login):
    task = sanba_task(cast, actor=cast.users.a_staff, issuer_unit=cast.town_a, targets=[cast.village_a1])
    client = login(cast.users.b_staff)
    assert client.get(f"/tasks/{task.pk}/").status_code == 404
    assert task.title not in client.get("/tasks/").content.decode()
    # the county sees it (issued in its subtree)
    assert login(cast.users.county_leader).get(f"/tasks/{task.pk}/").status_code == 200


# --- query counts --------------------------------------------------------------------------------------------


def grow(cast, task, n=8, tag="N"):
    """More villages, targets and submissions: page query counts must not grow."""
    units = []
    for i in range(n):
        village = create_unit(
            None, parent=cast.town_a, kind=Kind.VILLAGE, name=f"新增{tag}{i}村", code=f"{tag}V{i}"
        )
        units.append(village)
        activity(village, None, people=10 + i)
    extra = sanba_task(cast, title="报送妇女之家建设情况", targets=units + [cast.village_b1])
    for i, village in enumerate(units[:4]):
        user = make_user(village, Role.STAFF, username=f"{tag.lower()}v{i}_staff")
        a = assignment_of(extra, village)
        actions.submit_assignment(user, a, expected_version=a.version, values=good_values(a), text="已完成")
    for i in range(3):
        sanba_task(cast, title=f"补充任务{tag}{i}")
    return extra


PAGES = {
    # session, user, memberships, page's own queries, unread badge, session touch
    "/tasks/": 10,
    "/tasks/{task}/": 12,
    "/tasks/{task}/?unit={a}": 13,
    "/tasks/a/{assignment}/": 11,
    "/orgs/units/{a}/": 15,
    "/notices/": 9,
}


@pytest.mark.parametrize("url,expected", list(PAGES.items()))
def test_page_query_counts_do_not_grow(cast, task, login, django_assert_num_queries, url, expected):
    client = login(cast.users.county_staff if "{a}" in url and "tasks" in url else cast.users.a_staff)
    if url == "/tasks/":
        client = login(cast.users.a_staff)
    a = assignment_of(task, cast.town_a)
    url = url.format(task=task.pk, a=cast.town_a.pk, assignment=a.pk)
    client.get(url)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    grow(cast, task)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("path,expected", [("rates/?unit={a}", 11), ("?unit={a}", 15), ("", 13)])
def test_task_pages_cost_the_same_for_2_or_10_targets(
    cast, task, login, django_assert_num_queries, path, expected
):
    """The rates table, red list and review list of a small and a large task cost the same queries."""
    client = login(cast.users.county_staff)
    small = grow(cast, task, n=1, tag="S")
    large = grow(cast, task, n=9, tag="L")
    make_late(small)
    make_late(large)
    assert small.assignments.count() == 2 and large.assignments.count() == 10
    bodies = []
    for t in (small, large):
        url = f"/tasks/{t.pk}/" + path.format(a=cast.town_a.pk)
        client.get(url, HTTP_HX_REQUEST="true")
        with django_assert_num_queries(expected):
            response = client.get(url, HTTP_HX_REQUEST="true")
        bodies.append(response.content.decode())
    assert "新增L8村" in bodies[1]
    if path.startswith("rates"):
        assert "<html" not in bodies[0]
