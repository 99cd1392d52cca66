"""Referrals (转办/转介) with consent, transfers between units, overdue replies, escalation of overdue cases."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from fulian.audit.models import AuditEvent
from fulian.cases import actions, queries
from fulian.cases.models import Case, EntryKind, Referral, ReferralState, State
from fulian.notify.models import Notification

from .conftest import advance, make_case


def test_external_referral_needs_consent_or_a_leaders_reason(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a, consent_refer=False)
    advance(case, u.a_caseworker, "accepted")
    with pytest.raises(ValidationError) as exc:
        actions.refer_external(u.a_caseworker, case, agency="police", agency_name="甲镇派出所")
    assert "当事人未同意转介" in exc.value.message_dict["override_reason"][0]
    with pytest.raises(PermissionDenied):
        actions.refer_external(u.a_caseworker, case, agency="police", override_reason="有生命危险")
    with pytest.raises(ValidationError):
        actions.record_action(u.a_caseworker, case, kind="legal_aid", text="转法律援助")
    referral = actions.refer_external(
        u.a_leader, case, agency="police", agency_name="甲镇派出所", override_reason="对方持刀,有生命危险"
    )
    assert referral.consent_override_reason == "对方持刀,有生命危险"
    event = AuditEvent.objects.get(action="cases.case.refer")
    assert event.detail["consent_override"] == "对方持刀,有生命危险"
    assert case.timeline.filter(kind=EntryKind.REFERRAL).count() == 1


def test_external_referral_reply_and_overdue_flag(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    advance(case, u.a_caseworker, "accepted", "in_progress")
    today = timezone.localdate()
    with pytest.raises(ValidationError):
        actions.refer_external(
            u.a_caseworker,
            case,
            agency="legal_aid",
            sent_on=today,
            expected_reply_on=today - dt.timedelta(days=1),
        )
    referral = actions.refer_external(
        u.a_caseworker,
        case,
        agency="legal_aid",
        agency_name="县法律援助中心",
        sent_on=today - dt.timedelta(days=10),
        expected_reply_on=today - dt.timedelta(days=1),
        note="申请法律援助,代理离婚诉讼",
    )
    assert referral.reply_overdue(today)
    actions.record_reply(u.a_caseworker, referral, replied_on=today, reply="已指派律师")
    referral.refresh_from_db()
    assert referral.state == ReferralState.REPLIED and not referral.reply_overdue(today)
    assert referral.reply.reveal() == "已指派律师"
    with pytest.raises(ValidationError):
        actions.record_reply(u.a_caseworker, referral, reply="再答复一次")


def test_transfer_sideways_revoke_reject_accept(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    advance(case, u.a_caseworker, "accepted")
    assert cast.town_b in list(queries.transfer_targets(case))

    def b_sees():
        return queries.visible_cases(u.b_caseworker).filter(pk=case.pk).exists()

    assert not b_sees()
    referral = actions.transfer(u.a_caseworker, case, to_unit=cast.town_b, note="当事人已搬到乙镇娘家")
    assert b_sees() and queries.sees_content(u.b_caseworker, case)
    assert not queries.visible_cases(u.b_staff).filter(pk=case.pk).exists()
    assert Notification.objects.filter(user=u.b_caseworker, kind="cases.transfer").exists()
    with pytest.raises(ValidationError):
        actions.transfer(u.a_caseworker, case, to_unit=cast.town_b)  # one pending transfer at a time
    with pytest.raises(PermissionDenied):
        actions.accept_transfer(u.a_caseworker, referral)  # the receiver decides, not the sender
    actions.revoke_transfer(u.a_caseworker, referral)
    assert not b_sees()
    with pytest.raises(ValidationError):
        actions.accept_transfer(u.b_caseworker, referral)
    referral = actions.transfer(u.a_caseworker, case, to_unit=cast.town_b)
    with pytest.raises(ValidationError):
        actions.reject_transfer(u.b_caseworker, referral, reason="")
    actions.reject_transfer(u.b_caseworker, referral, reason="当事人户籍不在本镇")
    assert Case.objects.get(pk=case.pk).org_unit == cast.town_a and not b_sees()
    referral = actions.transfer(u.a_caseworker, case, to_unit=cast.town_b)
    case = actions.accept_transfer(u.b_caseworker, referral)
    assert (case.org_unit, case.state) == (cast.town_b, State.ASSIGNED)
    assert b_sees()
    assert not queries.visible_cases(u.a_caseworker).filter(pk=case.pk).exists()
    assert queries.visible_cases(u.county_caseworker).filter(pk=case.pk).exists()
    assert case.number.startswith("WQ-A-")


def test_transfer_through_the_pages(cast, login):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    advance(case, u.a_caseworker, "accepted")
    client = login(u.a_caseworker)
    response = client.post(f"/cases/{case.pk}/do/transfer/", {"to_unit": cast.town_b.pk, "note": "搬家"})
    assert response.status_code == 302
    referral = Referral.objects.get()
    client = login(u.b_caseworker)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "incoming-transfer" in html and "丈夫经常喝酒" in html
    response = client.post(f"/cases/{case.pk}/do/transfer_accept/", {"referral": referral.pk})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).org_unit == cast.town_b
    # the other township's staff still sees nothing
    assert login(u.b_staff).get(f"/cases/{case.pk}/").status_code == 404


def test_overdue_cases_escalate_once_to_the_level_above(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.village_a1, sub="divorce", account="离婚纠纷")
    fresh = make_case(u.a_caseworker, cast.village_a1, sub="divorce", account="离婚纠纷")
    Case.objects.filter(pk=case.pk).update(first_contact_due=timezone.now() - dt.timedelta(hours=2))
    out = io.StringIO()
    call_command("escalate_cases", stdout=out)
    assert "新上报案件 1 件" in out.getvalue()
    notified = set(Notification.objects.filter(kind="cases.overdue").values_list("user__username", flat=True))
    assert notified == {"a_caseworker", "a_leader"}  # the village's parent: township A
    case.refresh_from_db()
    assert case.escalated_at is not None
    assert case.timeline.filter(kind=EntryKind.ESCALATION).count() == 1
    assert actions.escalate_overdue() == 0
    escalated = queries.cases_of(u.a_leader, queries.CaseFilter(escalated=True))
    assert [c.pk for c in escalated] == [case.pk]
    assert Case.objects.get(pk=fresh.pk).escalated_at is None


def test_merge_duplicates_keeps_both_timelines(cast, login):
    u = cast.users
    keep = make_case(u.a_caseworker, cast.town_a)
    dup = make_case(u.county_hotline, cast.town_a)  # the same woman called the hotline too
    assert [c.pk for c in queries.related_cases(u.a_caseworker, keep)] == [dup.pk]
    client = login(u.a_caseworker)
    assert f'name="duplicate" value="{dup.pk}"' in client.get(f"/cases/{keep.pk}/").content.decode()
    response = client.post(f"/cases/{keep.pk}/do/merge/", {"duplicate": dup.pk, "reason": ""})
    assert response.status_code == 400
    response = client.post(
        f"/cases/{keep.pk}/do/merge/", {"duplicate": dup.pk, "reason": "同一当事人重复来电"}
    )
    assert response.status_code == 302
    dup.refresh_from_db()
    assert (dup.state, dup.merged_into_id) == (State.ARCHIVED, keep.pk)
    assert dup.timeline.filter(kind=EntryKind.INTAKE).count() == 1  # its own history kept
    assert keep.timeline.filter(kind=EntryKind.MERGE).get().data["merged"] == dup.pk
    with pytest.raises(ValidationError):
        actions.merge_cases(u.a_caseworker, keep=keep, duplicate=dup, reason="再合并一次")
    other = make_case(u.b_caseworker, cast.town_b)
    with pytest.raises(PermissionDenied):
        actions.merge_cases(u.a_caseworker, keep=keep, duplicate=other, reason="不在本镇")


def test_retention_archives_old_finished_cases_and_deletes_nothing(cast):
    u = cast.users
    old = make_case(u.a_caseworker, cast.town_a)
    advance(old, u.a_caseworker, "accepted", "in_progress", "closure_requested")
    advance(old, u.a_leader, "closed")
    recent = make_case(u.a_caseworker, cast.town_a)
    advance(recent, u.a_caseworker, "accepted", "in_progress", "closure_requested")
    advance(recent, u.a_leader, "closed")
    open_case = make_case(u.a_caseworker, cast.town_a)
    Case.objects.filter(pk__in=[old.pk, open_case.pk]).update(
        closed_at=timezone.now() - dt.timedelta(days=200), updated_at=timezone.now() - dt.timedelta(days=200)
    )
    Case.objects.filter(pk=open_case.pk).update(closed_at=None)
    out = io.StringIO()
    call_command("archive_cases", stdout=out)
    assert "归档案件 1 件" in out.getvalue()
    states = dict(Case.objects.values_list("pk", "state"))
    assert states == {old.pk: State.ARCHIVED, recent.pk: State.CLOSED, open_case.pk: State.REGISTERED}
    assert Case.objects.count() == 3


def test_red_families_get_scheduled_visits(cast):
    u = cast.users
    case = make_case(u.a_caseworker, cast.town_a)
    advance(case, u.a_caseworker, "accepted")
    with pytest.raises(ValidationError):
        actions.set_family_tag(u.a_caseworker, case, tag="purple", expected_version=case.version)
    actions.set_family_tag(u.a_caseworker, case, tag="red", expected_version=case.version)
    today = timezone.localdate()
    assert case.next_visit_due == today + dt.timedelta(days=30)
    Case.objects.filter(pk=case.pk).update(next_visit_due=today - dt.timedelta(days=1))
    due = queries.cases_of(u.a_caseworker, queries.CaseFilter(visit_due=True))
    assert [c.pk for c in due] == [case.pk]
    case.refresh_from_db()
    actions.record_action(u.a_caseworker, case, kind="visit", text="入户走访,情况稳定", occurred_on=today)
    assert Case.objects.get(pk=case.pk).next_visit_due == today + dt.timedelta(days=30)
    assert not queries.cases_of(u.a_caseworker, queries.CaseFilter(visit_due=True)).exists()
    case.refresh_from_db()
    actions.set_family_tag(u.a_caseworker, case, tag="yellow", expected_version=case.version)
    assert Case.objects.get(pk=case.pk).next_visit_due is None
