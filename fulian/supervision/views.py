"""Thin views: parse → check access → call the query/action → render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fulian.accounts.roles import Cap
from fulian.accounts.scope import home_unit, scope_for
from fulian.audit.actions import Where, record
from fulian.files.actions import file_response, prepare_upload
from fulian.lib.forms import add_errors
from fulian.orgs.queries import access_unit, breadcrumbs, children_of
from fulian.orgs.views import xlsx_response

from . import actions, exports, queries
from .forms import TaskForm
from .models import Status


@login_required
def todo(request):
    """我的待办 first, then the tasks issued by the user's units (with their reporting rates)."""
    issued = Paginator(queries.issued_tasks(request.user), 20).get_page(request.GET.get("page"))
    tasks = list(issued)
    context = {
        "todo": queries.my_todo(request.user, limit=50),
        "show": True,
        "received": list(queries.my_assignments(request.user)[:20]),
        "issued": issued,
        "summaries": queries.summaries(request.user, tasks),
        "issuer": _issuer_default(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "supervision/index.html", context)


def _issuer_default(user):
    unit = home_unit(user)
    return unit if unit is not None and scope_for(user, Cap.ASSIGN_WORK).contains(unit) else None


@login_required
def task_create(request):
    issuer_id = request.GET.get("unit") or getattr(_issuer_default(request.user), "pk", None)
    if issuer_id is None:
        raise PermissionDenied("您无权下发任务。")
    issuer = access_unit(request.user, issuer_id, Cap.ASSIGN_WORK)
    today = timezone.localdate()
    form = TaskForm(
        request.POST or None,
        issuer=issuer,
        children=list(children_of(issuer, today)),
        townships=list(queries.township_units(issuer, today)),
        initial={"target_mode": "townships", "require_text": True},
    )
    uploads, upload_errors = (
        _prepare(request, "attachments", issuer) if request.method == "POST" else ([], [])
    )
    for message in upload_errors:
        form.add_error(None, message)
    if request.method == "POST" and form.is_valid() and not upload_errors:
        d = form.cleaned_data
        deadline = d["deadline"]
        targets, label = queries.resolve_targets(
            request.user,
            issuer,
            d["target_mode"],
            village_parent_id=d.get("village_parent"),
            child_ids=d.get("children") or [],
            day=deadline,
        )
        try:
            task = actions.create_task(
                request.user,
                issuer_unit=issuer,
                title=d["title"],
                instructions=d["instructions"],
                deadline=deadline,
                targets=targets,
                fields=d["fields"],
                ledger_keys=d["ledger_keys"],
                period_start=d["period_start"],
                period_end=d["period_end"],
                target_label=label,
                require_text=d["require_text"],
                require_files=d["require_files"],
                attachments=uploads,
            )
        except ValidationError as exc:
            add_errors(form, exc, _FORM_NAMES)
        else:
            messages.success(request, f"任务已下发给 {task.expected} 个单位。")
            return redirect("supervision:task", task.pk)
    return render(request, "supervision/task_form.html", {"form": form, "issuer": issuer})


UPLOAD_KINDS = ("image", "document")
MAX_FILES = 10


def _prepare(request, name: str, unit):
    """Check every uploaded file before any transaction opens (refusals stay audited)."""
    files = request.FILES.getlist(name)
    if len(files) > MAX_FILES:
        return [], [f"一次最多上传 {MAX_FILES} 个附件。"]
    prepared, errors = [], []
    for f in files:
        try:
            prepared.append(prepare_upload(request.user, f, unit=unit, allowed=UPLOAD_KINDS))
        except ValidationError as exc:
            errors.append(f"{f.name}:{' '.join(exc.messages)}")
    return prepared, errors


_FORM_NAMES = {"targets": "target_mode", "fields": "field_lines"}  # action field → form field


def _rates_context(request, task):
    parent = queries.rates_parent(request.user, task, request.GET.get("unit"))
    today = timezone.localdate()
    table = queries.reporting_rates(task, parent, today)
    return {
        "task": task,
        "parent": parent,
        "table": table,
        "crumbs": [
            u
            for u in breadcrumbs(parent, scope_for(request.user, Cap.VIEW_WORK))
            if u.depth >= task.issuer_unit.depth
        ],
        "today": today,
        "overdue": today > task.deadline,
    }


@login_required
def task_detail(request, task_id: int):
    task = queries.access_task(request.user, task_id)
    context = _rates_context(request, task)
    parent = context["parent"]
    context.update(
        red_list=queries.red_list(task, parent, context["today"]),
        awaiting=queries.awaiting_review(task, parent),
        can_review=actions.can_review(request.user, task),
        form_fields=task.form_fields(),
        task_files=queries.attachments_of(task),
    )
    return render(request, "supervision/task_detail.html", context)


@login_required
def task_rates(request, task_id: int):
    """htmx partial: the rates table broken down by the children of another unit (drill-down)."""
    task = queries.access_task(request.user, task_id)
    return render(request, "supervision/_rates.html", _rates_context(request, task))


@login_required
def task_export(request, task_id: int):
    task = queries.access_task(request.user, task_id)
    parent = queries.rates_parent(request.user, task, request.GET.get("unit"))
    content = exports.submissions_xlsx(task, parent)
    record(
        request.user, "supervision.task.export", obj=task, where=Where.of(parent), detail={"unit": parent.pk}
    )
    return xlsx_response(content, f"{task.title}-{parent.name}-报送汇总-{dt.date.today():%Y%m%d}.xlsx")


def _raw_values(post, form_fields):
    values = {f["key"]: post.get(f"v_{f['key']}", "") for f in form_fields}
    reasons = {f["key"]: post.get(f"r_{f['key']}", "") for f in form_fields if f.get("ledger")}
    return values, reasons


@login_required
def assignment_detail(request, assignment_id: int):
    a = queries.access_assignment(request.user, assignment_id)
    task = a.task
    form_fields = task.form_fields()
    can_submit = actions.can_submit(request.user, a.org_unit) and a.status != Status.ACCEPTED
    errors: dict[str, list[str]] = {}
    typed = None
    if request.method == "POST":
        if not can_submit:
            raise PermissionDenied("只能由本单位的工作人员报送本单位的任务。")
        values, reasons = _raw_values(request.POST, form_fields)
        text = request.POST.get("text", "")
        typed = {"values": values, "reasons": reasons, "text": text}
        op = request.POST.get("op")
        uploads, upload_errors = _prepare(request, "files", a.org_unit)
        if upload_errors:
            errors["files"] = upload_errors
        try:
            if upload_errors:
                raise ValidationError(errors)
            version = int(request.POST.get("version", "0"))
            if op == "draft":
                actions.save_draft(
                    request.user,
                    a,
                    expected_version=version,
                    text=text,
                    values=values,
                    reasons=reasons,
                    files=uploads,
                )
                messages.success(request, "草稿已保存。")
            else:
                a = actions.submit_assignment(
                    request.user,
                    a,
                    expected_version=version,
                    text=text,
                    values=values,
                    reasons=reasons,
                    files=uploads,
                )
                messages.success(request, "已报送。" + ("(已过截止日期,标记为逾期报送)" if a.is_late else ""))
            return redirect("supervision:assignment", a.pk)
        except actions.ConflictError as exc:
            errors["__all__"] = [exc.message]
        except ValidationError as exc:
            errors = exc.message_dict
        except PermissionDenied as exc:
            errors["__all__"] = [str(exc)]
    prefill = actions.ledger_prefill(task, a.org_unit) if task.ledger_keys else {}
    rows = []
    for f in form_fields:
        key = f["key"]
        if typed is not None:
            value, reason = typed["values"].get(key, ""), typed["reasons"].get(key, "")
        elif key in a.values:
            value, reason = a.values[key], a.corrections.get(key, "")
        else:
            value, reason = prefill.get(key, ""), ""
        rows.append(
            {
                **f,
                "value": value,
                "reason": reason,
                "ledger_now": prefill.get(key),
                "ledger_then": a.ledger_values.get(key),
                "submitted": a.values.get(key),
                "errors": errors.get(key, []),
            }
        )
    context = {
        "a": a,
        "task": task,
        "rows": rows,
        "text": typed["text"] if typed is not None else a.text,
        "errors": errors,
        "can_submit": can_submit,
        "can_review": actions.can_review(request.user, task) and a.status == Status.SUBMITTED,
        "timeline": queries.timeline(a),
        **_files_context(task, a),
        "today": timezone.localdate(),
    }
    return render(request, "supervision/assignment.html", context, status=400 if errors else 200)


def _files_context(task, a) -> dict:
    both = queries.task_and_assignment_files(task, a)
    return {
        "files": [f for f in both if f.assignment_id == a.pk],
        "task_files": [f for f in both if f.assignment_id is None],
    }


@login_required
@require_POST
def assignment_review(request, assignment_id: int):
    a = queries.access_assignment(request.user, assignment_id)
    try:
        version = int(request.POST.get("version", "0"))
        if request.POST.get("op") == "accept":
            actions.accept_assignment(request.user, a, expected_version=version)
            messages.success(request, f"已采纳:{a.org_unit.name}")
        else:
            actions.return_assignment(
                request.user, a, expected_version=version, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"已退回:{a.org_unit.name}")
    except actions.ConflictError as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    next_url = request.POST.get("next", "")
    if next_url.startswith("/tasks/"):
        return redirect(next_url)
    return redirect("supervision:assignment", a.pk)


@login_required
def attachment_file(request, attachment_id: int):
    att = queries.access_attachment(request.user, attachment_id)
    record(
        request.user,
        "supervision.attachment.view",
        obj=att.file,
        where=Where.of(att.file.org_unit) if att.file.org_unit_id else None,
        detail={"task": att.task_id, "assignment": att.assignment_id},
    )
    return file_response(att.file, as_attachment=not att.file.is_image)


@login_required
@require_POST
def attachment_remove(request, attachment_id: int):
    att = queries.access_attachment(request.user, attachment_id)
    try:
        actions.remove_attachment(request.user, att)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已删除附件:{att.file.original_name}")
    if att.assignment_id:
        return redirect("supervision:assignment", att.assignment_id)
    return redirect("supervision:task", att.task_id)
