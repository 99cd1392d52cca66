"""Export: leaders only, with a reason, one download through an expiring link, a password-protected file shown
masked unless identities are revealed with a reason of their own; audited; scoped."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import msoffcrypto
import pytest
from django.utils import timezone
from msoffcrypto.exceptions import InvalidKeyError
from openpyxl import load_workbook

from fulian.accounts.roles import ROLE_CAPS, Cap, Role
from fulian.audit.models import AuditEvent
from fulian.cases import actions
from fulian.cases.models import CaseExport, CaseView

PASSWORD = re.compile(r"<kbd[^>]*>([^<]+)</kbd>")


def request_export(client, **data):
    response = client.post("/cases/export/", {"state": "all", **data})
    match = PASSWORD.search(response.content.decode())
    return response, match.group(1) if match else None


def decrypt(content: bytes, password: str) -> bytes:
    office = msoffcrypto.OfficeFile(io.BytesIO(content))
    office.load_key(password=password, verify_password=True)
    out = io.BytesIO()
    office.decrypt(out)
    return out.getvalue()


def sheet_rows(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def test_leader_exports_masked_cases_once_in_a_password_protected_file(cast, login, cases):
    client = login(cast.users.a_leader)
    assert client.post("/cases/export/", {"reason": "", "state": "all"}).status_code == 400
    response, password = request_export(client, reason="季度分析")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    export = CaseExport.objects.get()
    assert export.token in response.content.decode()
    assert password == actions.export_password(export)
    assert len(password) == 12 and set(password) <= set(actions.EXPORT_PASSWORD_ALPHABET)
    assert not set("0O1Il") & set(actions.EXPORT_PASSWORD_ALPHABET)

    download = client.get(f"/cases/export/{export.token}/")
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    # without the password the file is no workbook at all
    assert not zipfile.is_zipfile(io.BytesIO(download.content))
    with pytest.raises(zipfile.BadZipFile):
        load_workbook(io.BytesIO(download.content))
    with pytest.raises(InvalidKeyError):
        decrypt(download.content, "WrongPass234")

    rows = sheet_rows(decrypt(download.content, password))
    assert rows[0][0] == "维权案件(导出原因:季度分析)"
    assert rows[1][8] == "当事人(脱敏)" and rows[1][9] == "电话(脱敏)"
    body = rows[2:]
    assert [r[0] for r in body] == [cases.a1.number]  # township A only: B's case is not in scope
    assert body[0][8] == "张*梅" and body[0][9] == "138****5678"
    text = str(rows)
    assert "张玉梅" not in text and "13812345678" not in text

    again = client.get(f"/cases/export/{export.token}/")
    assert again.status_code == 410 and "已经使用过" in again.content.decode()
    events = AuditEvent.objects.filter(action__startswith="cases.export")
    assert sorted(e.action for e in events) == ["cases.export.download", "cases.export.request"]
    assert not CaseView.objects.exists()


def test_password_is_stored_nowhere(cast, login, cases):
    client = login(cast.users.a_leader)
    _, password = request_export(client, reason="季度分析")
    export = CaseExport.objects.get()
    client.get(f"/cases/export/{export.token}/")
    export.refresh_from_db()
    assert export.downloaded_at is not None
    row = CaseExport.objects.filter(pk=export.pk).values().get()
    assert password not in json.dumps(row, default=str, ensure_ascii=False)
    events = list(AuditEvent.objects.all())
    assert events
    for event in events:
        assert password not in json.dumps(event.detail, ensure_ascii=False)
    # each export gets its own password
    _, second = request_export(client, reason="再导一次")
    assert second and second != password


def test_export_link_expires_and_belongs_to_its_requester(cast, login, cases):
    client = login(cast.users.a_leader)
    request_export(client, reason="季度分析")
    export = CaseExport.objects.get()
    assert login(cast.users.county_leader).get(f"/cases/export/{export.token}/").status_code == 404
    CaseExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = login(cast.users.a_leader).get(f"/cases/export/{export.token}/")
    assert response.status_code == 410 and "已过期" in response.content.decode()
    export.refresh_from_db()
    assert export.downloaded_at is None
    assert not AuditEvent.objects.filter(action="cases.export.download").exists()


def test_only_leaders_export(cast, login, cases):
    for username in ("a_caseworker", "a_staff", "a_sysadmin", "a_auditor", "county_hotline"):
        client = login(getattr(cast.users, username))
        assert client.get("/cases/export/").status_code == 403
        assert client.post("/cases/export/", {"reason": "看看"}).status_code == 403
    assert not CaseExport.objects.exists()


def test_leader_may_reveal_identities_with_a_reason_of_her_own(cast, login, cases):
    client = login(cast.users.a_leader)
    page = client.get("/cases/export/").content.decode()
    assert "含身份信息(需说明理由)" in page
    response, password = request_export(client, reason="移交公安", reveal="1", reveal_reason="")
    assert response.status_code == 400 and "查看身份信息的原因" in response.content.decode()
    assert password is None and not CaseExport.objects.exists()
    assert 'value="移交公安"' in response.content.decode()  # the form keeps what was typed

    response, password = request_export(client, reason="移交公安", reveal="1", reveal_reason="配合警方出警")
    assert response.status_code == 200 and "含当事人身份信息" in response.content.decode()
    export = CaseExport.objects.get()
    download = client.get(f"/cases/export/{export.token}/")
    rows = sheet_rows(decrypt(download.content, password))
    assert rows[0][0] == "维权案件(导出原因:移交公安;含身份信息,仅限工作使用)"
    assert rows[1][8] == "当事人" and rows[1][9] == "电话"
    assert [(r[0], r[8], r[9]) for r in rows[2:]] == [(cases.a1.number, "张玉梅", "13812345678")]
    assert list(CaseView.objects.values_list("case_id", "user_id", "reason")) == [
        (cases.a1.pk, cast.users.a_leader.pk, "配合警方出警")
    ]
    reveal = AuditEvent.objects.get(action="cases.export.reveal")
    assert reveal.detail == {"reason": "配合警方出警", "cases": [cases.a1.pk]}
    request_event = AuditEvent.objects.get(action="cases.export.request")
    assert request_event.detail["filters"]["reveal"] is True
    for event in AuditEvent.objects.all():
        text = json.dumps(event.detail, ensure_ascii=False)
        assert password not in text and "张玉梅" not in text and "13812345678" not in text


def test_reveal_needs_the_reveal_capability(cast, login, cases, monkeypatch):
    """No role today has export without reveal: take the capability from leaders to see the check work."""
    client = login(cast.users.a_leader)
    _, password = request_export(client, reason="移交公安", reveal="1", reveal_reason="配合警方出警")
    export = CaseExport.objects.get()
    monkeypatch.setitem(ROLE_CAPS, Role.LEADER, ROLE_CAPS[Role.LEADER] - {Cap.REVEAL_CASE_IDENTITY})

    assert "含身份信息" not in client.get("/cases/export/").content.decode()
    denied = client.post("/cases/export/", {"reason": "看看", "reveal": "1", "reveal_reason": "想看"})
    assert denied.status_code == 403 and CaseExport.objects.count() == 1

    # asked for while she could; downloaded after the capability went: masked, nothing revealed
    rows = sheet_rows(decrypt(client.get(f"/cases/export/{export.token}/").content, password))
    assert rows[1][8] == "当事人(脱敏)" and "含身份信息" not in rows[0][0]
    assert [(r[8], r[9]) for r in rows[2:]] == [("张*梅", "138****5678")]
    assert not CaseView.objects.exists()
    assert not AuditEvent.objects.filter(action="cases.export.reveal").exists()
