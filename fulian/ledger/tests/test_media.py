"""Ledger photos: upload from a phone, cleaned and scoped; served only through access-checked views."""

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from fulian.audit.models import AuditEvent
from fulian.files.models import StoredFile
from fulian.files.tests import samples
from fulian.files.tests.samples import upload
from fulian.ledger import actions
from fulian.ledger.models import MAX_PHOTOS_PER_RECORD, LedgerPhoto

from .builders import activity, training


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def rec(cast):
    return activity(cast.village_a1, cast.users.a1_staff, people=40, title="三八节宣传活动")


def _photo(cast, rec, name="现场.jpg", caption=""):
    return actions.add_photo(cast.users.a1_staff, rec, upload(name, samples.jpeg_with_gps()), caption=caption)


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_staff_uploads_a_phone_photo_and_gps_is_gone(cast, rec, login):
    client = login(cast.users.a1_staff)
    response = client.post(
        reverse("ledger_media:photo_upload", args=[rec.pk]),
        {"photo": upload("IMG_2026.jpg", samples.jpeg_with_gps(), "image/jpeg"), "caption": "活动现场"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("ledger:record", args=[rec.pk]) + "#media"
    photo = LedgerPhoto.objects.get()
    assert photo.record == rec and photo.caption == "活动现场"
    assert photo.file.org_unit == cast.village_a1 and photo.file.uploaded_by == cast.users.a1_staff
    full = client.get(reverse("ledger_media:photo_full", args=[photo.pk]))
    assert full.status_code == 200 and full["Content-Type"] == "image/jpeg"
    assert full["X-Content-Type-Options"] == "nosniff"
    img = Image.open(io.BytesIO(_body(full)))
    assert not img.getexif().get_ifd(samples.GPS_IFD) and "exif" not in img.info
    assert AuditEvent.objects.filter(action="ledger.photo.add", object_id=str(photo.pk)).exists()


def test_htmx_upload_re_renders_the_block(cast, rec, login):
    client = login(cast.users.a1_staff)
    url = reverse("ledger_media:photo_upload", args=[rec.pk])
    response = client.post(url, {"photo": upload("a.png", samples.png())}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    photo = LedgerPhoto.objects.get()
    html = response.content.decode()
    assert 'id="media"' in html and reverse("ledger_media:photo_thumb", args=[photo.pk]) in html
    assert "照片已上传" in html and "1/9" in html

    bad = b"<html><script>alert(1)</script></html>"
    response = client.post(url, {"photo": upload("evil.jpg", bad)}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "内容与扩展名不符" in response.content.decode()
    assert LedgerPhoto.objects.count() == 1 and StoredFile.objects.count() == 1
    assert (
        AuditEvent.objects.filter(action="files.upload.refused").count() == 1
    )  # kept: checked before saving


def test_upload_without_a_file_says_so(cast, rec, login):
    client = login(cast.users.a1_staff)
    response = client.post(reverse("ledger_media:photo_upload", args=[rec.pk]), {}, HTTP_HX_REQUEST="true")
    assert "请先选择或拍摄一张照片" in response.content.decode()


def test_above_sees_the_photos_but_cannot_add_or_remove(cast, rec, login):
    photo = _photo(cast, rec)
    client = login(cast.users.a_staff)
    assert client.get(reverse("ledger_media:photo_thumb", args=[photo.pk])).status_code == 200
    response = client.post(
        reverse("ledger_media:photo_upload", args=[rec.pk]),
        {"photo": upload("b.jpg", samples.jpeg_with_gps())},
        HTTP_HX_REQUEST="true",
    )
    assert "只能由本单位的工作人员" in response.content.decode()
    response = client.post(reverse("ledger_media:photo_delete", args=[photo.pk]), HTTP_HX_REQUEST="true")
    assert "只能由本单位的工作人员" in response.content.decode()
    assert LedgerPhoto.objects.count() == 1 and StoredFile.objects.count() == 1


@pytest.mark.parametrize("who", ["b_staff", "b1_staff", "b_leader", "county_caseworker", "county_sysadmin"])
def test_another_township_gets_404_and_nothing_changes(cast, rec, login, who):
    photo = _photo(cast, rec)
    client = login(getattr(cast.users, who))
    for name in ("photo_thumb", "photo_full"):
        response = client.get(reverse(f"ledger_media:{name}", args=[photo.pk]))
        assert response.status_code == 404
        assert not hasattr(response, "streaming_content")
    assert client.post(reverse("ledger_media:photo_delete", args=[photo.pk])).status_code == 404
    assert client.get(reverse("ledger_media:media", args=[rec.pk])).status_code == 404
    response = client.post(
        reverse("ledger_media:photo_upload", args=[rec.pk]),
        {"photo": upload("x.jpg", samples.jpeg_with_gps())},
    )
    assert response.status_code == 404
    assert list(LedgerPhoto.objects.all()) == [photo] and StoredFile.objects.count() == 1
    assert (
        AuditEvent.objects.filter(action="access.denied", actor_id=getattr(cast.users, who).pk).count() == 5
    )


def test_anonymous_is_sent_to_sign_in_and_there_is_no_public_media_url(cast, rec, client, settings):
    photo = _photo(cast, rec)
    response = client.get(reverse("ledger_media:photo_full", args=[photo.pk]))
    assert response.status_code == 302 and "/accounts/" in response["Location"]
    assert client.get(settings.MEDIA_URL + photo.file.file.name).status_code == 404


def test_at_most_nine_photos(cast, rec):
    for i in range(MAX_PHOTOS_PER_RECORD):
        _photo(cast, rec, f"{i}.jpg")
    with pytest.raises(ValidationError) as exc:
        _photo(cast, rec, "10.jpg")
    assert "最多上传 9 张照片" in exc.value.messages[0]
    assert LedgerPhoto.objects.count() == MAX_PHOTOS_PER_RECORD == StoredFile.objects.count()


def test_caption_too_long_is_refused(cast, rec):
    with pytest.raises(ValidationError) as exc:
        _photo(cast, rec, caption="长" * 101)
    assert "不能超过100个字" in exc.value.message_dict["caption"][0]
    assert not StoredFile.objects.exists()


def test_remove_photo_deletes_the_file_after_commit(cast, rec, login, django_capture_on_commit_callbacks):
    photo = _photo(cast, rec)
    names = [photo.file.file.name, photo.file.thumbnail.name]
    assert all(default_storage.exists(n) for n in names)
    client = login(cast.users.a1_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ledger_media:photo_delete", args=[photo.pk]))
    assert response.status_code == 302
    assert not LedgerPhoto.objects.exists() and not StoredFile.objects.exists()
    assert not any(default_storage.exists(n) for n in names)
    assert AuditEvent.objects.filter(action="ledger.photo.remove").exists()


def test_locked_month_refuses_photos_from_staff(cast):
    old = training(cast.village_a1, None, day=dt.date.today().replace(day=1) - dt.timedelta(days=60))
    with pytest.raises(PermissionDenied) as exc:
        _photo(cast, old)
    assert "锁定" in str(exc.value)
    assert not StoredFile.objects.exists()


def _render_block(user, rec):
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("ledger/_record_media.html", {"record": rec}, request=request)


def test_block_costs_two_queries(cast, rec, django_assert_num_queries):
    for i in range(3):
        _photo(cast, rec, f"{i}.jpg", caption=f"照片{i}")
    actions.open_signin(cast.users.a1_staff, rec)
    user = cast.users.a1_staff
    _render_block(user, rec)  # memberships are loaded once per request by the page around the block
    with django_assert_num_queries(2):  # photos with their files; the sheet with its count
        html = _render_block(user, rec)
    assert html.count("<figure") == 3 and "照片2" in html and "<svg" in html


def test_block_of_a_service_record_costs_one_query(cast, django_assert_num_queries):
    from fulian.ledger.models import RecordKind

    service = actions.create_record(
        cast.users.a1_staff,
        org_unit=cast.village_a1,
        kind=RecordKind.SERVICE,
        category="咨询",
        title="法律咨询",
        date=dt.date.today(),
        beneficiaries=3,
    )
    _render_block(cast.users.a1_staff, service)
    with django_assert_num_queries(1):
        html = _render_block(cast.users.a1_staff, service)
    assert "活动签到" not in html and "拍照上传" in html


def test_media_partial_over_htmx_query_count(cast, rec, login, django_assert_num_queries):
    for i in range(3):
        _photo(cast, rec, f"{i}.jpg")
    client = login(cast.users.a_staff)
    url = reverse("ledger_media:media", args=[rec.pk])
    client.get(url, HTTP_HX_REQUEST="true")
    # session, user, memberships, the record, photos, the sheet with its count; then the session save
    # (SESSION_SAVE_EVERY_REQUEST: savepoint, update, release)
    with django_assert_num_queries(9):
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content.decode().count("<figure") == 3
    assert "拍照上传" not in response.content.decode()  # read-only above


def test_photos_of_a_deleted_record_are_pruned(cast, rec, django_capture_on_commit_callbacks):
    from django.core.management import call_command
    from django.utils import timezone

    photo = _photo(cast, rec)
    kept = _photo(cast, activity(cast.village_a1, cast.users.a1_staff, title="另一次活动"))
    blobs = [photo.file.file.name, photo.file.thumbnail.name]
    actions.delete_record(cast.users.a1_staff, rec)
    assert not LedgerPhoto.objects.filter(pk=photo.pk).exists()
    assert StoredFile.objects.count() == 2  # the file outlives its owner row …
    out = io.StringIO()
    call_command("prune_files", stdout=out)
    assert StoredFile.objects.count() == 2  # … for the grace period
    StoredFile.objects.update(created_at=timezone.now() - dt.timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("prune_files", stdout=out)
    assert "已删除 1 个" in out.getvalue()
    assert list(StoredFile.objects.all()) == [kept.file]
    assert not any(default_storage.exists(n) for n in blobs)
    assert default_storage.exists(kept.file.file.name)
