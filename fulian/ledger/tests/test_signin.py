"""Event sign-in (活动签到): a QR code and a short link, no account, one sign-in per phone, rate-limited."""

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fulian.audit.models import AuditEvent
from fulian.ledger import actions
from fulian.ledger.models import Attendance, RecordKind, SignInSheet
from fulian.lib.sensitive import index_lookup
from fulian.throttle.limits import key_hash
from fulian.throttle.models import Attempt

from .builders import activity, training

PHONE = "13812345678"


@pytest.fixture
def rec(cast):
    return activity(cast.village_a1, cast.users.a1_staff, people=40, title="三八节宣传活动")


@pytest.fixture
def sheet(cast, rec):
    return actions.open_signin(cast.users.a1_staff, rec, hours=4)


def _url(sheet):
    return reverse("signin:sheet", args=[sheet.code])


def _sign(client, sheet, name="王秀兰", phone=PHONE, ip="10.0.0.1"):
    return client.post(_url(sheet), {"name": name, "phone": phone}, REMOTE_ADDR=ip)


def test_open_sheet_gives_a_long_random_code_and_a_qr_code(cast, rec, login):
    client = login(cast.users.a1_staff)
    response = client.post(reverse("ledger_media:signin_open", args=[rec.pk]), {"hours": "8"})
    assert response.status_code == 302
    sheet = SignInSheet.objects.get(record=rec)
    assert len(sheet.code) >= 32 and sheet.active
    assert sheet.closes_at - sheet.opens_at == dt.timedelta(hours=8)
    html = client.get(reverse("ledger_media:media", args=[rec.pk])).content.decode()
    assert "<svg" in html and f"http://testserver/s/{sheet.code}" in html
    assert AuditEvent.objects.filter(action="ledger.signin.open", object_id=str(sheet.pk)).exists()


def test_reopening_keeps_the_code(cast, rec, sheet):
    actions.close_signin(cast.users.a1_staff, sheet)
    again = actions.open_signin(cast.users.a1_staff, rec, hours=2)
    assert again.pk == sheet.pk and again.code == sheet.code and again.active


def test_only_activities_and_trainings_and_only_own_staff_open_a_sheet(cast, rec):
    service = actions.create_record(
        cast.users.a1_staff,
        org_unit=cast.village_a1,
        kind=RecordKind.SERVICE,
        category="咨询",
        title="法律咨询",
        date=dt.date.today(),
    )
    with pytest.raises(ValidationError, match="只有活动和培训"):
        actions.open_signin(cast.users.a1_staff, service)
    with pytest.raises(ValidationError):
        actions.open_signin(cast.users.a1_staff, rec, hours=1000)
    with pytest.raises(PermissionDenied):
        actions.open_signin(cast.users.a_staff, rec)
    assert actions.open_signin(cast.users.a1_staff, training(cast.village_a1, cast.users.a1_staff)).active
    assert SignInSheet.objects.count() == 1


def test_participant_signs_in_without_an_account(cast, sheet, client):
    page = client.get(_url(sheet))
    assert page.status_code == 200
    assert "三八节宣传活动" in page.content.decode() and 'name="phone"' in page.content.decode()
    response = _sign(client, sheet)
    assert response.status_code == 200 and "签到成功" in response.content.decode()
    attendance = Attendance.objects.get()
    assert (attendance.name.reveal(), attendance.phone.reveal(), attendance.ip) == (
        "王秀兰",
        PHONE,
        "10.0.0.1",
    )
    event = AuditEvent.objects.get(action="ledger.signin.attend")
    assert (
        event.actor_id is None and event.org_unit_id == cast.village_a1.pk and PHONE not in str(event.detail)
    )


def test_the_same_phone_twice_says_already_signed_in(cast, sheet, client, login):
    _sign(client, sheet)
    again = _sign(client, sheet, name="王秀兰2", phone="+86 138-1234-5678")
    assert "您已签到" in again.content.decode()
    assert "王秀兰" not in again.content.decode()  # who owns a number is not told to whoever types it
    assert Attendance.objects.count() == 1 and Attendance.objects.get().name.reveal() == "王秀兰"
    # read as every other form of the product reads a mobile number (fulian.lib.idcard): 0086 too
    assert "您已签到" in _sign(client, sheet, name="王秀兰3", phone="0086-138-1234-5678").content.decode()
    assert Attendance.objects.count() == 1
    _sign(client, sheet, name="李梅", phone="１３９００００１１１１")  # full-width digits from a Chinese IME
    assert Attendance.objects.filter(index_lookup(Attendance, "phone_index", "13900001111")).exists()
    block = login(cast.users.a1_staff).get(reverse("ledger_media:media", args=[sheet.record_id]))
    assert "签到人数 <strong>2</strong> 人 · 填报参加人数 <strong>40</strong> 人" in block.content.decode()


def test_the_database_refuses_a_duplicate_phone(sheet):
    Attendance.objects.create(sheet=sheet, name="甲", phone=PHONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.create(sheet=sheet, name="乙", phone=PHONE)


def test_names_and_phones_are_encrypted_at_rest(cast, sheet, client):
    _sign(client, sheet)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone, phone_index FROM ledger_attendance")
        (row,) = cursor.fetchall()
    dump = " ".join(str(v) for v in row)
    assert "王秀兰" not in dump and PHONE not in dump and PHONE[-4:] not in dump
    assert row[0].startswith("v1:") and row[1].startswith("v1:") and len(row[2]) == 32


@pytest.mark.parametrize(
    ("name", "phone", "field", "message"),
    [
        ("", PHONE, "name", "请填写姓名"),
        ("王" * 31, PHONE, "name", "不能超过30个字"),
        ("王秀兰", "", "phone", "请填写手机号"),
        ("王秀兰", "1381234567", "phone", "11位手机号"),
        ("王秀兰", "12812345678", "phone", "11位手机号"),
        ("王秀兰", "1381234567a", "phone", "11位手机号"),
    ],
)
def test_bad_input_gets_a_chinese_error_and_keeps_what_was_typed(sheet, client, name, phone, field, message):
    response = _sign(client, sheet, name=name, phone=phone)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    if phone:
        assert f'value="{phone}"' in html
    assert not Attendance.objects.exists()


def test_rate_limit_per_sheet_and_ip(cast, sheet, client, settings):
    settings.LEDGER_SIGNIN_RATE_PER_MINUTE = 3
    for i in range(3):
        assert _sign(client, sheet, phone=f"1380000000{i}").status_code == 200
    refused = _sign(client, sheet, phone="13800000009")
    assert refused.status_code == 429 and "签到过于频繁,请稍候一分钟再试" in refused.content.decode()
    assert Attendance.objects.count() == 3
    # attempts live in the database, so every app process counts them
    assert (
        Attempt.objects.filter(
            kind="ledger.signin", key=key_hash("ledger.signin", f"{sheet.pk}:10.0.0.1")
        ).count()
        == 4
    )
    assert (
        _sign(client, sheet, phone="13800000009", ip="10.0.0.2").status_code == 200
    )  # another phone/network
    # a minute later the same network may sign in again
    Attempt.objects.update(created_at=timezone.now() - dt.timedelta(seconds=61))
    assert _sign(client, sheet, phone="13800000008").status_code == 200
    assert Attendance.objects.count() == 5


def test_closed_and_expired_sheets_refuse(cast, sheet, client):
    actions.close_signin(cast.users.a1_staff, sheet)
    assert "签到已经结束" in client.get(_url(sheet)).content.decode()
    response = _sign(client, sheet)
    assert response.status_code == 400 and "签到已经结束" in response.content.decode()
    assert 'name="phone"' not in response.content.decode()

    actions.open_signin(cast.users.a1_staff, sheet.record)
    SignInSheet.objects.filter(pk=sheet.pk).update(
        opens_at=timezone.now() - dt.timedelta(hours=5), closes_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert "签到已经结束" in _sign(client, sheet).content.decode()
    assert not Attendance.objects.exists()


def test_unknown_code_is_404(client, sheet):
    assert client.get(reverse("signin:sheet", args=["x" * 32])).status_code == 404


def test_html_is_escaped_everywhere(cast, client, login):
    payload = "<script>alert(1)</script>"
    rec = activity(cast.village_a1, cast.users.a1_staff, title=f"活动{payload}")
    sheet = actions.open_signin(cast.users.a1_staff, rec)
    page = client.get(_url(sheet)).content.decode()
    assert payload not in page and "活动&lt;script&gt;alert(1)&lt;/script&gt;" in page
    response = _sign(client, sheet, name=payload)
    assert payload not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()
    staff = login(cast.users.a1_staff)
    listing = staff.get(reverse("ledger_media:attendance", args=[rec.pk])).content.decode()
    assert payload not in listing and "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    bad_phone = _sign(client, sheet, name="王", phone='"><img src=x onerror=alert(1)>').content.decode()
    assert "<img src=x" not in bad_phone


def test_attendance_list_masks_phones(cast, sheet, client, login, django_assert_num_queries):
    for i in range(5):
        _sign(client, sheet, name=f"参加者{i}", phone=f"1381234567{i}", ip=f"10.0.0.{i}")
    staff = login(cast.users.a_staff)
    url = reverse("ledger_media:attendance", args=[sheet.record_id])
    staff.get(url)
    # session, user, memberships, the record, the sheet with its count, the page count, the page,
    # breadcrumbs, the unread-notice badge of base.html; then the session save (savepoint, update, release)
    with django_assert_num_queries(12):
        response = staff.get(url)
    html = response.content.decode()
    assert "138****5670" in html and "13812345670" not in html
    assert "参**0" in html and "参加者0" not in html
    assert html.count("<tr>") == 6 and "签到 <strong>5</strong> 人" in html


def test_export_full_phones_only_for_those_who_may_edit(cast, sheet, client, login):
    _sign(client, sheet)
    own = login(cast.users.a1_staff).get(reverse("ledger_media:attendance_export", args=[sheet.record_id]))
    ws = load_workbook(io.BytesIO(own.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1] == ("序号", "姓名", "手机号", "签到时间")
    assert rows[2][:3] == (1, "王秀兰", PHONE)
    above = login(cast.users.a_staff).get(reverse("ledger_media:attendance_export", args=[sheet.record_id]))
    rows = list(load_workbook(io.BytesIO(above.content)).active.iter_rows(values_only=True))
    assert rows[2][:3] == (1, "王*兰", "138****5678")
    events = AuditEvent.objects.filter(action="ledger.signin.export").order_by("id")
    assert [(e.actor_id, e.detail["full_phones"]) for e in events] == [
        (cast.users.a1_staff.pk, True),
        (cast.users.a_staff.pk, False),
    ]


@pytest.mark.parametrize("who", ["b_staff", "b1_staff", "b_leader", "county_auditor"])
def test_another_township_gets_404_for_sheet_list_export_and_nothing_changes(cast, sheet, client, login, who):
    _sign(client, sheet)
    outsider = login(getattr(cast.users, who))
    record_id = sheet.record_id
    for name in ("attendance", "attendance_export", "signin_poster"):
        assert outsider.get(reverse(f"ledger_media:{name}", args=[record_id])).status_code == 404
    for name in ("signin_open", "signin_close"):
        assert (
            outsider.post(reverse(f"ledger_media:{name}", args=[record_id]), {"hours": "2"}).status_code
            == 404
        )
    sheet.refresh_from_db()
    assert sheet.active and Attendance.objects.count() == 1
    assert not AuditEvent.objects.filter(action="ledger.signin.export").exists()
    assert (
        AuditEvent.objects.filter(action="access.denied", actor_id=getattr(cast.users, who).pk).count() == 5
    )


def test_staff_closes_the_sheet_from_the_record_page(cast, sheet, login):
    response = login(cast.users.a1_staff).post(
        reverse("ledger_media:signin_close", args=[sheet.record_id]), HTTP_HX_REQUEST="true"
    )
    assert "签到已结束" in response.content.decode() and "重新开启签到" in response.content.decode()
    sheet.refresh_from_db()
    assert not sheet.active
    assert (
        login(cast.users.a_staff)
        .post(reverse("ledger_media:signin_open", args=[sheet.record_id]), HTTP_HX_REQUEST="true")
        .content.decode()
        .count("只能由本单位的工作人员")
        == 1
    )
    sheet.refresh_from_db()
    assert not sheet.active


def test_poster_prints_a_big_qr_code(cast, sheet, login):
    html = login(cast.users.a_staff).get(reverse("ledger_media:signin_poster", args=[sheet.record_id]))
    assert "<svg" in html.content.decode() and sheet.code in html.content.decode()
