"""Checked uploads: real files pass cleaned, anything that is not what it says is refused in Chinese."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from PIL import Image

from fulian.audit.models import AuditEvent, Outcome
from fulian.files import actions
from fulian.files.models import FileKind, StoredFile

from . import samples
from .samples import upload


def _store(cast, uploaded, allowed=("image",)):
    return actions.store_upload(cast.users.a1_staff, uploaded, unit=cast.village_a1, allowed=allowed)


def _refused(cast, uploaded, allowed=("image",)) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        _store(cast, uploaded, allowed)
    assert not StoredFile.objects.exists()
    assert not default_storage.exists("files") or not any(default_storage.listdir("files"))
    event = AuditEvent.objects.get(action="files.upload.refused")
    assert event.outcome == Outcome.FAILURE and event.org_unit_id == cast.village_a1.pk
    return exc.value


def test_jpeg_is_stored_without_exif_or_gps(cast, settings):
    original = samples.jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(samples.GPS_IFD)  # the sample really has GPS
    stored = _store(cast, upload("三八节.jpg", original, "image/jpeg"))

    assert stored.kind == FileKind.IMAGE and stored.content_type == "image/jpeg"
    assert stored.original_name == "三八节.jpg" and stored.org_unit == cast.village_a1
    assert stored.uploaded_by == cast.users.a1_staff
    assert (stored.width, stored.height) == (400, 300)
    with stored.file.open("rb") as fh:
        data = fh.read()
    assert b"Exif" not in data and b"TestPhone" not in data
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and "exif" not in img.info
    assert not img.getexif() and not img.getexif().get_ifd(samples.GPS_IFD)
    assert stored.size == len(data) and len(stored.sha256) == 64
    # stored under MEDIA_ROOT with a random name, never the client's
    assert stored.file.path.startswith(str(settings.MEDIA_ROOT))
    assert "三八节" not in stored.file.name and stored.file.name.endswith(".jpg")
    thumb = Image.open(stored.thumbnail.path)
    assert thumb.format == "JPEG" and max(thumb.size) == 320
    event = AuditEvent.objects.get(action="files.upload")
    assert event.object_id == str(stored.pk) and event.detail["sha256"] == stored.sha256


def test_orientation_is_applied_before_exif_is_dropped(cast):
    # orientation 6 = rotate 90° clockwise to display: a 400×300 sensor image shows as 300×400
    stored = _store(cast, upload("竖拍.jpg", samples.jpeg_with_gps(orientation=6)))
    assert (stored.width, stored.height) == (300, 400)
    assert Image.open(stored.file.path).size == (300, 400)


def test_png_keeps_transparency(cast):
    stored = _store(cast, upload("海报.png", samples.png()))
    assert stored.content_type == "image/png" and stored.file.name.endswith(".png")
    img = Image.open(stored.file.path)
    assert img.format == "PNG" and img.mode == "RGBA" and img.size == (64, 48)
    assert Image.open(stored.thumbnail.path).mode == "RGB"


def test_heic_from_a_phone_is_stored_as_jpeg(cast):
    data = samples.heic()
    assert data[4:12] == b"ftypheic"
    stored = _store(cast, upload("IMG_0001.HEIC", data, "image/heic"))
    assert stored.content_type == "image/jpeg" and stored.file.name.endswith(".jpg")
    assert Image.open(stored.file.path).size == (128, 96)


def test_a_png_named_jpg_is_accepted_and_cleaned(cast):
    stored = _store(cast, upload("微信图片.jpg", samples.png(mode="RGB")))
    assert stored.content_type == "image/png"


def test_html_named_jpg_is_refused(cast):
    page = b"<html><body><script>alert(1)</script></body></html>"
    error = _refused(cast, upload("photo.jpg", page, "image/jpeg"))
    assert "内容与扩展名不符" in error.messages[0] and "JPG" in error.messages[0]


def test_pdf_named_png_is_refused(cast):
    error = _refused(cast, upload("scan.png", samples.pdf(), "image/png"), allowed=("image", "document"))
    assert "内容与扩展名不符" in error.messages[0] and "PDF" in error.messages[0]


def test_a_real_pdf_is_refused_where_only_images_are_allowed(cast):
    error = _refused(cast, upload("通知.pdf", samples.pdf(), "application/pdf"))
    assert "只能上传图片" in error.messages[0]


@pytest.mark.parametrize("side", [20_000, 9_000])  # above Pillow's own bomb limit, and above ours only
def test_decompression_bomb_png_is_refused(cast, side):
    data = samples.bomb_png(side)
    assert len(data) < 100_000
    error = _refused(cast, upload("bomb.png", data, "image/png"))
    assert "像素过多" in error.messages[0]


def test_zip_bomb_docx_is_refused(cast):
    data = samples.zip_bomb_docx(50)
    assert len(data) < 200_000
    error = _refused(cast, upload("方案.docx", data), allowed=("document",))
    assert "压缩炸弹" in error.messages[0]


def test_zip_that_lies_about_its_sizes_is_refused(cast):
    honest = samples.docx({"word/media/a.bin": b"x" * 10_000})
    # shrink the declared size of an entry: inflating it then fails the CRC check
    lying = _declare_size(bytearray(honest), 10)
    error = _refused(cast, upload("方案.docx", bytes(lying)), allowed=("document",))
    assert "无法识别" in error.messages[0]


def _declare_size(data: bytearray, size: int) -> bytearray:
    """Set the uncompressed size of the archive's last entry, in both headers, to ``size``."""
    zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = zf.infolist()[-1]
    data[info.header_offset + 22 : info.header_offset + 26] = size.to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = size.to_bytes(4, "little")
    return data


def test_documents_pass_when_allowed(cast):
    stored = _store(cast, upload("工作方案.docx", samples.docx()), allowed=("document",))
    assert stored.kind == FileKind.DOCUMENT and stored.content_type.endswith("wordprocessingml.document")
    assert not stored.thumbnail
    pdf = _store(cast, upload("通知.pdf", samples.pdf()), allowed=("document",))
    assert pdf.content_type == "application/pdf"
    text = _store(cast, upload("说明.txt", "三八节活动说明".encode()), allowed=("document",))
    assert text.content_type == "text/plain; charset=utf-8"
    gbk = _store(cast, upload("旧电脑.txt", "三八节活动说明".encode("gbk")), allowed=("document",))
    assert gbk.content_type == "text/plain; charset=gbk"
    response = actions.file_response(gbk)
    assert (
        response["Content-Type"] == "text/plain; charset=gbk"
        and response["X-Content-Type-Options"] == "nosniff"
    )


def test_xlsx_named_docx_is_refused(cast):
    xlsx_types = samples.DOCX_CONTENT_TYPES.replace(
        b"wordprocessingml.document.main+xml", b"spreadsheetml.sheet.main+xml"
    )
    error = _refused(cast, upload("表.docx", samples.docx(content_types=xlsx_types)), allowed=("document",))
    assert "内容与扩展名不符" in error.messages[0] and "Excel" in error.messages[0]


def test_plain_zip_named_docx_is_refused(cast):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "hello")
    error = _refused(cast, upload("资料.docx", out.getvalue()), allowed=("document",))
    assert "无法识别" in error.messages[0]


def test_oversized_image_is_refused_before_it_is_read(cast):
    class Huge:
        name = "big.jpg"
        size = 11 * 1024 * 1024

        def read(self, n=-1):  # pragma: no cover - must never be called
            raise AssertionError("read an oversized upload")

    error = _refused(cast, Huge())
    assert "超过了 10.0 MB" in error.messages[0]


def test_oversized_body_without_declared_size_is_refused(cast):
    data = samples.jpeg_with_gps() + b"\0" * (10 * 1024 * 1024)
    uploaded = upload("big.jpg", data)
    uploaded.size = None
    error = _refused(cast, uploaded)
    assert "超过了 10.0 MB" in error.messages[0]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.exe", b"MZ\x90\x00", "不支持「.exe」"),
        ("empty.jpg", b"", "是空的"),
        ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 50, "已损坏"),
    ],
)
def test_other_refusals(cast, name, content, expected):
    error = _refused(cast, upload(name, content))
    assert expected in error.messages[0]


def test_file_response_headers(cast):
    stored = _store(cast, upload("三八节 活动.jpg", samples.jpeg_with_gps()))
    response = actions.file_response(stored, as_attachment=True)
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''%E4%B8%89%E5%85%AB%E8%8A%82%20%E6%B4%BB%E5%8A%A8.jpg"
        in response["Content-Disposition"]
    )
    body = b"".join(response.streaming_content)
    assert body[:3] == b"\xff\xd8\xff"
    thumb = actions.file_response(stored, thumbnail=True)
    assert thumb["Content-Disposition"].startswith("inline;")
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size[0] <= 320


def test_delete_removes_the_blobs_after_commit(cast, django_capture_on_commit_callbacks):
    stored = _store(cast, upload("a.jpg", samples.jpeg_with_gps()))
    names = [stored.file.name, stored.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=True):
        actions.delete_stored(cast.users.a1_staff, stored)
    assert not StoredFile.objects.exists()
    assert not any(default_storage.exists(n) for n in names)
    assert AuditEvent.objects.filter(action="files.delete").exists()


def test_stored_files_are_scoped(cast):
    from fulian.accounts.roles import Cap
    from fulian.accounts.scope import scope_for

    stored = _store(cast, upload("a.jpg", samples.jpeg_with_gps()))
    assert list(StoredFile.objects.within(scope_for(cast.users.a_staff, Cap.VIEW_WORK))) == [stored]
    assert not StoredFile.objects.within(scope_for(cast.users.b_staff, Cap.VIEW_WORK)).exists()


def test_a_real_xlsx_from_openpyxl_passes_and_doc_xls_by_their_ole_streams(cast):
    from fulian.lib.xlsx import workbook_bytes

    xlsx = workbook_bytes("表", ["姓名"], [["王秀兰"]])
    stored = _store(cast, upload("名单.xlsx", xlsx), allowed=("document",))
    assert stored.content_type.endswith("spreadsheetml.sheet")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100
    doc = ole + "WordDocument".encode("utf-16-le")
    assert _store(cast, upload("旧方案.doc", doc), allowed=("document",)).content_type == "application/msword"
    xls = ole + "Workbook".encode("utf-16-le")
    with pytest.raises(ValidationError, match="内容与扩展名不符"):
        _store(cast, upload("旧方案.doc", xls), allowed=("document",))
