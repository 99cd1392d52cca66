"""Writes to users, memberships, tokens; sign-in bookkeeping (lockout)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fulian.audit.actions import Where, record
from fulian.audit.models import Outcome
from fulian.orgs.models import OrgUnit

from .models import ApiToken, LoginFailure, Membership, User
from .roles import Cap, Role
from .scope import home_unit, scope_for


def _require_accounts(actor, unit: OrgUnit) -> None:
    if actor is not None and not scope_for(actor, Cap.MANAGE_ACCOUNTS).contains(unit):
        raise PermissionDenied("您无权管理该单位的账号。")


@transaction.atomic
def create_user(
    actor,
    *,
    username: str,
    password: str,
    unit: OrgUnit,
    role: str,
    display_name: str = "",
    mobile: str | None = None,
) -> User:
    """Create a user with one membership. The password must pass the password rules."""
    _require_accounts(actor, unit)
    user = User(username=username, display_name=display_name, mobile=mobile or None)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    Membership.objects.create(user=user, org_unit=unit, role=Role(role))
    record(
        actor,
        "accounts.user.create",
        obj=user,
        where=Where.of(unit),
        detail={"username": username, "role": role},
    )
    return user


@transaction.atomic
def add_membership(actor, user: User, unit: OrgUnit, role: str) -> Membership:
    _require_accounts(actor, unit)
    membership, created = Membership.objects.get_or_create(user=user, org_unit=unit, role=Role(role))
    if created:
        record(
            actor,
            "accounts.membership.create",
            obj=membership,
            where=Where.of(unit),
            detail={"user": user.pk, "role": role},
        )
    return membership


@transaction.atomic
def remove_membership(actor, membership: Membership) -> None:
    _require_accounts(actor, membership.org_unit)
    record(
        actor,
        "accounts.membership.delete",
        obj=membership,
        where=Where.of(membership.org_unit),
        detail={"user": membership.user_id, "role": membership.role},
    )
    membership.delete()


@transaction.atomic
def set_password(actor, user: User, password: str) -> None:
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    record(actor, "accounts.user.password", obj=user, where=Where.of(home_unit(user)))


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_token(actor, user: User, name: str = "") -> str:
    """Create an API token; returns the secret, which is stored only as a digest."""
    token = "fl_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=token[:8], digest=_token_digest(token))
    record(actor, "accounts.token.create", obj=user, where=Where.of(home_unit(user)), detail={"name": name})
    return token


def user_for_token(token: str) -> User | None:
    row = ApiToken.objects.select_related("user").filter(digest=_token_digest(token), revoked=False).first()
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


# --- sign-in lockout -----------------------------------------------------------------------------------------


def _window_start():
    return timezone.now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def is_locked_out(username: str, ip: str | None) -> bool:
    """5 failures in 15 minutes for this account (by the name typed, or the user it resolves to) or this IP."""
    names = _names_for(username)
    recent = LoginFailure.objects.filter(created_at__gte=_window_start())
    by_name = recent.filter(username__in=names).count()
    by_ip = recent.filter(ip=ip).count() if ip else 0
    return by_name >= settings.LOGIN_FAILURE_LIMIT or by_ip >= settings.LOGIN_FAILURE_LIMIT


def _names_for(login: str) -> list[str]:
    """A person may type the username or the mobile: both count against the same account."""
    login = (login or "").strip()
    user = User.objects.filter(Q(username=login) | Q(mobile=login)).only("username", "mobile").first()
    if user is None:
        return [login]
    return [n for n in {login, user.username, user.mobile} if n]


def _where_for_login(login: str) -> Where:
    user = User.objects.filter(Q(username=login) | Q(mobile=login)).first()
    return Where.of(home_unit(user)) if user else Where()


def note_login_failure(username: str, ip: str | None, locked: bool) -> None:
    username = (username or "").strip()[:150]
    LoginFailure.objects.create(username=username, ip=ip)
    # keep the table small under a brute-force attack: only the window matters (a day kept for inquiries)
    LoginFailure.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=1)).delete()
    record(
        None,
        "accounts.login.locked" if locked else "accounts.login.failure",
        outcome=Outcome.DENIED if locked else Outcome.FAILURE,
        where=_where_for_login(username),
        ip=ip,
        detail={"username": username},
    )


def note_login_success(user: User, ip: str | None) -> None:
    LoginFailure.objects.filter(username__in=[n for n in (user.username, user.mobile) if n]).delete()
    record(user, "accounts.login.success", obj=user, where=Where.of(home_unit(user)), ip=ip)


def note_logout(user: User, ip: str | None) -> None:
    record(user, "accounts.logout", obj=user, where=Where.of(home_unit(user)), ip=ip)
