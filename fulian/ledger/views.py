"""Thin views of the work ledger: parse → check access → call the query/action → render."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django.views.generic import ListView

from fulian.accounts.access import ScopedViewMixin
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.audit.actions import Where, record
from fulian.lib.forms import add_errors
from fulian.lib.xlsx import workbook_bytes
from fulian.orgs.actions import ConflictError
from fulian.orgs.models import OrgUnit
from fulian.orgs.queries import access_unit, breadcrumbs
from fulian.orgs.views import xlsx_response

from . import actions, imports, periods, queries
from .forms import PRESETS, ExceptionForm, ImportForm, RecordFilterForm, RecordForm, RollupForm, TagForm
from .models import KIND_FIELDS, BrandTag, LedgerRecord, RecordKind

# the quick-entry buttons, most common first, with a one-line hint each
KIND_HINTS = {
    RecordKind.TRAINING: "期数、人数、人次、就业",
    RecordKind.ACTIVITY: "宣传、文体、慰问、座谈……",
    RecordKind.SERVICE: "咨询、帮扶、讲座,金额",
    RecordKind.JOB_FAIR: "企业、岗位、求职、意向",
    RecordKind.WORKPOINT: "产品、人数、增收",
}
READ_ONLY_MESSAGE = "您可以查看“{unit}”的台账,但台账只能由本单位的工作人员填报和修改。"


def _crumbs(request, unit: OrgUnit) -> list[OrgUnit]:
    return breadcrumbs(unit, scope_for(request.user, Cap.VIEW_ORG))


def figures(rec: LedgerRecord) -> list[tuple[str, object]]:
    """The record's own figures (its kind's columns), labelled in Chinese; zeros and blanks left out."""
    out = []
    for name in KIND_FIELDS.get(rec.kind, []):
        value = getattr(rec, name)
        if value not in (0, None, ""):
            out.append((LedgerRecord._meta.get_field(name).verbose_name, value))
    return out


def lock_message(actor, rec_unit: OrgUnit, day: dt.date) -> str:
    """The lock message the actions would give for a change to ``day`` by ``actor`` ("" if open)."""
    try:
        actions.check_period_open(actor, rec_unit, day)
    except PermissionDenied as exc:
        return str(exc)
    return ""


@login_required
def home(request):
    """The records of the highest unit whose work the user sees."""
    units = [m.org_unit for m in memberships_of(request.user) if Cap.VIEW_WORK in ROLE_CAPS.get(m.role, ())]
    if not units:
        raise PermissionDenied("您的账号没有查看工作台账的权限。")
    unit = min(units, key=lambda u: (u.depth, u.path))
    return redirect("ledger:records", unit.pk)


# --- the record list --------------------------------------------------------------------------------------------


def _record_filter(request, unit: OrgUnit) -> tuple[RecordFilterForm, queries.RecordFilter]:
    form = RecordFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        f = queries.RecordFilter(
            unit=unit,
            kind=data["kind"],
            category=data["category"],
            tag=data["tag"].pk if data["tag"] else None,
            start=data["start"],
            end=data["end"],
            q=data["q"].strip(),
        )
    else:
        f = queries.RecordFilter(unit=unit)
    return form, f


class RecordListView(ScopedViewMixin, ListView):
    """The records of a unit's subtree; an htmx request gets only the rows partial."""

    cap = Cap.VIEW_WORK
    paginate_by = 50
    template_name = "ledger/record_list.html"

    def get_queryset(self):
        self.unit = access_unit(self.request.user, self.kwargs["unit_id"], self.cap)
        self.form, f = _record_filter(self.request, self.unit)
        return queries.records_of(self.request.user, f).prefetch_related("tags")

    def get_template_names(self):
        return ["ledger/_record_rows.html" if self.request.headers.get("HX-Request") else self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context["page_obj"]
        for rec in page:
            rec.figures = figures(rec)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            unit=self.unit,
            crumbs=_crumbs(self.request, self.unit),
            form=self.form,
            page=page,
            query=query.urlencode(),
            can_record=actions.can_record_for(self.request.user, self.unit),
            can_grant=scope_for(self.request.user, Cap.ASSIGN_WORK).contains(self.unit)
            and self.unit.last_child_number > 0,
            can_manage_tags=actions.can_manage_tags(self.request.user),
        )
        return context


# the figures and details of every kind, in the order of the record form
RECORD_EXPORT_FIELDS = [n for n in actions.RECORD_FIELDS if n not in actions.COMMON_FIELDS]


def record_export_headers() -> list[str]:
    label = {f.name: str(f.verbose_name) for f in LedgerRecord._meta.fields}
    return [
        "单位",
        "类别",
        "类型",
        "主题",
        "日期",
        "结束日期",
        "地点",
        *[label[n] for n in RECORD_EXPORT_FIELDS],
        "品牌标签",
        "情况说明",
        "录入时间",
    ]


@login_required
def record_export(request, unit_id: int):
    unit = access_unit(request.user, unit_id, Cap.VIEW_WORK)
    _, f = _record_filter(request, unit)
    qs = queries.records_of(request.user, f).prefetch_related("tags")
    rows = (
        [
            r.org_unit.name,
            r.get_kind_display(),
            r.category,
            r.title,
            r.date,
            r.end_date,
            r.location,
            *[getattr(r, n) for n in RECORD_EXPORT_FIELDS],
            "、".join(t.name for t in r.tags.all()),
            r.description,
            timezone.localtime(r.created_at).replace(tzinfo=None, microsecond=0),
        ]
        for r in qs.iterator(chunk_size=2000)
    )
    content = workbook_bytes("台账记录", record_export_headers(), rows, title=f"{unit.name}工作台账")
    record(
        request.user, "ledger.record.export", where=Where.of(unit), detail={"filter": request.GET.urlencode()}
    )
    return xlsx_response(content, f"{unit.name}-工作台账-{dt.date.today():%Y%m%d}.xlsx")


# --- quick entry, detail, edit, delete --------------------------------------------------------------------------


@login_required
def record_create(request, unit_id: int):
    unit = access_unit(request.user, unit_id, Cap.VIEW_WORK)
    can_record = actions.can_record_for(request.user, unit)
    kind = request.GET.get("kind", "")
    context = {
        "unit": unit,
        "crumbs": _crumbs(request, unit),
        "can_record": can_record,
        "read_only_message": READ_ONLY_MESSAGE.format(unit=unit.name),
        "own_units": [u for u in queries.recording_units(request.user) if u.pk != unit.pk],
    }
    if kind not in RecordKind.values or not can_record:
        context["kinds"] = [(k, RecordKind(k).label, KIND_HINTS[k]) for k in KIND_HINTS]
        if request.method == "POST":  # a form posted by someone who may not record here
            context["error"] = str(PermissionDenied("只能由本单位的工作人员填报本单位的台账。"))
            return render(request, "ledger/record_kind.html", context, status=403)
        return render(request, "ledger/record_kind.html", context)
    form = RecordForm(kind, request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            rec = actions.create_record(
                request.user, org_unit=unit, tags=form.cleaned_data["tags"], **form.record_fields()
            )
        except ValidationError as exc:
            add_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
        else:
            messages.success(request, f"已保存:{rec.date:%Y-%m-%d} {rec.title}")
            if "continue" in request.POST:
                return redirect(f"{reverse('ledger:record_create', args=[unit.pk])}?kind={kind}")
            return redirect("ledger:record", rec.pk)
    context.update(form=form, kind=kind, kind_label=RecordKind(kind).label, record=None)
    return render(request, "ledger/record_form.html", context, status=status)


@login_required
def record_detail(request, record_id: int):
    rec = queries.access_record(request.user, record_id)
    can_edit = actions.can_record_for(request.user, rec.org_unit)
    fields = [
        (LedgerRecord._meta.get_field(n).verbose_name, getattr(rec, n))
        for n in KIND_FIELDS[rec.kind]
        if n not in ("partner", "products", "fund_source") or getattr(rec, n)
    ]
    context = {
        "record": rec,
        "unit": rec.org_unit,
        "crumbs": _crumbs(request, rec.org_unit),
        "fields": fields,
        "tags": list(rec.tags.all()),
        "can_edit": can_edit,
        "locked": lock_message(request.user, rec.org_unit, rec.date) if can_edit else "",
        "timely": periods.is_timely(rec.date, timezone.localtime(rec.created_at).date()),
    }
    return render(request, "ledger/record_detail.html", context)


def _require_edit(request, rec: LedgerRecord) -> None:
    if not actions.can_record_for(request.user, rec.org_unit):
        raise PermissionDenied(READ_ONLY_MESSAGE.format(unit=rec.org_unit.name))


@login_required
def record_edit(request, record_id: int):
    rec = queries.access_record(request.user, record_id, write=True)
    _require_edit(request, rec)
    initial = {n: getattr(rec, n) for n in actions.RECORD_FIELDS}
    if request.method == "POST":
        form = RecordForm(rec.kind, request.POST)
    else:
        form = RecordForm(rec.kind, initial={**initial, "version": rec.version, "tags": list(rec.tags.all())})
    status = 200
    if request.method == "POST" and form.is_valid():
        fields = form.record_fields()
        fields.pop("kind")
        try:
            actions.update_record(
                request.user,
                rec,
                expected_version=form.cleaned_data["version"] or 0,
                tags=form.cleaned_data["tags"],
                **fields,
            )
        except ConflictError as exc:
            form.add_error(None, exc.message)
            status = 409
        except ValidationError as exc:
            add_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
        else:
            messages.success(request, f"已保存:{rec.title}")
            return redirect("ledger:record", rec.pk)
    context = {
        "form": form,
        "unit": rec.org_unit,
        "crumbs": _crumbs(request, rec.org_unit),
        "kind": rec.kind,
        "kind_label": rec.get_kind_display(),
        "record": rec,
        "locked": lock_message(request.user, rec.org_unit, rec.date),
        "can_record": True,
    }
    return render(request, "ledger/record_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def record_delete(request, record_id: int):
    rec = queries.access_record(request.user, record_id, write=True)
    _require_edit(request, rec)
    error = lock_message(request.user, rec.org_unit, rec.date)
    status = 200
    if request.method == "POST":
        try:
            actions.delete_record(request.user, rec)
        except PermissionDenied as exc:
            error, status = str(exc), 403
        else:
            messages.success(request, f"已删除:{rec.date:%Y-%m-%d} {rec.title}")
            return redirect("ledger:records", rec.org_unit_id)
    return render(
        request,
        "ledger/record_delete.html",
        {"record": rec, "unit": rec.org_unit, "crumbs": _crumbs(request, rec.org_unit), "error": error},
        status=status,
    )


# --- 补录 exceptions ---------------------------------------------------------------------------------------------


@login_required
def exceptions(request, unit_id: int):
    """The level above opens a locked month of one of its units for 补录."""
    unit = access_unit(request.user, unit_id, Cap.ASSIGN_WORK)
    today = timezone.localdate()
    candidates = list(queries.exception_candidates(unit, today))
    form = ExceptionForm(candidates, request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        target = access_unit(request.user, form.cleaned_data["unit"], Cap.ASSIGN_WORK)
        try:
            actions.grant_exception(
                request.user,
                target,
                form.cleaned_data["month"],
                form.cleaned_data["until"],
                form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            status = 403
        else:
            month = form.cleaned_data["month"]
            messages.success(
                request,
                f"已为“{target.name}”开通 {month:%Y年%m月} 的补录,截止 {form.cleaned_data['until']:%Y年%m月%d日}。",
            )
            return redirect("ledger:exceptions", unit.pk)
    context = {
        "unit": unit,
        "crumbs": _crumbs(request, unit),
        "form": form,
        "granted": list(queries.exceptions_under(unit)),
        "candidates_empty": not candidates,
        "today": today,
        "lock_days": settings.LEDGER_LOCK_DAYS,
        "timely_days": settings.LEDGER_TIMELY_DAYS,
    }
    return render(request, "ledger/exceptions.html", context, status=status)


# --- the roll-up table ------------------------------------------------------------------------------------------


def _rollup(request, unit: OrgUnit):
    tags = list(BrandTag.objects.filter(active=True))
    form = RollupForm(tags, request.GET or None)
    preset, start, end = form.resolve(timezone.localdate())
    tag_id = form.cleaned_data.get("tag") if form.is_bound and form.is_valid() else None
    tag = next((t for t in tags if t.pk == tag_id), None)
    rows, total = queries.rollup(unit, start, end, tag=tag)
    return form, preset, start, end, tag, rows, total, tags


@login_required
def rollup(request, unit_id: int):
    unit = access_unit(request.user, unit_id, Cap.VIEW_WORK)
    form, preset, start, end, tag, rows, total, tags = _rollup(request, unit)
    query = f"start={start:%Y-%m-%d}&end={end:%Y-%m-%d}" + (f"&tag={tag.pk}" if tag else "")
    context = {
        "unit": unit,
        "crumbs": _crumbs(request, unit),
        "form": form,
        "presets": PRESETS[:-1],
        "preset": preset,
        "start": start,
        "end": end,
        "tag": tag,
        "indicators": [(key, label) for key, label, _, _ in queries.INDICATORS],
        "rows": rows,
        "total": total,
        "tag_counts": queries.tag_totals(unit, start, end, tags),
        "query": query,
    }
    return render(request, "ledger/rollup.html", context)


def rollup_sheet(unit: OrgUnit, start: dt.date, end: dt.date, tag, rows, total) -> bytes:
    keys = [key for key, _, _, _ in queries.INDICATORS]
    title = f"{unit.name}工作台账汇总表({start:%Y年%m月%d日}—{end:%Y年%m月%d日}"
    title += f",品牌标签:{tag.name})" if tag else ")"
    return workbook_bytes(
        "台账汇总",
        ["单位", *[label for _, label, _, _ in queries.INDICATORS]],
        ([r.label, *[r.values[k] for k in keys]] for r in rows),
        title=title,
        total_row=["合计", *[total.values[k] for k in keys]],
    )


@login_required
def rollup_export(request, unit_id: int):
    unit = access_unit(request.user, unit_id, Cap.VIEW_WORK)
    _, _, start, end, tag, rows, total, _ = _rollup(request, unit)
    content = rollup_sheet(unit, start, end, tag, rows, total)
    record(
        request.user,
        "ledger.rollup.export",
        where=Where.of(unit),
        detail={"start": start.isoformat(), "end": end.isoformat(), "tag": tag.name if tag else ""},
    )
    return xlsx_response(content, f"{unit.name}-台账汇总-{start:%Y%m%d}-{end:%Y%m%d}.xlsx")


# --- Excel import -----------------------------------------------------------------------------------------------


@login_required
def import_page(request):
    if not scope_for(request.user, Cap.EDIT_WORK):
        raise PermissionDenied("您没有填报台账的权限,不能导入台账。")
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = imports.import_records(request.user, form.cleaned_data["kind"], form.cleaned_data["file"])
        if result.ok:
            messages.success(request, f"导入成功:共 {result.created} 条台账记录。")
            return redirect(reverse("ledger:import"))
    context = {
        "form": form,
        "result": result,
        "kinds": RecordKind.choices,
        "units": queries.recording_units(request.user),
    }
    return render(request, "ledger/import.html", context)


@login_required
def import_template(request, kind: str):
    if kind not in RecordKind.values:
        raise PermissionDenied("没有这种台账类别的模板。")
    return xlsx_response(
        imports.template_bytes(kind), f"{RecordKind(kind).label}台账导入模板.xlsx".replace("/", "、")
    )


# --- brand tags (品牌标签): one list for the whole tree, kept by the top unit ------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tags(request):
    """The brand-tag list: add a tag; rename, reorder or retire one (records keep a retired tag)."""
    actions.require_tag_admin(request.user)
    tag = None
    if request.method == "POST" and request.POST.get("tag"):
        tag = BrandTag.objects.filter(pk=request.POST["tag"]).first()
        if tag is None:
            raise Http404("未找到该品牌标签。")
    form = TagForm(request.POST or None, prefix=f"t{tag.pk}" if tag else "new")
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if tag is None:
                done = actions.create_tag(request.user, data["name"], data["sort_order"] or 0)
                messages.success(request, f"已添加品牌标签“{done.name}”。")
            else:
                done = actions.update_tag(
                    request.user,
                    tag,
                    name=data["name"],
                    sort_order=data["sort_order"] or 0,
                    active=data["active"],
                )
                messages.success(request, f"已保存品牌标签“{done.name}”。")
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            return redirect("ledger:tags")
    if request.method == "POST" and form.errors:
        status = 400
    rows = [
        (
            t,
            form
            if tag is not None and t.pk == tag.pk
            else TagForm(
                prefix=f"t{t.pk}", initial={"name": t.name, "sort_order": t.sort_order, "active": t.active}
            ),
        )
        for t in queries.tags_with_use()
    ]
    new_form = form if tag is None else TagForm(prefix="new")
    return render(request, "ledger/tags.html", {"rows": rows, "new_form": new_form}, status=status)
