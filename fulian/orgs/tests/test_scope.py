"""Scope is sacred: a township user reads, guesses and counts nothing of another township."""

import io
import re

import pytest
from openpyxl import load_workbook

from fulian.audit.models import AuditEvent
from fulian.orgs.models import Cadre


def denied_events():
    return AuditEvent.objects.filter(action="access.denied").count()


@pytest.mark.parametrize(
    "url",
    [
        "/orgs/units/{b}/",
        "/orgs/units/{b}/tree/",
        "/orgs/units/{b}/children/",
        "/orgs/units/{b}/cadres/",
        "/orgs/units/{b}/cadres/export.xlsx",
        "/orgs/units/{b}/cadre-stats/",
        "/orgs/units/{b}/cadre-stats/export.xlsx",
        "/orgs/units/{b1}/",
        "/orgs/units/{county}/",
        "/orgs/units/{county}/cadre-stats/",
        "/orgs/cadres/{b_cadre}/edit/",
        "/orgs/units/999999/",
    ],
)
def test_township_user_gets_404_for_foreign_objects_and_it_is_audited(cast, login, url):
    client = login(cast.users.a_staff)
    url = url.format(
        b=cast.town_b.pk, b1=cast.village_b1.pk, county=cast.county.pk, b_cadre=cast.cadres.b1_chair.pk
    )
    before = denied_events()
    response = client.get(url)
    assert response.status_code == 404
    assert denied_events() == before + 1
    event = AuditEvent.objects.filter(action="access.denied").first()
    assert event.actor_username == "a_staff"
    assert event.outcome == "denied"


def test_404_for_missing_and_forbidden_look_the_same(cast, login):
    client = login(cast.users.a_staff)
    forbidden = client.get(f"/orgs/units/{cast.town_b.pk}/")
    missing = client.get("/orgs/units/987654/")
    assert forbidden.status_code == missing.status_code == 404

    def strip_csrf(body: bytes) -> str:
        return re.sub(r'("X-CSRFToken": |name="csrfmiddlewaretoken" value=)"[^"]+"', "", body.decode())

    assert strip_csrf(forbidden.content) == strip_csrf(missing.content)


def test_foreign_cadre_edit_changes_nothing(cast, login):
    client = login(cast.users.a_staff)
    cadre = cast.cadres.b1_chair
    response = client.post(f"/orgs/cadres/{cadre.pk}/edit/", {"name": "篡改", "version": cadre.version})
    assert response.status_code == 404
    cadre.refresh_from_db()
    assert cadre.name == "陈丽"


def test_cadre_list_never_includes_foreign_rows(cast, login):
    client = login(cast.users.a_staff)
    response = client.get(f"/orgs/units/{cast.town_a.pk}/cadres/")
    page = response.context["page"]
    names = {c.name for c in page}
    assert names == {"王桂兰", "张玉梅"}
    assert page.paginator.count == 2
    body = response.content.decode()
    assert "陈丽" not in body and "刘秀英" not in body and "周红梅" not in body


def test_village_user_sees_only_the_village(cast, login):
    client = login(cast.users.a1_staff)
    assert client.get(f"/orgs/units/{cast.village_a1.pk}/").status_code == 200
    assert client.get(f"/orgs/units/{cast.town_a.pk}/").status_code == 404
    assert client.get(f"/orgs/units/{cast.village_a2.pk}/").status_code == 404
    response = client.get(f"/orgs/units/{cast.village_a1.pk}/cadres/")
    assert {c.name for c in response.context["page"]} == {"张玉梅"}


def test_counts_never_leak_foreign_totals(cast, login):
    client = login(cast.users.a_leader)
    response = client.get(f"/orgs/units/{cast.town_a.pk}/cadre-stats/")
    total = response.context["total"]
    assert total.values["total"] == Cadre.objects.under(cast.town_a).count() == 2
    tree = client.get(f"/orgs/units/{cast.town_a.pk}/")
    assert tree.context["total"].total == 2  # A1, A2: nothing of B, nothing of the county


def test_exports_are_scoped_and_audited(cast, login):
    client = login(cast.users.a_staff)
    response = client.get(f"/orgs/units/{cast.town_a.pk}/cadres/export.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    names = {row[1] for row in ws.iter_rows(min_row=3, values_only=True)}
    assert names == {"王桂兰", "张玉梅"}
    assert AuditEvent.objects.filter(action="orgs.cadre.export", actor_username="a_staff").exists()


def test_roles_without_cadre_capability_cannot_list_cadres(cast, login):
    for user in (cast.users.county_caseworker, cast.users.county_auditor):
        client = login(user)
        assert client.get(f"/orgs/units/{cast.county.pk}/cadres/").status_code == 404
        assert client.get(f"/orgs/units/{cast.county.pk}/cadre-stats/").status_code == 404
        assert client.get(f"/orgs/units/{cast.county.pk}/").status_code == 200


def test_anonymous_is_sent_to_login(cast, client):
    response = client.get(f"/orgs/units/{cast.county.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
