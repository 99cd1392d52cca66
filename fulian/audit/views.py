import datetime as dt
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.lib.xlsx import XLSX_CONTENT_TYPE, workbook_bytes

from .actions import record
from .models import Outcome
from .queries import events_for


def _filters(request) -> dict:
    return {
        "action": request.GET.get("action", "").strip()[:64],
        "username": request.GET.get("username", "").strip()[:150],
        "outcome": request.GET.get("outcome", "") if request.GET.get("outcome") in Outcome.values else "",
    }


def _require_auditor(request):
    if not scope_for(request.user, Cap.VIEW_AUDIT):
        raise PermissionDenied("只有审计管理员可以查看审计日志。")  # audited by the 403 handler


@login_required
def log(request):
    _require_auditor(request)
    filters = _filters(request)
    page = Paginator(events_for(request.user, **filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "outcomes": Outcome.choices,
        "filter_query": query.urlencode(),
    }
    return render(request, "audit/log.html", context)


@login_required
def export(request):
    _require_auditor(request)
    filters = _filters(request)
    rows = (
        [
            timezone_local(e.created_at),
            e.actor_username,
            e.action,
            e.object_type,
            e.object_id,
            e.org_path or "",
            e.ip or "",
            e.get_outcome_display(),
            e.hash,
        ]
        for e in events_for(request.user, **filters).iterator(chunk_size=2000)
    )
    content = workbook_bytes(
        "审计日志", ["时间", "用户", "操作", "对象类型", "对象编号", "单位路径", "IP", "结果", "哈希"], rows
    )
    record(request.user, "audit.export", detail=filters)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(f'审计日志-{dt.date.today():%Y%m%d}.xlsx')}"
    )
    return response


def timezone_local(value):
    from django.utils import timezone

    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def permission_denied(request, exception=None):
    """handler403: every refusal that reaches the user is on the audit log."""
    record(
        request.user if request.user.is_authenticated else None,
        "access.denied",
        object_type="url",
        object_id=request.path[:64],
        outcome=Outcome.DENIED,
        detail={"reason": str(exception or "")[:200], "method": request.method},
    )
    message = str(exception) if exception and str(exception) else "您没有执行此操作的权限。"
    return render(request, "403.html", {"message": message}, status=403)
