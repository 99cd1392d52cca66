"""Thin views: parse → check access → call the query/action → render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.accounts.scope import home_unit, scope_for
from fulian.audit.actions import Where, record
from fulian.files.actions import file_response, prepare_upload
from fulian.lib.forms import add_errors
from fulian.orgs.models import OrgUnit
from fulian.orgs.queries import access_unit, breadcrumbs, children_of

from . import actions, exports, queries
from .forms import DoneForm, MeasureForm, ProblemForm, ProgressForm
from .models import Source, State

PAGE_SIZE = 100
UPLOAD_KINDS = ("image", "document")
MAX_FILES = 10


def _default_unit(user, cap: Cap) -> OrgUnit:
    """The user's home unit when the capability covers it, else the first root of the scope."""
    scope = scope_for(user, cap)
    if not scope:
        raise PermissionDenied("您无权查看整改台账。" if cap == Cap.VIEW_WORK else "您无权登记问题。")
    unit = home_unit(user)
    if unit is not None and scope.contains(unit):
        return unit
    return OrgUnit.objects.get(path=scope.paths[0])


def _ledger_unit(request) -> OrgUnit:
    unit_id = request.GET.get("unit")
    if unit_id:
        return access_unit(request.user, unit_id, Cap.VIEW_WORK)
    return _default_unit(request.user, Cap.VIEW_WORK)


def _ledger_filter(request, children: list[OrgUnit]) -> queries.LedgerFilter:
    g = request.GET
    status = g.get("status", "")
    if status not in dict(queries.STATUS_FILTERS):
        status = ""
    source = g.get("source", "")
    if source not in Source.values:
        source = ""
    by_id = {str(u.pk): u for u in children}
    try:
        year = int(g.get("year") or 0) or None
    except ValueError:
        year = None
    return queries.LedgerFilter(
        status=status,
        overdue=g.get("overdue") in ("1", "on", "true"),
        source=source,
        child=by_id.get(g.get("child", "")),
        year=year if year and 2000 <= year <= 2100 else None,
    )


@login_required
def ledger(request):
    """整改台账 of a unit's subtree (default: the user's home unit), with filters; overdue rows in red."""
    unit = _ledger_unit(request)
    today = timezone.localdate()
    children = list(children_of(unit))
    f = _ledger_filter(request, children)
    rows = queries.ledger_rows(unit, f, today)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "unit": unit,
        "crumbs": breadcrumbs(unit, scope_for(request.user, Cap.VIEW_WORK)),
        "children": children,
        "f": f,
        "page": page,
        "summary": queries.summarize(rows),
        "status_filters": queries.STATUS_FILTERS,
        "source_filters": queries.SOURCE_FILTERS,
        "years": queries.ledger_years(today),
        "query": query.urlencode(),
        "can_create": scope_for(request.user, Cap.EDIT_WORK).contains(unit),
        "today": today,
    }
    return render(request, "rectify/ledger.html", context)


@login_required
def ledger_export(request):
    """The ledger as .xlsx: the same rows as the page (all pages), audited."""
    unit = _ledger_unit(request)
    today = timezone.localdate()
    f = _ledger_filter(request, list(children_of(unit)))
    rows = queries.ledger_rows(unit, f, today)
    content = exports.ledger_xlsx(unit, rows, today)
    record(
        request.user,
        "rectify.ledger.export",
        object_type="rectify.measure",
        where=Where.of(unit),
        detail={"unit": unit.pk, "rows": len(rows), "filter": f.as_dict()},
    )
    return exports.xlsx_response(content, f"{unit.name}-整改台账-{today:%Y%m%d}.xlsx")


# --- problems ------------------------------------------------------------------------------------------------


@login_required
def problem_create(request):
    unit_id = request.GET.get("unit")
    unit = (
        access_unit(request.user, unit_id, Cap.EDIT_WORK)
        if unit_id
        else _default_unit(request.user, Cap.EDIT_WORK)
    )
    form = ProblemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            problem = actions.create_problem(
                request.user,
                unit=unit,
                source=d["source"],
                title=d["title"],
                description=d["description"],
                category=d["category"],
                found_on=d["found_on"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "问题已登记,请制定整改措施。")
            return redirect("rectify:problem", problem.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "rectify/problem_form.html", {"form": form, "unit": unit}, status=status)


@login_required
def problem_detail(request, problem_id: int):
    problem = queries.access_problem(request.user, problem_id)
    measures = queries.measures_of(request.user, problem)
    today = timezone.localdate()
    for m in measures:
        m.overdue_days = queries.overdue_days(m, today)
    context = {
        "problem": problem,
        "measures": measures,
        "can_edit": actions.can_edit_problem(request.user, problem),
        "today": today,
    }
    return render(request, "rectify/problem_detail.html", context)


# --- measures ------------------------------------------------------------------------------------------------


def _owner_units(problem) -> list[OrgUnit]:
    """The problem's unit and the units of its subtree that exist today (tree order)."""
    return list(OrgUnit.objects.under(problem.unit).active_on(timezone.localdate()).order_by("path"))


@login_required
def measure_create(request, problem_id: int):
    problem = queries.access_problem(request.user, problem_id)
    if not actions.can_edit_problem(request.user, problem):
        raise PermissionDenied("您无权为该问题制定整改措施。")
    form = MeasureForm(
        request.POST or None, units=_owner_units(problem), initial={"owner_unit": problem.unit_id}
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.add_measure(
                request.user,
                problem,
                text=d["text"],
                owner_unit=d["owner_unit"],
                owner_person=d["owner_person"],
                deadline=d["deadline"],
                expected_result=d["expected_result"],
                disclose=d["disclose"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "整改措施已添加。")
            return redirect("rectify:problem", problem.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "rectify/measure_form.html",
        {"form": form, "problem": problem, "measure": None},
        status=status,
    )


@login_required
def measure_edit(request, measure_id: int):
    m = queries.access_measure(request.user, measure_id)
    problem = m.problem
    if not actions.can_edit_problem(request.user, problem):
        raise PermissionDenied("您无权修改该整改措施。")
    initial = {
        "text": m.text,
        "owner_unit": m.owner_unit_id,
        "owner_person": m.owner_person,
        "deadline": m.deadline,
        "expected_result": m.expected_result,
        "disclose": m.disclose,
    }
    form = MeasureForm(request.POST or None, units=_owner_units(problem), initial=initial)
    version = m.version
    if request.method == "POST":
        try:
            version = int(request.POST.get("version", "0"))
        except ValueError:
            version = 0
        if form.is_valid():
            d = form.cleaned_data
            try:
                actions.edit_measure(request.user, m, expected_version=version, **d)
            except actions.ConflictError as exc:
                form.add_error(None, exc.message)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, "整改措施已修改。")
                return redirect("rectify:measure", m.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "problem": problem, "measure": m, "version": version}
    return render(request, "rectify/measure_form.html", context, status=status)


def _prepare(request, unit):
    """Check every uploaded file before any transaction opens (refusals stay audited)."""
    files = request.FILES.getlist("files")
    if len(files) > MAX_FILES:
        return [], [f"一次最多上传 {MAX_FILES} 个附件。"]
    prepared, errors = [], []
    for f in files:
        try:
            prepared.append(prepare_upload(request.user, f, unit=unit, allowed=UPLOAD_KINDS))
        except ValidationError as exc:
            errors.append(f"{f.name}:{' '.join(exc.messages)}")
    return prepared, errors


OPS = {
    "progress": "报告进展",
    "done": "报告整改完成",
    "accept": "验收通过",
    "return": "退回重改",
}


@login_required
def measure_detail(request, measure_id: int):
    """One measure: its progress and timeline, and the forms of the next steps (progress, done, accept,
    return). A refused or conflicting step keeps what was typed and says why."""
    m = queries.access_measure(request.user, measure_id)
    errors: dict[str, list[str]] = {}
    typed: dict[str, str] = {}
    if request.method == "POST":
        op = request.POST.get("op", "")
        typed = {k: request.POST.get(k, "") for k in ("text", "result", "note", "reason")}
        try:
            version = int(request.POST.get("version", "0"))
        except ValueError:
            version = 0
        try:
            if op == "progress":
                form = ProgressForm(request.POST)
                uploads, upload_errors = _prepare(request, m.owner_unit)
                if upload_errors:
                    raise ValidationError({"files": upload_errors})
                if not form.is_valid():
                    raise ValidationError(form.errors)
                actions.report_progress(request.user, m, text=form.cleaned_data["text"], files=uploads)
            elif op == "done":
                form = DoneForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(form.errors)
                actions.mark_done(
                    request.user, m, expected_version=version, result=form.cleaned_data["result"]
                )
            elif op == "accept":
                actions.accept_measure(request.user, m, expected_version=version, note=typed["note"])
            elif op == "return":
                actions.return_measure(request.user, m, expected_version=version, reason=typed["reason"])
            else:
                raise ValidationError("未知的操作。")
        except actions.ConflictError as exc:
            errors["__all__"] = [exc.message]
        except PermissionDenied as exc:
            errors["__all__"] = [str(exc)]
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        else:
            messages.success(request, f"已{OPS[op]}。")
            return redirect("rectify:measure", m.pk)
        errors = {k: list(v) for k, v in errors.items()}
        m = queries.access_measure(request.user, measure_id)  # as it is now, not as the failed step left it
    queries.with_history(m)
    today = timezone.localdate()
    m.overdue_days = queries.overdue_days(m, today)
    context = {
        "m": m,
        "problem": m.problem,
        "errors": errors,
        "typed": typed,
        "can_report": actions.can_report(request.user, m) and m.state == State.IN_PROGRESS,
        "can_accept": actions.can_accept(request.user, m) and m.state == State.DONE,
        "can_edit": actions.can_edit_problem(request.user, m.problem) and m.state == State.IN_PROGRESS,
        "today": today,
    }
    return render(request, "rectify/measure_detail.html", context, status=400 if errors else 200)


@login_required
def evidence_file(request, evidence_id: int):
    ev = queries.access_evidence(request.user, evidence_id)
    record(
        request.user,
        "rectify.evidence.view",
        obj=ev.file,
        where=Where.of(ev.file.org_unit) if ev.file.org_unit_id else None,
        detail={"progress": ev.progress_id, "measure": ev.progress.measure_id},
    )
    return file_response(ev.file, as_attachment=not ev.file.is_image)
