"""Export: leaders only, with a reason, one download through an expiring link, masked, audited, scoped."""

from __future__ import annotations

import datetime as dt
import io

from django.utils import timezone
from openpyxl import load_workbook

from fulian.audit.models import AuditEvent
from fulian.cases.models import CaseExport


def test_leader_exports_masked_cases_once_with_a_reason(cast, login, cases):
    client = login(cast.users.a_leader)
    assert client.post("/cases/export/", {"reason": "", "state": "all"}).status_code == 400
    response = client.post("/cases/export/", {"reason": "季度分析", "state": "all"})
    export = CaseExport.objects.get()
    assert export.token in response.content.decode()
    download = client.get(f"/cases/export/{export.token}/")
    assert download.status_code == 200
    rows = list(load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "维权案件(导出原因:季度分析)"
    body = [r for r in rows[2:]]
    assert [r[0] for r in body] == [cases.a1.number]  # township A only: B's case is not in scope
    assert body[0][8] == "张*梅" and body[0][9] == "138****5678"
    text = str(rows)
    assert "张玉梅" not in text and "13812345678" not in text
    again = client.get(f"/cases/export/{export.token}/")
    assert again.status_code == 410 and "已经使用过" in again.content.decode()
    actions = list(
        AuditEvent.objects.filter(action__startswith="cases.export").values_list("action", flat=True)
    )
    assert sorted(actions) == ["cases.export.download", "cases.export.request"]


def test_export_link_expires_and_belongs_to_its_requester(cast, login, cases):
    client = login(cast.users.a_leader)
    client.post("/cases/export/", {"reason": "季度分析"})
    export = CaseExport.objects.get()
    assert login(cast.users.county_leader).get(f"/cases/export/{export.token}/").status_code == 404
    CaseExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = login(cast.users.a_leader).get(f"/cases/export/{export.token}/")
    assert response.status_code == 410 and "已过期" in response.content.decode()


def test_only_leaders_export(cast, login, cases):
    for username in ("a_caseworker", "a_staff", "a_sysadmin", "a_auditor", "county_hotline"):
        client = login(getattr(cast.users, username))
        assert client.get("/cases/export/").status_code == 403
        assert client.post("/cases/export/", {"reason": "看看"}).status_code == 403
    assert not CaseExport.objects.exists()
