"""The hand-written statistics statements (``fulian.orgs.statsql`` and the sources built on it) give exactly what
the ORM definitions they replace give: the case counts (``stat_aggregates``, ``overdue_condition``), the task
counts (``COUNTS`` with ``EXPECTED_Q``), the cadre and unit counts, the red lists — for every unit of the cast,
by child branch and by month, on both backends."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db.models import Count, Q, Value
from django.db.models.functions import Substr, TruncMonth
from django.utils import timezone

from fulian.cases import actions as case_actions
from fulian.cases import indicators as case_indicators
from fulian.cases.models import Case, State, overdue_condition
from fulian.cases.tests.conftest import advance, make_case
from fulian.orgs import statsql
from fulian.orgs.actions import create_home, create_unit
from fulian.orgs.indicators import CADRES, TREE
from fulian.orgs.models import Cadre, Education, Kind, OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.orgs.queries import children_of, unit_counts
from fulian.reports import redlists
from fulian.reports.queries import VILLAGE_KINDS
from fulian.supervision import indicators as task_indicators
from fulian.supervision.models import Assignment
from fulian.supervision.tests.conftest import assignment_of, sanba_task
from fulian.supervision.tests.test_flow import submit

from .test_dashboard_more import make_overdue

CODES = case_indicators.ALL_CODES


@pytest.fixture
def rich(cast, data):
    """Beyond ``data``: a task reported in time and one reported late; cases at every level, one closed, one overdue for first contact, one overdue for
    handling, one overdue but paused (not overdue), one draft; a 妇女之家 and a 儿童之家."""
    u = cast.users
    now = timezone.now()
    county_case = make_case(u.county_hotline, cast.county)
    a1_again = make_case(u.county_hotline, cast.village_a1, sub="divorce")
    b1_case = make_case(u.county_hotline, cast.village_b1)
    closed = make_case(u.county_hotline, cast.town_a)
    Case.objects.filter(pk=closed.pk).update(state=State.CLOSED, closed_at=now)
    make_overdue(data.case_a1, first_contact_days=3)
    make_overdue(b1_case, handling_days=5)
    make_overdue(county_case, handling_days=1)
    advance(a1_again, u.county_leader, "accepted", "in_progress")
    paused = make_overdue(a1_again, handling_days=2)
    case_actions.pause_clock(u.county_leader, paused, reason="等待公安回复", expected_version=paused.version)
    make_case(u.county_hotline, cast.village_a1, draft=True)
    on_time = sanba_task(cast, title="报送巾帼建功活动情况")
    submit(assignment_of(on_time, cast.town_a), u.a_staff)  # reported in time
    submit(assignment_of(data.task, cast.town_b), u.b_staff)  # reported after the deadline: 逾期报送
    create_home(None, org_unit=cast.village_b1, name="乙一村妇女之家", kind="women")
    create_home(None, org_unit=cast.village_a1, name="甲一村儿童之家", kind="children")
    return cast


def units(cast) -> list[OrgUnit]:
    return [
        OrgUnit.objects.get(pk=u.pk)
        for u in (cast.county, cast.town_a, cast.town_b, cast.village_a1, cast.village_a2, cast.village_b1)
    ]


def year_of(today: dt.date) -> tuple[dt.date, dt.date]:
    return today.replace(month=1, day=1), today


def orm_cases(unit: OrgUnit, start: dt.date, end: dt.date, group) -> dict:
    """The ORM's counts: received / closed (``stat_aggregates``) and overdue now (``overdue_condition``)."""
    cases = Case.objects.under(unit).exclude(state=State.DRAFT)
    out: dict = {}
    period = cases.filter(case_indicators._bounds(start, end)).annotate(g=group).values("g")
    for row in period.annotate(r=Count("id"), c=Count("id", filter=Q(closed_at__isnull=False))).order_by():
        acc = out.setdefault(row["g"], dict.fromkeys(CODES, 0))
        acc["cases_received"] += row["r"]
        acc["cases_closed"] += row["c"]
    overdue = cases.filter(overdue_condition(timezone.now())).annotate(g=group).values("g")
    for row in overdue.annotate(n=Count("id")).order_by():
        out.setdefault(row["g"], dict.fromkeys(CODES, 0))["cases_overdue"] += row["n"]
    return out


def test_case_counts_equal_the_orm_definitions(rich):
    start, end = year_of(timezone.localdate())
    seen = Counter()
    for unit in units(rich):
        total = orm_cases(unit, start, end, Value("")).get("", {})
        assert case_indicators._compute(unit, start, end, CODES) == {
            code: case_indicators.suppress(total.get(code, 0), unit) for code in CODES
        }
        branch = Substr("org_unit__path", 1, prefix_length(unit.depth + 1))
        assert case_indicators._by_branch(unit, start, end, CODES) == orm_cases(unit, start, end, branch)
        months = {
            statsql.as_date(g).replace(day=1): v
            for g, v in orm_cases(unit, start, end, TruncMonth("created_at")).items()
        }
        by_month = case_indicators._by_month(unit, start, end, ["cases_received", "cases_closed"])
        for first, values in by_month.items():
            want = months.get(first, {})
            assert values == {
                code: case_indicators.suppress(want.get(code, 0), unit)
                for code in ("cases_received", "cases_closed")
            }
        seen.update(total)
    # the data exercises every count (else the comparison above could pass on zeros)
    assert all(seen[code] > 0 for code in CODES), seen


def test_the_overdue_list_equals_the_orm_query(rich):
    now = timezone.now()
    for unit in units(rich):
        ours = redlists.overdue_cases(rich.users.county_leader, unit)
        orm = (
            Case.objects.under(unit)
            .filter(overdue_condition(now))
            .select_related("org_unit", "category", "subcategory")
            .order_by("-risk", "handling_due", "id")[:20]
        )
        expected = []
        for case in orm:
            missed = []
            if case.first_contact_at is None and case.first_contact_due < now:
                missed.append((case.first_contact_due, "首次联系"))
            if case.handling_due < now and case.paused_since is None:
                missed.append((case.handling_due, "办理"))
            due, which = min(missed)
            category = case.subcategory.name if case.subcategory_id else case.category.name
            expected.append(
                (-case.risk, -(now - due).days, case.pk, str(case), category, case.org_unit.name, which)
            )
        got = [(-c.risk, -c.days, c.pk, c.number, c.category, c.unit, c.which) for c in ours]
        assert got == sorted(expected)
    county = redlists.overdue_cases(rich.users.county_leader, rich.county)
    assert len(county) == 3  # first contact, two handling; the paused one is not overdue


def test_coverage_gaps_and_counts_equal_the_orm(rich):
    today = timezone.localdate()
    create_unit(None, parent=rich.town_b, name="乙二村", kind=Kind.VILLAGE, established=False)
    for unit in units(rich):
        villages = (
            OrgUnit.objects.under(unit)
            .active_on(today)
            .filter(kind__in=VILLAGE_KINDS)
            .select_related("parent")
        )
        homes = set(OrgUnit.objects.filter(homes__kind__in=redlists.HOME_KINDS).values_list("pk", flat=True))
        rows = [(v.parent.name, v.name, v.established, v.pk in homes) for v in villages.order_by("path")]
        gaps = [r for r in rows if not r[2] or not r[3]]
        assert [
            (g.parent_name, g.name, g.established, g.has_home) for g in redlists.coverage_gaps(unit, today)
        ] == gaps
        assert redlists.gap_counts(unit, today) == {
            "no_federation": sum(1 for r in rows if not r[2]),
            "no_home": sum(1 for r in rows if not r[3]),
            "any": len(gaps),
        }
    assert redlists.gap_counts(rich.county, today)["any"] == 3


def orm_tasks(unit: OrgUnit, start: dt.date, end: dt.date, group) -> dict:
    qs = (
        Assignment.objects.under(unit)
        .filter(task__created_at__date__gte=start, task__created_at__date__lte=end)
        .filter(task_indicators.EXPECTED_Q)
    )
    return {
        row.pop("g"): row
        for row in qs.annotate(g=group).values("g").annotate(**task_indicators.COUNTS).order_by()
    }


def test_task_counts_equal_the_orm_definitions(rich):
    start, end = year_of(timezone.localdate())
    for unit in units(rich):
        total = orm_tasks(unit, start, end, Value("")).get("", {})
        codes = ["tasks_expected", "tasks_on_time", "tasks_on_time_pct"]
        assert task_indicators._compute(unit, start, end, codes) == task_indicators._values(total, codes)
        branch = Substr("org_unit__path", 1, prefix_length(unit.depth + 1))
        assert task_indicators._grouped(unit, start, end) == orm_tasks(unit, start, end, branch)
        months = {
            g.date().replace(day=1) if isinstance(g, dt.datetime) else g: v
            for g, v in orm_tasks(unit, start, end, TruncMonth("task__created_at")).items()
        }
        for first, values in task_indicators._by_month(unit, start, end, codes).items():
            assert values == task_indicators._values(months.get(first, {}), codes)
    # the data exercises both counts: 4 expected (2 tasks × 2 townships), 1 on time (the late report is not)
    assert task_indicators._compute(rich.county, start, end, ["tasks_expected", "tasks_on_time"]) == {
        "tasks_expected": 4,
        "tasks_on_time": 1,
    }


def test_cadre_and_unit_counts_equal_the_orm(rich):
    today = timezone.localdate()
    codes = ["cadres_total", "cadres_edu_bachelor", "cadres_edu_college", "cadres_edu_high_or_below"]
    bands = {
        "cadres_edu_bachelor": [Education.POSTGRADUATE, Education.BACHELOR],
        "cadres_edu_college": [Education.COLLEGE],
        "cadres_edu_high_or_below": [Education.HIGH_SCHOOL, Education.BELOW],
    }
    for unit in units(rich):
        cadres = Cadre.objects.under(unit)
        want = {"cadres_total": cadres.count()} | {
            code: cadres.filter(education__in=values).count() for code, values in bands.items()
        }
        assert CADRES.compute(unit, today, today, codes) == want
        assert CADRES.table(unit, today, today, codes)[1] == want
        below = OrgUnit.objects.under(unit).exclude(pk=unit.pk).active_on(today)
        kinds = {
            row["kind"]: (row["n"], row["est"])
            for row in below.values("kind").annotate(
                n=Count("id"), est=Count("id", filter=Q(established=True))
            )
        }
        got = {kind: (n, est) for _, kind, n, est in unit_counts(unit, today, by_branch=False, by_kind=True)}
        assert got == kinds
        total = TREE.compute(unit, today, today, ["units_total", "units_established"])
        assert total == {
            "units_total": sum(n for n, _ in kinds.values()),
            "units_established": sum(e for _, e in kinds.values()),
        }
    root = OrgUnit.objects.get(pk=rich.county.pk)
    assert CADRES.compute(root, today, today, ["cadres_total"]) == {"cadres_total": Cadre.objects.count()}


def test_children_are_read_once_per_memo_and_afresh_outside_it(cast, django_assert_num_queries):
    county = OrgUnit.objects.get(pk=cast.county.pk)
    before = [c.pk for c in statsql.children(county)]
    with statsql.memo():
        with django_assert_num_queries(1):
            assert [c.pk for c in statsql.children(county)] == before
            assert [c.pk for c in statsql.children(county)] == before
        today = timezone.localdate()
        new = create_unit(None, parent=county, name="丙镇", kind=Kind.TOWNSHIP, opened_on=today)
        assert new.pk not in [c.pk for c in statsql.children(county)]  # the request's view of the tree
    assert [c.pk for c in statsql.children(county)] == [*before, new.pk]  # a new request sees it
    with django_assert_num_queries(2):  # no memo: each call reads
        statsql.children(county)
        statsql.children(county)
    for day in (today, today - dt.timedelta(days=1)):
        assert statsql.children_on(county, day) == list(children_of(county, day))
        assert statsql.children_during(county, day, day) == list(children_of(county).active_during(day, day))
    assert new not in statsql.children_on(county, today - dt.timedelta(days=1))


def test_value_conversions_of_hand_written_rows():
    from decimal import Decimal

    assert statsql.as_date("2026-03-01") == dt.date(2026, 3, 1)
    assert statsql.as_date("2026-03-01 00:00:00") == dt.date(2026, 3, 1)
    assert statsql.as_date(dt.datetime(2026, 3, 1, 5)) == dt.date(2026, 3, 1)
    assert statsql.as_decimal(12.5) == Decimal("12.5") and statsql.as_decimal(7) == Decimal(7)
    assert statsql.as_decimal(None) is None
    aware = statsql.as_moment("2026-03-01 04:00:00")
    assert aware == dt.datetime(2026, 3, 1, 4, tzinfo=dt.UTC)
    assert statsql.as_moment(aware) is aware


def test_literals_take_plain_words_only():
    assert statsql.literals(["registered", "in_progress"]) == "'registered', 'in_progress'"
    for bad in (["x'); DROP TABLE t; --"], ["a b"], []):
        with pytest.raises(ValueError):
            statsql.literals(bad)
