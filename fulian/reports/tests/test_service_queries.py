"""Exact query counts of the statistics service itself (the page tests add the pages' own queries to what the
service measures, so an N+1 inside the service must be caught here): per source, ``compute`` over a subtree
costs a fixed number of queries, and the whole table and the monthly breakdown too — with more units, records
and months the counts stay the same."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulian.ledger.tests.builders import activity, training
from fulian.reports import queries, registry

# queries of Source.compute over a county, per source
COMPUTE = {
    "orgs.tree_overview": 1,
    "orgs.cadre_stats": 2,
    "ledger.rollup": 1,  # the roll-up statement (no freshness check of the branch rows any more)
    "supervision.assignments": 1,
    "cases.statistics": 2,
    "cases.repeats": 1,
    "rectify.problems": 1,
    "rectify.measures": 1,
    "voice.counts": 2,
    "portal.disclosures": 2,
}


def counted(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx)


def fresh(unit):
    return type(unit).objects.get(pk=unit.pk)


def measure(leader, county, start, end):
    codes = [i.code for i in registry.all_indicators()]
    # each source on a fresh copy of the unit: the roots' "is this the whole tree" answer is kept on the unit
    # object and shared by the sources of one request, so that only the first source to ask pays for it
    per_source = {}
    for source, group in registry.by_source(codes).items():
        unit = fresh(county)
        per_source[source.name] = counted(lambda s=source, c=group, u=unit: s.compute(u, start, end, c))
    unit = fresh(county)
    table = counted(lambda: queries.indicator_table(leader, unit, start, end))
    unit = fresh(county)
    months = counted(lambda: queries.by_month(leader, unit, start, end))
    return per_source, table, months


def test_the_service_costs_a_fixed_number_of_queries_whatever_the_data(cast):
    leader = type(cast.users.county_leader).objects.get(pk=cast.users.county_leader.pk)
    queries.visible_indicators(leader, cast.county)  # memberships loaded once, as a request has them
    today = timezone.localdate()
    start = today.replace(month=1, day=1) - dt.timedelta(days=365)  # two calendar years of months
    per_source, table, months = measure(leader, cast.county, start, today)
    assert per_source == COMPUTE
    for village, user in ((cast.village_a1, cast.users.a1_staff), (cast.village_b1, cast.users.b1_staff)):
        for _ in range(3):
            training(village, user, sessions=2, people=30)
            activity(village, user, people=40)
    assert measure(leader, cast.county, start, today) == (per_source, table, months)
