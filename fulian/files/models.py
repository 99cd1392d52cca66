"""Checked uploads: every file a user sends is sniffed, re-encoded when it is an image, and stored here.

Files are never served by a public media URL; the app that owns a file (a ledger photo, a task attachment)
serves it through its own access-checked view with ``fulian.files.actions.file_response``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from fulian.lib.sensitive import EncryptedTextField
from fulian.orgs.models import OrgUnit, ScopedQuerySet

# what encrypted files are sealed for (the associated data of their AES-GCM blobs)
BLOB_PURPOSE = "files.storedfile.blob"


class FileKind(models.TextChoices):
    IMAGE = "image", "图片"
    DOCUMENT = "document", "文档"


def stored_path(instance: StoredFile, filename: str) -> str:
    """files/2026/03/<uuid>.<ext>: never the client's name on disk."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    now = timezone.now()
    return f"files/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{ext}"


class StoredFileQuerySet(ScopedQuerySet):
    scope_path_field = "org_unit__path"


class StoredFile(models.Model):
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name="上传单位")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name="上传人"
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    original_name = models.CharField("原文件名", max_length=255)
    content_type = models.CharField("类型", max_length=100)
    size = models.PositiveBigIntegerField("大小(字节)")
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    kind = models.CharField("种类", max_length=10, choices=FileKind.choices)
    file = models.FileField("文件", upload_to=stored_path, max_length=200)
    thumbnail = models.FileField("缩略图", upload_to=stored_path, max_length=200, blank=True)
    width = models.PositiveIntegerField("宽", null=True, blank=True)
    height = models.PositiveIntegerField("高", null=True, blank=True)
    # Encrypted at rest (case documents): the blobs on disk are sealed with the data key, the client's file name
    # is in ``secret_name`` (``original_name`` is a neutral "附件.<ext>"), ``sha256`` is over the stored blob.
    encrypted = models.BooleanField("加密保存", default=False)
    secret_name = EncryptedTextField("原文件名", purpose="files.storedfile.name", kind="text", blank=True)

    objects = StoredFileQuerySet.as_manager()

    # the data-key rotation (fulian.lib.sensitive.rotate_model) re-encrypts the blobs with the name
    sensitive_rotation_fields = ("file", "thumbnail")

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=FileKind.values), name="storedfile_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind="image") | Q(thumbnail=""), name="storedfile_thumbnail_only_for_images"
            ),
            models.CheckConstraint(
                condition=Q(encrypted=False) | ~Q(secret_name=""), name="storedfile_encrypted_has_name"
            ),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.kind == FileKind.IMAGE

    @property
    def display_name(self) -> str:
        """The client's file name (decrypted for an encrypted file: show it only behind the owner's access
        check)."""
        return self.secret_name.reveal() if self.encrypted and self.secret_name else self.original_name

    @staticmethod
    def rotate_sensitive_row(row) -> None:
        """Called by the rotation with only the sensitive columns loaded: an encrypted file is one with a name."""
        from .actions import reencrypt_blobs

        if row.secret_name:
            reencrypt_blobs(row, checked=True)
