"""Checked uploads: ``store_upload`` is the only way a user's file gets onto the disk.

Size first, then the content's real type (magic bytes) against the extension, then per type: images are
decoded under a pixel limit, turned upright, re-encoded without EXIF/GPS and get a thumbnail; Office files
are unpacked against a budget (zip bombs); everything else is refused with a Chinese message.

Refusals are audited (outcome "failure") before the ValidationError is raised. A caller that wraps
``store_upload`` in its own transaction rolls that audit event back with it, so callers check the upload
(``prepare_upload``) before they open their transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

import pillow_heif
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import FileResponse
from django.utils import timezone
from PIL import Image, ImageOps

from fulian.audit.actions import Where, record
from fulian.audit.models import Outcome
from fulian.lib.crypto import key_id_of_blob
from fulian.lib.sensitive import get_keyring
from fulian.orgs.models import OrgUnit

from . import sniff
from .models import BLOB_PURPOSE, FileKind, StoredFile

pillow_heif.register_heif_opener()

MB = 1024 * 1024
MAX_BYTES = {FileKind.IMAGE: 10 * MB, FileKind.DOCUMENT: 20 * MB}
MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo passes; a decompression bomb does not
MAX_SIDE = 3072  # stored images are scaled down to this on the long side
THUMB_SIDE = 320
JPEG_QUALITY = 85
SAFE_INFO_KEYS = ("icc_profile", "transparency")

PILLOW_FORMATS = {"jpeg": {"JPEG", "MPO"}, "png": {"PNG"}, "heic": {"HEIF"}}
KIND_LABELS = {FileKind.IMAGE: "图片(JPG、PNG、HEIC)", FileKind.DOCUMENT: "文档(PDF、Word、Excel、TXT)"}


@dataclass
class PreparedUpload:
    """A checked upload, ready to save: the bytes to store and what they are."""

    original_name: str
    kind: str
    content_type: str
    ext: str
    content: bytes
    thumbnail: bytes | None = None
    width: int | None = None
    height: int | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _allowed_text(allowed: Iterable[str]) -> str:
    return "或".join(KIND_LABELS[k] for k in allowed)


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def _read(uploaded, limit: int) -> bytes:
    if hasattr(uploaded, "seek"):
        uploaded.seek(0)
    return uploaded.read(limit + 1)


def _check(uploaded, allowed: tuple[str, ...]) -> PreparedUpload:
    name = (getattr(uploaded, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1][:200] or "未命名"
    size = getattr(uploaded, "size", None)
    limit = max(MAX_BYTES[k] for k in allowed)
    if size is not None and size > limit:
        raise ValidationError(
            f"文件「{name}」有 {_mb(size)},超过了 {_mb(limit)} 的上限,请压缩后再上传。", code="too_large"
        )
    data = _read(uploaded, limit)
    if not data:
        raise ValidationError(f"文件「{name}」是空的,请重新选择。", code="empty")
    if len(data) > limit:
        raise ValidationError(f"文件「{name}」超过了 {_mb(limit)} 的上限,请压缩后再上传。", code="too_large")

    ext = sniff.extension_of(name)
    claimed = sniff.EXTENSIONS.get(ext) if ext else None
    if ext and claimed is None:
        raise ValidationError(
            f"不支持「.{ext}」文件。这里可以上传:{_allowed_text(allowed)}。", code="unsupported"
        )
    if claimed is not None and sniff.TYPES[claimed].kind not in allowed:
        raise ValidationError(f"这里只能上传{_allowed_text(allowed)}。", code="kind_not_allowed")

    key = sniff.sniff(data)
    if key == "zip":
        try:
            key = sniff.inspect_zip(data)
        except sniff.ZipBomb:
            raise ValidationError(
                f"文件「{name}」解压后过大或压缩比异常(疑似压缩炸弹),已拒绝。", code="zip_bomb"
            ) from None
    if key is None:
        raise ValidationError(
            f"无法识别文件「{name}」的内容,可能已损坏,或不是{_allowed_text(allowed)}。", code="unknown"
        )
    actual = sniff.TYPES[key]
    # Images of one kind under another image extension (a PNG saved as .jpg) are common on phones and harmless:
    # they are re-encoded anyway. Anything else must be what its extension says.
    if (
        claimed is not None
        and claimed != key
        and not (actual.kind == FileKind.IMAGE == sniff.TYPES[claimed].kind)
    ):
        raise ValidationError(
            f"文件「{name}」的内容与扩展名不符:它不是{sniff.TYPES[claimed].label},而是{actual.label}。"
            "请上传原始文件。",
            code="mismatch",
        )
    if actual.kind not in allowed:
        raise ValidationError(
            f"文件「{name}」的内容是{actual.label},这里只能上传{_allowed_text(allowed)}。",
            code="kind_not_allowed",
        )
    if len(data) > MAX_BYTES[actual.kind]:
        raise ValidationError(
            f"{actual.label}不能超过 {_mb(MAX_BYTES[actual.kind])}(「{name}」有 {_mb(len(data))})。",
            code="too_large",
        )
    if actual.kind == FileKind.IMAGE:
        return _prepare_image(name, key, data)
    content_type = actual.content_type
    if key == "txt" and not _is_utf8(data):
        content_type = "text/plain; charset=gbk"  # sniff accepted it as GBK: serve it so, not as mojibake
    return PreparedUpload(
        original_name=name, kind=actual.kind, content_type=content_type, ext=actual.ext, content=data
    )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _prepare_image(name: str, key: str, data: bytes) -> PreparedUpload:
    bomb = ValidationError(
        f"图片「{name}」的像素过多(超过 {MAX_PIXELS // 10_000} 万像素)或疑似图片炸弹,请缩小后再上传。",
        code="decompression_bomb",
    )
    broken = ValidationError(f"图片「{name}」已损坏,无法读取。", code="broken_image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in PILLOW_FORMATS[key]:
                raise broken
            width, height = img.size
            if width * height > MAX_PIXELS or width > 30_000 or height > 30_000:
                raise bomb
            if img.format in {"JPEG", "MPO"}:
                img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at 1/2, 1/4 … scale: less memory
            img.load()
            img = ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bomb from None
    except ValidationError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError):
        raise broken from None

    keep = {k: img.info[k] for k in SAFE_INFO_KEYS if k in img.info}
    as_png = key == "png"
    if as_png:
        if img.mode not in {"1", "L", "LA", "P", "RGB", "RGBA"}:
            img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    elif img.mode not in {"L", "RGB"}:
        img = _flatten(img)
    img.info = keep  # nothing else (EXIF, XMP, GPS, text chunks) survives the re-encode
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    icc = keep.get("icc_profile")
    if as_png:
        img.save(out, format="PNG", optimize=False, **({"icc_profile": icc} if icc else {}))
    else:
        img.save(
            out, format="JPEG", quality=JPEG_QUALITY, optimize=True, **({"icc_profile": icc} if icc else {})
        )
    thumb = _flatten(img.copy()) if img.mode not in {"L", "RGB"} else img.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    stored = sniff.TYPES["png" if as_png else "jpeg"]
    return PreparedUpload(
        original_name=name,
        kind=FileKind.IMAGE,
        content_type=stored.content_type,
        ext=stored.ext,
        content=out.getvalue(),
        thumbnail=thumb_out.getvalue(),
        width=img.size[0],
        height=img.size[1],
    )


def _flatten(img: Image.Image) -> Image.Image:
    """Any mode → RGB, transparent parts on white."""
    if img.mode in {"RGBA", "LA", "P", "PA"} or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def prepare_upload(
    actor, uploaded, *, unit: OrgUnit, allowed: Iterable[str] = ("image",), encrypted: bool = False
) -> PreparedUpload:
    """Check and (for images) re-encode an upload without saving anything; refusals are audited (for a file to
    be stored ``encrypted``, without its name: the name of a survivor's document can itself identify her)."""
    allowed = tuple(allowed)
    if not allowed or set(allowed) - set(FileKind.values):
        raise ValueError(f"allowed must be a subset of {FileKind.values}")
    try:
        return _check(uploaded, allowed)
    except ValidationError as exc:
        record(
            actor,
            "files.upload.refused",
            object_type="files.storedfile",
            where=Where.of(unit),
            outcome=Outcome.FAILURE,
            detail={
                **({} if encrypted else {"name": (getattr(uploaded, "name", "") or "")[:200]}),
                "size": getattr(uploaded, "size", None),
                "reason": exc.code or "invalid",
            },
        )
        raise


@transaction.atomic
def save_prepared(
    actor, prepared: PreparedUpload, *, unit: OrgUnit, encrypted: bool = False, audit: bool = True
) -> StoredFile:
    """Write a checked upload to storage and the database (files are removed again if the insert fails).

    ``encrypted``: the bytes (and thumbnail) are sealed with the data key before they reach the disk, the name
    is kept encrypted, and nothing identifying goes into the audit event. ``audit=False``: the caller writes its
    own audit event (last in its transaction) naming this file."""
    content, thumbnail = prepared.content, prepared.thumbnail
    if encrypted:
        keyring = get_keyring()
        content = keyring.encrypt_bytes(content, BLOB_PURPOSE)
        thumbnail = keyring.encrypt_bytes(thumbnail, BLOB_PURPOSE) if thumbnail is not None else None
    stored = StoredFile(
        org_unit=unit,
        uploaded_by=actor if actor is not None else None,
        original_name=f"附件.{prepared.ext}" if encrypted else prepared.original_name,
        content_type=prepared.content_type,
        size=len(prepared.content),
        sha256=hashlib.sha256(content).hexdigest(),
        kind=prepared.kind,
        width=prepared.width,
        height=prepared.height,
        encrypted=encrypted,
        secret_name=prepared.original_name if encrypted else "",
    )
    try:
        stored.file.save(f"f.{'bin' if encrypted else prepared.ext}", ContentFile(content), save=False)
        if thumbnail is not None:
            stored.thumbnail.save("t.bin" if encrypted else "t.jpg", ContentFile(thumbnail), save=False)
        stored.save()
    except BaseException:
        _delete_blobs(stored.file.name, stored.thumbnail.name)
        raise
    if audit:
        record(
            actor,
            "files.upload",
            obj=stored,
            where=Where.of(unit),
            detail={
                **({} if encrypted else {"name": stored.original_name}),
                "kind": stored.kind,
                "content_type": stored.content_type,
                "size": stored.size,
                "sha256": stored.sha256,
                "encrypted": encrypted,
            },
        )
    return stored


def store_upload(actor, uploaded, *, unit: OrgUnit, allowed: Iterable[str] = ("image",)) -> StoredFile:
    """Check, clean and store one uploaded file for ``unit``; ValidationError (Chinese) on any refusal."""
    prepared = prepare_upload(actor, uploaded, unit=unit, allowed=allowed)
    return save_prepared(actor, prepared, unit=unit)


@transaction.atomic
def delete_stored(actor, stored: StoredFile) -> None:
    """Delete the row now and the blobs once the transaction commits (a rollback keeps both)."""
    names = (stored.file.name, stored.thumbnail.name)
    detail = {"name": stored.original_name, "sha256": stored.sha256}
    stored_pk, unit = stored.pk, stored.org_unit
    stored.delete()
    transaction.on_commit(lambda: _delete_blobs(*names))
    record(
        actor,
        "files.delete",
        object_type="files.storedfile",
        object_id=stored_pk,
        where=Where.of(unit),
        detail=detail,
    )


def _delete_blobs(*names: str) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        if name:
            default_storage.delete(name)


def read_plain(stored: StoredFile, *, thumbnail: bool = False) -> bytes:
    """The file's bytes as uploaded (checked and cleaned), decrypted if it is stored encrypted."""
    field = stored.thumbnail if thumbnail and stored.thumbnail else stored.file
    with field.open("rb") as fh:
        data = fh.read()
    return get_keyring().decrypt_bytes(data, BLOB_PURPOSE) if stored.encrypted else data


def reencrypt_blobs(stored: StoredFile, *, checked: bool = False) -> None:
    """Data-key rotation of an encrypted file (called by ``rotate_model`` with the row locked): the blobs are
    written anew under the current key, the row points at them, the old blobs go once the transaction commits.
    If it rolls back instead, the row keeps the old blobs and the new ones stay behind as orphans (sealed, so
    they disclose nothing; Django has no on-rollback hook to remove them). DecryptionError if a blob does not
    open."""
    if not checked and not stored.encrypted:
        return
    keyring = get_keyring()
    current = keyring.current.key_id
    old_names = []
    for field in (stored.file, stored.thumbnail):
        if not field:
            continue
        with field.open("rb") as fh:
            blob = fh.read()
        if key_id_of_blob(blob) == current:
            keyring.decrypt_bytes(blob, BLOB_PURPOSE)  # still authenticate it
            continue
        fresh = keyring.encrypt_bytes(keyring.decrypt_bytes(blob, BLOB_PURPOSE), BLOB_PURPOSE)
        old_names.append(field.name)
        field.save("r.bin", ContentFile(fresh), save=False)
    if old_names:
        transaction.on_commit(lambda: _delete_blobs(*old_names))


def file_response(
    stored: StoredFile, *, as_attachment: bool = False, thumbnail: bool = False
) -> FileResponse:
    """Serve a stored file from an owning app's access-checked view (never from a public URL). An encrypted file
    is decrypted in memory (20 MB at most) and named by its decrypted name."""
    field = stored.thumbnail if thumbnail and stored.thumbnail else stored.file
    content_type = "image/jpeg" if field is stored.thumbnail else stored.content_type
    if stored.encrypted:
        response = FileResponse(
            io.BytesIO(read_plain(stored, thumbnail=thumbnail)), content_type=content_type
        )
    else:
        response = FileResponse(field.open("rb"), content_type=content_type)
    name = stored.display_name
    if field is stored.thumbnail or sniff.extension_of(name) != sniff.TYPES[_key_of(stored)].ext:
        stem = name.rsplit(".", 1)[0] if "." in name else name
        name = f"{stem}.{'jpg' if field is stored.thumbnail else sniff.TYPES[_key_of(stored)].ext}"
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "") or "file"
    disposition = "attachment" if as_attachment else "inline"
    response["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    if stored.content_type != "application/pdf":
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


def _key_of(stored: StoredFile) -> str:
    for key, t in sniff.TYPES.items():
        if t.content_type == stored.content_type:
            return key
    return "txt"


def _referencing_relations() -> list:
    """Every relation (visible or ``related_name="+"``) whose rows point at a StoredFile."""
    return [
        f
        for f in StoredFile._meta.get_fields(include_hidden=True)
        if f.is_relation and f.auto_created and not f.concrete and f.related_model is not None
    ]


def unreferenced_files(older_than: dt.timedelta = dt.timedelta(days=1)):
    """Stored files no owner points at any more (e.g. the photos of a deleted ledger record), past a grace
    period that covers an upload whose owner row is still being written."""
    qs = StoredFile.objects.filter(created_at__lt=timezone.now() - older_than)
    for rel in _referencing_relations():
        qs = qs.exclude(pk__in=rel.related_model._base_manager.values(rel.field.attname))
    return qs


def prune_unreferenced(actor=None, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete unreferenced stored files (rows now, blobs after each commit); returns how many."""
    count = 0
    for stored in unreferenced_files(older_than).select_related("org_unit").iterator(chunk_size=500):
        delete_stored(actor, stored)
        count += 1
    return count
