"""Files on tasks and submissions (checked by fulian.files), served only inside the scope."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from fulian.files.models import StoredFile
from fulian.files.tests.samples import jpeg_with_gps, upload
from fulian.supervision.models import Attachment, Status, Task

from .conftest import assignment_of, sanba_task
from .test_flow import good_values
from .test_views import post_submission

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_township_submits_with_files_and_only_the_scope_can_open_them(cast, task, login):
    a = assignment_of(task, cast.town_a)
    client = login(cast.users.a_staff)
    data = {f"v_{k}": v for k, v in good_values(a).items()}
    data.update(
        text="附活动照片和总结。",
        op="submit",
        version=a.version,
        files=[
            upload("活动照片.jpg", jpeg_with_gps(), "image/jpeg"),
            upload("总结.pdf", PDF, "application/pdf"),
        ],
    )
    assert client.post(f"/tasks/a/{a.pk}/", data).status_code == 302
    a.refresh_from_db()
    assert a.status == Status.SUBMITTED
    files = list(Attachment.objects.filter(assignment=a).select_related("file"))
    assert sorted(f.file.original_name for f in files) == ["总结.pdf", "活动照片.jpg"]
    assert all(f.file.org_unit == cast.town_a for f in files)
    photo = next(f for f in files if f.file.is_image)
    assert login(cast.users.county_staff).get(f"/tasks/files/{photo.pk}/").status_code == 200
    assert login(cast.users.b_staff).get(f"/tasks/files/{photo.pk}/").status_code == 404
    # a submitted file cannot be taken back
    client = login(cast.users.a_staff)
    client.post(f"/tasks/files/{photo.pk}/remove/")
    assert Attachment.objects.filter(pk=photo.pk).exists()


def test_a_disguised_file_is_refused_and_nothing_is_saved(cast, task, login):
    a = assignment_of(task, cast.town_a)
    client = login(cast.users.a_staff)
    data = {f"v_{k}": v for k, v in good_values(a).items()}
    data.update(
        text="说明", op="submit", version=a.version, files=[upload("总结.pdf", b"MZ\x90\x00not a pdf")]
    )
    response = client.post(f"/tasks/a/{a.pk}/", data)
    assert response.status_code == 400 and "总结.pdf" in response.content.decode()
    a.refresh_from_db()
    assert a.status == Status.PENDING and not StoredFile.objects.exists()


def test_a_task_that_requires_files(cast, ledger, login):
    task = sanba_task(cast, require_files=True)
    a = assignment_of(task, cast.town_a)
    response = post_submission(login(cast.users.a_staff), a, good_values(a))
    assert "请上传附件" in response.content.decode()
    a.refresh_from_db()
    assert a.status == Status.PENDING


def test_draft_files_can_be_removed(cast, task, login):
    a = assignment_of(task, cast.town_a)
    client = login(cast.users.a_staff)
    data = {
        "op": "draft",
        "version": a.version,
        "text": "",
        "files": [upload("名单.txt", "张三\n李四\n".encode())],
    }
    assert client.post(f"/tasks/a/{a.pk}/", data).status_code == 302
    att = Attachment.objects.get(assignment=a)
    assert login(cast.users.b_staff).post(f"/tasks/files/{att.pk}/remove/").status_code == 404
    assert Attachment.objects.filter(pk=att.pk).exists()
    client = login(cast.users.a_staff)
    assert client.post(f"/tasks/files/{att.pk}/remove/").status_code == 302
    assert not Attachment.objects.exists() and not StoredFile.objects.exists()


def test_task_attachments_from_the_form(cast, ledger, login):
    client = login(cast.users.county_staff)
    data = {
        "title": "报送妇女之家建设情况",
        "deadline": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
        "target_mode": "townships",
        "attachments": [upload("通知.pdf", PDF, "application/pdf")],
    }
    assert client.post("/tasks/new/", data).status_code == 302
    task = Task.objects.get()
    att = Attachment.objects.get(task=task, assignment=None)
    assert att.file.org_unit == cast.county
    # every target sees the task's documents; a unit outside the task does not
    assert login(cast.users.b_staff).get(f"/tasks/files/{att.pk}/").status_code == 200
    page = login(cast.users.a_staff).get(f"/tasks/a/{assignment_of(task, cast.town_a).pk}/").content.decode()
    assert "通知.pdf" in page
    # a village below a target is not a target: the county's task (and its documents) are not its business
    assert login(cast.users.a1_staff).get(f"/tasks/files/{att.pk}/").status_code == 404
