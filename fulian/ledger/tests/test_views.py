"""Ledger pages: scope (404 + audit), exact query counts, quick entry, conflicts, locks, roll-up and exports."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from fulian.audit.models import AuditEvent
from fulian.audit.testing import record_queries
from fulian.ledger import actions, queries
from fulian.ledger.forms import preset_period
from fulian.ledger.models import BrandTag, LedgerRecord, PeriodException, RecordKind
from fulian.orgs.actions import create_unit, update_unit
from fulian.orgs.models import Kind

from .builders import activity, training


def _old_day():
    """A day in a month that is locked by now (two months back)."""
    return (dt.date.today().replace(day=1) - dt.timedelta(days=60)).replace(day=8)


def _this_month():
    today = dt.date.today()
    return today.replace(day=1), today


@pytest.fixture
def records(cast):
    """Records in A1, A2 (typed by the system), township A, B1 and the county."""
    tag = BrandTag.objects.get(name="巾帼建功")
    return {
        "a1": training(
            cast.village_a1, cast.users.a1_staff, sessions=2, people=30, tags=[tag], title="甲一村茶叶培训"
        ),
        "a1b": activity(cast.village_a1, cast.users.a1_staff, people=60, title="甲一村三八节活动"),
        "a2": training(cast.village_a2, None, sessions=1, people=12, title="甲二村电商培训"),
        "a": training(cast.town_a, cast.users.a_staff, sessions=1, people=40, title="甲镇干部培训"),
        "b1": training(cast.village_b1, cast.users.b1_staff, sessions=3, people=10, title="乙一村家政培训"),
        "c": activity(cast.county, cast.users.county_staff, people=100, title="全县宣传活动"),
    }


def grow(cast, n=8):
    """More villages and records: page query counts must not grow with them."""
    tags = list(BrandTag.objects.all())
    for i in range(n):
        village = create_unit(None, parent=cast.town_a, kind=Kind.VILLAGE, name=f"新增{i}村", code=f"N{i}")
        training(village, None, sessions=1, people=10 + i, tags=tags, title=f"新增培训{i}")
        activity(cast.village_a1, cast.users.a1_staff, people=5, tags=tags[:1], title=f"新增活动{i}")


def denied_count():
    return AuditEvent.objects.filter(action="access.denied").count()


# --- scope ------------------------------------------------------------------------------------------------------


def test_lists_never_include_foreign_rows(cast, login, records):
    client = login(cast.users.a_staff)
    page = client.get(f"/ledger/units/{cast.town_a.pk}/records/").context["page"]
    assert {r.title for r in page} == {"甲一村茶叶培训", "甲一村三八节活动", "甲二村电商培训", "甲镇干部培训"}
    page = login(cast.users.county_leader).get(f"/ledger/units/{cast.county.pk}/records/").context["page"]
    assert len(page) == 6
    page = login(cast.users.a1_staff).get(f"/ledger/units/{cast.village_a1.pk}/records/").context["page"]
    assert {r.title for r in page} == {"甲一村茶叶培训", "甲一村三八节活动"}


def _foreign_urls(cast, records):
    a1 = records["a1"].pk
    return [
        ("get", f"/ledger/units/{cast.town_a.pk}/records/"),
        ("get", f"/ledger/units/{cast.town_a.pk}/records/export.xlsx"),
        ("get", f"/ledger/units/{cast.town_a.pk}/rollup/"),
        ("get", f"/ledger/units/{cast.town_a.pk}/rollup/export.xlsx"),
        ("get", f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=training"),
        ("get", f"/ledger/units/{cast.town_a.pk}/exceptions/"),
        ("get", f"/ledger/records/{a1}/"),
        ("get", f"/ledger/records/{a1}/edit/"),
        ("post", f"/ledger/records/{a1}/edit/"),
        ("post", f"/ledger/records/{a1}/delete/"),
    ]


def test_township_b_gets_404_on_township_a_and_each_attempt_is_audited(cast, login, records):
    client = login(cast.users.b_staff)
    before = (LedgerRecord.objects.count(), records["a1"].version)
    for method, url in _foreign_urls(cast, records):
        denied = denied_count()
        response = getattr(client, method)(url, {"title": "改"} if method == "post" else None)
        assert response.status_code == 404, url
        assert "甲一村" not in response.content.decode()
        assert denied_count() == denied + 1, url
    records["a1"].refresh_from_db()
    assert (LedgerRecord.objects.count(), records["a1"].version) == before
    event = AuditEvent.objects.filter(action="access.denied").order_by("-id").first()
    assert event.actor_username == "b_staff"


def test_exports_of_b_never_contain_a(cast, login, records):
    response = login(cast.users.b_staff).get(f"/ledger/units/{cast.town_b.pk}/records/export.xlsx")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [r[3] for r in rows[2:]] == ["乙一村家政培训"]
    assert AuditEvent.objects.filter(action="ledger.record.export", actor_username="b_staff").exists()


def test_township_sees_its_villages_records_read_only(cast, login, records):
    rec = records["a1"]
    client = login(cast.users.a_staff)
    body = client.get(f"/ledger/records/{rec.pk}/").content.decode()
    assert "甲一村茶叶培训" in body and "您只能查看" in body
    assert f"/ledger/records/{rec.pk}/edit/" not in body
    assert client.get(f"/ledger/records/{rec.pk}/edit/").status_code == 403
    response = client.post(f"/ledger/records/{rec.pk}/delete/")
    assert response.status_code == 403 and "本单位的工作人员" in response.content.decode()
    assert LedgerRecord.objects.filter(pk=rec.pk).exists()
    # the quick entry page for A1 says so, and a post is refused
    response = client.get(f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=training")
    assert response.status_code == 200
    body = response.content.decode()
    assert "只能由本单位的工作人员填报" in body and 'name="title"' not in body
    assert f"/ledger/units/{cast.town_a.pk}/records/new/" in body  # where this user may record
    count = LedgerRecord.objects.count()
    response = client.post(
        f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=training",
        {"title": "代录", "category": "实用技术", "date": dt.date.today().isoformat()},
    )
    assert response.status_code == 403 and "只能由本单位的工作人员填报" in response.content.decode()
    assert LedgerRecord.objects.count() == count


def test_village_edits_its_own_record(cast, login, records):
    rec = records["a1"]
    client = login(cast.users.a1_staff)
    body = client.get(f"/ledger/records/{rec.pk}/").content.decode()
    assert f"/ledger/records/{rec.pk}/edit/" in body and "版本 1" in body
    form = client.get(f"/ledger/records/{rec.pk}/edit/").context["form"]
    assert form.initial["version"] == 1 and form.initial["participants"] == 30
    data = _training_data(title="甲一村茶叶培训(第二期)", participants=35, person_times=70, version=1)
    response = client.post(f"/ledger/records/{rec.pk}/edit/", data)
    assert response.status_code == 302
    rec.refresh_from_db()
    assert (rec.title, rec.participants, rec.version) == ("甲一村茶叶培训(第二期)", 35, 2)
    assert list(rec.tags.values_list("name", flat=True)) == ["双学双比"]


# --- quick entry --------------------------------------------------------------------------------------------------


def _training_data(**overrides):
    data = {
        "title": "电商直播培训",
        "category": "创业就业",
        "date": dt.date.today().isoformat(),
        "sessions": "1",
        "participants": "25",
        "person_times": "25",
        "recommended_jobs": "",
        "employed": "",
        "partner": "县人社局",
        "tags": [str(BrandTag.objects.get(name="双学双比").pk)],
    }
    data.update({k: str(v) for k, v in overrides.items()})
    return data


def test_quick_entry_chooses_a_kind_with_big_buttons(cast, login):
    body = login(cast.users.a1_staff).get(f"/ledger/units/{cast.village_a1.pk}/records/new/").content.decode()
    for kind in RecordKind.values:
        assert f'href="?kind={kind}"' in body
    assert 'class="kinds"' in body


def test_quick_entry_shows_only_the_kinds_fields_with_today_as_date(cast, login):
    client = login(cast.users.a1_staff)
    response = client.get(f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=training")
    form = response.context["form"]
    assert {"sessions", "participants", "person_times", "employed", "partner", "tags"} <= set(form.fields)
    assert not {"employers", "amount", "workers", "beneficiaries"} & set(form.fields)
    assert form.initial["date"] == dt.date.today()
    body = response.content.decode()
    assert "保存并继续录入" in body and 'type="checkbox"' in body and "巾帼建功" in body
    form = client.get(f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=service").context["form"]
    assert {"beneficiaries", "amount", "fund_source"} <= set(form.fields) and "sessions" not in form.fields


def test_quick_entry_saves_and_continues(cast, login):
    client = login(cast.users.a1_staff)
    url = f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=training"
    response = client.post(url, {**_training_data(), "continue": "1"})
    assert response.status_code == 302 and response["Location"].endswith("?kind=training")
    rec = LedgerRecord.objects.get()
    assert (rec.org_unit, rec.kind, rec.participants, rec.recommended_jobs, rec.partner) == (
        cast.village_a1,
        RecordKind.TRAINING,
        25,
        0,
        "县人社局",
    )
    assert rec.created_by == cast.users.a1_staff and [t.name for t in rec.tags.all()] == ["双学双比"]
    response = client.post(url, _training_data(title="第二条"))
    assert response.status_code == 302 and response["Location"] == f"/ledger/records/{rec.pk + 1}/"


def test_quick_entry_keeps_what_was_typed_on_error(cast, login):
    client = login(cast.users.a1_staff)
    url = f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=training"
    response = client.post(url, _training_data(title="妇女创业培训", participants=30, person_times=10))
    assert response.status_code == 200
    body = response.content.decode()
    assert "人次不能少于参加人数" in body and 'value="妇女创业培训"' in body and 'value="县人社局"' in body
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    body = client.post(url, _training_data(date=tomorrow)).content.decode()
    assert "日期不能晚于今天" in body
    assert not LedgerRecord.objects.exists()


# --- conflicts and locks ------------------------------------------------------------------------------------------


def test_a_concurrent_edit_is_refused_and_the_typed_values_are_kept(cast, login, records):
    rec = records["a1"]
    client = login(cast.users.a1_staff)
    stale = client.get(f"/ledger/records/{rec.pk}/edit/").context["form"].initial["version"]
    actions.update_record(
        cast.users.a1_staff, rec, expected_version=rec.version, participants=31, person_times=62
    )
    response = client.post(
        f"/ledger/records/{rec.pk}/edit/",
        _training_data(title="我改的标题", participants=33, person_times=66, version=stale),
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "该记录已被其他人修改" in body and 'value="我改的标题"' in body
    rec.refresh_from_db()
    assert (rec.title, rec.participants, rec.version) == ("甲一村茶叶培训", 31, 2)


def test_a_locked_month_shows_the_lock_message_and_refuses_changes(cast, login):
    rec = training(cast.village_a1, None, day=_old_day(), title="两个月前的培训")
    client = login(cast.users.a1_staff)
    body = client.get(f"/ledger/records/{rec.pk}/").content.decode()
    assert "锁定" in body and "开通补录" in body
    response = client.post(f"/ledger/records/{rec.pk}/edit/", _training_data(date=_old_day(), version=1))
    assert response.status_code == 403 and "锁定" in response.content.decode()
    response = client.post(f"/ledger/records/{rec.pk}/delete/")
    assert response.status_code == 403 and "锁定" in response.content.decode()
    response = client.post(
        f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=training", _training_data(date=_old_day())
    )
    assert response.status_code == 403 and "锁定" in response.content.decode()
    rec.refresh_from_db()
    assert rec.version == 1 and LedgerRecord.objects.count() == 1


def test_the_level_above_grants_a_locked_month_then_the_village_records_it(cast, login):
    day = _old_day()
    client = login(cast.users.a_staff)
    page = client.get(f"/ledger/units/{cast.town_a.pk}/exceptions/")
    assert page.status_code == 200
    assert [label for _, label in page.context["form"].fields["unit"].choices[1:]] == ["甲一村", "甲二村"]
    until = dt.date.today() + dt.timedelta(days=7)
    data = {"unit": cast.village_a1.pk, "month": f"{day:%Y-%m}", "until": until.isoformat(), "reason": ""}
    body = client.post(f"/ledger/units/{cast.town_a.pk}/exceptions/", data).content.decode()
    assert "errors" in body and not PeriodException.objects.exists()
    data["reason"] = "三月培训漏报"
    response = client.post(f"/ledger/units/{cast.town_a.pk}/exceptions/", data)
    assert response.status_code == 302
    exc = PeriodException.objects.get()
    assert (exc.org_unit, exc.month, exc.until) == (cast.village_a1, day.replace(day=1), until)
    assert "三月培训漏报" in client.get(f"/ledger/units/{cast.town_a.pk}/exceptions/").content.decode()
    response = login(cast.users.a1_staff).post(
        f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=training", _training_data(date=day)
    )
    assert response.status_code == 302 and LedgerRecord.objects.get().date == day


def test_a_unit_cannot_be_granted_by_a_neighbour_or_itself(cast, login):
    day = _old_day()
    data = {
        "unit": cast.village_a1.pk,
        "month": f"{day:%Y-%m}",
        "until": dt.date.today().isoformat(),
        "reason": "x",
    }
    assert (
        login(cast.users.b_staff).post(f"/ledger/units/{cast.town_b.pk}/exceptions/", data).status_code == 200
    )
    assert not PeriodException.objects.exists()  # A1 is not a choice under B: the form refuses it
    response = login(cast.users.a1_staff).get(f"/ledger/units/{cast.village_a1.pk}/exceptions/")
    assert response.context["form"].fields["unit"].choices == [("", "请选择")]
    assert "没有下级单位" in response.content.decode()


# --- roll-up ------------------------------------------------------------------------------------------------------


def test_rollup_page_is_the_hand_compiled_table(cast, login, records):
    response = login(cast.users.county_staff).get(f"/ledger/units/{cast.county.pk}/rollup/")
    assert response.context["preset"] == "this_month"
    rows = {r.label: r.values for r in response.context["rows"]}
    assert rows["甲镇妇联"]["training_sessions"] == 4 and rows["甲镇妇联"]["training_people"] == 82
    assert rows["乙镇妇联"]["training_sessions"] == 3
    assert rows["测试县妇联(本级)"]["activity_people"] == 100
    assert response.context["total"].values["training_sessions"] == 7
    body = response.content.decode()
    assert f'href="/ledger/units/{cast.town_a.pk}/rollup/?start=' in body  # drill down
    counts = dict((t.name, n) for t, n in response.context["tag_counts"])
    assert counts["巾帼建功"] == 1
    # drill down: township A's table lists its villages
    response = login(cast.users.a_staff).get(f"/ledger/units/{cast.town_a.pk}/rollup/")
    assert [r.label for r in response.context["rows"]] == ["甲镇妇联(本级)", "甲一村", "甲二村"]


def test_rollup_periods_tags_and_closed_units(cast, login, records):
    tag = BrandTag.objects.get(name="巾帼建功")
    client = login(cast.users.a_staff)
    url = f"/ledger/units/{cast.town_a.pk}/rollup/"
    assert client.get(url, {"tag": tag.pk}).context["total"].values["training_sessions"] == 2
    response = client.get(url, {"period": "last_year"})
    assert response.context["start"] == dt.date(dt.date.today().year - 1, 1, 1)
    assert response.context["total"].values["training_sessions"] == 0
    old = _old_day()
    training(cast.village_a1, None, day=old, sessions=9)
    response = client.get(url, {"period": "custom", "start": old.isoformat(), "end": old.isoformat()})
    assert (
        response.context["preset"] == "custom" and response.context["total"].values["training_sessions"] == 9
    )
    update_unit(None, cast.village_a2, closed_on=dt.date(2020, 1, 1))
    assert "甲二村" not in [r.label for r in client.get(url).context["rows"]]
    bad = client.get(url, {"start": "2026-03-01", "end": "2026-01-01", "period": "custom"})
    assert "结束日期不能早于开始日期" in bad.content.decode()


def test_rollup_export_equals_the_rollup_query(cast, login, records):
    tag = BrandTag.objects.get(name="巾帼建功")
    training(cast.village_b1, cast.users.b1_staff, sessions=4, people=8, tags=[tag])
    actions.create_record(
        cast.users.a1_staff,
        org_unit=cast.village_a1,
        kind=RecordKind.SERVICE,
        category="帮扶",
        title="帮扶单亲母亲",
        date=dt.date.today(),
        beneficiaries=3,
        amount=Decimal("1234.56"),
    )
    start, end = _this_month()
    client = login(cast.users.county_leader)
    for params, tag_arg in (({}, None), ({"tag": tag.pk}, tag)):
        response = client.get(f"/ledger/units/{cast.county.pk}/rollup/export.xlsx", params)
        assert response.status_code == 200
        sheet = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        rows, total = queries.rollup(cast.county, start, queries_end(start), tag=tag_arg)
        keys = [k for k, _, _, _ in queries.INDICATORS]
        assert sheet[1] == ("单位", *[label for _, label, _, _ in queries.INDICATORS])
        expected = [[r.label, *[r.values[k] for k in keys]] for r in rows]
        expected.append(["合计", *[total.values[k] for k in keys]])
        assert [list(r) for r in sheet[2:]] == [[_num(v) for v in row] for row in expected]
    assert (
        AuditEvent.objects.filter(action="ledger.rollup.export", actor_username="county_leader").count() == 2
    )


def queries_end(start):
    from fulian.ledger import periods

    return periods.month_end(start)


def _num(value):
    return float(value) if isinstance(value, Decimal) else value


@pytest.mark.parametrize(
    ("preset", "today", "expected"),
    [
        ("this_month", dt.date(2026, 2, 14), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
        ("last_month", dt.date(2026, 1, 14), (dt.date(2025, 12, 1), dt.date(2025, 12, 31))),
        ("this_quarter", dt.date(2026, 5, 3), (dt.date(2026, 4, 1), dt.date(2026, 6, 30))),
        ("this_quarter", dt.date(2026, 12, 31), (dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
        ("this_year", dt.date(2026, 5, 3), (dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
        ("last_year", dt.date(2026, 5, 3), (dt.date(2025, 1, 1), dt.date(2025, 12, 31))),
    ],
)
def test_period_presets(preset, today, expected):
    assert preset_period(preset, today) == expected


# --- list filters and export ----------------------------------------------------------------------------------------


def test_record_filters(cast, login, records):
    client = login(cast.users.county_staff)
    url = f"/ledger/units/{cast.county.pk}/records/"
    titles = lambda params: {r.title for r in client.get(url, params).context["page"]}  # noqa: E731
    assert titles({"kind": "activity"}) == {"甲一村三八节活动", "全县宣传活动"}
    assert titles({"tag": BrandTag.objects.get(name="巾帼建功").pk}) == {"甲一村茶叶培训"}
    assert titles({"q": "家政"}) == {"乙一村家政培训"}
    assert titles({"category": "宣传", "kind": "activity"}) == {"甲一村三八节活动", "全县宣传活动"}
    old = training(cast.village_a1, None, day=_old_day(), title="旧培训")
    assert titles({"end": (_old_day() + dt.timedelta(days=1)).isoformat()}) == {old.title}
    assert titles({"start": dt.date.today().replace(day=1).isoformat()}) == {
        r.title for r in records.values()
    }


def test_record_export_is_the_filtered_list(cast, login, records):
    client = login(cast.users.a_staff)
    response = client.get(f"/ledger/units/{cast.town_a.pk}/records/export.xlsx", {"kind": "training"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[1][:5] == ("单位", "类别", "类型", "主题", "日期")
    assert sorted(r[3] for r in rows[2:]) == sorted(["甲一村茶叶培训", "甲二村电商培训", "甲镇干部培训"])
    tea = next(r for r in rows if r[3] == "甲一村茶叶培训")
    header = list(rows[1])
    assert tea[header.index("期数")] == 2 and tea[header.index("品牌标签")] == "巾帼建功"


def test_nav_and_unit_page_link_to_the_ledger(cast, login):
    body = login(cast.users.a1_staff).get(f"/orgs/units/{cast.village_a1.pk}/").content.decode()
    assert f"/ledger/units/{cast.village_a1.pk}/records/" in body
    assert f"/ledger/units/{cast.village_a1.pk}/rollup/" in body
    body = login(cast.users.county_auditor).get(f"/orgs/units/{cast.county.pk}/").content.decode()
    assert "/ledger/" not in body


# --- exact query counts -------------------------------------------------------------------------------------------

PAGES = {
    # url: queries per request — session, user, memberships (3), the unit (1), the page's own, the unread
    # notices count of the nav (1, full pages only), session touch (3); exports add the audit event
    # (record_queries)
    "/ledger/units/{a}/records/": 12,  # count, page, tags of the page, tag choices
    "/ledger/units/{a}/records/?kind=training&tag={tag}": 13,  # + the chosen tag
    "/ledger/units/{a}/records/export.xlsx": 9 + record_queries(),
    "/ledger/units/{a}/rollup/": 12,  # tags, the GROUP BY, the children, the tag counts
    "/ledger/units/{a}/rollup/?period=this_year&tag={tag}": 12,
    "/ledger/units/{a}/rollup/export.xlsx": 10 + record_queries(),
    "/ledger/units/{a}/exceptions/": 10,
}


@pytest.mark.parametrize("url,expected", list(PAGES.items()))
def test_page_query_counts_do_not_grow_with_data(
    cast, login, records, django_assert_num_queries, url, expected
):
    client = login(cast.users.a_staff)
    url = url.format(a=cast.town_a.pk, tag=BrandTag.objects.get(name="巾帼建功").pk)
    client.get(url)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    grow(cast)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


def test_record_rows_partial_query_count(cast, login, records, django_assert_num_queries):
    client = login(cast.users.a_staff)
    url = f"/ledger/units/{cast.town_a.pk}/records/?kind=training"
    client.get(url)
    with django_assert_num_queries(10):
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert "<html" not in response.content.decode() and "甲一村茶叶培训" in response.content.decode()
    grow(cast)
    with django_assert_num_queries(10):
        client.get(url, HTTP_HX_REQUEST="true")


def test_record_detail_query_count(cast, login, records, django_assert_num_queries):
    client = login(cast.users.a1_staff)
    url = f"/ledger/records/{records['a1'].pk}/"
    client.get(url)
    # the record, its tags, the photos and sign-in sheet of _record_media.html (2), the nav's notices count
    with django_assert_num_queries(11):
        assert client.get(url).status_code == 200


def test_negative_amounts_are_refused_by_the_form(cast, login):
    url = f"/ledger/units/{cast.village_a1.pk}/records/new/?kind=service"
    data = {"title": "帮扶", "category": "帮扶", "date": dt.date.today().isoformat(), "amount": "-5"}
    response = login(cast.users.a1_staff).post(url, data)
    assert response.status_code == 200 and "不能小于 0" in response.content.decode()
    assert not LedgerRecord.objects.exists()
    data["amount"] = "12.5"
    assert login(cast.users.a1_staff).post(url, data).status_code == 302
    assert LedgerRecord.objects.get().amount == Decimal("12.50")


def test_ledger_home_and_links_to_import_and_exceptions(cast, login):
    client = login(cast.users.a_staff)
    assert client.get("/ledger/")["Location"] == f"/ledger/units/{cast.town_a.pk}/records/"
    body = client.get(f"/ledger/units/{cast.town_a.pk}/records/").content.decode()
    assert f"/ledger/units/{cast.town_a.pk}/exceptions/" in body and "/ledger/import/" in body
    assert 'href="/ledger/"' in body  # the nav's 台账
    body = login(cast.users.a1_staff).get(f"/ledger/units/{cast.village_a1.pk}/records/").content.decode()
    assert "/exceptions/" not in body and "/ledger/import/" in body
    assert login(cast.users.county_auditor).get("/ledger/").status_code == 403
