"""The tree as a path: subtree ranges, moving a subtree, life spans, coverage."""

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import F, Subquery

from fulian.audit.models import AuditEvent
from fulian.orgs import actions, paths, queries
from fulian.orgs.models import Cadre, Kind, OrgUnit


def test_successor_bounds_exactly_the_subtree():
    assert paths.successor("0001.0007") == "0001.0008"
    assert paths.successor("0001.9999") == "0002"
    inside = ["0001.0007", "0001.0007.0001", "0001.0007.9999.0003"]
    outside = ["0001.0006.9999", "0001.0008", "0001.00070", "0001", "0002"]
    low, high = paths.subtree_range("0001.0007")
    assert all(low <= p < high for p in inside)
    assert not any(low <= p < high for p in outside if len(p) % 5 == 4)


def test_paths_follow_the_tree(cast):
    assert cast.town_a.path == cast.county.path + ".0001"
    assert cast.village_a1.path.startswith(cast.town_a.path + ".")
    assert cast.village_a1.depth == 3
    under_a = set(OrgUnit.objects.under(cast.town_a).values_list("name", flat=True))
    assert under_a == {"甲镇妇联", "甲一村", "甲二村"}


def test_subtree_query_is_one_range_on_the_path_index(cast, django_assert_num_queries):
    with django_assert_num_queries(1) as ctx:
        list(OrgUnit.objects.under(cast.town_a))
    sql = ctx.captured_queries[0]["sql"]
    assert "LIKE" not in sql.upper()
    assert '"path" >=' in sql and '"path" <' in sql


def test_move_rewrites_the_whole_subtree_in_one_transaction(cast):
    child = actions.create_unit(None, parent=cast.town_b, kind=Kind.VILLAGE, name="乙二村", code="B2")
    # 乡镇合并: 乙镇's villages move under 甲镇, then 乙镇 is closed.
    for village in (cast.village_b1, child):
        actions.move_unit(cast.users.county_leader, village, cast.town_a)
    cast.village_b1.refresh_from_db()
    assert cast.village_b1.parent_id == cast.town_a.pk
    assert cast.village_b1.path.startswith(cast.town_a.path + ".")
    assert set(OrgUnit.objects.under(cast.town_b).values_list("code", flat=True)) == {"B"}
    assert set(OrgUnit.objects.under(cast.town_a).values_list("code", flat=True)) == {
        "A",
        "A1",
        "A2",
        "B1",
        "B2",
    }
    # the cadre of B1 moved with its village: it is now counted under 甲镇
    assert Cadre.objects.under(cast.town_a).filter(name="陈丽").exists()
    event = AuditEvent.objects.filter(action="orgs.unit.move").first()
    assert event.actor_username == "county_leader"
    assert event.detail["to_parent"] == cast.town_a.pk


def test_move_of_a_deep_subtree_keeps_depths(cast):
    street = actions.create_unit(None, parent=cast.county, kind=Kind.STREET, name="城东街道妇联", code="S")
    actions.move_unit(None, cast.village_a1, street)
    cast.village_a1.refresh_from_db()
    assert cast.village_a1.depth == 3
    assert cast.village_a1.path.startswith(street.path + ".")


def test_move_under_own_descendant_is_refused(cast):
    before = dict(OrgUnit.objects.values_list("pk", "path"))
    with pytest.raises(ValidationError) as exc:
        actions.move_unit(cast.users.county_leader, cast.town_a, cast.village_a1)
    assert "下级单位" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        actions.move_unit(cast.users.county_leader, cast.town_a, cast.town_a)
    assert dict(OrgUnit.objects.values_list("pk", "path")) == before


def test_move_checks_kind_and_scope(cast):
    with pytest.raises(ValidationError):  # a township cannot sit under a village
        actions.move_unit(cast.users.county_leader, cast.town_b, cast.village_a1)
    with pytest.raises(PermissionDenied):  # township A's leader cannot take B's village
        actions.move_unit(cast.users.a_leader, cast.village_b1, cast.town_a)
    cast.village_b1.refresh_from_db()
    assert cast.village_b1.parent_id == cast.town_b.pk


def test_move_view_refuses_own_descendant_with_a_message(cast, login):
    client = login(cast.users.county_leader)
    response = client.post(f"/orgs/units/{cast.town_a.pk}/move/", {"new_parent": cast.village_a1.pk})
    assert response.status_code == 200
    assert "下级单位" in response.content.decode()
    cast.town_a.refresh_from_db()
    assert cast.town_a.parent_id == cast.county.pk


def test_move_view_moves(cast, login):
    client = login(cast.users.county_leader)
    response = client.post(f"/orgs/units/{cast.village_b1.pk}/move/", {"new_parent": cast.town_a.pk})
    assert response.status_code == 302
    cast.village_b1.refresh_from_db()
    assert cast.village_b1.parent_id == cast.town_a.pk


def test_closed_unit_counts_only_while_it_existed(cast):
    actions.update_unit(None, cast.town_b, opened_on=dt.date(1984, 1, 1), closed_on=dt.date(2025, 7, 1))
    active_2024 = OrgUnit.objects.active_during(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    active_2026 = OrgUnit.objects.active_during(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert active_2024.filter(pk=cast.town_b.pk).exists()
    assert not active_2026.filter(pk=cast.town_b.pk).exists()
    # the half-year of the merger still counts it
    assert (
        OrgUnit.objects.active_during(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
        .filter(pk=cast.town_b.pk)
        .exists()
    )
    assert not OrgUnit.objects.active_on(dt.date(2025, 7, 1)).filter(pk=cast.town_b.pk).exists()


def test_tree_overview_counts_and_coverage(cast):
    rows, total, kinds = queries.tree_overview(cast.county)
    by_name = {r.label: r for r in rows}
    # a child's row counts its whole subtree: the township itself and its two villages (one not established)
    assert by_name["甲镇妇联"].total == 3 and by_name["甲镇妇联"].established == 2
    assert by_name["甲镇妇联"].coverage == 66.7
    assert total.total == 6  # A, B, agency, A1, A2, B1
    assert total.by_kind == {Kind.TOWNSHIP: 2, Kind.VILLAGE: 3, Kind.AGENCY: 1}
    assert total.established == 5
    assert kinds == [Kind.TOWNSHIP, Kind.VILLAGE, Kind.AGENCY]


def test_database_refuses_bad_division_code_and_kind(cast):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.filter(pk=cast.town_a.pk).update(division_code="12345")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.filter(pk=cast.town_a.pk).update(kind="nonsense")


def _explain(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql, params)
        return "\n".join(
            str(row[-1] if connection.vendor == "sqlite" else row[0]) for row in cursor.fetchall()
        )


@pytest.mark.parametrize("as_array", [True, False])
def test_in_subquery_is_a_condition_an_index_can_serve(cast, as_array):
    """``InSubquery`` (the subtree's unit ids) selects exactly the subtree's rows, and is a plain condition on
    the column: ``IN (…)``, or ``= ANY(ARRAY(…))`` on PostgreSQL — never a value compared with ``= 1``, which
    SQLite (no boolean type) cannot answer from an index and then reads the whole table (the county case lists
    at 300,000 cases: ~200 ms instead of ~1 ms)."""
    units = Subquery(OrgUnit.objects.under(cast.town_a).order_by().values("pk"))
    qs = Cadre.objects.filter(paths.InSubquery(F("org_unit_id"), units, as_array=as_array))
    expected = set(
        Cadre.objects.filter(org_unit__in=OrgUnit.objects.under(cast.town_a)).values_list("pk", flat=True)
    )
    assert expected and set(qs.values_list("pk", flat=True)) == expected
    sql, _ = qs.query.sql_with_params()
    if connection.vendor == "postgresql" and as_array:
        assert '"org_unit_id" = ANY(ARRAY(SELECT' in sql
    else:
        assert '"org_unit_id" IN (SELECT' in sql
    assert not re.search(r"\)\s*=\s*(%s|1|true)", sql, re.IGNORECASE)
    if connection.vendor == "sqlite":
        plan = _explain(qs)
        assert "USING INDEX" in plan and "SCAN" not in plan.replace("SCAN U0", "")
