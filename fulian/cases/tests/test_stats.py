"""Case statistics: scope, small-cell suppression below county level, fixed query count."""

from __future__ import annotations

from fulian.cases import queries
from fulian.cases.models import Case

from .conftest import dv_parties, make_case


def stats_page(client, **params):
    response = client.get("/cases/stats/", params)
    assert response.status_code == 200
    return response.context


def row(context, label):
    return next(r.values for r in context["rows"] if r.label == label)


def test_small_cells_are_suppressed_below_county_level(cast, login, cases):
    context = stats_page(login(cast.users.county_leader))
    assert row(context, "甲镇妇联")["received"] == "<3"
    assert row(context, "乙镇妇联")["received"] == "<3"
    assert row(context, "县教育局妇委会")["received"] == 0
    assert context["total"].values["received"] == 2  # the county itself: not suppressed
    for i in range(2):
        make_case(cast.users.a_caseworker, cast.village_a1, parties=dv_parties(name=f"测试{i}"))
    context = stats_page(login(cast.users.county_leader))
    assert row(context, "甲镇妇联")["received"] == 3
    assert row(context, "甲镇妇联")["high_risk"] == 0
    context = stats_page(login(cast.users.a_leader))
    assert context["unit"] == cast.town_a
    assert context["total"].values["received"] == 3
    assert row(context, "甲一村")["received"] == 3
    assert row(context, "甲二村")["received"] == 0
    by_channel = dict(context["by_channel"])
    assert by_channel["12338热线"] == 3 and by_channel["来信"] == 0


def test_statistics_scope(cast, login, cases):
    client = login(cast.users.b_caseworker)
    assert client.get("/cases/stats/", {"unit": cast.town_a.pk}).status_code == 404
    assert stats_page(client)["total"].values["received"] == "<3"
    for username in ("a_staff", "a_sysadmin", "a_auditor", "county_hotline"):
        assert login(getattr(cast.users, username)).get("/cases/stats/").status_code == 403
    # the statistics count only what the actor may see
    stats = queries.case_statistics(cast.users.a_caseworker, cast.county, *_year())
    assert stats["total"].values["received"] == 1
    assert Case.objects.count() == 2


def _year():
    from django.utils import timezone

    today = timezone.localdate()
    return today.replace(month=1, day=1), today


def test_statistics_query_count(cast, login, cases, django_assert_num_queries):
    client = login(cast.users.county_leader)
    client.get("/cases/stats/")
    # session, user, memberships, GROUP BY, child units, total, by channel, by category, category names,
    # by risk, the timing aggregate, the referrals aggregate, unread COUNT, session touch x3
    with django_assert_num_queries(STATS_QUERIES):
        client.get("/cases/stats/")
    for i in range(4):
        make_case(cast.users.b_caseworker, cast.village_b1, parties=dv_parties(name=f"测试{i}"))
    with django_assert_num_queries(STATS_QUERIES):
        client.get("/cases/stats/")


STATS_QUERIES = 16


def test_timing_figures(cast, login):
    from django.utils import timezone

    from fulian.cases import actions

    u = cast.users
    made = []
    for i in range(3):
        case = make_case(u.a_caseworker, cast.town_a, parties=dv_parties(name=f"测试{i}"))
        actions.accept(u.a_caseworker, case, expected_version=case.version)
        actions.record_action(u.a_caseworker, case, kind="contact", result="已联系上")
        made.append(case)
    Case.objects.filter(pk__in=[c.pk for c in made]).update(
        created_at=timezone.now() - timezone.timedelta(hours=6)
    )
    actions.refer_external(u.a_caseworker, made[0], agency="police")
    timing = dict(stats_page(login(u.county_leader))["timing"])
    assert timing["已首次联系"] == 3 and timing["按时首次联系"] == 3
    assert 5.9 <= float(timing["平均首次联系用时(小时)"]) <= 6.1
    assert timing["平均办结用时(天)"] == "—"
    assert timing["转介外部单位"] == 1  # the county's own figures are not suppressed
    timing = dict(stats_page(login(u.a_leader))["timing"])
    assert timing["转介外部单位"] == "<3"  # a township's are
