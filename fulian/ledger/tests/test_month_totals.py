"""The maintained monthly totals (LedgerMonthTotal): every write path keeps them equal to the records, two
writers never lose an increment, the roll-up read from them equals the roll-up from the records in every
case, and `fulian ledger_rebuild_totals` recomputes and checks them."""

import datetime as dt
import random
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models import F

from fulian.audit.models import AuditEvent
from fulian.ledger import actions, queries, totals
from fulian.ledger.models import CATEGORIES, KIND_FIELDS, BrandTag, LedgerMonthTotal, LedgerRecord, RecordKind
from fulian.orgs.actions import ConflictError, move_unit, update_unit

from .builders import activity, training

YEAR = 2024  # a past year: actor None writes skip the month locks, nothing is in the future


def assert_table_matches_records(unit) -> None:
    assert totals.differences(unit) == []


def row(unit, month: dt.date) -> dict:
    return LedgerMonthTotal.objects.filter(org_unit=unit, month=month).values(*totals.COLUMNS).get()


def service(unit, day, beneficiaries=3, amount="120.50"):
    return actions.create_record(
        None,
        org_unit=unit,
        kind=RecordKind.SERVICE,
        category="帮扶",
        title="走访慰问困难妇女",
        date=day,
        beneficiaries=beneficiaries,
        amount=Decimal(amount),
    )


# --- the contribution of one record ------------------------------------------------------------------------


def test_contribution_is_read_off_the_indicators():
    values = {name: 7 for name in totals.CONTRIBUTION_FIELDS} | {"kind": RecordKind.TRAINING}
    values["sessions"], values["participants"] = 2, 30
    got = totals.contribution(values)
    for key, _, kind, _ in queries.INDICATORS:
        if kind != RecordKind.TRAINING:
            assert key not in got
    assert got["training_sessions"] == 2 and got["training_people"] == 30
    assert got["training_employed"] == 7  # Sum("employed")
    assert totals.contribution({**values, "kind": RecordKind.JOB_FAIR})["fair_count"] == 1  # Count("id")
    assert set(totals.KEYS) == {key for key, _, _, _ in queries.INDICATORS}
    # every indicator is a column of the table
    columns = {f.name for f in LedgerMonthTotal._meta.fields}
    assert set(totals.COLUMNS) <= columns


# --- every write path --------------------------------------------------------------------------------------


def test_create_adds_the_record_to_its_units_month(cast):
    training(
        cast.village_a1, None, day=dt.date(YEAR, 3, 15), sessions=2, people=30, employed=4, recommended=9
    )
    training(cast.village_a1, None, day=dt.date(YEAR, 3, 2), sessions=1, people=10)
    service(cast.village_a1, dt.date(YEAR, 3, 31), amount="0.10")
    service(cast.village_a1, dt.date(YEAR, 3, 30), amount="0.20")
    activity(cast.town_a, None, day=dt.date(YEAR, 4, 1), people=40)
    march = row(cast.village_a1, dt.date(YEAR, 3, 1))
    assert march["records"] == 4 and march["training_sessions"] == 3 and march["training_people"] == 40
    assert march["training_employed"] == 4 and march["training_recommended"] == 9
    assert march["service_count"] == 2 and march["service_amount"] == Decimal("0.30")
    assert row(cast.town_a, dt.date(YEAR, 4, 1))["activity_people"] == 40
    assert LedgerMonthTotal.objects.count() == 2
    assert_table_matches_records(cast.county)


def test_update_moves_the_contribution_between_months_and_kinds(cast):
    rec = training(cast.village_a1, None, day=dt.date(YEAR, 3, 15), sessions=2, people=30)
    other = training(cast.village_a1, None, day=dt.date(YEAR, 3, 16), sessions=1, people=5)
    rec = actions.update_record(None, rec, expected_version=rec.version, sessions=4, person_times=120)
    assert row(cast.village_a1, dt.date(YEAR, 3, 1))["training_sessions"] == 5
    # another month
    rec = actions.update_record(None, rec, expected_version=rec.version, date=dt.date(YEAR, 5, 2))
    assert row(cast.village_a1, dt.date(YEAR, 3, 1))["training_sessions"] == 1
    assert row(cast.village_a1, dt.date(YEAR, 5, 1))["training_sessions"] == 4
    # another kind: the training columns go, the activity's arrive (irrelevant columns are reset to zero)
    rec = actions.update_record(
        None, rec, expected_version=rec.version, kind=RecordKind.ACTIVITY, category="宣传", participants=70
    )
    may = row(cast.village_a1, dt.date(YEAR, 5, 1))
    assert may["training_sessions"] == may["training_people"] == 0
    assert may["activity_count"] == 1 and may["activity_people"] == 70 and may["records"] == 1
    assert other.pk
    assert_table_matches_records(cast.county)


def test_update_and_delete_use_the_stored_figures_not_a_stale_copy(cast):
    rec = training(cast.village_a1, None, day=dt.date(YEAR, 3, 15), sessions=2, people=30)
    stale = LedgerRecord.objects.get(pk=rec.pk)
    fresh = actions.update_record(
        None, rec, expected_version=rec.version, sessions=6, date=dt.date(YEAR, 4, 1)
    )
    # the stale copy still says 2 sessions in March; the delete must take away 6 in April
    actions.delete_record(None, stale)
    assert not LedgerRecord.objects.filter(pk=fresh.pk).exists()
    assert row(cast.village_a1, dt.date(YEAR, 4, 1))["training_sessions"] == 0
    assert row(cast.village_a1, dt.date(YEAR, 4, 1))["records"] == 0  # all-zero rows stay
    assert_table_matches_records(cast.county)


def test_a_refused_update_changes_nothing(cast):
    rec = training(cast.village_a1, None, day=dt.date(YEAR, 3, 15), sessions=2, people=30)
    before = row(cast.village_a1, dt.date(YEAR, 3, 1))
    with pytest.raises(ConflictError):
        actions.update_record(None, rec, expected_version=rec.version + 1, sessions=9)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        actions.update_record(None, rec, expected_version=rec.version, participants=99, person_times=1)
    assert row(cast.village_a1, dt.date(YEAR, 3, 1)) == before
    assert_table_matches_records(cast.county)


def test_delete_subtracts(cast):
    keep = activity(cast.village_b1, None, day=dt.date(YEAR, 6, 1), people=10)
    gone = activity(cast.village_b1, None, day=dt.date(YEAR, 6, 30), people=25, beneficiaries=4)
    actions.delete_record(None, gone)
    june = row(cast.village_b1, dt.date(YEAR, 6, 1))
    assert (
        june["activity_count"] == 1 and june["activity_people"] == 10 and june["activity_beneficiaries"] == 0
    )
    assert keep.pk
    assert_table_matches_records(cast.county)


def test_bulk_create_adds_per_unit_and_month(cast):
    tag = BrandTag.objects.get(name="巾帼建功")
    items = []
    for i in range(30):
        unit = (cast.village_a1, cast.town_a, cast.village_b1)[i % 3]
        fields = dict(
            kind=RecordKind.ACTIVITY,
            category="宣传",
            title=f"宣传活动{i}",
            date=dt.date(YEAR, 1 + i % 4, 1 + i % 28),
            participants=10 + i,
        )
        items.append((unit, fields, [tag] if i % 2 else []))
    with CaptureUpserts() as upserts:
        actions.create_records(None, items, source="test.xlsx")
    assert upserts.count == 1  # 12 (unit, month) rows in one statement
    assert LedgerMonthTotal.objects.count() == 12
    assert sum(LedgerMonthTotal.objects.values_list("activity_count", flat=True)) == 30
    assert_table_matches_records(cast.county)


class CaptureUpserts:
    """Counts the additive upserts into the monthly table."""

    def __enter__(self):
        self.count = 0
        self._cm = connection.execute_wrapper(self._wrap)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def _wrap(self, execute, sql, params, many, context):
        if sql.startswith(f'INSERT INTO "{totals.TABLE}"') and "ON CONFLICT" in sql:
            self.count += 1
        return execute(sql, params, many, context)


def test_every_kind_through_the_actions_matches_a_recomputation(cast):
    rng = random.Random(11)
    recs = []
    for i in range(60):
        kind = rng.choice(RecordKind.values)
        unit = rng.choice([cast.county, cast.town_a, cast.village_a1, cast.village_b1, cast.agency])
        fields = {name: rng.randint(0, 40) for name in KIND_FIELDS[kind] if name not in _TEXT_AND_MONEY}
        if kind == RecordKind.TRAINING:
            fields["person_times"] = fields["participants"] * 2
            fields["employed"] = 0
        if kind == RecordKind.SERVICE:
            fields["amount"] = Decimal(rng.randint(0, 100000)) / 100
        recs.append(
            actions.create_record(
                None,
                org_unit=unit,
                kind=kind,
                category=CATEGORIES[kind][0],
                title=f"记录{i}",
                date=dt.date(YEAR, rng.randint(1, 12), rng.randint(1, 28)),
                **fields,
            )
        )
    for rec in rng.sample(recs, 15):
        actions.update_record(
            None,
            rec,
            expected_version=rec.version,
            date=dt.date(YEAR, rng.randint(1, 12), rng.randint(1, 28)),
        )
    for rec in rng.sample(recs, 10):
        actions.delete_record(None, rec)
    assert_table_matches_records(cast.county)


_TEXT_AND_MONEY = {"partner", "products", "fund_source", "avg_income", "amount"}


# --- concurrency ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers (BEGIN IMMEDIATE), so two writers cannot interleave there at all",
)
def test_concurrent_creates_lose_no_increment(transactional_db, cast):
    unit, n = cast.village_a1, 15
    activity(unit, None, day=dt.date(YEAR, 3, 1), people=2)  # the row exists: both writers update it
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(label: str) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(n):
                activity(unit, None, day=dt.date(YEAR, 3, 1 + i), people=2, title=f"{label}{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=writer, args=(label,)) for label in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    march = row(unit, dt.date(YEAR, 3, 1))
    assert march["records"] == march["activity_count"] == 2 * n + 1
    assert march["activity_people"] == 2 * (2 * n + 1)
    assert_table_matches_records(cast.county)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers (BEGIN IMMEDIATE), so two writers cannot interleave there at all",
)
def test_concurrent_creates_and_deletes_neither_deadlock_nor_drift(transactional_db, cast):
    """Create and delete both take the month row before the audit chain head; in the other order a creator
    (month row held, waiting for the chain head) and a deleter (chain head held, waiting for the month row)
    deadlock."""
    unit, n = cast.village_a1, 12
    doomed = [activity(unit, None, day=dt.date(YEAR, 3, 1 + i), people=3) for i in range(n)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            barrier.wait(timeout=10)
            work()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def create() -> None:
        for i in range(n):
            activity(unit, None, day=dt.date(YEAR, 3, 1 + i), people=2, title=f"新{i}")

    def delete() -> None:
        for rec in doomed:
            actions.delete_record(None, rec)

    threads = [threading.Thread(target=run, args=(work,)) for work in (create, delete)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    march = row(unit, dt.date(YEAR, 3, 1))
    assert march["records"] == march["activity_count"] == n and march["activity_people"] == 2 * n
    assert_table_matches_records(cast.county)


# --- the roll-up read from the table equals the roll-up from the records ------------------------------------


def test_split_of_a_period_into_whole_months_and_edge_days():
    split = queries._split
    d = dt.date
    assert split(d(2025, 3, 15), d(2025, 6, 20)) == queries._Split(
        (d(2025, 4, 1), d(2025, 5, 1)), ((d(2025, 3, 15), d(2025, 3, 31)), (d(2025, 6, 1), d(2025, 6, 20)))
    )
    assert split(d(2025, 1, 1), d(2025, 12, 31)) == queries._Split((d(2025, 1, 1), d(2025, 12, 1)), ())
    assert split(d(2024, 2, 1), d(2024, 2, 29)) == queries._Split((d(2024, 2, 1), d(2024, 2, 1)), ())
    assert split(d(2025, 3, 2), d(2025, 3, 31)) == queries._Split(None, ((d(2025, 3, 2), d(2025, 3, 31)),))
    # no whole month in between: one range of days
    assert split(d(2024, 12, 31), d(2025, 1, 30)) == queries._Split(
        None, ((d(2024, 12, 31), d(2025, 1, 30)),)
    )
    assert split(d(2025, 5, 1), d(2025, 5, 20)) == queries._Split(None, ((d(2025, 5, 1), d(2025, 5, 20)),))


def test_whole_months_come_from_the_table_and_edge_days_from_the_records(cast):
    training(cast.village_a1, None, day=dt.date(YEAR, 3, 10), sessions=2)
    LedgerMonthTotal.objects.filter(org_unit=cast.village_a1).update(
        training_sessions=F("training_sessions") + 100
    )
    march = (dt.date(YEAR, 3, 1), dt.date(YEAR, 3, 31))
    assert queries.totals(cast.county, *march)["training_sessions"] == 102  # the (tampered) table
    assert queries._totals(cast.county, *march, None, use_table=False)["training_sessions"] == 2
    assert queries.totals(cast.county, dt.date(YEAR, 3, 2), march[1])["training_sessions"] == 2  # records
    tag = BrandTag.objects.get(name="巾帼建功")
    assert queries.rollup(cast.county, *march, tag=tag)[1].values["training_sessions"] == 0  # records


def test_rollup_over_whole_and_partial_months_is_one_query_plus_children(cast, django_assert_num_queries):
    training(cast.village_a1, None, day=dt.date(YEAR, 3, 10))
    training(cast.village_a1, None, day=dt.date(YEAR, 5, 10))
    # the table's months and the edge days' records in one UNION ALL; then the child units
    with django_assert_num_queries(2):
        rows, total = queries.rollup(cast.county, dt.date(YEAR, 3, 5), dt.date(YEAR, 6, 20))
    assert total.values["training_sessions"] == 2
    with django_assert_num_queries(1):
        queries.totals(cast.county, dt.date(YEAR, 3, 5), dt.date(YEAR, 6, 20))


def _random_ledger(cast, rng: random.Random, tags: list[BrandTag], n: int) -> None:
    units = [cast.county, cast.town_a, cast.town_b, cast.village_a1, cast.village_b1, cast.agency]
    for i in range(n):
        kind = rng.choice(RecordKind.values)
        unit = rng.choice(units)
        day = dt.date(YEAR, 1, 1) + dt.timedelta(days=rng.randint(0, 365))
        if unit == cast.agency:  # closed below on 2024-10-01: nothing after
            day = min(day, dt.date(YEAR, 9, 30))
        fields = {name: rng.randint(0, 30) for name in KIND_FIELDS[kind] if name not in _TEXT_AND_MONEY}
        if kind == RecordKind.TRAINING:
            fields["person_times"] = fields["participants"] * rng.randint(1, 3)
            fields["employed"] = 0
        if kind == RecordKind.SERVICE:
            fields["amount"] = Decimal(rng.randint(0, 50000)) / 100
        actions.create_record(
            None,
            org_unit=unit,
            kind=kind,
            category=CATEGORIES[kind][0],
            title=f"记录{i}",
            date=day,
            tags=[rng.choice(tags)] if rng.random() < 0.3 else [],
            **fields,
        )


def _random_period(rng: random.Random) -> tuple[dt.date, dt.date]:
    base = dt.date(YEAR - 1, 12, 1)
    shape = rng.choice(["days", "whole", "first", "last", "same_month"])
    start = base + dt.timedelta(days=rng.randint(0, 380))
    end = start + dt.timedelta(days=rng.randint(0, 200))
    if shape in ("whole", "first"):
        start = start.replace(day=1)
    if shape in ("whole", "last"):
        end = queries.periods.month_end(end)
    if shape == "same_month":
        end = min(queries.periods.month_end(start), start + dt.timedelta(days=rng.randint(0, 20)))
    return start, end


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollup_and_totals_equal_the_records_over_random_periods(cast, seed):
    rng = random.Random(seed)
    tags = list(BrandTag.objects.all())
    _random_ledger(cast, rng, tags, 120)
    update_unit(None, cast.agency, closed_on=dt.date(YEAR, 10, 1))  # a closed unit
    move_unit(None, cast.village_a1, cast.town_b)  # a moved unit: its history moves with it
    _random_ledger(cast, rng, tags, 30)  # and records after the move
    cast.village_a1.refresh_from_db()
    units = [cast.county, cast.town_a, cast.town_b, cast.village_a1, cast.agency]
    for _ in range(25):
        unit = rng.choice(units)
        unit.refresh_from_db()
        start, end = _random_period(rng)
        tag = rng.choice(tags) if rng.random() < 0.25 else None
        keys = rng.sample(totals.KEYS, 4) if rng.random() < 0.3 else None
        rows, total = queries.rollup(unit, start, end, tag=tag, keys=keys)
        raw_rows, raw_total = queries._rollup(unit, start, end, tag=tag, keys=keys, use_table=False)
        case = (unit.name, start, end, tag, keys)
        assert [(r.label, r.values) for r in rows] == [(r.label, r.values) for r in raw_rows], case
        assert total.values == raw_total.values, case
        if tag is None:
            assert queries.totals(unit, start, end, keys) == queries._totals(
                unit, start, end, keys, use_table=False
            )
            assert queries.totals(unit, start, end) == _python_totals(unit, start, end), case
    # the cases above saw the 本级 row, the moved village under B and the closed committee
    rows, _ = queries.rollup(cast.county, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
    assert rows[0].label == "测试县妇联(本级)"
    rows_b, _ = queries.rollup(cast.town_b, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
    assert "甲一村" in [r.label for r in rows_b]
    rows_late, _ = queries.rollup(cast.county, dt.date(YEAR, 11, 1), dt.date(YEAR, 12, 31))
    assert "县教育局妇委会" not in [r.label for r in rows_late]
    assert_table_matches_records(cast.county)


def _python_totals(unit, start, end) -> dict:
    """The totals added up in Python, record by record (no SQL aggregate at all)."""
    out = {k: Decimal("0.00") if k == "service_amount" else 0 for k in totals.KEYS}
    for values in LedgerRecord.objects.under(unit).in_period(start, end).values(*totals.CONTRIBUTION_FIELDS):
        for key, value in totals.contribution(values).items():
            out[key] += value
    return out


def test_tag_totals_count_only_the_subtree(cast):
    tag = BrandTag.objects.get(name="巾帼建功")
    activity(cast.village_a1, None, day=dt.date(YEAR, 3, 1), tags=[tag])
    activity(cast.village_b1, None, day=dt.date(YEAR, 3, 1), tags=[tag])
    activity(cast.village_b1, None, day=dt.date(YEAR, 4, 1), tags=[tag])
    counts = dict(
        (t.name, n) for t, n in queries.tag_totals(cast.town_b, dt.date(YEAR, 3, 1), dt.date(YEAR, 3, 31))
    )
    assert counts["巾帼建功"] == 1
    counts = dict(
        (t.name, n) for t, n in queries.tag_totals(cast.county, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
    )
    assert counts["巾帼建功"] == 3


# --- rebuild and check ---------------------------------------------------------------------------------------


def _spoil(cast) -> None:
    """Records written around the actions, and a table gone wrong."""
    training(cast.village_a1, None, day=dt.date(YEAR, 3, 10), sessions=2)
    activity(cast.village_b1, None, day=dt.date(YEAR, 4, 10))
    activity(cast.town_b, None, day=dt.date(YEAR, 4, 10))
    LedgerMonthTotal.objects.filter(org_unit=cast.village_a1).update(training_sessions=5)
    LedgerMonthTotal.objects.filter(org_unit=cast.village_b1).delete()
    LedgerMonthTotal.objects.create(
        org_unit=cast.town_a, month=dt.date(YEAR, 7, 1), records=1, activity_count=1
    )


def test_check_reports_differences_and_exits_1(cast):
    _spoil(cast)
    out = StringIO()
    with pytest.raises(CommandError, match="6 处不一致") as exc:
        call_command("ledger_rebuild_totals", "--check", stdout=out)
    assert exc.value.returncode == 1
    text = out.getvalue()
    assert "甲一村(A1) 2024-03 training_sessions:月度合计 5,台账记录 2" in text
    assert "乙一村(B1) 2024-04" in text and "甲镇妇联(A) 2024-07" in text
    assert LedgerMonthTotal.objects.filter(org_unit=cast.village_a1).get().training_sessions == 5  # no write


def test_rebuild_recomputes_idempotently_and_is_audited(cast):
    _spoil(cast)
    out = StringIO()
    call_command("ledger_rebuild_totals", stdout=out)
    assert "已按台账记录重算月度合计 3 行" in out.getvalue()
    assert_table_matches_records(cast.county)
    first = list(
        LedgerMonthTotal.objects.order_by("org_unit_id", "month").values(
            "org_unit_id", "month", *totals.COLUMNS
        )
    )
    call_command("ledger_rebuild_totals", stdout=StringIO())
    again = list(
        LedgerMonthTotal.objects.order_by("org_unit_id", "month").values(
            "org_unit_id", "month", *totals.COLUMNS
        )
    )
    assert again == first
    events = AuditEvent.objects.filter(action="ledger.month_totals.rebuild")
    assert events.count() == 2 and events.first().detail["rows"] == 3
    out = StringIO()
    call_command("ledger_rebuild_totals", "--check", stdout=out)
    assert "一致" in out.getvalue()


def test_rebuild_of_one_unit_leaves_the_rest(cast):
    _spoil(cast)
    call_command("ledger_rebuild_totals", "--unit", "A", stdout=StringIO())
    assert_table_matches_records(cast.town_a)
    assert {d.unit for d in totals.differences(cast.county)} == {"B1"}  # B's village was not rebuilt
    with pytest.raises(CommandError, match="没有代码为“ZZ”的单位"):
        call_command("ledger_rebuild_totals", "--unit", "ZZ")


def test_only_the_top_unit_or_the_system_rebuilds(cast):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        actions.rebuild_month_totals(cast.users.a_leader, cast.town_a)
    assert not AuditEvent.objects.filter(action="ledger.month_totals.rebuild").exists()


def test_the_bulk_built_city_ledger_fills_the_table(db):
    from fulian.demo.bulk import CITY_ROOT_CODE, build_city
    from fulian.demo.bulk_ledger import build_city_ledger
    from fulian.orgs.models import OrgUnit

    build_city(seed=3, factor=0.15)
    city = OrgUnit.objects.get(code=CITY_ROOT_CODE)
    figures = build_city_ledger(seed=1, factor=0.1, years=1)
    assert figures["month_total_rows"] == LedgerMonthTotal.objects.count() > 0
    assert sum(LedgerMonthTotal.objects.values_list("records", flat=True)) == figures["records"]
    assert totals.differences(city) == []
