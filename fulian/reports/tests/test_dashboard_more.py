"""The dashboard beyond the figures: the red list of overdue cases (scoped, no identities), coverage gaps with
妇女之家, the drill-down table, the year-on-year change, the trends, and a page that prints."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulian.cases import actions as case_actions
from fulian.cases.models import Case
from fulian.ledger.tests.builders import training
from fulian.orgs.actions import create_home, create_unit
from fulian.orgs.models import Kind
from fulian.reports import queries
from fulian.reports.views import dashboard_data

from .test_pages import DASH_OWN_QUERIES, dash_blob

DASH = "/reports/units/{}/"
STATIC = Path(__file__).resolve().parent.parent / "static" / "reports"


def make_overdue(case, *, first_contact_days=None, handling_days=None):
    now = timezone.now()
    changes = {}
    if first_contact_days is not None:
        changes["first_contact_due"] = now - dt.timedelta(days=first_contact_days, hours=1)
    if handling_days is not None:
        changes["handling_due"] = now - dt.timedelta(days=handling_days, hours=1)
        changes["first_contact_at"] = now - dt.timedelta(days=30)
    Case.objects.filter(pk=case.pk).update(**changes)
    case.refresh_from_db()
    return case


def category_of(case) -> str:
    return case.subcategory.name if case.subcategory_id else case.category.name


def overdue_rows(page: str) -> list[str]:
    table = re.search(r'<table id="overdue-cases".*?</table>', page, re.S)
    if not table:
        return []
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S)[1:]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def test_overdue_cases_are_listed_by_number_category_and_days_within_the_scope(cast, data, login):
    a1 = make_overdue(data.case_a1, first_contact_days=3)
    b = make_overdue(data.case_b, handling_days=5)
    page = login(cast.users.county_leader).get(DASH.format(cast.county.pk)).content.decode()
    rows = overdue_rows(page)
    assert rows == [
        f"{b.number} {category_of(b)} 乙镇妇联 办理超期 5 天",
        f"{a1.number} {category_of(a1)} 甲一村 首次联系超期 3 天",
    ]
    # no identities: neither the party's name, phone, address nor the account of the case
    assert "13812345678" not in page and "甲镇甲一村三组18号" not in page and "喝酒" not in page
    assert "<strong>2</strong> 件" in page  # the count of the statistics service beside the list
    # township A's caseworker: only A's case; township B's: only B's
    a_page = login(cast.users.a_caseworker).get(DASH.format(cast.town_a.pk)).content.decode()
    assert [r.split()[0] for r in overdue_rows(a_page)] == [a1.number] and b.number not in a_page
    b_page = login(cast.users.b_caseworker).get(DASH.format(cast.town_b.pk)).content.decode()
    assert [r.split()[0] for r in overdue_rows(b_page)] == [b.number] and a1.number not in b_page
    assert login(cast.users.a_caseworker).get(DASH.format(cast.county.pk)).status_code == 404
    # staff hold no case capability: no list, no numbers
    staff = login(cast.users.county_staff).get(DASH.format(cast.county.pk)).content.decode()
    assert 'id="overdue-cases"' not in staff and a1.number not in staff and b.number not in staff


def test_the_red_list_is_the_case_lists_overdue_filter_read_from_the_subtree(cast, data):
    """redlists.overdue_cases reads the subtree directly (index case_open_risk_due): for an actor holding
    VIEW_CASES over the unit that is exactly what the case list shows with 逾期 (cases_of … overdue=True)."""
    from fulian.cases.queries import CaseFilter, cases_of
    from fulian.reports import redlists

    make_overdue(data.case_a1, first_contact_days=3)
    make_overdue(data.case_b, handling_days=5)
    Case.objects.filter(pk=data.case_b.pk).update(risk=3)
    for user, unit in (
        (cast.users.county_leader, cast.county),
        (cast.users.a_leader, cast.town_a),
        (cast.users.b_leader, cast.town_b),
    ):
        listed = cases_of(user, CaseFilter(unit=unit, state="open", overdue=True))
        ours = redlists.overdue_cases(user, unit)
        assert {c.pk for c in ours} == set(listed.values_list("pk", flat=True)) != set()
    assert [c.pk for c in redlists.overdue_cases(cast.users.county_leader, cast.county)] == [
        data.case_b.pk,
        data.case_a1.pk,
    ]  # the highest risk first
    assert redlists.overdue_cases(cast.users.a_staff, cast.county) is None  # no VIEW_CASES over the county


def test_an_escalated_overdue_case_is_marked_and_a_case_in_time_is_not_listed(cast, data, login):
    make_overdue(data.case_a1, first_contact_days=1)
    assert case_actions.escalate_overdue() == 1
    page = login(cast.users.county_leader).get(DASH.format(cast.county.pk)).content.decode()
    rows = overdue_rows(page)
    assert len(rows) == 1 and rows[0].startswith(data.case_a1.number) and "已超期上报" in rows[0]
    assert data.case_b.number not in page  # not overdue


def test_coverage_gaps_name_villages_without_a_federation_or_a_womens_home(cast, data, login):
    create_home(None, org_unit=cast.village_b1, name="乙一村妇女之家", kind="women")
    create_home(None, org_unit=cast.village_a1, name="甲一村儿童之家", kind="children")  # not a 妇女之家
    page = login(cast.users.county_staff).get(DASH.format(cast.county.pk)).content.decode()
    gaps = re.search(r'<ul id="gaps">(.*?)</ul>', page, re.S).group(1)
    items = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip() for li in gaps.split("<li>")[1:]]
    assert items == ["甲镇妇联 · 甲一村: 无妇女之家", "甲镇妇联 · 甲二村: 未建妇联 无妇女之家"]
    assert "未建妇联的村(社区)1 个,未建妇女之家的村(社区)2 个。" in page
    # a township sees its own villages only
    b_page = login(cast.users.b_staff).get(DASH.format(cast.town_b.pk)).content.decode()
    assert "所有村(社区)均已建立妇联组织和妇女之家。" in b_page and "甲二村" not in b_page


def test_children_table_drills_down_and_headline_shows_the_change_on_last_year(cast, data, login):
    today = timezone.localdate()
    training(cast.village_b1, None, day=today.replace(year=today.year - 1, day=1), sessions=1, people=100)
    response = login(cast.users.county_leader).get(DASH.format(cast.county.pk))
    page = response.content.decode()
    blob = dash_blob(response)
    table = re.search(r'<details class="print-open" id="children-table">(.*?)</details>', page, re.S).group(1)
    for pk, label in zip(blob["children"]["ids"], blob["children"]["labels"], strict=True):
        assert f'<a href="/reports/units/{pk}/?year={today.year}">{label}</a>' in table
    # this year 200 person-times, last year 100 (same period): +100, +100.0 %
    card = {h["code"]: h for h in blob["headline"]}["training_person_times"]
    assert (card["value"], card["last"], card["delta"], card["pct"]) == (200, 100, 100, 100.0)
    assert "上年同期 100,增加 100(+100.0%)" in page
    rate = {h["code"]: h for h in blob["headline"]}["coverage_pct"]
    assert rate["pct"] is None  # a rate changes by percentage points
    # the trend: every indicator's months equal the service's
    months = queries.by_month(
        cast.users.county_leader,
        cast.county,
        today.replace(month=1, day=1),
        today,
        [s["code"] for s in blob["trend"]["series"]],
    )
    for s in blob["trend"]["series"]:
        assert s["values"] == [queries.plain(v[s["code"]]) for _, v in months]
    assert len(blob["trend"]["series"]) >= 3


def test_staff_page_skips_the_case_list_query(cast, data, login, django_assert_num_queries):
    today = timezone.localdate()
    staff = type(cast.users.county_staff).objects.get(pk=cast.users.county_staff.pk)
    queries.visible_indicators(staff, cast.county)
    with CaptureQueriesContext(connection) as ctx:
        dashboard_data(staff, cast.county, today.year, today)
    service = len(ctx)  # now: a request resets the connection's query log
    assert service >= 5
    client = login(cast.users.county_staff)
    client.get(DASH.format(cast.county.pk))
    with django_assert_num_queries(DASH_OWN_QUERIES - 1 + service):  # no VIEW_CASES: no overdue-case query
        assert client.get(DASH.format(cast.county.pk)).status_code == 200
    # fixed: more records, last year's too, and more gaps do not add queries
    for i in range(3):
        training(cast.village_a1, None, title=f"培训{i}", day=today.replace(year=today.year - 1, day=1))
        training(cast.village_b1, None, title=f"培训{i}")
    create_unit(None, parent=cast.town_b, kind=Kind.VILLAGE, name="乙二村", code="B2", established=False)
    with django_assert_num_queries(DASH_OWN_QUERIES - 1 + service):
        assert client.get(DASH.format(cast.county.pk)).status_code == 200


def test_the_page_prints_readably(cast, login):
    page = login(cast.users.county_staff).get(DASH.format(cast.county.pk)).content.decode()
    assert "/static/reports/dashboard.css" in page
    css = (STATIC / "dashboard.css").read_text(encoding="utf-8")
    print_rules = css[css.index("@media print") :]
    assert "background: #fff" in print_rules and "animation: none" in print_rules
    js = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    assert js.count("animation: false") == 2 and 'renderer: "svg"' in js  # both charts, never animated
    assert "beforeprint" in js and "triggerEvent: true" in js


def test_names_in_the_prebuilt_table_and_gap_list_are_escaped(cast, data, login):
    """The children table and the gap list are built in Python (views._children_rows, _gap_items): a unit's
    name is text, never markup."""
    create_unit(None, parent=cast.county, name="<b>丙镇</b>", kind=Kind.TOWNSHIP)
    create_unit(None, parent=cast.town_a, name="<i>甲三村</i>", kind=Kind.VILLAGE, established=False)
    page = login(cast.users.county_leader).get(DASH.format(cast.county.pk)).content.decode()
    table = re.search(r'<details class="print-open" id="children-table">(.*?)</details>', page, re.S).group(1)
    assert "&lt;b&gt;丙镇&lt;/b&gt;" in table and "<b>丙镇" not in page
    gaps = re.search(r'<ul id="gaps">(.*?)</ul>', page, re.S).group(1)
    assert "甲镇妇联 · &lt;i&gt;甲三村&lt;/i&gt;:" in gaps and "<i>甲三村" not in page
