"""Repeat contacts (through the blind index) and duplicates merged, as indicators of the statistics service:
the subtree's figures only, small cells suppressed below county level, a fixed number of queries."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fulian.accounts.actions import create_token
from fulian.cases import actions
from fulian.reports import registry

from .conftest import advance, dv_parties, make_case

REPEAT, MERGED = "cases_repeat", "cases_merged"
OTHER_ID = "360102201506010021"


def _period():
    today = timezone.localdate()
    return today.replace(month=1, day=1), today


def values(code, unit):
    return registry.get(code).compute(unit, *_period())


@pytest.fixture
def history(cast):
    """The same woman (ID_WOMAN, phone 138…) calls three times at A1, once more at B; another woman once."""
    u = cast.users
    first = make_case(u.a_caseworker, cast.village_a1)
    second = make_case(u.a_caseworker, cast.village_a1, parties=dv_parties(phone="13512345678"))  # same ID
    third = make_case(u.a_caseworker, cast.village_a1, parties=dv_parties(id_number=""))  # same phone
    at_b = make_case(u.b_caseworker, cast.town_b)
    other = make_case(
        u.a_caseworker, cast.village_a1, parties=dv_parties(phone="13700000000", id_number=OTHER_ID)
    )
    return first, second, third, at_b, other


def test_repeat_contacts_by_id_or_phone_within_the_unit(cast, history):
    # county: second, third (earlier at A1) and at_b (earlier at A1, inside the county) are repeats
    assert values(REPEAT, cast.county) == 3
    # township A: two repeats, a small cell; township B: its one case has no earlier case *in B*
    assert values(REPEAT, cast.town_a) == "<3"
    assert values(REPEAT, cast.town_b) == 0
    table, total = registry.get(REPEAT).source.table(cast.county, *_period(), [REPEAT])
    assert total[REPEAT] == 3
    assert table[REPEAT][cast.town_a.pk] == "<3" and table[REPEAT][cast.town_b.pk] == "<3"
    make_case(cast.users.a_caseworker, cast.village_a1)  # a fourth call at A1: three repeats in A
    assert values(REPEAT, cast.town_a) == 3


def test_a_caller_party_or_a_perpetrator_with_the_same_phone_is_no_repeat(cast, history):
    before = values(REPEAT, cast.county)
    parties = [
        {"role": "caller", "name": "邻居", "phone": "13812345678"},  # the woman's phone, as a caller
        {"role": "affected", "name": "新来电", "phone": "13900009999"},
    ]
    make_case(cast.users.a_caseworker, cast.village_a1, parties=parties)
    assert values(REPEAT, cast.county) == before


def test_merged_duplicates_are_counted_and_not_repeats(cast, history):
    first, second, *_ = history
    for case in (first, second):
        advance(case, cast.users.a_caseworker, "accepted")
    assert values(MERGED, cast.county) == 0
    actions.merge_cases(cast.users.a_caseworker, keep=first, duplicate=second, reason="同一次来电登记了两次")
    assert values(MERGED, cast.county) == 1
    assert values(MERGED, cast.town_a) == "<3"
    assert values(REPEAT, cast.county) == 2  # the merged duplicate no longer counts as a repeat contact
    by_month = registry.get(MERGED).source.by_month(cast.county, *_period(), [MERGED])
    assert sum(v[MERGED] for v in by_month.values()) == 1


def test_indicators_are_one_query(cast, history, django_assert_num_queries):
    with django_assert_num_queries(1):
        registry.get(REPEAT).source.compute(cast.county, *_period(), [REPEAT, MERGED])
    with django_assert_num_queries(2):  # the grouped counts, the child units
        registry.get(REPEAT).source.table(cast.county, *_period(), [REPEAT, MERGED])


def _bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(None, user)}")
    return client


def test_scope_of_the_statistics_service(cast, history):
    stats = "/api/v1/stats/"
    leader = _bearer(cast.users.county_leader).get(
        stats, {"unit": cast.county.pk, "codes": "cases_repeat,cases_merged"}
    )
    assert leader.status_code == 200
    assert leader.json()["total"]["values"][REPEAT] == 3
    staff = _bearer(cast.users.county_staff).get(stats, {"unit": cast.county.pk}).json()
    assert REPEAT not in staff["total"]["values"] and MERGED not in staff["total"]["values"]
    assert _bearer(cast.users.a_leader).get(stats, {"unit": cast.town_b.pk}).status_code == 404
    # township A's leader: her own subtree's figure, the earlier case at B is not hers to count
    own = _bearer(cast.users.a_leader).get(stats, {"unit": cast.town_a.pk, "codes": "cases_repeat"}).json()
    assert own["total"]["values"][REPEAT] == "<3"
