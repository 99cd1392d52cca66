from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from fulian.orgs.models import OrgUnit

from .roles import Role


class User(AbstractUser):
    mobile = models.CharField("手机号", max_length=11, unique=True, null=True, blank=True)
    display_name = models.CharField("姓名", max_length=50, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            models.CheckConstraint(
                condition=Q(mobile__isnull=True) | Q(mobile__length=11), name="user_mobile_11_digits"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField("角色", max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "任职"
        verbose_name_plural = "任职"
        ordering = ["org_unit__path", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "org_unit", "role"], name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.org_unit} ({self.get_role_display()})"


class LoginFailure(models.Model):
    """One failed sign-in; the lockout counts these per account and per IP over a sliding window."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ip", "created_at"], name="loginfailure_ip_time")]

    def __str__(self) -> str:
        return f"{self.username} {self.ip} {self.created_at}"


class ApiToken(models.Model):
    """A bearer token for the REST API. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}…"
