"""The registry: every module's figures equal the module's own queries, over the subtree and by child unit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fulian.cases.queries import case_statistics
from fulian.ledger.queries import INDICATORS, rollup, totals
from fulian.orgs.queries import cadre_stats, tree_overview
from fulian.reports import registry
from fulian.reports.registry import Source, register
from fulian.supervision.queries import reporting_rates


def period(year):
    return dt.date(year, 1, 1), timezone.localdate()


def test_every_module_registers_its_figures():
    codes = {i.code: i for i in registry.all_indicators()}
    assert {k for k, _, _, _ in INDICATORS} <= set(codes)  # derived from the ledger, not retyped
    assert codes["training_person_times"].name == "参训人次" and codes["training_person_times"].unit == "人次"
    assert codes["coverage_pct"].rollup == "ratio" and codes["coverage_pct"].unit == "%"
    assert {"units_village", "cadres_total", "cadres_edu_college", "tasks_on_time_pct"} <= set(codes)
    assert {codes[c].module for c in ("cases_received", "cases_closed")} == {"cases"}


def test_register_refuses_a_bad_rollup_and_a_code_taken_by_another_module():
    src = Source("test.src", lambda *a: {}, lambda *a: {})
    with pytest.raises(ValueError):
        register("x_code", "测试", "个", module="test", source=src, rollup="average")
    with pytest.raises(ValueError):
        register("training_sessions", "测试", "期", module="test", source=src)


def test_ledger_indicators_equal_the_ledger_queries(cast, data, year):
    start, end = period(year)
    keys = [k for k, _, _, _ in INDICATORS]
    expected = totals(cast.county, start, end)
    rows, _ = rollup(cast.county, start, end)
    for key in keys:
        ind = registry.get(key)
        assert ind.compute(cast.county, start, end) == expected[key]
        assert ind.by_child(cast.county, start, end) == {r.unit.pk: r.values[key] for r in rows}
    assert registry.get("training_person_times").compute(cast.county, start, end) == 25 * 2 + 30 + 40 * 3
    assert registry.get("training_sessions").by_child(cast.county, start, end)[cast.town_a.pk] == 3


def test_org_and_cadre_indicators_equal_the_org_queries(cast, data, year):
    start, end = period(year)
    rows, total, _ = tree_overview(cast.county, end)
    assert registry.get("units_village").compute(cast.county, start, end) == total.by_kind["village"] == 3
    assert registry.get("coverage_pct").compute(cast.county, start, end) == total.coverage
    assert (
        registry.get("coverage_pct").by_child(cast.county, start, end)[cast.town_a.pk] == 66.7
    )  # 甲镇 itself, 甲一村; not 甲二村
    crow, ctotal = cadre_stats(cast.county, end)
    assert registry.get("cadres_total").compute(cast.county, start, end) == ctotal.values["total"] == 5
    assert registry.get("cadres_edu_bachelor").compute(cast.county, start, end) == 1
    assert registry.get("cadres_total").by_child(cast.county, start, end) == {
        r.unit.pk: r.values["total"] for r in crow
    }


def test_task_indicators_equal_reporting_rates(cast, data, year):
    start, end = period(year)
    table = reporting_rates(data.task, cast.county)
    pct = registry.get("tasks_on_time_pct")
    assert registry.get("tasks_expected").compute(cast.county, start, end) == table.total.expected == 2
    assert pct.compute(cast.county, start, end) == table.total.on_time_pct == 0.0
    by_child = pct.by_child(cast.county, start, end)
    assert {r.unit.pk: by_child[r.unit.pk] for r in table.rows} == {
        r.unit.pk: r.on_time_pct for r in table.rows
    }
    assert by_child[cast.agency.pk] is None  # no task sent to it: no rate, not 0 %
    # a task issued last year is not in this year's figures
    last = dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31)
    assert registry.get("tasks_expected").compute(cast.county, *last) == 0
    assert pct.compute(cast.county, *last) is None


def test_case_indicators_equal_case_statistics_with_small_cells_suppressed(cast, data, year):
    start, end = period(year)
    stats = case_statistics(cast.users.county_leader, cast.county, start, end)
    received = registry.get("cases_received")
    assert (
        received.compute(cast.county, start, end) == stats["total"].values["received"] == 2
    )  # county: shown
    by_child = received.by_child(cast.county, start, end)
    assert by_child == {r.unit.pk: r.values["received"] for r in stats["rows"]}
    assert by_child[cast.town_a.pk] == "<3"  # a township: 1 case is a small cell
    assert received.compute(cast.town_a, start, end) == "<3"
    assert registry.get("cases_closed").compute(cast.county, start, end) == 0
