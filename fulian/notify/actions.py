"""Every write to notifications. ``notify`` is what other apps call; it never fails their transaction for
want of an e-mail server: mail goes out after the commit, and only when an e-mail host is configured."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from fulian.audit.actions import record

from .models import Notification

log = logging.getLogger(__name__)


def email_enabled() -> bool:
    return bool(getattr(settings, "NOTIFY_EMAIL", False))


@transaction.atomic
def notify(
    users: Iterable,
    *,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Notify each user once (bulk insert). With ``dedupe_key``, a user who already has a notification with
    that key gets nothing new: running the same reminder twice notifies nobody twice. Returns the new rows."""
    users = {u.pk: u for u in users if u is not None and u.is_active}
    if not users:
        return []
    if dedupe_key is not None:
        seen = set(
            Notification.objects.filter(dedupe_key=dedupe_key, user_id__in=list(users)).values_list(
                "user_id", flat=True
            )
        )
        users = {pk: u for pk, u in users.items() if pk not in seen}
        if not users:
            return []
    now = timezone.now()
    rows = [
        Notification(
            user_id=pk,
            created_at=now,
            kind=kind,
            title=title[:200],
            body=body,
            url=url[:300],
            dedupe_key=dedupe_key,
        )
        for pk in users
    ]
    # ignore_conflicts: a concurrent run that inserted the same (user, key) first wins, quietly
    Notification.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=dedupe_key is not None)
    record(
        None,
        "notify.send",
        object_type="notify.notification",
        detail={"kind": kind, "title": title[:100], "count": len(rows), "dedupe_key": dedupe_key or ""},
    )
    if email_enabled():
        recipients = [u.email for u in users.values() if u.email]
        if recipients:
            transaction.on_commit(lambda: _send_mail(title, body, url, recipients))
    return rows


def _send_mail(title: str, body: str, url: str, recipients: list[str]) -> None:
    link = ""
    if url:
        base = getattr(settings, "NOTIFY_SITE_URL", "").rstrip("/")
        link = f"\n\n查看详情:{base}{url}"
    text = f"{body}{link}\n\n—— 妇联工作平台(此邮件由系统自动发送,请勿回复)"
    messages = [(f"【妇联工作平台】{title}", text, None, [to]) for to in recipients]
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:  # the in-app notification exists; a mail outage must not break the request
        log.exception("notification e-mail failed (%d recipients)", len(recipients))


@transaction.atomic
def mark_read(actor, notification: Notification) -> Notification:
    if notification.user_id != actor.pk:
        raise PermissionDenied("只能标记自己的通知。")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_read(actor) -> int:
    return Notification.objects.filter(user=actor, read_at__isnull=True).update(read_at=timezone.now())
