"""The stats API, the dashboard and the Word report: scope, query counts, and the same numbers everywhere."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook
from rest_framework.test import APIClient

from fulian.accounts.actions import create_token
from fulian.audit.models import AuditEvent
from fulian.ledger.queries import totals
from fulian.reports import queries, registry
from fulian.reports.summary import APPENDIX_CODES, fmt
from fulian.reports.views import dashboard_data

STATS = "/api/v1/stats/"
# The endpoint's own queries: the token with its user and memberships (one statement, fulian/api/auth.py) + the
# unit. The rest is the statistics service's (one or
# two queries per registered source, fixed whatever the records or the units; measured below from the service
# itself, since modules that land later register more sources).
STATS_OWN_QUERIES = 2


def service_queries(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx)


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(None, user)}")
    assert client.get("/api/v1/me").status_code == 200  # the first use stamps last_used_at
    return client


def denied_count():
    return AuditEvent.objects.filter(action="access.denied").count()


def test_indicator_list_is_the_registry(cast):
    body = bearer(cast.users.a_staff).get(STATS + "indicators/").json()
    assert [r["code"] for r in body["results"]] == [i.code for i in registry.all_indicators()]


def test_township_user_asking_for_the_county_gets_404_and_it_is_audited(cast, data, login):
    before = denied_count()
    response = bearer(cast.users.a_staff).get(STATS, {"unit": cast.county.pk})
    assert response.status_code == 404 and "values" not in response.content.decode()
    assert login(cast.users.a_staff).get(f"/reports/units/{cast.county.pk}/").status_code == 404
    assert login(cast.users.a_leader).get(f"/reports/units/{cast.town_b.pk}/summary.docx").status_code == 404
    assert denied_count() == before + 3


def test_stats_api_values_equal_the_modules_queries(cast, data):
    today = timezone.localdate()
    start = today.replace(month=1, day=1)
    body = bearer(cast.users.county_leader).get(STATS, {"unit": cast.county.pk}).json()
    expected = totals(cast.county, start, today)
    for key, value in expected.items():
        assert body["total"]["values"][key] == queries.plain(value)
    rows = {r["unit_id"]: r for r in body["rows"]}
    assert rows[cast.town_a.pk]["values"]["training_person_times"] == 80
    assert rows[cast.town_a.pk]["values"]["cases_received"] == "<3"
    assert body["total"]["values"]["cases_received"] == 2
    # a staff member gets no case figures, and cannot ask for them
    staff = bearer(cast.users.county_staff).get(STATS, {"unit": cast.county.pk}).json()
    assert "cases_received" not in staff["total"]["values"]
    months = bearer(cast.users.county_staff).get(
        STATS, {"unit": cast.town_a.pk, "by": "month", "codes": "training_person_times"}
    )
    by_month = {m["month"]: m["values"]["training_person_times"] for m in months.json()["months"]}
    assert by_month[today.strftime("%Y-%m")] == 80 and sum(by_month.values()) == 80


def test_stats_api_rejects_bad_input_in_chinese(cast):
    client = bearer(cast.users.county_staff)
    assert client.get(STATS, {"codes": "nope"}).json() == {"codes": ["未知的指标代码:nope"]}
    assert client.get(STATS, {"start": "2026-13-01"}).status_code == 400
    assert client.get(STATS, {"start": "2026-05-01", "end": "2026-04-01"}).status_code == 400


def test_stats_api_query_count_is_fixed(cast, data, django_assert_num_queries):
    today = timezone.localdate()
    leader = type(cast.users.county_leader).objects.get(pk=cast.users.county_leader.pk)
    queries.visible_indicators(leader, cast.county)  # memberships loaded, as the request has them
    table = service_queries(
        lambda: queries.indicator_table(leader, cast.county, today.replace(month=1, day=1), today)
    )
    client = bearer(cast.users.county_leader)
    with django_assert_num_queries(STATS_OWN_QUERIES + table):
        client.get(STATS, {"unit": cast.county.pk})
    from fulian.ledger.tests.builders import training

    for i in range(5):
        training(cast.village_b1, None, title=f"培训{i}")
    with django_assert_num_queries(STATS_OWN_QUERIES + table):
        assert client.get(STATS, {"unit": cast.county.pk}).status_code == 200


# The page's own queries: session + user + memberships + the unit + late tasks + overdue cases (the red list,
# through cases_of; only for viewers with VIEW_CASES) + coverage gaps + the gaps' counts (the list stops at 50) +
# the nav's unread count + the session saved (savepoint, update, release). The rest is the statistics service's:
# the year's table, last year's headline totals, the monthly trend (measured from ``dashboard_data``, which calls
# only the service).
DASH_OWN_QUERIES = 12


def dash_blob(response) -> dict:
    match = re.search(
        r'<script id="dash-data" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    return json.loads(match.group(1))


def test_dashboard_blob_equals_the_registry_and_drills_down(cast, data, login, django_assert_num_queries):
    client = login(cast.users.county_leader)
    leader = type(cast.users.county_leader).objects.get(pk=cast.users.county_leader.pk)
    queries.visible_indicators(leader, cast.county)
    today = timezone.localdate()
    service = service_queries(lambda: dashboard_data(leader, cast.county, today.year, today))
    client.get(f"/reports/units/{cast.county.pk}/")  # warm the session
    with django_assert_num_queries(DASH_OWN_QUERIES + service):
        response = client.get(f"/reports/units/{cast.county.pk}/")
    assert response.status_code == 200
    blob = dash_blob(response)
    start = today.replace(month=1, day=1)
    for h in blob["headline"]:
        assert h["value"] == queries.plain(registry.get(h["code"]).compute(cast.county, start, today))
    series = {s["code"]: s["values"] for s in blob["children"]["series"]}
    by_child = registry.get("training_person_times").by_child(cast.county, start, today)
    assert series["training_person_times"] == [by_child[pk] for pk in blob["children"]["ids"]]
    assert blob["children"]["urls"][0] == f"/reports/units/{blob['children']['ids'][0]}/?year={today.year}"
    trend = {s["code"]: s["values"] for s in blob["trend"]["series"]}
    assert sum(trend["training_person_times"]) == 2 * 25 + 30 + 3 * 40
    page = response.content.decode()
    assert "报送三八节活动开展情况" in page and "甲二村" in page  # late task, coverage gap
    assert 'id="cases-overdue"' in page
    # staff: no case figures anywhere on the page
    staff_page = login(cast.users.county_staff).get(f"/reports/units/{cast.county.pk}/").content.decode()
    assert 'id="cases-overdue"' not in staff_page and "cases_received" not in staff_page
    assert login(cast.users.a_staff).get(f"/reports/units/{cast.town_a.pk}/").status_code == 200


def docx_text(content: bytes) -> tuple[str, list[list[str]]]:
    doc = Document(io.BytesIO(content))
    text = "\n".join(p.text for p in doc.paragraphs)
    table = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    return text, table


def test_summary_docx_numbers_equal_the_stats_service(cast, data, login):
    year = timezone.localdate().year
    client = login(cast.users.county_leader)
    response = client.post(
        f"/reports/units/{cast.county.pk}/summary.docx",
        {"year": year, "problems": "部分村妇联执委履职不够积极。", "plans": "加强执委培训。"},
    )
    assert response.status_code == 200
    text, table = docx_text(response.content)
    start, end = dt.date(year, 1, 1), timezone.localdate()
    t = queries.indicator_table(cast.users.county_leader, cast.county, start, end)
    v = t.total.values
    assert f"测试县妇联{year}年工作总结" in text
    assert (
        f"全县各乡镇共举办实用技术培训{v['training_sessions']}期,参训妇女{v['training_people']}人、" in text
    )
    assert f"{v['training_person_times']}人次" in text and v["training_person_times"] == 2 * 25 + 30 + 3 * 40
    assert (
        f"组织覆盖率{v['coverage_pct']}%" in text and f"受理妇女儿童维权案件{v['cases_received']}件" in text
    )
    assert "部分村妇联执委履职不够积极。" in text and "加强执委培训。" in text
    # every number in the body is one of the service's numbers (or a date)
    allowed = {fmt(x) for x in v.values()} | {str(year), str(end.month), str(end.day)}
    body = text.split("三、存在问题")[0]
    assert set(re.findall(r"\d+(?:\.\d+)?", body)) <= allowed
    # the appendix: one row per child unit + the total, each cell the service's value
    codes = [i.code for i in t.indicators if i.code in APPENDIX_CODES]
    for row, cells in zip([*t.rows, t.total], table[1:], strict=True):
        assert cells == [row.label, *[fmt(row.values[c]) for c in codes]]
    doc = Document(io.BytesIO(response.content))
    assert doc.sections[0].page_width.mm == pytest.approx(210, abs=0.5)
    footer = doc.sections[0].footer._element.xml
    assert "PAGE" in footer
    rfonts = doc.styles["Normal"].element.rPr.rFonts
    assert rfonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "宋体"


def test_summary_form_keeps_the_text_on_error(cast, login):
    client = login(cast.users.county_staff)
    response = client.post(
        f"/reports/units/{cast.county.pk}/summary.docx",
        {"year": "abc", "problems": "问题一", "plans": "打算一"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "问题一" in page and "打算一" in page and "整数" in page


def _sheet(response) -> list[tuple]:
    assert response.status_code == 200, response.content[:200]
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_table_export_has_the_numbers_of_the_stats_service(cast, data, login):
    today = timezone.localdate()
    start = today.replace(month=1, day=1)
    response = login(cast.users.county_leader).get(f"/reports/units/{cast.county.pk}/table.xlsx")
    rows = _sheet(response)
    table = queries.indicator_table(cast.users.county_leader, cast.county, start, today)
    headers = rows[1]
    assert headers[0] == "单位" and len(headers) == len(table.indicators) + 1
    body = {row[0]: row[1:] for row in rows[2:]}
    for r in [*table.rows, table.total]:
        assert list(body[r.label]) == [queries.plain(r.values[i.code]) for i in table.indicators], r.label
    assert body["甲镇妇联"][headers.index("维权案件受理登记(件)") - 1] == "<3"  # suppressed below the county
    event = AuditEvent.objects.get(action="reports.table.export")
    assert event.actor_id == cast.users.county_leader.pk and event.org_unit_id == cast.county.pk


def test_table_export_is_scoped_and_shows_staff_no_case_figures(cast, data, login):
    before = denied_count()
    assert login(cast.users.a_staff).get(f"/reports/units/{cast.county.pk}/table.xlsx").status_code == 404
    assert denied_count() == before + 1
    assert not AuditEvent.objects.filter(action="reports.table.export").exists()
    headers = _sheet(login(cast.users.a_staff).get(f"/reports/units/{cast.town_a.pk}/table.xlsx"))[1]
    assert not any("维权" in h for h in headers) and "参训人次(人次)" in headers
    labels = [
        row[0]
        for row in _sheet(login(cast.users.a_staff).get(f"/reports/units/{cast.town_a.pk}/table.xlsx"))[2:]
    ]
    assert "乙一村" not in labels and "乙镇妇联" not in labels


def test_table_export_refuses_bad_input_in_chinese(cast, login):
    client = login(cast.users.county_staff)
    response = client.get(f"/reports/units/{cast.county.pk}/table.xlsx", {"codes": "nope"})
    assert response.status_code == 400 and "未知的指标代码:nope" in response.content.decode()
    response = client.get(f"/reports/units/{cast.county.pk}/table.xlsx", {"year": "20x6"})
    assert response.status_code == 400 and "年份应为四位数字" in response.content.decode()
    assert not AuditEvent.objects.filter(action="reports.table.export").exists()
