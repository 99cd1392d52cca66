"""The inbox: the signed-in user's notifications, newest first."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import actions, queries


@login_required
def inbox(request):
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(queries.inbox(request.user, unread_only), 30).get_page(request.GET.get("page"))
    template = "notify/_rows.html" if request.headers.get("HX-Request") else "notify/inbox.html"
    return render(request, template, {"page": page, "unread_only": unread_only})


@login_required
@require_POST
def open_notice(request, notice_id: int):
    """Mark as read and go where the notification points (only to a path on this site)."""
    notice = queries.access_notification(request.user, notice_id)
    actions.mark_read(request.user, notice)
    if notice.url and url_has_allowed_host_and_scheme(notice.url, allowed_hosts=None):
        return redirect(notice.url)
    return redirect("notify:inbox")


@login_required
@require_POST
def read_all(request):
    actions.mark_all_read(request.user)
    return redirect("notify:inbox")
