"""Cases: intake, numbering, confidentiality at rest, reveal, the state machine, closure, follow-up, deadlines."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone

from fulian.audit.models import AuditEvent
from fulian.cases import actions, queries, triage
from fulian.cases.models import (
    AppendOnlyError,
    Case,
    CaseCounter,
    CaseView,
    EntryKind,
    Holiday,
    MandatoryReport,
    Party,
    Risk,
    State,
    TimelineEntry,
)
from fulian.notify.models import Notification
from fulian.orgs.actions import ConflictError

from .conftest import ID_GIRL, ID_WOMAN, advance, category, dv_parties, make_case

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


# --- intake and numbering -------------------------------------------------------------------------------------


def test_intake_numbers_per_unit_and_year(cast):
    u = cast.users
    year = timezone.localdate().year
    first = make_case(u.a_caseworker, cast.village_a1)
    second = make_case(u.county_hotline, cast.village_a1)
    other = make_case(u.b_caseworker, cast.town_b)
    assert first.number == f"WQ-A1-{year}-000001"
    assert second.number == f"WQ-A1-{year}-000002"
    assert other.number == f"WQ-B-{year}-000001"
    assert (first.year, first.sequence, first.state) == (year, 1, State.REGISTERED)
    assert first.parties.count() == 3
    entry = first.timeline.get()
    assert entry.kind == EntryKind.INTAKE and entry.actor == u.a_caseworker
    event = AuditEvent.objects.filter(action="cases.case.intake", object_id=str(first.pk)).get()
    assert event.org_path == cast.village_a1.path
    assert event.detail["number"] == first.number


def test_counter_is_per_year(cast):
    assert actions.next_number(cast.town_a, 2025) == (1, "WQ-A-2025-000001")
    assert actions.next_number(cast.town_a, 2025) == (2, "WQ-A-2025-000002")
    assert actions.next_number(cast.town_a, 2026) == (1, "WQ-A-2026-000001")
    assert CaseCounter.objects.get(org_unit=cast.town_a, year=2025).last == 2


def test_failed_intake_gives_its_number_back(cast):
    u = cast.users
    with pytest.raises(ValidationError):
        make_case(u.a_caseworker, cast.town_a, parties=dv_parties(phone="12345"))
    case = make_case(u.a_caseworker, cast.town_a)
    assert case.sequence == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_get_gap_free_numbers(cast):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite serialises writers (one IMMEDIATE transaction at a time); the race needs PostgreSQL"
        )
    u = cast.users
    category(
        "domestic_violence"
    )  # re-seed the tree here if a transactional test flushed it, not in 8 threads at once
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            make_case(u.a_caseworker, cast.town_a)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(Case.objects.filter(org_unit=cast.town_a).values_list("sequence", flat=True)) == list(
        range(1, 9)
    )


def test_invalid_id_and_mobile_give_chinese_errors_and_save_nothing(cast):
    u = cast.users
    before = (Case.objects.count(), Party.objects.count(), TimelineEntry.objects.count())
    with pytest.raises(ValidationError) as exc:
        make_case(
            u.a_caseworker,
            cast.town_a,
            parties=dv_parties(id_number="360102199003070023", phone="2381234567"),
        )
    errors = exc.value.message_dict
    assert errors["affected_id_number"] == ["身份证号码校验位不正确,请核对"]
    assert "电话号码无效" in errors["affected_phone"][0]
    with pytest.raises(ValidationError) as exc:
        make_case(u.a_caseworker, cast.town_a, account="打" * 200_000)
    assert "情况陈述不能超过20000字" in exc.value.message_dict["account"][0]
    assert (Case.objects.count(), Party.objects.count(), TimelineEntry.objects.count()) == before
    assert not CaseCounter.objects.filter(last__gt=0).exists()


def test_subcategory_must_belong_to_category(cast):
    with pytest.raises(ValidationError) as exc:
        make_case(cast.users.a_caseworker, cast.town_a, sub="divorce", category=category("labour_social"))
    assert exc.value.message_dict["subcategory"] == ["子类别必须属于“劳动和社会保障”。"]


def test_intake_needs_the_capability_over_the_unit(cast):
    u = cast.users
    for actor in (u.a_staff, u.a_sysadmin, u.a_auditor):
        with pytest.raises(PermissionDenied):
            make_case(actor, cast.town_a)
    with pytest.raises(PermissionDenied):
        make_case(u.a_hotline, cast.town_b)
    assert Case.objects.count() == 0


# --- confidentiality at rest and reveal --------------------------------------------------------------------------


def test_database_dump_shows_no_plaintext(cast):
    case = make_case(cast.users.a_caseworker, cast.town_a, account="丈夫持刀威胁要杀了她,独特叙述甲乙丙")
    actions.accept(cast.users.a_caseworker, case, expected_version=case.version)
    actions.record_action(
        cast.users.a_caseworker, case, kind="consultation", text="告知她可申请保护令,独特备注丁戊"
    )
    dump = []
    with connection.cursor() as cursor:
        for table in (
            "cases_case",
            "cases_party",
            "cases_timelineentry",
            "audit_auditevent",
            "notify_notification",
        ):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            dump.extend(str(v) for row in cursor.fetchall() for v in row)
    text = "\n".join(dump)
    for secret in (
        "张玉梅",
        "13812345678",
        "1381234",
        ID_WOMAN,
        "甲一村三组",
        "13900001111",
        "李秀英",
        "13787654321",
        "王大军",
        "独特叙述",
        "独特备注",
        "离开家暂住",
    ):
        assert secret not in text, secret


def test_lists_get_masks_and_reveal_is_audited(cast):
    u = cast.users
    case = make_case(u.county_hotline, cast.village_a1)
    party = case.parties.get(role="affected")
    assert str(party.name) == "张*梅" and str(party.phone) == "138****5678"
    assert str(party.id_number) == "3601**********0022"
    with pytest.raises(ValidationError):
        actions.reveal_identity(u.a_caseworker, case, reason=" ")
    revealed = actions.reveal_identity(u.a_caseworker, case, reason="回电核实安全情况")
    affected = next(p for p in revealed if p.role == "affected")
    assert (affected.name, affected.phone, affected.id_number) == ("张玉梅", "13812345678", ID_WOMAN)
    assert affected.safe_phone == "13900001111"
    view = CaseView.objects.get(case=case)
    assert (view.user, view.reason) == (u.a_caseworker, "回电核实安全情况")
    event = AuditEvent.objects.get(action="cases.identity.reveal")
    assert event.actor_id == u.a_caseworker.pk and event.detail["reason"] == "回电核实安全情况"
    assert "张玉梅" not in str(event.detail)
    for actor in (u.a_staff, u.a_sysadmin, u.a_auditor, u.county_hotline):
        with pytest.raises(PermissionDenied):
            actions.reveal_identity(actor, case, reason="想看看")
    assert CaseView.objects.count() == 1


def test_timeline_and_views_are_append_only(cast):
    case = make_case(cast.users.a_caseworker, cast.town_a)
    entry = case.timeline.get()
    entry.kind = EntryKind.NOTE
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        TimelineEntry.objects.filter(case=case).update(kind="note")
    with pytest.raises(AppendOnlyError):
        TimelineEntry.objects.filter(case=case).delete()
    actions.reveal_identity(cast.users.a_leader, case, reason="复核")
    with pytest.raises(AppendOnlyError):
        CaseView.objects.all().delete()


# --- scope ----------------------------------------------------------------------------------------------------


def test_who_sees_which_case(cast, cases):
    u = cast.users

    def seen(user):
        return set(queries.cases_of(user).values_list("pk", flat=True))

    a1, b = cases.a1.pk, cases.b.pk
    assert seen(u.county_caseworker) == {a1, b}
    assert seen(u.county_leader) == {a1, b}
    assert seen(u.a_caseworker) == {a1}
    assert seen(u.a_leader) == {a1}
    assert seen(u.b_caseworker) == {b}
    for user in (u.a_staff, u.a_sysadmin, u.a_auditor, u.county_staff, u.county_sysadmin, u.county_auditor):
        assert seen(user) == set()
        assert not queries.visible_cases(user).exists()
    # the hotline sees what it registered, while it waits to be accepted, and nothing else
    assert seen(u.county_hotline) == {a1}
    assert seen(u.a_hotline) == set()
    assert seen(u.b_hotline) == set()
    actions.accept(u.a_caseworker, cases.a1, expected_version=cases.a1.version)
    assert seen(u.county_hotline) == set()


def test_access_case_404_is_audited_and_the_same_for_missing(cast, cases):
    from django.http import Http404

    u = cast.users
    for actor, case_id in (
        (u.b_caseworker, cases.a1.pk),
        (u.a_staff, cases.a1.pk),
        (u.a_sysadmin, cases.a1.pk),
        (u.a_auditor, cases.a1.pk),
        (u.a_caseworker, 999_999),
        (u.a_caseworker, "abc"),
    ):
        before = AuditEvent.objects.filter(action="access.denied").count()
        with pytest.raises(Http404):
            queries.access_case(actor, case_id)
        assert AuditEvent.objects.filter(action="access.denied").count() == before + 1
    assert queries.access_case(u.county_hotline, cases.a1.pk) == cases.a1
    with pytest.raises(Http404):
        queries.access_case(u.county_hotline, cases.a1.pk, write=True)


def test_repeat_contact_lookup_stays_in_scope(cast, cases):
    u = cast.users
    found = queries.earlier_cases(u.a_caseworker, phone="+86 138 1234 5678")
    assert list(found) == [cases.a1]
    assert list(queries.earlier_cases(u.a_caseworker, id_number=ID_WOMAN.lower())) == [cases.a1]
    # the caller of one case is found by phone whichever party it was typed for
    assert list(queries.earlier_cases(u.a_caseworker, phone="13787654321")) == [cases.a1]
    assert list(queries.earlier_cases(u.b_caseworker, phone="13812345678")) == []
    assert set(queries.earlier_cases(u.county_caseworker, phone="13787654321")) == {cases.a1, cases.b}
    assert list(queries.earlier_cases(u.a_staff, phone="13812345678")) == []


def test_list_is_risk_first_then_overdue_then_newest(cast):
    u = cast.users
    normal_old = make_case(u.a_caseworker, cast.town_a, sub="divorce", account="离婚财产分割")
    high = make_case(u.a_caseworker, cast.town_a, risk_checklist=["strangulation"])
    normal_new = make_case(u.a_caseworker, cast.town_a, sub="divorce", account="离婚财产分割")
    overdue = make_case(u.a_caseworker, cast.town_a, sub="divorce", account="离婚财产分割")
    Case.objects.filter(pk=overdue.pk).update(first_contact_due=timezone.now() - dt.timedelta(hours=1))
    order = list(queries.cases_of(u.a_caseworker).values_list("pk", flat=True))
    assert order == [high.pk, overdue.pk, normal_new.pk, normal_old.pk]


# --- triage and deadlines --------------------------------------------------------------------------------------


def test_risk_checklist_suggests_a_level():
    assert triage.suggest_risk([]) == Risk.NORMAL
    assert triage.suggest_risk([], "他说要拿刀") == Risk.ELEVATED
    assert triage.suggest_risk(["pregnancy"]) == Risk.ELEVATED
    assert triage.suggest_risk(["pregnancy", "separation", "escalating"]) == Risk.HIGH
    assert triage.suggest_risk(["threat_to_kill"]) == Risk.HIGH
    with pytest.raises(ValueError):
        triage.suggest_risk(["unknown"])


def test_high_risk_intake_gets_24_hours_and_notifies_the_unit_and_the_level_above(cast):
    u = cast.users
    case = make_case(u.county_hotline, cast.village_a1, risk_checklist=["weapon"])
    assert case.risk == case.risk_suggested == Risk.HIGH
    assert case.first_contact_due - case.created_at < dt.timedelta(hours=24, seconds=1)
    assert case.first_contact_due - case.created_at > dt.timedelta(hours=23, minutes=59)
    notified = set(
        Notification.objects.filter(kind="cases.high_risk").values_list("user__username", flat=True)
    )
    assert notified == {"a_caseworker", "a_leader"}  # the village has none; its township is the level above
    case_b = make_case(u.b_caseworker, cast.town_b, risk_checklist=["strangulation"])
    notified = set(
        Notification.objects.filter(kind="cases.high_risk", url=f"/cases/{case_b.pk}/").values_list(
            "user__username", flat=True
        )
    )
    assert notified == {"b_caseworker", "b_leader", "county_caseworker", "county_leader"}
    assert "张" not in "".join(Notification.objects.values_list("title", flat=True))


def test_working_days_skip_holidays_and_count_tiaoxiu_workdays():
    # 2026: 国庆 1–7 October off (Thu 1 … Wed 7), Sat 10 October a 调休 working day
    calendar = {dt.date(2026, 10, d): False for d in range(1, 8)} | {dt.date(2026, 10, 10): True}
    assert triage.add_working_days(dt.date(2026, 9, 30), 3, calendar) == dt.date(2026, 10, 10)
    assert triage.add_working_days(dt.date(2026, 9, 30), 1, calendar) == dt.date(2026, 10, 8)
    assert triage.add_working_days(dt.date(2026, 9, 30), 3, {}) == dt.date(2026, 10, 5)
    assert triage.working_days_between(dt.date(2026, 9, 30), dt.date(2026, 10, 12), calendar) == 4
    assert not triage.is_working_day(dt.date(2026, 10, 11), calendar)


def test_case_deadlines_use_the_holiday_calendar(db):
    for d in range(1, 8):
        Holiday.objects.create(date=dt.date(2026, 10, d), name="国庆节")
    Holiday.objects.create(date=dt.date(2026, 10, 10), is_workday=True, name="国庆调休")
    received = dt.datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI)
    first, handling = actions.deadlines(received, Risk.NORMAL)
    assert first == dt.datetime(2026, 10, 10, 23, 59, 59, tzinfo=SHANGHAI)
    assert handling == dt.datetime(2026, 10, 30, 23, 59, 59, tzinfo=SHANGHAI)
    first, _ = actions.deadlines(received, Risk.HIGH)
    assert first == dt.datetime(2026, 10, 1, 16, 0, tzinfo=SHANGHAI)


# --- the state machine ----------------------------------------------------------------------------------------


def test_transitions_allowed_and_refused(cast):
    cw = cast.users.a_caseworker
    case = make_case(cw, cast.town_a)
    with pytest.raises(ValidationError) as exc:
        actions.start(cw, case, expected_version=case.version)  # 登记 → 处理中 skips 受理
    assert exc.value.messages == ["案件当前状态为“登记”,不能变更为“处理中”。"]
    advance(case, cw, "accepted", "in_progress")
    assert case.state == State.IN_PROGRESS
    advance(case, cw, "closure_requested")
    advance(case, cast.users.a_leader, "closed")
    actions.archive(cw, case, expected_version=case.version)
    with pytest.raises(ValidationError) as exc:
        actions.start(cw, case, expected_version=case.version)
    assert exc.value.messages == [
        "案件当前状态为“归档”,不能变更为“处理中”。如需继续办理,请由主席填写原因后重新打开。"
    ]
    with pytest.raises(PermissionDenied):
        actions.reopen(cw, case, reason="当事人再次求助", expected_version=case.version)
    with pytest.raises(ValidationError):
        actions.reopen(cast.users.a_leader, case, reason="", expected_version=case.version)
    actions.reopen(cast.users.a_leader, case, reason="当事人再次求助", expected_version=case.version)
    case.refresh_from_db()
    assert case.state == State.IN_PROGRESS and case.closed_at is None
    transitions = [e.data.get("to") for e in case.timeline.filter(kind=EntryKind.TRANSITION)]
    assert transitions == [
        "accepted",
        "in_progress",
        "closure_requested",
        "closed",
        "archived",
        "in_progress",
    ]
    assert AuditEvent.objects.filter(action="cases.case.reopen", object_id=str(case.pk)).count() == 1


def test_reject_needs_a_reason(cast):
    cw = cast.users.a_caseworker
    case = make_case(cw, cast.town_a)
    with pytest.raises(ValidationError) as exc:
        actions.reject(cw, case, reason="", expected_version=case.version)
    assert exc.value.message_dict == {"reason": ["请填写不予受理的原因。"]}
    actions.reject(cw, case, reason="不属于妇联受理范围,已告知向法院起诉", expected_version=case.version)
    assert Case.objects.get(pk=case.pk).state == State.REJECTED


def test_two_workers_at_once_the_second_gets_a_conflict(cast):
    cw = cast.users.a_caseworker
    case = make_case(cw, cast.town_a)
    stale = Case.objects.get(pk=case.pk)
    actions.accept(cw, case, expected_version=case.version)
    with pytest.raises(ConflictError):
        actions.reject(cast.users.a_leader, stale, reason="重复来电", expected_version=stale.version)
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED
    assert "请刷新" in ConflictError.message


def test_assign_to_a_village_caseworker_scope(cast):
    u = cast.users
    case = make_case(u.county_hotline, cast.town_a)
    actions.accept(u.a_leader, case, expected_version=case.version)
    with pytest.raises(ValidationError):
        actions.assign(u.a_leader, case, unit=cast.town_b, expected_version=case.version)
    with pytest.raises(ValidationError):
        actions.assign(u.a_leader, case, user=u.b_caseworker, expected_version=case.version)
    actions.assign(u.a_leader, case, unit=cast.village_a1, user=u.a_caseworker, expected_version=case.version)
    case.refresh_from_db()
    assert (case.state, case.org_unit, case.assignee) == (State.ASSIGNED, cast.village_a1, u.a_caseworker)
    assert Notification.objects.filter(user=u.a_caseworker, kind="cases.assigned").exists()
    assert case.number.startswith("WQ-A-")  # the number stays the registering unit's


def test_closure_needs_the_leaders_approval(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    advance(case, u.a_caseworker, "accepted", "in_progress")
    with pytest.raises(ValidationError):
        actions.request_closure(u.a_caseworker, case, outcome=" ", expected_version=case.version)
    advance(case, u.a_caseworker, "closure_requested")
    with pytest.raises(PermissionDenied):
        actions.approve_closure(u.a_caseworker, case, expected_version=case.version)
    with pytest.raises(PermissionDenied):
        actions.approve_closure(u.b_leader, case, expected_version=case.version)
    actions.return_closure(u.a_leader, case, reason="请补充回访安排", expected_version=case.version)
    assert case.state == State.IN_PROGRESS
    advance(case, u.a_caseworker, "closure_requested")
    actions.approve_closure(u.county_leader, case, expected_version=case.version)
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.closed_at is not None
    assert case.outcome.reveal() == "已调解,双方签订协议。"


def test_follow_up_unsatisfied_reopens_for_the_leaders_review(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    advance(case, u.a_caseworker, "accepted", "in_progress", "closure_requested")
    advance(case, u.a_leader, "closed")
    actions.follow_up(
        u.a_caseworker,
        case,
        satisfaction="unsatisfied",
        comment="对方仍然骚扰",
        expected_version=case.version,
    )
    case.refresh_from_db()
    assert case.state == State.REVIEW and case.is_open
    assert set(Notification.objects.filter(kind="cases.review").values_list("user__username", flat=True)) == {
        "a_leader",
        "county_leader",
    }
    with pytest.raises(PermissionDenied):
        actions.archive(u.a_caseworker, case, expected_version=case.version)
    actions.reopen(u.a_leader, case, reason="回访不满意,重新办理", expected_version=case.version)
    assert case.state == State.IN_PROGRESS


def test_follow_up_satisfied(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    advance(case, u.a_caseworker, "accepted", "in_progress", "closure_requested")
    advance(case, u.a_leader, "closed")
    actions.follow_up(u.a_caseworker, case, satisfaction="satisfied", expected_version=case.version)
    assert Case.objects.get(pk=case.pk).state == State.FOLLOWED_UP


def test_mandatory_report_must_be_answered_before_closure(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a, parties=dv_parties(id_number=ID_GIRL, name="王小丽"))
    assert case.involves_minor and case.mandatory_report_required
    advance(case, u.a_caseworker, "accepted", "in_progress")
    with pytest.raises(ValidationError) as exc:
        actions.request_closure(u.a_caseworker, case, outcome="已处理", expected_version=case.version)
    assert "强制报告" in exc.value.message_dict["mandatory_report"][0]
    with pytest.raises(ValidationError):
        actions.answer_mandatory_report(
            u.a_caseworker, case, answer="not_applicable", expected_version=case.version
        )
    actions.answer_mandatory_report(
        u.a_caseworker, case, answer=MandatoryReport.REPORTED, expected_version=case.version
    )
    actions.request_closure(u.a_caseworker, case, outcome="已报案,公安已介入", expected_version=case.version)
    assert case.state == State.CLOSURE_REQUESTED
    adult = make_case(u.a_caseworker, cast.town_a)
    assert not adult.mandatory_report_required


def test_harassment_closure_needs_a_written_reply(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a, sub="sexual_harassment")
    advance(case, u.a_caseworker, "accepted", "in_progress")
    with pytest.raises(ValidationError) as exc:
        actions.request_closure(u.a_caseworker, case, outcome="已处理", expected_version=case.version)
    assert "书面答复" in exc.value.message_dict["written_reply"][0]
    actions.request_closure(
        u.a_caseworker, case, outcome="已处理", written_reply=True, expected_version=case.version
    )


def test_recorded_actions_set_first_contact_and_stay_encrypted(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    with pytest.raises(ValidationError):
        actions.record_action(u.a_caseworker, case, kind="mediation", text="x")  # not accepted yet
    advance(case, u.a_caseworker, "accepted")
    with pytest.raises(ValidationError) as exc:
        actions.record_action(u.a_caseworker, case, kind="protection_order", result="随便写")
    assert "结果只能是" in exc.value.message_dict["result"][0]
    entry = actions.record_action(
        u.a_caseworker,
        case,
        kind="protection_order",
        result="已提交申请",
        text="陪同到法院立案庭",
        occurred_on=timezone.localdate(),
    )
    assert entry.text.reveal() == "陪同到法院立案庭"
    assert Case.objects.get(pk=case.pk).first_contact_at is not None
    with pytest.raises(PermissionDenied):
        actions.record_action(u.a_staff, case, kind="note", text="想看看")


def test_clock_pause_moves_the_handling_deadline(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    advance(case, u.a_caseworker, "accepted", "in_progress")
    due = case.handling_due
    actions.pause_clock(u.a_caseworker, case, reason="等待派出所答复", expected_version=case.version)
    Case.objects.filter(pk=case.pk).update(paused_since=timezone.now() - dt.timedelta(days=5))
    case.refresh_from_db()
    actions.resume_clock(u.a_caseworker, case, expected_version=case.version)
    assert case.handling_due - due >= dt.timedelta(days=5)
    assert case.paused_since is None


# --- corrections with history -------------------------------------------------------------------------------------


def test_party_corrections_are_in_the_history_masked(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    party = case.parties.get(role="affected")
    with pytest.raises(ValidationError) as exc:
        actions.update_party(u.a_caseworker, party, expected_version=case.version, phone="123")
    assert "电话" in exc.value.message_dict["affected_phone"][0]
    actions.update_party(
        u.a_caseworker,
        party,
        expected_version=case.version,
        phone="13955556666",
        name="张玉兰",
        relation="本人",
    )
    party.refresh_from_db()
    assert party.phone.reveal() == "13955556666" and party.name.reveal() == "张玉兰"
    entry = case.timeline.get(kind=EntryKind.CHANGE)
    assert entry.data["changes"] == {"phone": ["138****5678", "139****6666"], "name": ["张*梅", "张*兰"]}
    assert list(queries.earlier_cases(u.a_caseworker, phone="13955556666")) == [case]
    assert list(queries.earlier_cases(u.a_caseworker, phone="13812345678")) == []
    with pytest.raises(ConflictError):
        actions.update_party(u.a_caseworker, party, expected_version=1, address="新地址")
    with pytest.raises(PermissionDenied):
        actions.update_party(u.a_staff, party, expected_version=case.version, address="新地址")


def test_case_corrections_recompute_the_mandatory_report(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a, sub="divorce", account="离婚")
    assert not case.mandatory_report_required
    with pytest.raises(ValidationError):
        actions.update_case(
            u.a_caseworker, case, expected_version=case.version, subcategory=category("maternity")
        )
    actions.update_case(
        u.a_caseworker,
        case,
        expected_version=case.version,
        subcategory=category("domestic_violence"),
        involves_minor=True,
    )
    case.refresh_from_db()
    assert case.mandatory_report_required
    changes = case.timeline.get(kind=EntryKind.CHANGE).data["changes"]
    assert changes == {"subcategory": ["离婚纠纷", "家庭暴力"], "involves_minor": ["否", "是"]}


def _plain(obj, skip=()) -> dict:
    """An instance's column values, encrypted ones as their plaintext (each encryption has its own nonce)."""
    from fulian.lib.sensitive import Sensitive

    out = {}
    for f in obj._meta.concrete_fields:
        if f.attname not in skip:
            value = getattr(obj, f.attname)
            out[f.attname] = value.reveal() if isinstance(value, Sensitive) else value
    return out


def test_the_intakes_plain_inserts_write_what_save_and_bulk_create_write(cast):
    """``intake_case`` writes its case with ``lean.insert`` and its parties with ``lean.insert_many``: read back,
    the rows equal those that ``save()`` and ``bulk_create()`` write for the same objects — encrypted values,
    blind indexes, defaults, timestamps — and the instances in hand carry the keys of their rows."""
    from fulian.cases.models import Case, Party

    case = make_case(cast.users.a_caseworker, cast.town_a, involves_minor=True, risk_checklist=["injury"])
    stored = Case.objects.get(pk=case.pk)
    assert _plain(stored) == _plain(case)
    assert [(p.pk, _plain(p)) for p in case.party_list] == [
        (p.pk, _plain(p)) for p in Party.objects.filter(case=case).order_by("pk")
    ]
    # the same objects through the ORM
    twin = Case.objects.get(pk=case.pk)
    twin.pk, twin.number, twin.sequence = None, f"{case.number}-twin", 99_999
    twin.save()
    parties = list(Party.objects.filter(case=case).order_by("pk"))
    for party in parties:
        party.pk, party.case = None, twin
    Party.objects.bulk_create(parties)
    moments = ("id", "number", "sequence", "created_at", "updated_at")
    assert _plain(Case.objects.get(pk=twin.pk), moments) == _plain(stored, moments)
    assert [_plain(p, ("id", "case_id")) for p in Party.objects.filter(case=twin).order_by("pk")] == [
        _plain(p, ("id", "case_id")) for p in Party.objects.filter(case=case).order_by("pk")
    ]
    affected = next(p for p in case.party_list if p.role == "affected")
    assert affected.phone_index and affected.id_index  # the blind indexes were computed on the plain INSERT


def _twin(case, number: str) -> Case:
    """A new, unsaved copy of ``case`` (another number), to write again."""
    twin = Case.objects.get(pk=case.pk)
    twin.pk, twin.number, twin.sequence = None, number, 90_000 + len(number)
    twin._state.adding = True
    return twin


def test_insert_family_writes_the_case_its_parties_and_entry_as_the_orm_does(cast):
    """``lean.insert_family``: one statement on PostgreSQL (three elsewhere); the keys in hand are the rows' keys
    in order, the children point to the new case without a query, and every row equals what ``save()`` and
    ``bulk_create()`` write for the same objects."""
    from django.test.utils import CaptureQueriesContext

    from fulian.lib import lean

    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a, involves_minor=True, risk_checklist=["injury"])
    source = list(Party.objects.filter(case=case).order_by("pk"))
    twin = _twin(case, f"{case.number}-family")
    parties = [Party(case=twin, **{f: getattr(p, f) for f in actions.PARTY_FIELDS}) for p in source]
    entry = actions._entry_row(u.a_caseworker, twin, EntryKind.INTAKE, text="登记", data={"risk": twin.risk})
    with CaptureQueriesContext(connection) as ctx:
        lean.insert_family(twin, parties, [entry])
    assert len(ctx) == (1 if connection.vendor == "postgresql" else 3)
    with CaptureQueriesContext(connection) as ctx:
        assert all(p.case is twin and p.case_id == twin.pk for p in parties) and entry.case is twin
    assert len(ctx) == 0
    assert [p.pk for p in parties] == list(
        Party.objects.filter(case=twin).order_by("pk").values_list("pk", flat=True)
    )
    assert TimelineEntry.objects.get(case=twin).pk == entry.pk
    # the same objects through the ORM
    orm = _twin(case, f"{case.number}-orm")
    orm.save()
    orm_parties = [Party(case=orm, **{f: getattr(p, f) for f in actions.PARTY_FIELDS}) for p in source]
    Party.objects.bulk_create(orm_parties)
    orm_entry = actions._entry_row(
        u.a_caseworker, orm, EntryKind.INTAKE, text="登记", data={"risk": orm.risk}
    )
    orm_entry.save()
    moments = ("id", "number", "sequence", "created_at", "updated_at")
    assert _plain(Case.objects.get(pk=twin.pk), moments) == _plain(Case.objects.get(pk=orm.pk), moments)
    assert [_plain(p, ("id", "case_id")) for p in Party.objects.filter(case=twin).order_by("pk")] == [
        _plain(p, ("id", "case_id")) for p in Party.objects.filter(case=orm).order_by("pk")
    ]
    skip = ("id", "case_id", "created_at")
    assert _plain(TimelineEntry.objects.get(case=twin), skip) == _plain(
        TimelineEntry.objects.get(case=orm), skip
    )
    with_phone = [p for p in Party.objects.filter(case=twin) if p.phone]
    assert with_phone and all(p.phone_index for p in with_phone)  # blind indexes computed on the way


def test_insert_family_falls_back_and_refuses_rows_of_another_parent(cast):
    from fulian.lib import lean

    case = make_case(cast.users.a_caseworker, cast.town_a)
    twin = _twin(case, f"{case.number}-b")
    taken = Party.objects.order_by("pk").last().pk
    parties = [
        Party(case=twin, role="caller", name="赵六"),
        Party(pk=taken + 1000, case=twin, role="perpetrator"),
    ]
    lean.insert_family(twin, parties)  # a row with a key: statement by statement, through bulk_create
    assert twin.pk and parties[1].pk == taken + 1000
    assert set(Party.objects.filter(case=twin).values_list("pk", flat=True)) == {p.pk for p in parties}
    with pytest.raises(ValueError):
        lean.insert_family(_twin(case, f"{case.number}-c"), [Party(case=case, role="caller")])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement counter and calendar")
def test_counter_and_calendar_in_one_statement_equal_the_two(cast):
    start = timezone.localdate()
    for d in (1, 2, 3):
        Holiday.objects.create(date=start + dt.timedelta(days=d), name="假日")
    Holiday.objects.create(date=start + dt.timedelta(days=6), is_workday=True, name="调休")
    Holiday.objects.create(date=start + dt.timedelta(days=90), name="窗口外")
    end = start + dt.timedelta(days=actions.CALENDAR_DAYS)
    assert actions._counter_and_calendar(cast.town_a, 2031, start, end) is None  # no counter row yet
    assert actions.next_number(cast.town_a, 2031) == (1, "WQ-A-2031-000001")
    assert actions._counter_and_calendar(cast.town_a, 2031, start, end) == (
        2,
        actions.calendar_between(start, end),
    )
    assert actions.next_number(cast.town_a, 2031)[0] == 3
    Holiday.objects.all().delete()
    assert actions._counter_and_calendar(cast.town_a, 2031, start, end) == (4, {})


def test_intake_deadlines_follow_the_calendar_whichever_statement_read_it(cast):
    """The first intake of a unit's year reads the calendar on its own, the next ones with the counter (on
    PostgreSQL): both get the deadlines of the calendar."""
    today = timezone.localdate()
    for d in range(0, 10):
        Holiday.objects.create(date=today + dt.timedelta(days=d), name="长假")
    for case in (
        make_case(cast.users.a_caseworker, cast.town_a),
        make_case(cast.users.a_caseworker, cast.town_a),
    ):
        received = timezone.localtime(case.created_at)
        expected = {actions.deadlines(received - dt.timedelta(seconds=s), case.risk)[0] for s in (0, 1)}
        assert case.first_contact_due in expected
        after_the_break = today + dt.timedelta(days=12)  # 3 working days after the 10 days off
        assert case.first_contact_due.date() >= after_the_break


def test_insert_many_falls_back_to_bulk_create_for_rows_with_a_key(cast):
    from fulian.cases.models import Party
    from fulian.lib import lean

    case = make_case(cast.users.a_caseworker, cast.town_a)
    assert lean.insert_many([]) == []
    taken = Party.objects.filter(case=case).order_by("pk").last().pk
    rows = [
        Party(case=case, role="caller", name="赵六"),
        Party(pk=taken + 1000, case=case, role="perpetrator"),
    ]
    lean.insert_many(rows)
    assert [p.pk for p in rows][1] == taken + 1000
    assert Party.objects.get(pk=rows[0].pk).name.reveal() == "赵六"
