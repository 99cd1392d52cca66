"""Pages: content, exact query counts (N+1 guard), forms that keep what was typed, conflicts."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from fulian.conftest import make_cadre
from fulian.orgs import actions, queries
from fulian.orgs.models import Cadre, Education, Kind, Position


def grow(cast, n=10):
    """Add n villages with a cadre each under township A and n cadres in A1: page query counts must not grow."""
    for i in range(n):
        village = actions.create_unit(
            None, parent=cast.town_a, kind=Kind.VILLAGE, name=f"新增{i}村", code=f"N{i}"
        )
        make_cadre(village, f"新干部{i}")
        make_cadre(cast.village_a1, f"村干部{i}")


PAGES = {
    # url template: queries per request (session, user, memberships, page's own queries, session touch x3;
    # full pages +1 for the nav's unread-notice COUNT; the unit page +1 for 我的待办 on the user's own unit)
    "/orgs/units/{a}/": 15,
    "/orgs/units/{a}/tree/": 11,
    "/orgs/units/{a}/children/": 8,
    "/orgs/units/{a}/cadres/": 10,
    "/orgs/units/{a}/cadre-stats/": 10,
}


@pytest.mark.parametrize("url,expected", list(PAGES.items()))
def test_page_query_counts_do_not_grow_with_data(cast, login, django_assert_num_queries, url, expected):
    client = login(cast.users.a_leader)
    url = url.format(a=cast.town_a.pk)
    client.get(url)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    grow(cast)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


def test_cadre_htmx_partial_query_count(cast, login, django_assert_num_queries):
    client = login(cast.users.a_leader)
    url = f"/orgs/units/{cast.town_a.pk}/cadres/?education=college"
    client.get(url)
    with django_assert_num_queries(9):
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert "<html" not in response.content.decode()
    grow(cast)
    with django_assert_num_queries(9):
        client.get(url, HTTP_HX_REQUEST="true")


def test_cadre_filters(cast, login):
    client = login(cast.users.county_staff)
    url = f"/orgs/units/{cast.county.pk}/cadres/"
    assert {c.name for c in client.get(url + "?in_two_committees=1").context["page"]} == {"张玉梅"}
    assert {c.name for c in client.get(url + "?education=bachelor").context["page"]} == {"周红梅"}
    assert {c.name for c in client.get(url + "?q=秀英").context["page"]} == {"刘秀英"}
    assert len(client.get(url + "?full_time=1").context["page"]) == 3


def test_cadre_stats_match_seed_bands(cast):
    day = dt.date(2026, 1, 1)
    make_cadre(cast.village_a1, "年轻", birth_date=dt.date(1986, 1, 2))  # 39
    make_cadre(cast.village_a1, "整四十", birth_date=dt.date(1986, 1, 1))  # 40 exactly: 40岁以下
    make_cadre(cast.village_a1, "四十一", birth_date=dt.date(1985, 1, 1))  # 41
    make_cadre(cast.village_a1, "六十", birth_date=dt.date(1966, 1, 1))  # 60: 51-60
    make_cadre(cast.village_a1, "六十一", birth_date=dt.date(1964, 12, 31))  # 61
    rows, total = queries.cadre_stats(cast.county, day)
    by = {r.label: r.values for r in rows}
    assert set(by) == {"测试县妇联(本级)", "甲镇妇联", "乙镇妇联", "县教育局妇委会"}
    assert by["甲镇妇联"]["total"] == 7
    assert by["县教育局妇委会"]["total"] == 0
    assert total.values["total"] == Cadre.objects.count() == 10
    a1 = queries.cadre_stats(cast.village_a1, day)[1].values
    # 张玉梅 born 1965-03-02 is 60 on 2026-01-01
    assert (a1["age_40_below"], a1["age_41_50"], a1["age_51_60"], a1["age_60_above"]) == (2, 1, 2, 1)
    assert a1["edu_high_or_below"] == 1 and a1["edu_college"] == 5
    assert a1["two_committees"] == 1 and a1["party"] == 6
    for key in ("total", "fulltime", "party", "edu_bachelor"):
        assert total.values[key] == sum(r.values[key] for r in rows)


def test_cadre_stats_export_has_total_row(cast, login):
    response = login(cast.users.county_leader).get(f"/orgs/units/{cast.county.pk}/cadre-stats/export.xlsx")
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][0] == "单位" and rows[1][1] == "干部总数"
    assert rows[-1][0] == "合计" and rows[-1][1] == Cadre.objects.count()


def test_create_cadre_form_keeps_input_on_error(cast, login):
    client = login(cast.users.a1_staff)
    data = {
        "name": "赵春兰",
        "gender": "F",
        "birth_date": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
        "education": Education.COLLEGE,
        "position": Position.EXECUTIVE,
        "phone": "13800002222",
    }
    response = client.post(f"/orgs/units/{cast.village_a1.pk}/cadres/new/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "出生日期不能晚于今天" in body
    assert 'value="赵春兰"' in body and 'value="13800002222"' in body
    assert not Cadre.objects.filter(name="赵春兰").exists()
    data["birth_date"] = "1988-08-08"
    assert client.post(f"/orgs/units/{cast.village_a1.pk}/cadres/new/", data).status_code == 302
    assert Cadre.objects.get(name="赵春兰").org_unit == cast.village_a1


def test_two_people_editing_one_cadre_never_silently_overwrite(cast, login):
    cadre = cast.cadres.a1_chair
    first, second = login(cast.users.a_staff), None
    form = first.get(f"/orgs/cadres/{cadre.pk}/edit/").context["form"]
    stale_version = form.initial["version"]
    actions.update_cadre(cast.users.a1_staff, cadre, expected_version=cadre.version, phone="13999999999")
    second = first  # the first person now saves the form they loaded before the other edit
    data = {
        "name": "张玉梅(改)",
        "gender": "F",
        "birth_date": "1965-03-02",
        "education": Education.HIGH_SCHOOL,
        "position": Position.CHAIR,
        "phone": "13800000000",
        "version": stale_version,
    }
    response = second.post(f"/orgs/cadres/{cadre.pk}/edit/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "已被其他人修改" in body and 'value="张玉梅(改)"' in body
    cadre.refresh_from_db()
    assert cadre.name == "张玉梅" and cadre.phone == "13999999999"
    data["version"] = cadre.version
    assert second.post(f"/orgs/cadres/{cadre.pk}/edit/", data).status_code == 302
    cadre.refresh_from_db()
    assert cadre.name == "张玉梅(改)" and cadre.version == 3


def test_unit_page_shows_chair_homes_and_children(cast, login):
    actions.create_home(None, org_unit=cast.town_a, name="甲镇妇女之家", address="甲镇政府一楼")
    actions.create_home(None, org_unit=cast.village_a1, name="甲一村妇女之家")
    actions.create_home(None, org_unit=cast.village_b1, name="乙一村妇女之家")
    response = login(cast.users.a_leader).get(f"/orgs/units/{cast.town_a.pk}/")
    assert response.context["homes_in_subtree"] == 2  # A and A1; B1's home is not counted
    body = response.content.decode()
    assert "王桂兰" in body and "甲镇妇女之家" in body and "甲一村" in body and "未建" in body


def test_demo_seed_is_deterministic_and_rerunnable(db, tmp_path, settings):
    from django.core.management import call_command

    from fulian.orgs.models import OrgUnit

    out = tmp_path / "accounts.json"
    call_command("seed", "--scale", "demo", "--seed", "7", "--accounts-json", str(out), stdout=io.StringIO())
    units, cadres = OrgUnit.objects.count(), Cadre.objects.count()
    assert 420 <= units <= 520
    assert 300 <= OrgUnit.objects.filter(kind__in=[Kind.VILLAGE, Kind.COMMUNITY]).count() <= 420
    assert 75 <= OrgUnit.objects.filter(kind__in=[Kind.AGENCY, Kind.ENTERPRISE, Kind.NEW_ORG]).count() <= 90
    import json

    accounts = json.loads(out.read_text(encoding="utf-8"))
    roles = {a["role"] for a in accounts if a["org_unit_kind"] == Kind.COUNTY}
    assert roles == {"leader", "staff", "caseworker", "sysadmin", "auditor", "hotline"}
    assert {
        "username",
        "password",
        "role",
        "org_unit_id",
        "org_unit_code",
        "org_unit_name",
        "org_unit_kind",
    } <= set(accounts[0])
    first_names = list(Cadre.objects.order_by("id").values_list("name", flat=True)[:50])
    call_command("seed", "--scale", "demo", stdout=io.StringIO())  # re-run: nothing duplicated
    assert (OrgUnit.objects.count(), Cadre.objects.count()) == (units, cadres)
    assert first_names == list(Cadre.objects.order_by("id").values_list("name", flat=True)[:50])
