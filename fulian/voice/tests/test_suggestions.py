"""Suggestions through the actions: the public side (limits, holding, receipts) and the back office."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from fulian.audit.models import AuditEvent
from fulian.notify.models import Notification
from fulian.throttle.limits import RateLimited
from fulian.voice import actions
from fulian.voice.models import MAX_TEXT, State, Suggestion

from .conftest import suggest

pytestmark = pytest.mark.django_db


def test_submit_stores_contact_encrypted_and_receipt_hashed(cast):
    s, code = suggest(cast.village_a1, contact_name="张玉梅", contact_phone="138 0000 1111", category="help")
    assert len(code) == 16 and set(code) <= set(actions.RECEIPT_ALPHABET)
    assert actions.format_receipt(code).count("-") == 3
    s.refresh_from_db()
    assert s.unit == cast.village_a1 and s.state == State.NEW and not s.held
    assert s.contact_phone.reveal() == "13800001111"
    assert str(s.contact_phone) != "13800001111"  # masked by default
    with connection.cursor() as cur:
        cur.execute(
            "SELECT contact_name, contact_phone, receipt_hash FROM voice_suggestion WHERE id = %s", [s.pk]
        )
        name, phone, receipt = cur.fetchone()
    assert "张玉梅" not in name and "13800001111" not in phone
    assert code not in receipt and receipt == actions.receipt_hash(code)
    assert AuditEvent.objects.filter(action="voice.suggestion.submit", object_id=str(s.pk)).exists()


def test_unit_staff_notified_of_new_not_of_held(cast):
    s, _ = suggest(cast.town_a, ip="10.4.4.4")
    notes = Notification.objects.filter(kind="voice.new")
    assert set(notes.values_list("user__username", flat=True)) == {"a_leader", "a_staff"}
    assert notes.first().url == f"/voice/s/{s.pk}/"
    for i in range(actions.SUGGEST_PER_IP + 3):
        suggest(cast.town_a, ip="10.4.4.5", text=f"刷屏{i}")
    assert notes.count() == 2 * (1 + actions.SUGGEST_PER_IP)


def test_receipt_codes_are_distinct():
    codes = {actions.new_receipt_code() for _ in range(500)}
    assert len(codes) == 500


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"text": ""}, "text"),
        ({"text": "字" * (MAX_TEXT + 1)}, "text"),
        ({"category": "nonsense"}, "category"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"contact_name": "名" * 51}, "contact_name"),
    ],
)
def test_bad_input_chinese_error_nothing_saved(cast, kw, field):
    with pytest.raises(ValidationError) as exc:
        suggest(cast.village_a1, **kw)
    assert field in exc.value.message_dict
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message_dict[field][0])
    assert Suggestion.objects.count() == 0


def test_exactly_max_text_is_accepted(cast):
    s, _ = suggest(cast.village_a1, text="字" * MAX_TEXT)
    assert len(s.text) == MAX_TEXT


def test_burst_of_1000_from_one_ip_all_kept_held_after_threshold(cast):
    results = [suggest(cast.town_a, text=f"第{i}条:同样的内容", ip="203.0.113.9")[0] for i in range(1000)]
    assert Suggestion.objects.count() == 1000
    held = [s.held for s in results]
    assert held[: actions.SUGGEST_PER_IP] == [False] * actions.SUGGEST_PER_IP
    assert all(held[actions.SUGGEST_PER_IP :])
    assert Suggestion.objects.filter(held=True).count() == 1000 - actions.SUGGEST_PER_IP
    assert "10分钟内提交超过5条" in results[-1].held_reason
    # another address is not affected
    assert suggest(cast.town_a, ip="203.0.113.10")[0].held is False


def test_per_phone_limit_holds(cast):
    flags = [suggest(cast.town_a, contact_phone="13900002222", ip=f"10.1.0.{i}")[0].held for i in range(5)]
    assert flags == [False, False, False, True, True]
    held = Suggestion.objects.filter(held=True).first()
    assert "同一手机号" in held.held_reason


def test_receipt_lookup(cast):
    s, code = suggest(cast.village_a1)
    assert actions.receipt_lookup(code, ip="1.1.1.1") == s
    assert actions.receipt_lookup(actions.format_receipt(code).lower(), ip="1.1.1.1") == s
    assert actions.receipt_lookup("ABCD", ip="1.1.1.1") is None
    assert actions.receipt_lookup(actions.new_receipt_code(), ip="1.1.1.1") is None


def test_receipt_guessing_is_rate_limited(cast):
    _, code = suggest(cast.village_a1)
    for _ in range(actions.RECEIPT_PER_IP):
        assert actions.receipt_lookup(actions.new_receipt_code(), ip="198.51.100.7") is None
    with pytest.raises(RateLimited):
        actions.receipt_lookup(code, ip="198.51.100.7")  # even the right code: the address is over
    assert actions.receipt_lookup(code, ip="198.51.100.8") is not None


def test_reply_forward_close(cast):
    s, _ = suggest(cast.village_a1)
    s = actions.reply_suggestion(cast.users.a_staff, s, reply="已安排村委会安装路灯。")
    assert s.state == State.REPLIED and s.replied_by == cast.users.a_staff and s.replied_at
    with pytest.raises(ValidationError):
        actions.reply_suggestion(cast.users.a_staff, s, reply="  ")
    s2, _ = suggest(cast.village_a1, ip="10.9.9.9")
    s2 = actions.forward_suggestion(cast.users.a1_staff, s2, to_unit=cast.town_a, note="需要镇里协调")
    assert s2.unit == cast.town_a and s2.state == State.FORWARDED
    f = s2.forwards.get()
    assert (f.from_unit, f.to_unit, f.note) == (cast.village_a1, cast.town_a, "需要镇里协调")
    assert Notification.objects.filter(user=cast.users.a_staff, kind="voice.forwarded").exists()
    assert not Notification.objects.filter(user=cast.users.b_staff).exists()
    # forward down again: a child of the current unit
    s2 = actions.forward_suggestion(cast.users.a_staff, s2, to_unit=cast.village_a2)
    assert s2.unit == cast.village_a2
    # never sideways
    with pytest.raises(ValidationError) as exc:
        actions.forward_suggestion(cast.users.a_staff, s2, to_unit=cast.village_a1)
    assert "上级单位或直属下级单位" in str(exc.value)
    s2 = actions.close_suggestion(cast.users.a_staff, s2)
    assert s2.state == State.CLOSED


def test_back_office_actions_check_scope(cast):
    s, _ = suggest(cast.village_a1)
    for call in (
        lambda u: actions.reply_suggestion(u, s, reply="答复"),
        lambda u: actions.forward_suggestion(u, s, to_unit=cast.town_a),
        lambda u: actions.close_suggestion(u, s),
        lambda u: actions.mark_spam(u, s),
    ):
        for outsider in (cast.users.b_staff, cast.users.a_caseworker, cast.users.a_auditor):
            with pytest.raises(PermissionDenied):
                call(outsider)
    s.refresh_from_db()
    assert s.state == State.NEW and not s.spam and s.reply == ""


def test_held_must_be_released_before_handling_and_spam_is_kept(cast):
    for i in range(actions.SUGGEST_PER_IP + 2):
        s, _ = suggest(cast.town_a, ip="10.2.2.2", text=f"广告{i}")
    assert s.held
    with pytest.raises(ValidationError):
        actions.reply_suggestion(cast.users.a_staff, s, reply="好的")
    s = actions.mark_spam(cast.users.a_staff, s)
    assert s.spam and s.held
    assert Suggestion.objects.filter(pk=s.pk).exists()  # kept, not deleted
    s = actions.release_suggestion(cast.users.a_staff, s)
    assert not s.held and not s.spam
    s = actions.reply_suggestion(cast.users.a_staff, s, reply="收到")
    assert s.state == State.REPLIED


def test_turn_into_problem(cast):
    from fulian.rectify.models import Problem

    s, _ = suggest(cast.village_a1, category="complaint", text="妇女之家经常锁门,去了没人。")
    s = actions.suggestion_to_problem(
        cast.users.a1_staff, s, title="妇女之家开放时间不固定", description=s.text, category="service"
    )
    assert s.state == State.PROBLEM
    p = Problem.objects.get(pk=s.problem_id)
    assert p.unit == cast.village_a1 and p.source == "suggestion" and p.title == "妇女之家开放时间不固定"
    with pytest.raises(ValidationError):
        actions.suggestion_to_problem(cast.users.a1_staff, s, title="再来一次", description="x")
    # a reply after the problem keeps the state (the receipt shows both)
    s = actions.reply_suggestion(cast.users.a1_staff, s, reply="已列入整改,每周二、四下午开放。")
    assert s.state == State.PROBLEM
    with pytest.raises(PermissionDenied):
        actions.suggestion_to_problem(
            cast.users.b_staff, suggest(cast.village_a1, ip="9.9.9.9")[0], title="t", description="d"
        )


def test_problem_bad_input_leaves_suggestion_untouched(cast):
    s, _ = suggest(cast.village_a1)
    with pytest.raises(ValidationError):
        actions.suggestion_to_problem(cast.users.a1_staff, s, title="", description="")
    s.refresh_from_db()
    assert s.state == State.NEW and s.problem_id is None


def test_closed_unit_refuses(cast):
    unit = cast.village_a1
    unit.closed_on = dt.date(2020, 1, 2)
    unit.opened_on = dt.date(2000, 1, 1)
    unit.save()
    with pytest.raises(ValidationError):
        suggest(unit)
