"""Ledger records: who may type them, locks and exceptions, conflicts, and the live roll-up."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from fulian.audit.models import AuditEvent
from fulian.ledger import actions, periods, queries
from fulian.ledger.models import BrandTag, LedgerRecord, RecordKind
from fulian.orgs.actions import ConflictError, update_unit

from .builders import activity, training


def test_village_records_its_own_work(cast):
    rec = training(cast.village_a1, cast.users.a1_staff, sessions=2, people=30)
    assert rec.org_unit == cast.village_a1 and rec.created_by == cast.users.a1_staff
    assert AuditEvent.objects.filter(action="ledger.record.create", object_id=str(rec.pk)).exists()


@pytest.mark.parametrize(
    "who", ["a_staff", "county_staff", "b1_staff", "county_caseworker", "county_auditor"]
)
def test_only_the_units_own_people_type_its_ledger(cast, who):
    with pytest.raises(PermissionDenied):
        training(cast.village_a1, getattr(cast.users, who))
    assert not LedgerRecord.objects.exists()


def test_above_reads_but_does_not_edit(cast):
    rec = training(cast.village_a1, cast.users.a1_staff)
    assert queries.access_record(cast.users.a_staff, rec.pk) == rec
    assert queries.access_record(cast.users.county_leader, rec.pk) == rec
    with pytest.raises(PermissionDenied):
        actions.update_record(cast.users.a_staff, rec, expected_version=rec.version, title="改")
    from django.http import Http404

    with pytest.raises(Http404):
        queries.access_record(cast.users.b_staff, rec.pk)
    with pytest.raises(Http404):
        queries.access_record(cast.users.b1_staff, rec.pk)


def test_validation_messages_are_chinese_and_nothing_is_saved(cast):
    with pytest.raises(ValidationError) as exc:
        training(cast.village_a1, cast.users.a1_staff, people=30, person_times=10, category="不存在")
    errors = exc.value.message_dict
    assert "人次不能少于参加人数" in errors["person_times"][0]
    assert "类型必须是" in errors["category"][0]
    with pytest.raises(ValidationError) as exc:
        training(cast.village_a1, cast.users.a1_staff, day=dt.date.today() + dt.timedelta(days=2))
    assert "日期不能晚于今天" in exc.value.message_dict["date"][0]
    assert not LedgerRecord.objects.exists()


def test_negative_money_is_refused_by_the_action_not_the_database(cast):
    with pytest.raises(ValidationError) as exc:
        actions.create_record(
            cast.users.a1_staff,
            org_unit=cast.village_a1,
            kind=RecordKind.SERVICE,
            category="帮扶",
            title="困难妇女慰问",
            date=dt.date.today(),
            amount=-100,
        )
    assert exc.value.message_dict["amount"] == ["金额不能为负数。"]
    assert not LedgerRecord.objects.exists()


def test_work_after_a_unit_was_closed_is_refused_but_earlier_work_is_kept(cast):
    today = dt.date.today()
    update_unit(None, cast.village_a1, closed_on=today - dt.timedelta(days=3))
    cast.village_a1.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        training(cast.village_a1, None, day=today - dt.timedelta(days=1))
    assert "已于" in exc.value.message_dict["date"][0] and "撤销" in exc.value.message_dict["date"][0]
    kept = training(cast.village_a1, None, day=today - dt.timedelta(days=4))
    assert list(LedgerRecord.objects.all()) == [kept]


def test_columns_of_another_kind_stay_zero(cast):
    rec = activity(cast.village_a1, cast.users.a1_staff, people=40)
    actions.update_record(cast.users.a1_staff, rec, expected_version=rec.version, sessions=9)
    rec.refresh_from_db()
    assert rec.sessions == 0


def test_second_save_of_a_stale_version_is_refused(cast):
    rec = training(cast.village_a1, cast.users.a1_staff)
    stale = rec.version
    actions.update_record(cast.users.a1_staff, rec, expected_version=stale, participants=25, person_times=25)
    with pytest.raises(ConflictError):
        actions.update_record(
            cast.users.a1_staff, rec, expected_version=stale, participants=99, person_times=99
        )
    rec.refresh_from_db()
    assert rec.participants == 25 and rec.version == 2


def test_periods_name_two_different_deadlines(settings):
    settings.LEDGER_TIMELY_DAYS, settings.LEDGER_LOCK_DAYS = 5, 15
    day = dt.date(2026, 3, 8)
    assert periods.timely_deadline(day) == dt.date(2026, 4, 5)
    assert periods.lock_date(day) == dt.date(2026, 4, 16)
    assert periods.is_timely(day, dt.date(2026, 4, 5)) and not periods.is_timely(day, dt.date(2026, 4, 6))
    assert not periods.is_locked(day, dt.date(2026, 4, 15)) and periods.is_locked(day, dt.date(2026, 4, 16))


def _old_day():
    return (dt.date.today().replace(day=1) - dt.timedelta(days=60)).replace(day=8)


def test_locked_month_needs_a_leader_or_an_exception(cast):
    day = _old_day()
    with pytest.raises(PermissionDenied) as exc:
        training(cast.village_a1, cast.users.a1_staff, day=day)
    assert "锁定" in str(exc.value)
    # the township grants 补录 for that month
    with pytest.raises(PermissionDenied):  # a village cannot open its own month
        actions.grant_exception(cast.users.a1_staff, cast.village_a1, day, dt.date.today(), "漏报")
    actions.grant_exception(cast.users.a_leader, cast.village_a1, day, dt.date.today(), "漏报三月培训")
    rec = training(cast.village_a1, cast.users.a1_staff, day=day)
    assert rec.date == day
    assert AuditEvent.objects.filter(action="ledger.period.exception").exists()


def test_expired_exception_no_longer_opens_the_month(cast):
    day = _old_day()
    actions.grant_exception(
        cast.users.a_leader, cast.village_a1, day, dt.date.today() - dt.timedelta(days=1), "过期"
    )
    with pytest.raises(PermissionDenied):
        training(cast.village_a1, cast.users.a1_staff, day=day)


@override_settings(LEDGER_LOCK_DAYS=100000)
def test_an_open_month_needs_no_exception(cast):
    assert training(cast.village_a1, cast.users.a1_staff, day=_old_day())


def test_rollup_by_child_unit_is_live_and_scoped_to_the_subtree(cast):
    today = dt.date.today()
    start, end = today.replace(day=1), today
    training(cast.village_a1, cast.users.a1_staff, sessions=2, people=30, employed=5)
    training(cast.village_a1, cast.users.a1_staff, sessions=1, people=22)
    training(cast.town_a, cast.users.a_staff, sessions=1, people=40)
    training(cast.village_b1, cast.users.b1_staff, sessions=3, people=10)
    activity(cast.county, cast.users.county_staff, people=100)
    rows, total = queries.rollup(cast.county, start, end)
    by = {r.label: r.values for r in rows}
    assert by["甲镇妇联"]["training_sessions"] == 4 and by["甲镇妇联"]["training_people"] == 92
    assert by["乙镇妇联"]["training_sessions"] == 3
    assert by["测试县妇联(本级)"]["activity_people"] == 100
    assert by["县教育局妇委会"]["training_sessions"] == 0
    assert total.values["training_sessions"] == 7 and total.values["training_employed"] == 5
    # the township's view: its own row and its villages; nothing of B
    rows_a, total_a = queries.rollup(cast.town_a, start, end)
    assert [r.label for r in rows_a] == ["甲镇妇联(本级)", "甲一村", "甲二村"]
    assert total_a.values["training_people"] == 92
    # live: a record saved now is in every level's numbers on the next call
    training(cast.village_a2, None, sessions=5, people=5)
    assert queries.rollup(cast.county, start, end)[1].values["training_sessions"] == 12


def test_rollup_leaves_out_units_closed_before_the_period(cast):
    today = dt.date.today()
    update_unit(None, cast.village_a2, closed_on=dt.date(2020, 1, 1))
    rows, _ = queries.rollup(cast.town_a, today.replace(day=1), today)
    assert [r.label for r in rows] == ["甲一村"]


def test_rollup_by_tag(cast):
    today = dt.date.today()
    tag = BrandTag.objects.get(name="巾帼建功")
    training(cast.village_a1, cast.users.a1_staff, sessions=2, tags=[tag])
    training(cast.village_a1, cast.users.a1_staff, sessions=7)
    _, total = queries.rollup(cast.county, today.replace(day=1), today, tag=tag)
    assert total.values["training_sessions"] == 2
    counts = dict((t.name, n) for t, n in queries.tag_totals(cast.county, today.replace(day=1), today))
    assert counts["巾帼建功"] == 1 and counts["双学双比"] == 0


def test_rollup_is_one_query_plus_children(cast, django_assert_num_queries):
    today = dt.date.today()
    for _ in range(5):
        training(cast.village_a1, cast.users.a1_staff)
    with django_assert_num_queries(2):
        queries.rollup(cast.county, today.replace(day=1), today)


def test_kinds_have_categories():
    from fulian.ledger.models import CATEGORIES, KIND_FIELDS

    assert set(CATEGORIES) == set(RecordKind.values) == set(KIND_FIELDS)
