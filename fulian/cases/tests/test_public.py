"""Public help requests (anonymous allowed) and tracking by code + PIN: coarse status only, rate-limited."""

from __future__ import annotations

from django.test import Client

from fulian.cases import actions
from fulian.cases.models import Case, Channel, State
from fulian.throttle.models import Attempt

from .conftest import advance, category


def help_post(cast, **overrides):
    data = {
        "unit": cast.town_a.pk,
        "category": category("domestic_violence").pk,
        "affected_phone": "13812345678",
        "affected_safe_time": "晚上9点后",
        "account": "丈夫经常打我,我不敢回家。",
        "consent_store": "on",
        "consent_contact": "on",
    }
    data.update(overrides)
    return data


def test_anonymous_help_request_becomes_an_intake_and_can_be_tracked(cast, login):
    client = Client()
    response = client.post("/cases/help/", help_post(cast))
    assert response.status_code == 200
    code, pin = response.context["code"], response.context["pin"]
    case = Case.objects.get()
    assert (case.channel, case.org_unit, case.state, case.created_by) == (
        Channel.ONLINE,
        cast.town_a,
        State.REGISTERED,
        None,
    )
    assert case.tracking_code == code and pin not in case.tracking_pin_hash
    party = case.parties.get()
    assert party.anonymous and party.phone.reveal() == "13812345678"
    # the township caseworker sees it like any other intake
    assert login(cast.users.a_caseworker).get(f"/cases/{case.pk}/").status_code == 200
    # the person sees only a coarse status and the public reply
    response = Client().post("/cases/track/", {"code": code.lower(), "pin": pin})
    assert response.context["result"].status == "已收到"
    html = response.content.decode()
    assert "丈夫经常打我" not in html and "13812345678" not in html
    advance(case, cast.users.a_caseworker, "accepted", "in_progress")
    actions.set_public_reply(
        cast.users.a_caseworker,
        case,
        reply="已安排工作人员与您联系,请保持电话畅通。",
        expected_version=case.version,
    )
    result = Client().post("/cases/track/", {"code": code, "pin": pin}).context["result"]
    assert (result.status, result.reply) == ("处理中", "已安排工作人员与您联系,请保持电话畅通。")


def test_help_request_errors_keep_what_was_typed(cast):
    response = Client().post("/cases/help/", help_post(cast, consent_store="", affected_phone="12345"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "丈夫经常打我" in html
    assert Case.objects.count() == 0
    response = Client().post("/cases/help/", help_post(cast, affected_phone="12345"))
    assert response.status_code == 400 and "电话" in response.content.decode()
    assert Case.objects.count() == 0


def test_wrong_pins_are_rate_limited_and_look_like_wrong_codes(cast):
    _, code, pin = actions.public_help_request(
        unit=cast.town_a, ip="10.0.0.1", account="需要帮助", consent_store=True
    )
    client = Client()
    wrong_code = client.post("/cases/track/", {"code": "ZZZZZZZZZZ", "pin": "000000"})
    wrong_pin = client.post("/cases/track/", {"code": code, "pin": "000000" if pin != "000000" else "111111"})
    assert wrong_code.status_code == wrong_pin.status_code == 400
    assert "查询码或查询密码不正确" in wrong_pin.content.decode()
    for _ in range(4):
        client.post("/cases/track/", {"code": code, "pin": "999999" if pin != "999999" else "888888"})
    locked = client.post("/cases/track/", {"code": code, "pin": pin})  # even the right PIN, for an hour
    assert locked.status_code == 429 and "输错次数过多" in locked.content.decode()


def test_help_requests_per_address_are_limited(cast):
    client = Client()
    for _ in range(actions.HELP_PER_IP_PER_HOUR):
        assert client.post("/cases/help/", help_post(cast)).status_code == 200
    response = client.post("/cases/help/", help_post(cast))
    assert response.status_code == 429 and "12338" in response.content.decode()
    assert Case.objects.count() == actions.HELP_PER_IP_PER_HOUR
    # the refused request is not counted (the limit is reached, not exceeded, by the five that were sent)
    assert Attempt.objects.filter(kind="cases.help.ip").count() == actions.HELP_PER_IP_PER_HOUR
