"""What the public sent, counted for rate limits, and the CAPTCHA tokens already spent.

Both tables live in the database so every app process sees the same counts (DESIGN.md §5: nothing may assume
one process). Neither holds a raw IP address or phone number: ``Attempt.key`` is a keyed hash."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Attempt(models.Model):
    """One attempt of ``kind`` (e.g. "voice.suggest.ip") by the holder of ``key`` (hmac-sha256 of the raw key
    with the SECRET_KEY: an IP, a phone, a device cookie). Rows older than a day are pruned on the way."""

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "访问记录"
        verbose_name_plural = "访问记录"
        indexes = [
            models.Index(fields=["kind", "key", "created_at"], name="throttle_attempt_kind_key"),
            models.Index(fields=["created_at"], name="throttle_attempt_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key[:8]} {self.created_at:%Y-%m-%d %H:%M:%S}"


class UsedChallenge(models.Model):
    """A CAPTCHA challenge that was answered (rightly or wrongly): its nonce can never be answered again."""

    nonce = models.CharField(max_length=32, unique=True)
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "已使用的验证码"
        verbose_name_plural = "已使用的验证码"

    def __str__(self) -> str:
        return self.nonce
