"""Case documents (文书/附件): checked uploads stored encrypted with the data key, read only through the case's
access check, every download audited, listed in the timeline, re-encrypted by the key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from fulian.audit.models import AuditEvent
from fulian.audit.testing import record_queries
from fulian.audit.verify import verify_chain
from fulian.cases import actions
from fulian.cases.models import CaseDocument, EntryKind, TimelineEntry
from fulian.files.actions import prepare_upload
from fulian.files.models import StoredFile
from fulian.files.tests import samples
from fulian.lib.crypto import generate_key, key_id_of_blob
from fulian.lib.sensitive import get_keyring, rotate_model

from .conftest import advance

SECRET_TEXT = "张玉梅 验伤报告:左臂多处淤青,丈夫王大军所为。".encode()
SECRET_NAME = "张玉梅验伤报告.txt"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def case(cast, cases):
    return advance(cases.a1, cast.users.a_caseworker, "accepted")


def _upload(client, case, name=SECRET_NAME, content=SECRET_TEXT, note="医院出具"):
    return client.post(
        f"/cases/{case.pk}/documents/", {"file": SimpleUploadedFile(name, content), "note": note}
    )


def _attach(cast, case, name=SECRET_NAME, content=SECRET_TEXT, note="医院出具") -> CaseDocument:
    actor = cast.users.a_caseworker
    prepared = prepare_upload(
        actor,
        SimpleUploadedFile(name, content),
        unit=case.org_unit,
        allowed=actions.DOCUMENT_KINDS,
        encrypted=True,
    )
    return actions.attach_document(actor, case, prepared=prepared, note=note)


def _disk_bytes(media_root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(media_root.rglob("*")) if p.is_file())


def _database_text() -> str:
    """What a dump of the rows concerned would show."""
    with connection.cursor() as cursor:
        out = []
        for table in ("files_storedfile", "cases_casedocument", "cases_timelineentry", "audit_auditevent"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            out.append(repr(cursor.fetchall()))
    return "\n".join(out)


def test_upload_is_encrypted_at_rest_and_listed_in_the_timeline(cast, login, case, _media_root):
    client = login(cast.users.a_caseworker)
    response = _upload(client, case)
    assert response.status_code == 302
    document = CaseDocument.objects.get(case=case)
    stored = document.file
    assert stored.encrypted and stored.original_name == "附件.txt"
    # the bytes on disk and the rows: no plaintext, no file name
    disk = _disk_bytes(_media_root)
    assert disk and SECRET_TEXT not in disk and "张玉梅".encode() not in disk
    assert key_id_of_blob(Path(stored.file.path).read_bytes()) == get_keyring().current.key_id
    dump = _database_text()
    for secret in ("张玉梅", "验伤", "医院出具", SECRET_NAME):
        assert secret not in dump
    entry = TimelineEntry.objects.get(case=case, kind=EntryKind.DOCUMENT)
    assert entry.data["document"] == document.pk
    event = AuditEvent.objects.get(action="cases.case.document")
    assert event.detail["document"] == document.pk and "name" not in event.detail
    assert not AuditEvent.objects.filter(action="files.upload").exists()  # one event, the case's
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert SECRET_NAME in page and f"/cases/{case.pk}/documents/{document.pk}/" in page
    assert verify_chain().ok


def test_download_decrypts_and_is_audited(cast, login, case):
    document = _attach(cast, case)
    for user in (cast.users.a_caseworker, cast.users.a_leader, cast.users.county_leader):
        response = login(user).get(f"/cases/{case.pk}/documents/{document.pk}/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == SECRET_TEXT
        assert (
            "attachment" in response["Content-Disposition"]
            and "filename*=UTF-8''" in response["Content-Disposition"]
        )
        assert response["Cache-Control"] == "no-store"
    events = AuditEvent.objects.filter(action="cases.document.download")
    assert sorted(events.values_list("actor_username", flat=True)) == [
        "a_caseworker",
        "a_leader",
        "county_leader",
    ]
    assert all(e.detail["case"] == case.pk for e in events)


@pytest.mark.parametrize(
    "username",
    ["a_staff", "a_sysadmin", "a_auditor", "b_caseworker", "b_leader", "county_staff", "county_hotline"],
)
def test_others_get_404_for_documents(cast, login, case, username):
    document = _attach(cast, case)
    client = login(getattr(cast.users, username))
    downloads = AuditEvent.objects.filter(action="cases.document.download").count()
    assert client.get(f"/cases/{case.pk}/documents/{document.pk}/").status_code == 404
    assert _upload(client, case).status_code == 404
    assert AuditEvent.objects.filter(action="cases.document.download").count() == downloads
    assert CaseDocument.objects.count() == 1 and StoredFile.objects.count() == 1
    assert AuditEvent.objects.filter(action="access.denied", actor_username=username).exists()


def test_document_of_another_case_is_404(cast, login, cases, case):
    document = _attach(cast, case)
    other = advance(cases.b, cast.users.b_caseworker, "accepted")
    client = login(cast.users.county_leader)  # sees both cases, but the document is not the other case's
    assert client.get(f"/cases/{other.pk}/documents/{document.pk}/").status_code == 404
    assert client.get(f"/cases/{case.pk}/documents/999999/").status_code == 404


def test_an_attachment_that_is_not_what_it_says_is_refused(cast, login, case):
    client = login(cast.users.a_caseworker)
    response = _upload(client, case, name="调解协议.pdf", content=samples.png(), note="协议")
    assert response.status_code == 400
    html = response.content.decode()
    assert "内容与扩展名不符" in html
    assert 'value="协议"' in html  # what was typed is kept
    assert not CaseDocument.objects.exists() and not StoredFile.objects.exists()
    refused = AuditEvent.objects.get(action="files.upload.refused")
    assert "name" not in refused.detail  # a survivor's file name stays out of the log
    response = _upload(client, case, name="run.exe", content=b"MZ\x90\x00")
    assert response.status_code == 400 and "不支持" in response.content.decode()
    assert not CaseDocument.objects.exists()


def test_bad_note_and_xss_file_name(cast, login, case):
    client = login(cast.users.a_caseworker)
    response = _upload(client, case, note="长" * 201)
    assert response.status_code == 400 and "不能超过200字" in response.content.decode()
    assert not CaseDocument.objects.exists()
    response = _upload(client, case, name="<img src=x onerror=alert(1)>.txt", note="<b>x</b>")
    assert response.status_code == 302
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "<img src=x onerror" not in html and "&lt;img src=x onerror=alert(1)&gt;.txt" in html
    assert "<b>x</b>" not in html


def test_no_upload_on_a_draft_or_without_a_file(cast, login, cases):
    draft = actions.intake_case(
        cast.users.a_caseworker,
        unit=cast.village_a1,
        draft=True,
        channel="hotline",
        category=cases.a1.category,
        parties=[{"role": "caller", "anonymous": True}],
    )
    client = login(cast.users.a_caseworker)
    response = _upload(client, draft)
    assert response.status_code == 400 and "不能上传文书" in response.content.decode()
    response = client.post(f"/cases/{cases.a1.pk}/documents/", {"note": "x"})
    assert response.status_code == 400 and "请选择要上传的文件" in response.content.decode()
    assert not CaseDocument.objects.exists()


def test_documents_cannot_be_changed_or_deleted(cast, case):
    from fulian.cases.models import AppendOnlyError

    document = _attach(cast, case)
    with pytest.raises(AppendOnlyError):
        document.delete()
    with pytest.raises(AppendOnlyError):
        CaseDocument.objects.filter(pk=document.pk).delete()


def test_key_rotation_reencrypts_documents(cast, login, case, settings, django_capture_on_commit_callbacks):
    document = _attach(cast, case, name="照片.png", content=samples.png())
    stored = document.file
    old_key = get_keyring().current.key_id
    old_paths = [Path(stored.file.path), Path(stored.thumbnail.path)]
    plain = prepare_upload(
        None, SimpleUploadedFile("照片.png", samples.png()), unit=case.org_unit, allowed=("image",)
    ).content
    settings.DATA_KEYS = [generate_key(), *django_settings.DATA_KEYS]
    new_key = get_keyring().current.key_id
    assert new_key != old_key
    with django_capture_on_commit_callbacks(execute=True):
        result = rotate_model(StoredFile)
    assert result.rows_rewritten == 1 and not result.failed_pks
    rotate_model(CaseDocument)
    stored.refresh_from_db()
    assert stored.secret_name.key_id == new_key
    for field in (stored.file, stored.thumbnail):
        assert key_id_of_blob(Path(field.path).read_bytes()) == new_key
    assert not any(p.exists() for p in old_paths)  # the old blobs are gone after the commit
    settings.DATA_KEYS = settings.DATA_KEYS[:1]  # the old key dropped: everything still opens
    response = login(cast.users.a_caseworker).get(f"/cases/{case.pk}/documents/{document.pk}/")
    assert b"".join(response.streaming_content) == plain
    assert rotate_model(StoredFile).rows_rewritten == 0  # resumable: nothing left


def test_detail_and_download_query_counts(cast, login, case, django_assert_num_queries):
    from .test_views import DETAIL_QUERIES

    client = login(cast.users.a_leader)
    _attach(cast, case)
    client.get(f"/cases/{case.pk}/")
    # the detail page: one more query (the documents of the timeline, with their files) once there is one
    with django_assert_num_queries(DETAIL_QUERIES + 1):
        client.get(f"/cases/{case.pk}/")
    for i in range(3):
        _attach(cast, case, note=f"第{i}份")
    with django_assert_num_queries(DETAIL_QUERIES + 1):
        client.get(f"/cases/{case.pk}/")
    document = CaseDocument.objects.first()
    # session, user, memberships, case, the document with its file, the audit event, session touch x3
    with django_assert_num_queries(8 + record_queries()):
        response = client.get(f"/cases/{case.pk}/documents/{document.pk}/")
    assert response.status_code == 200


def test_rotate_data_key_command_rekeys_encrypted_files_only(
    cast, case, settings, django_capture_on_commit_callbacks
):
    import io

    from django.core.management import call_command

    from fulian.files.actions import store_upload

    document = _attach(cast, case)
    plain_file = store_upload(
        cast.users.a_staff, SimpleUploadedFile("活动照片.png", samples.png()), unit=cast.town_a
    )
    plain_path, plain_bytes = plain_file.file.name, Path(plain_file.file.path).read_bytes()
    settings.DATA_KEYS = [generate_key(), *django_settings.DATA_KEYS]
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rotate_data_key", stdout=out)
    assert "所有数据均已使用当前密钥" in out.getvalue()
    document.file.refresh_from_db()
    blob = Path(document.file.file.path).read_bytes()
    assert key_id_of_blob(blob) == get_keyring().current.key_id
    assert get_keyring().decrypt_bytes(blob, "files.storedfile.blob") == SECRET_TEXT
    plain_file.refresh_from_db()
    assert plain_file.file.name == plain_path and Path(plain_file.file.path).read_bytes() == plain_bytes
