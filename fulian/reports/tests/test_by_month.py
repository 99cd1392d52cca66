"""by_month (one grouped query per source) equals compute month by month; indicator_table (one query per source
for rows and total) equals compute and by_child."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fulian.ledger.tests.builders import activity, training
from fulian.reports import queries, registry


@pytest.fixture
def spread(cast, data):
    """Ledger records over last year and this one, on first, middle and last days of months."""
    today = timezone.localdate()
    last = today.year - 1
    for i, (unit, day) in enumerate(
        [
            (cast.village_a1, dt.date(last, 1, 1)),
            (cast.village_a1, dt.date(last, 3, 15)),
            (cast.village_a2, dt.date(last, 3, 31)),
            (cast.town_a, dt.date(last, 6, 20)),
            (cast.village_b1, dt.date(last, 12, 31)),
            (cast.county, dt.date(last, 11, 2)),
            (cast.village_b1, today.replace(day=1)),
        ]
    ):
        training(unit, None, day=day, sessions=1 + i % 3, people=10 + i)
        activity(unit, None, day=day, people=30 + i)
    return today


def per_month(unit, start, end, indicators):
    return [
        (low.replace(day=1), queries.compute(unit, low, high, indicators))
        for low, high in queries.months_of(start, end)
    ]


@pytest.mark.parametrize(
    "period",
    ["last_year", "mid_month_to_today", "one_partial_month"],
)
def test_by_month_equals_compute_month_by_month(cast, spread, period):
    today = spread
    last = today.year - 1
    start, end = {
        "last_year": (dt.date(last, 1, 1), dt.date(last, 12, 31)),
        "mid_month_to_today": (dt.date(last, 3, 15), today),
        "one_partial_month": (dt.date(last, 3, 10), dt.date(last, 3, 20)),
    }[period]
    leader = cast.users.county_leader
    for unit in (cast.county, cast.town_a, cast.village_a1):
        indicators = queries.visible_indicators(leader, unit)
        assert {i.module for i in indicators} >= {"ledger", "orgs", "supervision", "cases"}
        got = queries.by_month(leader, unit, start, end)
        assert got == per_month(unit, start, end, indicators)
        assert [m for m, _ in got] == [low.replace(day=1) for low, _ in queries.months_of(start, end)]
    year = queries.by_month(
        leader, cast.county, dt.date(last, 1, 1), dt.date(last, 12, 31), ["training_sessions"]
    )
    assert sum(v["training_sessions"] for _, v in year) == 1 + 2 + 3 + 1 + 2 + 3 > 0


def test_by_month_runs_one_query_per_grouped_source(cast, spread, django_assert_max_num_queries):
    leader = cast.users.county_leader
    start, end = dt.date(spread.year - 1, 1, 1), dt.date(spread.year - 1, 12, 31)
    codes = ["training_person_times", "activity_count", "cases_received", "tasks_on_time_pct"]
    with django_assert_max_num_queries(3 + 3):  # 3 sources + the scope lookups of visible_indicators
        queries.by_month(leader, cast.county, start, end, codes)


def test_table_rows_and_total_equal_by_child_and_compute(cast, spread):
    today = spread
    leader = cast.users.county_leader
    for unit in (cast.county, cast.town_a):
        for start, end in (
            (dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)),
            (today.replace(month=1, day=1), today),
        ):
            table = queries.indicator_table(leader, unit, start, end)
            assert table.total.values == queries.compute(unit, start, end, table.indicators)
            for source, group in registry.by_source(i.code for i in table.indicators).items():
                expected = source.by_child(unit, start, end, group)
                for code in group:
                    assert {
                        r.unit.pk: r.values[code] for r in table.rows if r.unit.pk in expected[code]
                    } == expected[code]
