"""Reads of notifications: always the signed-in user's own."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from .models import Notification


def inbox(user, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(user) -> int:
    """One COUNT on the (user, read_at) index."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def access_notification(user, notification_id) -> Notification:
    """Only the recipient reaches a notification; anyone else gets the same 404 as for a missing one."""
    try:
        pk = int(notification_id)
    except (TypeError, ValueError):
        raise Http404("未找到该通知。") from None
    obj = Notification.objects.filter(user=user, pk=pk).first()
    if obj is None:
        raise Http404("未找到该通知。")
    return obj
