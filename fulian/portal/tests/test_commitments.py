"""Commitments (公开承诺): measurable targets, progress with evidence, published by a leader only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from fulian.orgs.actions import ConflictError
from fulian.portal import actions
from fulian.portal.models import Commitment, CommitmentUpdate

from .conftest import commitment

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_progress_from_the_achieved_value(cast):
    c = commitment(cast, target_value=10, target_unit="场")
    update = actions.report_progress(
        cast.users.a_staff, c, expected_version=c.version, evidence="已举办家政培训4场。", achieved_value="4"
    )
    c.refresh_from_db()
    assert c.progress == 40 and c.achieved_value == Decimal("4.00") and update.progress == 40
    actions.report_progress(
        cast.users.a_staff, c, expected_version=c.version, evidence="超额完成。", achieved_value="12"
    )
    c.refresh_from_db()
    assert c.progress == 100 and c.updates.count() == 2


def test_progress_percentage_without_a_target(cast):
    c = commitment(cast, target_value=None, target_unit="")
    with pytest.raises(ValidationError) as exc:
        actions.report_progress(
            cast.users.a_staff, c, expected_version=c.version, evidence="x", achieved_value=3
        )
    assert exc.value.message_dict["progress"] == ["该承诺没有目标数量,请直接填写完成进度(%)。"]
    actions.report_progress(
        cast.users.a_staff, c, expected_version=c.version, evidence="完成一半。", progress=50
    )
    c.refresh_from_db()
    assert c.progress == 50


@pytest.mark.parametrize("value", ["101", "-1", "abc", "50.5"])
def test_bad_progress_is_refused_and_nothing_saved(cast, value):
    c = commitment(cast)
    with pytest.raises(ValidationError) as exc:
        actions.report_progress(
            cast.users.a_staff, c, expected_version=c.version, evidence="x", progress=value
        )
    assert exc.value.message_dict["progress"] == ["完成进度请填写0到100之间的整数。"]
    c.refresh_from_db()
    assert c.progress == 0 and not CommitmentUpdate.objects.exists()


def test_progress_is_checked_by_the_database(cast):
    c = commitment(cast)
    with pytest.raises(IntegrityError), transaction.atomic():
        Commitment.objects.filter(pk=c.pk).update(progress=101)


def test_bad_commitment_input(cast):
    with pytest.raises(ValidationError) as exc:
        actions.create_commitment(
            cast.users.a_staff, unit=cast.town_a, year=1900, title="", target_value="-3", target_unit=""
        )
    errors = exc.value.message_dict
    assert errors["year"] == ["请填写正确的年度。"] and errors["title"] == ["请填写承诺事项。"]
    assert errors["target_value"] == ["目标数量应为不小于0的合理数字。"]
    with pytest.raises(ValidationError) as exc:
        actions.create_commitment(
            cast.users.a_staff, unit=cast.town_a, year=2026, title="培训", target_value=5
        )
    assert exc.value.message_dict["target_unit"] == ["请填写计量单位,例如“场”“人次”。"]
    assert not Commitment.objects.exists()


def test_only_a_leader_publishes(cast):
    c = commitment(cast, publish=False)
    with pytest.raises(PermissionDenied, match="主席"):
        actions.set_commitment_published(cast.users.a_staff, c, expected_version=c.version, published=True)
    with pytest.raises(PermissionDenied):
        actions.set_commitment_published(cast.users.b_leader, c, expected_version=c.version, published=True)
    c.refresh_from_db()
    assert not c.published
    c = actions.set_commitment_published(cast.users.a_leader, c, expected_version=c.version, published=True)
    assert c.published and c.published_at is not None
    with pytest.raises(ConflictError):
        actions.set_commitment_published(
            cast.users.a_leader, c, expected_version=c.version - 1, published=False
        )


def test_other_township_cannot_report_progress(cast):
    c = commitment(cast)
    with pytest.raises(PermissionDenied):
        actions.report_progress(cast.users.b_staff, c, expected_version=c.version, evidence="x", progress=90)
    c.refresh_from_db()
    assert c.progress == 0


def test_pages_create_report_with_evidence_and_publish(cast, login, django_assert_num_queries):
    client = login(cast.users.a_staff)
    response = client.post(
        "/portal/commitments/new/",
        {
            "unit": str(cast.town_a.pk),
            "year": 2026,
            "title": "开展家庭教育讲座",
            "target_value": "8",
            "target_unit": "场",
        },
    )
    c = Commitment.objects.get()
    assert response["Location"] == f"/portal/commitments/{c.pk}/"
    upload = SimpleUploadedFile("讲座照片.png", PNG, content_type="image/png")
    response = client.post(
        f"/portal/commitments/{c.pk}/",
        {
            "op": "progress",
            "version": c.version,
            "evidence": "已开展2场,见照片。",
            "achieved_value": "2",
            "file": upload,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    c.refresh_from_db()
    update = c.updates.get()
    assert c.progress == 25 and update.file is not None
    assert client.get(f"/portal/commitments/files/{update.pk}/").status_code == 200
    assert login(cast.users.b_staff).get(f"/portal/commitments/files/{update.pk}/").status_code == 404
    client = login(cast.users.a_staff)
    response = client.post(
        f"/portal/commitments/{c.pk}/", {"op": "publish", "version": c.version}, follow=True
    )
    assert "主席" in response.content.decode()
    c.refresh_from_db()
    assert not c.published
    leader = login(cast.users.a_leader)
    leader.post(f"/portal/commitments/{c.pk}/", {"op": "publish", "version": c.version})
    c.refresh_from_db()
    assert c.published
    for i in range(5):
        commitment(cast, title=f"承诺{i}")
    leader.get("/portal/commitments/")
    # session, user, memberships, count, page, unread notices, session save (3)
    with django_assert_num_queries(9):
        page = leader.get("/portal/commitments/")
    assert page.content.decode().count('href="/portal/commitments/') >= 6


def test_progress_form_keeps_input_on_error(cast, login):
    c = commitment(cast)
    client = login(cast.users.a_staff)
    response = client.post(
        f"/portal/commitments/{c.pk}/", {"op": "progress", "version": c.version, "evidence": "保留的进展说明"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "保留的进展说明" in body and "请填写完成进度,或填写已完成数量" in body
    assert not CommitmentUpdate.objects.exists()
