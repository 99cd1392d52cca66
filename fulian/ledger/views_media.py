"""Photos and event sign-in of ledger records: thin views (parse → access → action → render).

Staff views reach a record only through ``queries.access_record`` (VIEW_WORK scope, 404 otherwise); the
actions check the right to change it. Images are served only here, never from a public media URL. The public
sign-in page (/s/<code>) needs no account: the long random code is the only key.
"""

from __future__ import annotations

import datetime as dt

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.audit.actions import Where, record
from fulian.audit.context import client_ip
from fulian.files.actions import file_response
from fulian.lib.xlsx import workbook_bytes
from fulian.orgs.queries import breadcrumbs
from fulian.orgs.views import xlsx_response

from . import actions, media_queries, queries
from .models import SignInSheet

ATTENDANCE_PAGE_SIZE = 100


def _message(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, PermissionDenied):
        return str(exc) or "您没有修改这条台账的权限。"
    return " ".join(exc.messages)


def _done(request, rec, *, error: str = "", success: str = ""):
    """htmx: re-render the record's media block in place; otherwise back to the record page with a message."""
    if request.headers.get("HX-Request"):
        return render(
            request,
            "ledger/_record_media.html",
            {"record": rec, "media_error": error, "media_success": success},
        )
    if error:
        messages.error(request, error)
    elif success:
        messages.success(request, success)
    return redirect(reverse("ledger:record", args=[rec.pk]) + "#media")


def signin_url(request, sheet: SignInSheet) -> str:
    return request.build_absolute_uri(reverse("signin:sheet", args=[sheet.code]))


def qr_svg(url: str, scale: int = 4) -> str:
    """An inline SVG QR code (segno): no image file, no external service."""
    return mark_safe(segno.make(url, error="m").svg_inline(scale=scale, dark="#000", light="#fff"))  # noqa: S308


# --- the media block and photos ---------------------------------------------------------------------------------


@login_required
@require_GET
def record_media(request, record_id: int):
    """The photo and sign-in block of a record on its own (htmx refresh, or a page without the record)."""
    rec = queries.access_record(request.user, record_id)
    if request.headers.get("HX-Request"):
        return render(request, "ledger/_record_media.html", {"record": rec})
    crumbs = breadcrumbs(rec.org_unit, scope_for(request.user, Cap.VIEW_ORG))
    return render(
        request, "ledger/media_record.html", {"record": rec, "crumbs": crumbs, "unit": rec.org_unit}
    )


@login_required
@require_POST
def photo_upload(request, record_id: int):
    rec = queries.access_record(request.user, record_id)
    uploaded = request.FILES.get("photo")
    if uploaded is None:
        return _done(request, rec, error="请先选择或拍摄一张照片。")
    try:
        actions.add_photo(request.user, rec, uploaded, caption=request.POST.get("caption", ""))
    except (ValidationError, PermissionDenied) as exc:
        return _done(request, rec, error=_message(exc))
    return _done(request, rec, success="照片已上传。")


@login_required
@require_GET
def photo_image(request, photo_id: int, size: str):
    photo = media_queries.access_photo(request.user, photo_id)
    return file_response(photo.file, thumbnail=size == "thumb", as_attachment="download" in request.GET)


@login_required
@require_POST
def photo_delete(request, photo_id: int):
    photo = media_queries.access_photo(request.user, photo_id)
    rec = photo.record
    try:
        actions.remove_photo(request.user, photo)
    except PermissionDenied as exc:
        return _done(request, rec, error=_message(exc))
    return _done(request, rec, success="照片已删除。")


# --- sign-in: staff side ---------------------------------------------------------------------------------------


@login_required
@require_POST
def signin_open(request, record_id: int):
    rec = queries.access_record(request.user, record_id)
    try:
        hours = int(request.POST.get("hours", "4"))
    except ValueError:
        hours = 0
    try:
        actions.open_signin(request.user, rec, hours=hours)
    except (ValidationError, PermissionDenied) as exc:
        return _done(request, rec, error=_message(exc))
    return _done(request, rec, success=f"签到已开启,{hours}小时后自动结束。")


@login_required
@require_POST
def signin_close(request, record_id: int):
    rec = queries.access_record(request.user, record_id)
    sheet = media_queries.sheet_of(rec)
    if sheet is None:
        raise Http404("这条台账没有签到表。")
    try:
        actions.close_signin(request.user, sheet)
    except PermissionDenied as exc:
        return _done(request, rec, error=_message(exc))
    return _done(request, rec, success="签到已结束。")


def _sheet_or_404(rec) -> SignInSheet:
    sheet = media_queries.sheet_of(rec)
    if sheet is None:
        raise Http404("这条台账没有签到表。")
    return sheet


@login_required
@require_GET
def attendance_list(request, record_id: int):
    """Who signed in (names and phones masked); in full only in the export, for those who may edit."""
    rec = queries.access_record(request.user, record_id)
    sheet = _sheet_or_404(rec)
    page = Paginator(media_queries.attendances_of(sheet), ATTENDANCE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "record": rec,
        "unit": rec.org_unit,
        "crumbs": breadcrumbs(rec.org_unit, scope_for(request.user, Cap.VIEW_ORG)),
        "sheet": sheet,
        "page": page,
        "rows": page.object_list,
        "start_index": page.start_index(),
        "can_edit": actions.can_record_for(request.user, rec.org_unit),
    }
    return render(request, "ledger/signin_list.html", context)


@login_required
@require_GET
def attendance_export(request, record_id: int):
    rec = queries.access_record(request.user, record_id)
    sheet = _sheet_or_404(rec)
    full = actions.can_record_for(request.user, rec.org_unit)
    rows = [
        [
            i,
            a.name.reveal() if full else str(a.name),
            a.phone.reveal() if full else str(a.phone),
            timezone.localtime(a.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        ]
        for i, a in enumerate(media_queries.attendances_of(sheet).iterator(chunk_size=2000), start=1)
    ]
    content = workbook_bytes(
        "签到名单",
        ["序号", "姓名", "手机号", "签到时间"],
        rows,
        title=f"{rec.org_unit.name} {rec.title}({rec.date:%Y年%m月%d日})签到名单,共{len(rows)}人",
    )
    record(
        request.user,
        "ledger.signin.export",
        obj=sheet,
        where=Where.of(rec.org_unit),
        detail={"record": rec.pk, "count": len(rows), "full_phones": full},
    )
    return xlsx_response(content, f"{rec.title}-签到名单-{dt.date.today():%Y%m%d}.xlsx")


@login_required
@require_GET
def signin_poster(request, record_id: int):
    """A printable page: the QR code large, the title, the short link."""
    rec = queries.access_record(request.user, record_id)
    sheet = _sheet_or_404(rec)
    url = signin_url(request, sheet)
    return render(
        request,
        "ledger/signin_poster.html",
        {"record": rec, "sheet": sheet, "url": url, "qr": qr_svg(url, 10)},
    )


# --- sign-in: the public page -------------------------------------------------------------------------------------


def _public_sheet(code: str) -> SignInSheet:
    sheet = SignInSheet.objects.select_related("record__org_unit").filter(code=code).first()
    if sheet is None:
        raise Http404("签到链接无效,请向活动组织者核对二维码。")
    return sheet


@require_http_methods(["GET", "POST"])
def signin_public(request, code: str):
    """Participants sign in on their phones with name and mobile number, no account needed."""
    sheet = _public_sheet(code)
    now = timezone.now()
    context = {
        "sheet": sheet,
        "record": sheet.record,
        "is_open": sheet.is_open(now),
        "errors": {},
        "data": {},
    }
    status = 200
    if request.method == "POST":
        data = {"name": request.POST.get("name", "")[:100], "phone": request.POST.get("phone", "")[:30]}
        context["data"] = data
        try:
            attendance, created = actions.sign_in(sheet, ip=client_ip(request), **data)
        except actions.RateLimited as exc:
            context["error"] = _message(exc)
            status = 429
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                context["errors"] = {k: " ".join(v) for k, v in exc.message_dict.items()}
            else:
                context["error"] = _message(exc)
                context["is_open"] = sheet.is_open(timezone.now())
            status = 400
        else:
            context.update(done=True, created=created, attendance=attendance)
    response = render(request, "ledger/signin_public.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the code is the key: keep it out of Referer headers
    return response
