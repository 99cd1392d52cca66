"""LedgerBranchMonth: the figures of everything below a unit per month, kept by the same additive upserts as the
monthly totals (every ancestor below the root) and by unit moves (the ``orgs.hooks.unit_moved`` hook
``totals.moved``, in the move's transaction), always read by the statistics service."""

from __future__ import annotations

import datetime as dt
import random
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections

from fulian.audit.models import AuditEvent
from fulian.ledger import actions, queries, totals
from fulian.ledger.indicators import LEDGER
from fulian.ledger.models import LedgerBranchMonth
from fulian.orgs import hooks
from fulian.orgs.actions import create_unit, move_unit
from fulian.orgs.models import Kind, OrgUnit

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


def branch_rows() -> dict:
    """Every LedgerBranchMonth row as {(unit id, month): figures}, all-zero rows left out (they equal none)."""
    rows = {}
    for r in LedgerBranchMonth.objects.values("org_unit_id", "month", *totals.COLUMNS):
        key = (r.pop("org_unit_id"), r.pop("month"))
        if any(r.values()):
            rows[key] = r
    return rows


def test_the_actions_keep_every_ancestors_row_below_the_root(cast, ledger):
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


def assert_service_equals_records(units, start, end, keys):
    for unit in units:
        unit.refresh_from_db()
        assert LEDGER.compute(unit, start, end, keys) == from_records(unit, start, end, keys)
        rows, total = LEDGER.table(unit, start, end, keys)
        assert total == from_records(unit, start, end, keys)
        reference, _ = queries._rollup(unit, start, end, tag=None, keys=keys, use_table=False)
        assert rows == {k: {r.unit.pk: r.values[k] for r in reference} for k in keys}
        months = LEDGER.by_month(unit, start, end, keys)
        for low, high in queries_months(start, end):
            assert months[low.replace(day=1)] == from_records(unit, low, high, keys)


def test_a_move_keeps_the_branch_rows_right_in_its_own_transaction(cast, ledger, django_assert_num_queries):
    keys = ["activity_count", "activity_people", "training_sessions", "training_person_times"]
    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
    moved_records = [r for r in ledger if r.org_unit_id == cast.village_a1.pk]
    assert moved_records  # the village takes records with it
    before_a = from_records(cast.town_a, start, end, keys)
    move_unit(cast.users.county_leader, cast.village_a1, cast.town_b)  # 乡镇合并: 甲一村 joins 乙镇
    assert totals.differences(cast.county) == []
    after_a = from_records(cast.town_a, start, end, keys)
    assert after_a != before_a  # the figures did move
    assert_service_equals_records([cast.town_a, cast.town_b, cast.county, cast.village_a1], start, end, keys)
    # town_a's below-rows now hold only 甲二村, town_b's 乙一村 and 甲一村
    for town, villages in (
        (cast.town_a, [cast.village_a2]),
        (cast.town_b, [cast.village_b1, cast.village_a1]),
    ):
        for month in range(1, 13):
            low = dt.date(YEAR, month, 1)
            high = (low + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
            got = below(town, low) or {k: 0 for k in totals.COLUMNS}
            want = [from_records(v, low, high, keys) for v in villages]
            assert {k: got[k] for k in keys} == {k: sum(w[k] for w in want) for k in keys}
    # the read is the one grouped statement: no count of moves in the audit log, no fallback
    cast.county.refresh_from_db()
    with django_assert_num_queries(1):
        LEDGER.compute(cast.county, start, end, keys)
    out = StringIO()
    call_command("ledger_rebuild_totals", "--check", stdout=out)
    assert "一致" in out.getvalue()
    # later writes go to the new ancestors
    activity(cast.village_a1, None, day=dt.date(YEAR, 5, 5), people=7)
    assert totals.differences(cast.county) == []


def test_moving_back_restores_the_original_rows(cast, ledger):
    original = branch_rows()
    assert original
    move_unit(cast.users.county_sysadmin, cast.village_a1, cast.town_b)
    assert branch_rows() != original
    village = OrgUnit.objects.get(pk=cast.village_a1.pk)
    move_unit(cast.users.county_sysadmin, village, OrgUnit.objects.get(pk=cast.town_a.pk))
    assert branch_rows() == original
    assert totals.differences(cast.county) == []


def test_a_move_of_a_deep_subtree_between_cities(db):
    """A province: 甲市 holds 子县 (two townships, a village under the first). A village moves between two
    townships of one county (its county and city hold it either way), then the whole county moves to 乙市
    (its own units keep their rows: what lies below them did not change)."""
    province = create_unit(None, parent=None, kind=Kind.PROVINCE, name="某省妇联", code="P")
    city_x = create_unit(None, parent=province, kind=Kind.CITY, name="甲市妇联", code="X")
    city_y = create_unit(None, parent=province, kind=Kind.CITY, name="乙市妇联", code="Y")
    county = create_unit(None, parent=city_x, kind=Kind.COUNTY, name="子县妇联", code="K")
    town_1 = create_unit(None, parent=county, kind=Kind.TOWNSHIP, name="一镇妇联", code="T1")
    town_2 = create_unit(None, parent=county, kind=Kind.TOWNSHIP, name="二镇妇联", code="T2")
    village = create_unit(None, parent=town_1, kind=Kind.VILLAGE, name="一村", code="V")
    rng = random.Random(11)
    for i in range(40):
        unit = rng.choice([city_x, city_y, county, town_1, town_2, village])
        day = dt.date(YEAR, rng.randint(1, 12), rng.randint(1, 28))
        if i % 2:
            training(unit, None, day=day, people=rng.randint(5, 30), sessions=rng.randint(1, 3))
        else:
            activity(unit, None, day=day, people=rng.randint(5, 30), beneficiaries=rng.randint(0, 9))
    assert totals.differences(province) == []
    keys = ["activity_count", "activity_beneficiaries", "training_sessions", "training_person_times"]
    start, end = dt.date(YEAR, 2, 10), dt.date(YEAR, 11, 20)  # partial edge months too
    move_unit(None, village, town_2)
    assert totals.differences(province) == []
    assert_service_equals_records([town_1, town_2, county, city_x, province], start, end, keys)
    inside = {k: v for k, v in branch_rows().items() if k[0] in (county.pk, town_1.pk, town_2.pk)}
    move_unit(None, OrgUnit.objects.get(pk=county.pk), city_y)
    assert totals.differences(province) == []
    assert {k: v for k, v in branch_rows().items() if k[0] in (county.pk, town_1.pk, town_2.pk)} == inside
    assert not any(k[0] == province.pk for k in branch_rows())  # the root keeps no row
    assert_service_equals_records([city_x, city_y, county, town_2, province], start, end, keys)
    for city in (city_x, city_y):  # the cities' rows hold exactly their subtrees without themselves
        for month in range(1, 13):
            low = dt.date(YEAR, month, 1)
            high = (low + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
            got = below(city, low) or {k: 0 for k in totals.COLUMNS}
            children = [from_records(c, low, high, keys) for c in OrgUnit.objects.filter(parent=city)]
            assert {k: got[k] for k in keys} == {k: sum(c[k] for c in children) for k in keys}


def test_the_hook_gets_the_old_and_new_ancestors_before_the_audit_event(cast):
    seen = []

    def spy(unit, old_ancestor_ids, new_ancestor_ids):
        seen.append((unit.pk, unit.parent_id, old_ancestor_ids, new_ancestor_ids, AuditEvent.objects.count()))

    events = AuditEvent.objects.count()
    hooks.on_unit_moved(spy)
    hooks.on_unit_moved(spy)  # registering again is a no-op
    try:
        assert hooks.unit_moved.count(spy) == 1 and totals.moved in hooks.unit_moved
        assert totals.moving in hooks.unit_moving
        move_unit(cast.users.county_leader, cast.village_a1, cast.town_b)
    finally:
        hooks.unit_moved.remove(spy)
    assert seen == [
        (
            cast.village_a1.pk,
            cast.town_b.pk,
            [cast.county.pk, cast.town_a.pk],
            [cast.county.pk, cast.town_b.pk],
            events,  # the move's audit event comes after the hooks
        )
    ]
    assert AuditEvent.objects.filter(action="orgs.unit.move").count() == 1


def test_a_failing_hook_rolls_the_move_back(cast, ledger):
    original = branch_rows()
    path = cast.village_a1.path

    def broken(unit, old_ancestor_ids, new_ancestor_ids):
        raise RuntimeError("hook failed")

    hooks.on_unit_moved(broken)  # after the ledger's, which has already written by then
    try:
        with pytest.raises(RuntimeError):
            move_unit(cast.users.county_leader, cast.village_a1, cast.town_b)
    finally:
        hooks.unit_moved.remove(broken)
    village = OrgUnit.objects.get(pk=cast.village_a1.pk)
    assert (village.parent_id, village.path) == (cast.town_a.pk, path)
    assert branch_rows() == original  # the ledger hook's rows went with the move
    assert not AuditEvent.objects.filter(action="orgs.unit.move").exists()
    assert totals.differences(cast.county) == []


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers (BEGIN IMMEDIATE), so a move and a write cannot interleave there at all",
)
def test_moves_and_concurrent_writes_count_every_record_once(transactional_db, cast):
    """Writers add records inside the moving subtree (甲一村) and under its new parent (乙一村) while 甲一村
    moves back and forth between 甲镇 and 乙镇: whichever side of the move's lock a write falls on, it ends up
    in the ancestors' rows the village has at the end."""
    march = dt.date(YEAR, 3, 1)
    for unit in (cast.village_a1, cast.village_b1):  # the months' rows exist (writers update them)
        activity(unit, None, day=march, people=2)
    n, moves = 12, 4
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            barrier.wait(timeout=10)
            work()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    def writer(unit) -> None:
        for i in range(n):
            activity(unit, None, day=march + dt.timedelta(days=i), people=2, title=f"并发{i}")

    def mover() -> None:
        for i in range(moves):
            village = OrgUnit.objects.get(pk=cast.village_a1.pk)
            target = cast.town_b if i % 2 == 0 else cast.town_a
            move_unit(None, village, OrgUnit.objects.get(pk=target.pk))

    work = [lambda: writer(cast.village_a1), lambda: writer(cast.village_b1), mover]
    threads = [threading.Thread(target=run, args=(w,)) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [], [str(e) for e in errors]
    assert OrgUnit.objects.get(pk=cast.village_a1.pk).parent_id == cast.town_a.pk  # back where it started
    assert totals.differences(cast.county) == []
    assert below(cast.town_a, march)["activity_count"] == n + 1
    assert below(cast.town_b, march)["activity_count"] == n + 1


def test_check_finds_a_wrong_branch_row(cast, ledger):
    LedgerBranchMonth.objects.filter(org_unit=cast.town_a).update(activity_count=999)
    diffs = totals.differences(cast.county)
    assert diffs and {d.key for d in diffs} == {"below.activity_count"} and {d.unit for d in diffs} == {"A"}
    call_command("ledger_rebuild_totals", stdout=StringIO())
    assert totals.differences(cast.county) == []
