"""In-app notifications (站内通知): one row per user and message; e-mail is an optional copy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name="用户"
    )
    created_at = models.DateTimeField("时间", default=timezone.now)
    kind = models.CharField("类别", max_length=32)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)
    # A key that makes a repeated notification (the daily reminder run) a no-op for that user.
    dedupe_key = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "通知"
        verbose_name_plural = "通知"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=Q(dedupe_key__isnull=False),
                name="notification_dedupe_per_user",
            ),
        ]
        indexes = [
            # the unread badge in the nav: COUNT(*) WHERE user_id = ? AND read_at IS NULL
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
