"""The pages: ledger, export, problem and measure pages, forms; scope, query counts, escaping."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from fulian.audit.models import AuditEvent
from fulian.audit.testing import record_queries
from fulian.files.tests.samples import jpeg_with_gps, upload
from fulian.rectify import actions
from fulian.rectify.models import Evidence, Measure, Problem, State

from .conftest import done, make_measure, make_problem, set_deadline, today

XSS = '<script>alert("x")</script>'


def body(response) -> str:
    return response.content.decode()


def sheet_rows(content: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(content)).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


# --- the ledger ------------------------------------------------------------------------------------------------


def test_ledger_defaults_to_the_home_unit_and_shows_the_subtree(cast, world, login):
    response = login(cast.users.a_staff).get("/rectify/")
    assert response.status_code == 200
    html = body(response)
    assert "甲镇妇联 · 整改台账" in html
    assert world.problem.title in html and world.measure.owner_person in html
    assert world.b_problem.title not in html  # township B's problem is not in A's ledger
    county = body(login(cast.users.county_staff).get("/rectify/"))
    assert world.problem.title in county and world.b_problem.title in county


def test_the_nav_url_takes_no_arguments():
    from django.urls import reverse

    assert reverse("rectify:ledger") == "/rectify/"


def test_scope_township_b_sees_nothing_of_a(cast, world, login):
    client = login(cast.users.b_staff)
    assert client.get(f"/rectify/?unit={cast.town_a.pk}").status_code == 404
    assert client.get(f"/rectify/export.xlsx?unit={cast.town_a.pk}").status_code == 404
    assert client.get(f"/rectify/p/{world.problem.pk}/").status_code == 404
    assert client.get(f"/rectify/m/{world.measure.pk}/").status_code == 404
    assert client.get(f"/rectify/m/{world.measure.pk}/edit/").status_code == 404
    assert client.get(f"/rectify/p/{world.problem.pk}/measures/new/").status_code == 404
    assert client.get("/rectify/p/999999/").status_code == 404  # missing looks the same as forbidden
    response = client.post(
        f"/rectify/m/{world.measure.pk}/", {"op": "done", "version": 1, "result": "乙镇替甲镇报完成"}
    )
    assert response.status_code == 404
    # B's own ledger and export hold nothing of A
    html = body(client.get("/rectify/"))
    assert world.b_problem.title in html and world.problem.title not in html
    rows = sheet_rows(client.get("/rectify/export.xlsx").content)
    flat = " ".join(str(c) for r in rows for c in r if c is not None)
    assert world.b_problem.title in flat and world.problem.title not in flat
    world.measure.refresh_from_db()
    assert world.measure.state == State.IN_PROGRESS and world.measure.version == 1
    assert AuditEvent.objects.filter(action="access.denied", actor_id=cast.users.b_staff.pk).count() >= 6


def test_a_village_owner_sees_the_problem_but_only_its_own_measures(cast, problem, login):
    mine = make_measure(cast, problem)
    theirs = make_measure(
        cast, problem, owner_unit=cast.town_a, owner_person="王桂兰", text="镇妇联自己的措施"
    )
    client = login(cast.users.a1_staff)
    html = body(client.get(f"/rectify/p/{problem.pk}/"))
    assert mine.text in html and theirs.text not in html
    assert client.get(f"/rectify/m/{theirs.pk}/").status_code == 404
    ledger = body(client.get("/rectify/"))
    assert mine.text[:20] in ledger and theirs.text not in ledger
    # B1 sees nothing
    assert login(cast.users.b1_staff).get(f"/rectify/p/{problem.pk}/").status_code == 404


def test_users_without_work_scope_are_refused(cast, world, login):
    assert login(cast.users.a_caseworker).get("/rectify/").status_code == 403
    assert login(cast.users.a_auditor).get(f"/rectify/p/{world.problem.pk}/").status_code == 404


def test_overdue_rows_are_red_and_show_days(cast, world, login):
    set_deadline(world.measure, today() - dt.timedelta(days=5))
    html = body(login(cast.users.a_staff).get("/rectify/"))
    assert 'class="overdue"' in html and "逾期5天" in html
    only = body(login(cast.users.county_staff).get("/rectify/?overdue=1"))
    assert world.problem.title in only and world.b_problem.title not in only


def test_ledger_filters(cast, world, login):
    client = login(cast.users.county_staff)
    bare = make_problem(cast, cast.town_a, title="尚无措施的问题", source="complaint")
    m = done(cast, world.measure)
    assert world.problem.title in body(client.get("/rectify/?status=done"))
    assert world.b_problem.title not in body(client.get("/rectify/?status=done"))
    html = body(client.get("/rectify/?status=none"))
    assert bare.title in html and world.problem.title not in html
    html = body(client.get("/rectify/?source=survey"))
    assert world.b_problem.title in html and world.problem.title not in html
    html = body(client.get(f"/rectify/?child={cast.town_b.pk}"))
    assert world.b_problem.title in html and world.problem.title not in html
    last_year = today().year - 1
    assert world.problem.title not in body(client.get(f"/rectify/?year={last_year}"))
    actions.return_measure(cast.users.a_leader, m, expected_version=m.version, reason="照片不清楚")
    html = body(client.get("/rectify/?status=returned"))
    assert world.problem.title in html and "退回重改" in html
    # nonsense filters are ignored, not errors
    assert client.get("/rectify/?status=<x>&source=zz&year=abc&child=999999").status_code == 200


def test_export_has_the_same_rows_as_the_page_and_is_audited(cast, world, login):
    set_deadline(world.b_measure, today() - dt.timedelta(days=3))
    make_problem(cast, cast.town_a, title="尚无措施的问题")
    client = login(cast.users.county_staff)
    response = client.get("/rectify/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = sheet_rows(response.content)
    assert rows[0][0] == "测试县妇联整改台账(" + f"{today():%Y年%m月%d日})"
    header = rows[1]
    assert header[:4] == ["序号", "查摆单位", "问题", "问题来源"] and "逾期天数" in header
    data = rows[2:-1]
    assert len(data) == 3
    by_title = {r[2]: dict(zip(header, r, strict=True)) for r in data}
    b = by_title[world.b_problem.title]
    assert (b["查摆单位"], b["问题来源"], b["责任单位"], b["责任人"], b["状态"], b["逾期天数"]) == (
        "乙镇妇联",
        "问卷调查",
        "乙镇妇联",
        "刘秀英",
        "整改中",
        3,
    )
    a = by_title[world.problem.title]
    assert a["责任单位"] == "甲一村" and a["逾期天数"] is None and a["问题类别"] == "服务群众"
    assert by_title["尚无措施的问题"]["状态"] == "未制定措施"
    assert rows[-1][0] == "合计" and rows[-1][12] == "逾期 1 条"
    event = AuditEvent.objects.get(action="rectify.ledger.export")
    assert event.actor_id == cast.users.county_staff.pk and event.detail["rows"] == 3
    # filtered export = filtered page
    rows = sheet_rows(client.get("/rectify/export.xlsx?overdue=1").content)
    assert [r[2] for r in rows[2:-1]] == [world.b_problem.title]


# --- query counts ------------------------------------------------------------------------------------------------


def grow(cast, n=3):
    """More problems, measures, progress and events: the page must cost the same."""
    for i in range(n):
        p = make_problem(cast, title=f"新增问题{i}")
        m = make_measure(cast, p, owner_unit=cast.village_a1 if i % 2 else cast.town_a)
        actions.report_progress(cast.users.a_staff, m, text=f"进展{i}")
        if i == 0:
            done(cast, m)


@pytest.mark.parametrize(
    "url, expected",
    [
        # session, user, memberships, [unit], children, measures, [problems without measures], notices,
        # and the session save (savepoint, update, release)
        ("/rectify/", 10),
        ("/rectify/?unit={a}&status=in_progress&overdue=1", 10),
        # the export: no notice count, the audit event
        ("/rectify/export.xlsx", 9 + record_queries()),
        # problem, measures, progress, evidence, events
        ("/rectify/p/{problem}/", 12),
        # measure, progress, evidence, events
        ("/rectify/m/{measure}/", 11),
    ],
)
def test_query_counts_do_not_grow(cast, world, login, django_assert_num_queries, url, expected):
    actions.report_progress(cast.users.a1_staff, world.measure, text="已起草制度")
    client = login(cast.users.a_staff)
    url = url.format(a=cast.town_a.pk, problem=world.problem.pk, measure=world.measure.pk)
    client.get(url)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    grow(cast)
    p = world.problem
    for i in range(3):
        m = make_measure(cast, p, text=f"追加措施{i}")
        actions.report_progress(cast.users.a1_staff, m, text="进展")
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


# --- forms -------------------------------------------------------------------------------------------------------


def test_create_a_problem_and_a_measure_through_the_pages(cast, login):
    client = login(cast.users.a_staff)
    assert "登记问题" in body(client.get("/rectify/new/"))
    response = client.post(
        "/rectify/new/",
        {
            "title": "意见箱反映维权站不好找",
            "description": "群众反映",
            "source": "suggestion",
            "category": "",
        },
    )
    p = Problem.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/rectify/p/{p.pk}/"
    assert (p.unit, p.found_on) == (cast.town_a, today())
    form = body(client.get(f"/rectify/p/{p.pk}/measures/new/"))
    assert "甲一村" in form and "乙一村" not in form  # owner: A and its villages only
    deadline = today() + dt.timedelta(days=30)
    response = client.post(
        f"/rectify/p/{p.pk}/measures/new/",
        {
            "text": "在村口设置指示牌",
            "owner_unit": cast.village_a1.pk,
            "owner_person": "张玉梅",
            "deadline": deadline.isoformat(),
            "disclose": "on",
        },
    )
    assert response.status_code == 302
    m = Measure.objects.get()
    assert (m.owner_unit, m.deadline, m.disclose) == (cast.village_a1, deadline, True)


def test_forms_keep_what_was_typed_and_say_what_is_wrong(cast, problem, login):
    client = login(cast.users.a_staff)
    response = client.post("/rectify/new/", {"title": "只填了标题", "description": "", "source": ""})
    assert response.status_code == 400
    html = body(response)
    assert "只填了标题" in html and "请选择" in html
    response = client.post(
        f"/rectify/p/{problem.pk}/measures/new/",
        {
            "text": "保留这段文字",
            "owner_unit": cast.village_b1.pk,
            "owner_person": "某某",
            "deadline": (problem.found_on - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 400
    html = body(response)
    assert "保留这段文字" in html and "选择一个有效的选项" in html
    response = client.post(
        f"/rectify/p/{problem.pk}/measures/new/",
        {
            "text": "保留这段文字",
            "owner_unit": cast.village_a1.pk,
            "owner_person": "某某",
            "deadline": (problem.found_on - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 400 and "整改时限不能早于问题查摆日期" in body(response)
    assert not Measure.objects.exists() and Problem.objects.count() == 1


def test_the_measure_page_steps_and_a_version_conflict(cast, measure, login):
    owner = login(cast.users.a1_staff)
    url = f"/rectify/m/{measure.pk}/"
    html = body(owner.get(url))
    assert "报告进展" in html and "验收通过" not in html  # the owner cannot accept
    response = owner.post(
        url,
        {
            "op": "progress",
            "text": "已张贴制度",
            "files": [upload("照片.jpg", jpeg_with_gps(), "image/jpeg")],
        },
    )
    assert response.status_code == 302
    ev = Evidence.objects.select_related("file").get()
    assert ev.file.org_unit == cast.village_a1
    assert owner.get(f"/rectify/files/{ev.pk}/").status_code == 200
    assert login(cast.users.county_staff).get(f"/rectify/files/{ev.pk}/").status_code == 200
    assert login(cast.users.b_staff).get(f"/rectify/files/{ev.pk}/").status_code == 404
    owner = login(cast.users.a1_staff)
    # someone edits the measure meanwhile: the owner's "done" with the old version is refused, text kept
    actions.edit_measure(
        cast.users.a_staff,
        measure,
        expected_version=1,
        text=measure.text,
        owner_unit=cast.village_a1,
        owner_person="李四",
        deadline=measure.deadline,
    )
    response = owner.post(url, {"op": "done", "version": 1, "result": "我写的完成情况"})
    assert response.status_code == 400
    html = body(response)
    assert "该记录已被其他人修改,请刷新后重新编辑" in html and "我写的完成情况" in html
    measure.refresh_from_db()
    assert measure.state == State.IN_PROGRESS
    assert owner.post(url, {"op": "done", "version": 2, "result": "完成"}).status_code == 302
    leader = login(cast.users.a_leader)
    response = leader.post(url, {"op": "return", "version": 3, "reason": ""})
    assert response.status_code == 400 and "请填写退回原因" in body(response)
    assert leader.post(url, {"op": "accept", "version": 3}).status_code == 302
    measure.refresh_from_db()
    assert measure.state == State.ACCEPTED
    html = body(leader.get(f"/rectify/p/{measure.problem_id}/"))
    assert "验收通过" in html and "已验收" in html


def test_the_owner_cannot_accept_by_posting(cast, measure, login):
    m = done(cast, measure)
    response = login(cast.users.a1_staff).post(f"/rectify/m/{m.pk}/", {"op": "accept", "version": m.version})
    assert response.status_code == 400 and "只有问题所在单位" in body(response)
    m.refresh_from_db()
    assert m.state == State.DONE


def test_edit_page_refuses_a_stale_version(cast, measure, login):
    client = login(cast.users.a_staff)
    url = f"/rectify/m/{measure.pk}/edit/"
    assert 'name="version" value="1"' in body(client.get(url))
    data = {
        "text": "新的措施",
        "owner_unit": cast.town_a.pk,
        "owner_person": "王桂兰",
        "deadline": measure.deadline.isoformat(),
        "version": 1,
    }
    assert client.post(url, data).status_code == 302
    response = client.post(url, dict(data, text="另一个人的修改"))
    assert (
        response.status_code == 400 and "其他人修改" in body(response) and "另一个人的修改" in body(response)
    )
    measure.refresh_from_db()
    assert (measure.text, measure.version) == ("新的措施", 2)


def test_xss_is_rendered_escaped_everywhere(cast, login):
    p = make_problem(cast, title=XSS, description=XSS)
    m = make_measure(cast, p, text=XSS, owner_person=XSS[:50], expected_result=XSS)
    actions.report_progress(cast.users.a1_staff, m, text=XSS)
    client = login(cast.users.a_staff)
    for url in ("/rectify/", f"/rectify/p/{p.pk}/", f"/rectify/m/{m.pk}/", f"/rectify/m/{m.pk}/edit/"):
        html = body(client.get(url))
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;" in html, url
