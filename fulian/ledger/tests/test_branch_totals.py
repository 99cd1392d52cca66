"""LedgerBranchMonth: the figures of everything below a unit per month, kept by the same additive upserts as the
monthly totals (every ancestor below the root), read by the statistics service while no unit has moved since it
was built; a move makes it stale (the service falls back to the monthly rows, still exact) until a rebuild."""

from __future__ import annotations

import datetime as dt
import random
from io import StringIO

import pytest
from django.core.management import call_command

from fulian.ledger import actions, queries, totals
from fulian.ledger.indicators import LEDGER
from fulian.ledger.models import LedgerBranchMonth, LedgerBranchState
from fulian.orgs.actions import move_unit

from .builders import activity, training

YEAR = 2024  # a past year: actor None writes skip the month locks


def below(unit, month: dt.date) -> dict | None:
    return LedgerBranchMonth.objects.filter(org_unit=unit, month=month).values(*totals.COLUMNS).first()


def from_records(unit, start, end, keys) -> dict:
    return queries._totals(unit, start, end, keys, use_table=False)


@pytest.fixture
def ledger(cast):
    rng = random.Random(7)
    units = [cast.village_a1, cast.village_a2, cast.village_b1, cast.town_a, cast.town_b, cast.county]
    records = []
    for i in range(60):
        day = dt.date(YEAR, rng.randint(1, 12), rng.randint(1, 28))
        make = training if i % 2 else activity
        kw = {"sessions": rng.randint(1, 3)} if make is training else {"beneficiaries": rng.randint(0, 9)}
        records.append(make(rng.choice(units), None, day=day, people=rng.randint(5, 40), **kw))
    return records


def test_the_actions_keep_every_ancestors_row_below_the_root(cast, ledger):
    assert totals.branches_fresh()
    march, end = dt.date(YEAR, 3, 1), dt.date(YEAR, 3, 31)
    before = below(cast.town_a, march) or {k: 0 for k in totals.COLUMNS}
    activity(cast.village_a1, None, day=dt.date(YEAR, 3, 5), people=11)
    town = below(cast.town_a, march)
    assert town["activity_count"] == before["activity_count"] + 1
    assert town["activity_people"] == before["activity_people"] + 11
    villages = [from_records(v, march, end, totals.KEYS) for v in (cast.village_a1, cast.village_a2)]
    assert {k: town[k] for k in totals.KEYS} == {k: sum(v[k] for v in villages) for k in totals.KEYS}
    assert below(cast.county, march) is None  # the root keeps no row: no row every record writes
    assert totals.differences(cast.county) == []
    # an update moving a record to another month, and a delete, keep the ancestors right
    rec = ledger[0]
    actions.update_record(None, rec, date=dt.date(YEAR, 7, 9), participants=3, expected_version=rec.version)
    actions.delete_record(None, ledger[1])
    assert totals.differences(cast.county) == []


def test_the_service_reads_the_branch_rows_and_equals_the_records(cast, ledger):
    rng = random.Random(3)
    keys = ["training_sessions", "training_person_times", "activity_count", "activity_beneficiaries"]
    for _ in range(12):
        unit = rng.choice([cast.county, cast.town_a, cast.town_b, cast.village_a1])
        start = dt.date(YEAR, rng.randint(1, 12), rng.randint(1, 28))
        end = min(dt.date(YEAR, 12, 31), start + dt.timedelta(days=rng.randint(0, 200)))
        assert LEDGER.compute(unit, start, end, keys) == from_records(unit, start, end, keys)
        rows, total = LEDGER.table(unit, start, end, keys)
        assert total == from_records(unit, start, end, keys)
        reference, _ = queries._rollup(unit, start, end, tag=None, keys=keys, use_table=False)
        assert rows == {k: {r.unit.pk: r.values[k] for r in reference} for k in keys}
        months = LEDGER.by_month(unit, start, end, keys)
        for low, high in queries_months(start, end):
            assert months[low.replace(day=1)] == from_records(unit, low, high, keys)


def queries_months(start, end):
    from fulian.reports.registry import months

    return months(start, end)


def test_a_move_makes_the_rows_stale_until_a_rebuild(cast, ledger):
    keys = ["activity_count", "training_sessions"]
    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
    move_unit(None, cast.village_a1, cast.town_b)
    cast.town_a.refresh_from_db()
    cast.town_b.refresh_from_db()
    assert not totals.branches_fresh()  # town_a's rows still hold the moved village
    for unit in (cast.town_a, cast.town_b, cast.county):
        assert LEDGER.compute(unit, start, end, keys) == from_records(unit, start, end, keys)  # still exact
    assert totals.differences(cast.county) == []  # stale rows are not read, so not checked
    call_command("ledger_rebuild_totals", stdout=StringIO())
    assert totals.branches_fresh() and LedgerBranchState.objects.get().moves == 1
    assert totals.differences(cast.county) == []
    for unit in (cast.town_a, cast.town_b, cast.county):
        assert LEDGER.compute(unit, start, end, keys) == from_records(unit, start, end, keys)


def test_check_finds_a_wrong_branch_row(cast, ledger):
    LedgerBranchMonth.objects.filter(org_unit=cast.town_a).update(activity_count=999)
    diffs = totals.differences(cast.county)
    assert diffs and {d.key for d in diffs} == {"below.activity_count"} and {d.unit for d in diffs} == {"A"}
    call_command("ledger_rebuild_totals", stdout=StringIO())
    assert totals.differences(cast.county) == []
