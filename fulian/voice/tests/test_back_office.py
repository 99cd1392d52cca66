"""/voice/: the inbox, the detail and its actions, scope and query counts."""

import pytest
from django.urls import reverse

from fulian.audit.models import AuditEvent
from fulian.voice import actions
from fulian.voice.models import State, Suggestion

from .conftest import suggest

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail(cast):
    a1, _ = suggest(cast.village_a1, text="甲一村:希望开办家政培训班", ip="10.0.1.1")
    a, _ = suggest(cast.town_a, text="甲镇:妇女之家周末不开门", ip="10.0.1.2", contact_phone="13800003333")
    b1, _ = suggest(cast.village_b1, text="乙一村:希望增加法律讲座", ip="10.0.1.3")
    return a1, a, b1


def test_inbox_scope(cast, mail, login):
    html = login(cast.users.a_staff).get(reverse("voice:home")).content.decode()
    assert "甲一村:希望开办家政培训班" in html and "甲镇:妇女之家周末不开门" in html
    assert "乙一村" not in html
    html = login(cast.users.b_staff).get(reverse("voice:home")).content.decode()
    assert "乙一村:希望增加法律讲座" in html and "甲" not in html.split('id="suggestions"')[1]
    html = login(cast.users.county_leader).get(reverse("voice:home")).content.decode()
    assert all(t in html for t in ("甲一村:", "甲镇:", "乙一村:"))


def test_inbox_refused_without_work_scope(cast, login):
    assert login(cast.users.a_caseworker).get(reverse("voice:home")).status_code == 403
    assert login(cast.users.a_auditor).get(reverse("voice:home")).status_code == 403


def test_inbox_filters(cast, mail, login):
    a1, a, _ = mail
    actions.reply_suggestion(cast.users.a_staff, a, reply="已调整开放时间")
    client = login(cast.users.a_staff)
    html = client.get(reverse("voice:home"), {"state": "replied"}).content.decode()
    assert "甲镇:" in html and "甲一村:" not in html
    html = client.get(reverse("voice:home"), {"unit": cast.village_a1.pk}).content.decode()
    assert "甲一村:" in html and "甲镇:" not in html
    # a unit outside the scope as a filter: 404, nothing leaks
    assert client.get(reverse("voice:home"), {"unit": cast.village_b1.pk}).status_code == 404


def test_held_only_in_held_filter(cast, login):
    for i in range(actions.SUGGEST_PER_IP + 1):
        suggest(cast.town_a, ip="10.7.7.7", text=f"刷屏内容{i}")
    client = login(cast.users.a_staff)
    normal = client.get(reverse("voice:home")).content.decode()
    assert normal.count("刷屏内容") == actions.SUGGEST_PER_IP
    held = client.get(reverse("voice:home"), {"held": "1"}).content.decode()
    assert held.count("刷屏内容") == 1 and "待审核" in held


def test_inbox_query_count_does_not_grow(cast, mail, login, django_assert_num_queries):
    client = login(cast.users.county_staff)
    client.get(reverse("voice:home"))
    with django_assert_num_queries(11):
        assert client.get(reverse("voice:home")).status_code == 200
    for i in range(20):
        suggest(cast.village_a1, ip=f"10.5.0.{i}", text=f"更多意见{i}")
    with django_assert_num_queries(11):
        assert client.get(reverse("voice:home")).status_code == 200


def test_detail_scope_and_query_count(cast, mail, login, django_assert_num_queries):
    a1, a, b1 = mail
    client = login(cast.users.a_staff)
    with django_assert_num_queries(11):
        assert client.get(reverse("voice:suggestion", args=[a1.pk])).status_code == 200
    assert client.get(reverse("voice:suggestion", args=[b1.pk])).status_code == 404
    assert client.get(reverse("voice:suggestion", args=[999999])).status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", actor_id=cast.users.a_staff.pk).count() == 2


def test_detail_masks_contact_reveal_is_audited(cast, mail, login):
    _, a, _ = mail
    client = login(cast.users.a_staff)
    html = client.get(reverse("voice:suggestion", args=[a.pk])).content.decode()
    assert "13800003333" not in html and "138****3333" in html
    assert 'id="same-phone"' not in html
    suggest(cast.village_a1, ip="10.0.1.9", contact_phone="+86 138-0000-3333")
    suggest(cast.village_b1, ip="10.0.1.8", contact_phone="13800003333")  # outside A's scope: not counted
    html = client.get(reverse("voice:suggestion", args=[a.pk])).content.decode()
    assert "同一号码还提交过 1 条意见建议" in html
    html = client.post(reverse("voice:suggestion_do", args=[a.pk, "reveal"])).content.decode()
    assert "13800003333" in html
    assert AuditEvent.objects.filter(action="voice.suggestion.reveal", object_id=str(a.pk)).exists()


def test_neighbour_cannot_act(cast, mail, login):
    a1, _, _ = mail
    client = login(cast.users.b_staff)
    for verb in ("reply", "forward", "close", "spam", "problem", "reveal", "release"):
        response = client.post(reverse("voice:suggestion_do", args=[a1.pk, verb]), {"reply": "x"})
        assert response.status_code == 404
    a1.refresh_from_db()
    assert a1.state == State.NEW and a1.reply == "" and not a1.spam
    # a leader above sees but a village staff of A1 acting on the town's suggestion may not
    _, a, _ = mail
    response = login(cast.users.a1_staff).post(
        reverse("voice:suggestion_do", args=[a.pk, "reply"]), {"reply": "x"}
    )
    assert response.status_code == 404


def test_reply_via_view_and_error_keeps_form(cast, mail, login):
    a1, _, _ = mail
    client = login(cast.users.a1_staff)
    url = reverse("voice:suggestion_do", args=[a1.pk, "reply"])
    response = client.post(url, {"reply": ""})
    assert response.status_code == 400 and "请填写答复内容" in response.content.decode()
    response = client.post(url, {"reply": "已联系县妇联开班。"})
    assert response.status_code == 302
    a1.refresh_from_db()
    assert a1.state == State.REPLIED and a1.reply == "已联系县妇联开班。"


def test_forward_via_view(cast, mail, login):
    a1, _, _ = mail
    client = login(cast.users.a1_staff)
    url = reverse("voice:suggestion_do", args=[a1.pk, "forward"])
    response = client.post(url, {"to_unit": cast.village_b1.pk, "note": "x"})
    assert response.status_code == 400
    response = client.post(url, {"to_unit": cast.town_a.pk, "note": "请镇里协调"})
    assert response.status_code == 302 and response.url == reverse("voice:home")  # out of the village's sight
    a1.refresh_from_db()
    assert a1.unit == cast.town_a and a1.state == State.FORWARDED


def test_problem_via_view(cast, mail, login):
    from fulian.rectify.models import Problem

    _, a, _ = mail
    client = login(cast.users.a_staff)
    url = reverse("voice:suggestion_do", args=[a.pk, "problem"])
    response = client.post(url, {"title": "", "description": ""})
    assert response.status_code == 400
    assert Problem.objects.count() == 0
    response = client.post(url, {"title": "妇女之家周末不开放", "description": a.text, "category": "service"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.state == State.PROBLEM and a.problem.title == "妇女之家周末不开放"


def test_spam_and_release_via_view(cast, mail, login):
    a1, _, _ = mail
    client = login(cast.users.a_staff)
    client.post(reverse("voice:suggestion_do", args=[a1.pk, "spam"]))
    a1.refresh_from_db()
    assert a1.spam and a1.held and Suggestion.objects.filter(pk=a1.pk).exists()
    client.post(reverse("voice:suggestion_do", args=[a1.pk, "release"]))
    a1.refresh_from_db()
    assert not a1.spam and not a1.held


def test_get_on_action_refused(cast, mail, login):
    a1, _, _ = mail
    assert (
        login(cast.users.a_staff).get(reverse("voice:suggestion_do", args=[a1.pk, "close"])).status_code
        == 405
    )
