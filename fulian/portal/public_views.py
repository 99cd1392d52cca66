"""The public site (/p/): no sign-in, phone first, only published things. A handful of queries per page."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from fulian.audit.context import client_ip
from fulian.lib.forms import add_errors
from fulian.voice.queries import open_public_surveys

from . import actions, queries
from .forms import CommentForm
from .models import Category

HOTLINE = "12338"


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


def index(request):
    """找到您的妇联: the counties, and a search by name."""
    q = (request.GET.get("q") or "").strip()[:50]
    context = {
        "q": q,
        "results": queries.public_search(q) if q else None,
        "counties": queries.public_counties() if not q else [],
        "hotline": HOTLINE,
    }
    return render(request, "portal/public/index.html", context)


def _voice_links(unit) -> dict:
    """The suggestion box and the receipt lookup of ``fulian.voice``."""
    return {
        "suggest_url": reverse("voice_public:suggest", args=[unit.pk]),
        "receipt_url": reverse("voice_public:receipt"),
    }


def _open_surveys(unit) -> list[tuple]:
    """Open public surveys of the unit (``fulian.voice``) with their links; one query."""
    return [(s, reverse("voice_public:survey", args=[s.token])) for s in open_public_surveys(unit)[:10]]


def _closed(request, unit):
    return render(request, "portal/public/closed.html", {"unit": unit, "hotline": HOTLINE}, status=404)


def unit(request, unit_id: int):
    """A federation's public home: who it is, how to reach it, what it discloses and promised."""
    u = queries.public_unit(unit_id)
    if u.is_closed:
        return _closed(request, u)
    context = {
        "unit": u,
        "profile": queries.public_profile(u),
        "children": queries.public_children(u),
        "items": list(queries.public_items(u)[:6]),
        "commitments": queries.public_commitments(u),
        "surveys": _open_surveys(u),
        "hotline": HOTLINE,
        "year": timezone.localdate().year,
        **_voice_links(u),
    }
    return render(request, "portal/public/unit.html", context)


def board(request, unit_id: int):
    """公开栏: every published item of the unit, newest first, 20 a page, by category."""
    u = queries.public_unit(unit_id)
    if u.is_closed:
        return _closed(request, u)
    category = request.GET.get("category", "")
    category = category if category in Category.values else ""
    page = Paginator(queries.public_items(u, category=category), 20).get_page(request.GET.get("page"))
    context = {"unit": u, "page": page, "category": category, "categories": Category.choices}
    return render(request, "portal/public/board.html", context)


@require_http_methods(["GET", "POST"])
def item(request, item_id: int):
    """One published item, its shown comments and the comment form (CAPTCHA; held until moderated)."""
    it = queries.public_item(item_id)
    form = CommentForm(request.POST or None)
    status, limited = 200, ""
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.post_comment(it, body=form.cleaned_data["body"], ip=client_ip(request))
            except actions.RateLimited as exc:
                form, limited, status = CommentForm(), " ".join(exc.messages), 429  # kept: start afresh
            except ValidationError as exc:
                add_errors(form, exc)
                status = 400
            else:
                return redirect(reverse("portal_public:item", args=[it.pk]) + "?sent=1#comments")
        else:
            status = 400
    context = {
        "item": it,
        "unit": it.org_unit,
        "comments": queries.public_comments(it),
        "followups": queries.public_followups(it),
        "previous": it.follows if it.follows_id and it.follows.state == "published" else None,
        "form": form,
        "sent": request.GET.get("sent") == "1",
        "limited": limited,
    }
    return _no_store(render(request, "portal/public/item.html", context, status=status))
