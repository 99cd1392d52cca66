"""Thin views: parse → check access → call the query/action → render."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.generic import ListView

from fulian.accounts.access import ScopedViewMixin
from fulian.accounts.roles import Cap
from fulian.accounts.scope import home_unit, scope_for
from fulian.audit.actions import Where, record
from fulian.lib.forms import add_errors
from fulian.lib.xlsx import XLSX_CONTENT_TYPE, workbook_bytes

from . import actions, imports, queries
from .forms import CadreFilterForm, CadreForm, ImportForm, MoveUnitForm
from .models import Kind, OrgUnit, WomensHome


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
def home(request):
    unit = home_unit(request.user)
    if unit is None:
        return render(request, "orgs/no_membership.html")
    return redirect("orgs:unit", unit.pk)


@login_required
def unit_detail(request, unit_id: int):
    unit = queries.access_unit(request.user, unit_id)
    scope = scope_for(request.user, Cap.VIEW_ORG)
    rows, total, kinds = queries.tree_overview(unit)
    cadre_scope = scope_for(request.user, Cap.VIEW_CADRES)
    can_see_cadres = cadre_scope.contains(unit)
    context = {
        "unit": unit,
        "crumbs": queries.breadcrumbs(unit, scope),
        "rows": rows,
        "total": total,
        "kinds": [(k, Kind(k).label) for k in kinds],
        "homes": list(queries.homes_of(unit)),
        "homes_in_subtree": WomensHome.objects.under(unit).count(),
        "can_see_cadres": can_see_cadres,
        "cadres": list(unit.cadres.order_by("position", "name")[:30]) if can_see_cadres else [],
        "chair": queries.chair_of(unit) if can_see_cadres else None,
        "can_move": scope_for(request.user, Cap.MANAGE_ORG).contains(unit) and unit.parent_id is not None,
    }
    return render(request, "orgs/unit_detail.html", context)


@login_required
def tree(request, unit_id: int):
    unit = queries.access_unit(request.user, unit_id)
    rows, total, kinds = queries.tree_overview(unit)
    return render(
        request,
        "orgs/tree.html",
        {
            "unit": unit,
            "crumbs": queries.breadcrumbs(unit, scope_for(request.user, Cap.VIEW_ORG)),
            "children": list(queries.children_of(unit, dt.date.today())),
            "total": total,
            "kinds": [(k, Kind(k).label, total.by_kind.get(k, 0)) for k in kinds],
        },
    )


@login_required
def tree_children(request, unit_id: int):
    """htmx partial: the children of one unit, each expandable in turn."""
    unit = queries.access_unit(request.user, unit_id)
    return render(
        request, "orgs/_tree_children.html", {"children": list(queries.children_of(unit, dt.date.today()))}
    )


def _cadre_filter(request, unit: OrgUnit) -> tuple[CadreFilterForm, queries.CadreFilter]:
    form = CadreFilterForm(request.GET or None)
    if form.is_valid():
        f = queries.CadreFilter(
            q=form.cleaned_data["q"].strip(),
            unit=unit,
            education=form.cleaned_data["education"],
            position=form.cleaned_data["position"],
            full_time=form.tri("full_time"),
            party_member=form.tri("party_member"),
            in_two_committees=form.tri("in_two_committees"),
        )
    else:
        f = queries.CadreFilter(unit=unit)
    return form, f


class CadreListView(ScopedViewMixin, ListView):
    """The cadre list of a unit's subtree; an htmx request gets only the rows partial."""

    cap = Cap.VIEW_CADRES
    paginate_by = 50
    template_name = "orgs/cadre_list.html"

    def get_queryset(self):
        self.unit = queries.access_unit(self.request.user, self.kwargs["unit_id"], self.cap)
        self.form, f = _cadre_filter(self.request, self.unit)
        return queries.cadres_of(self.request.user, f)

    def get_template_names(self):
        return ["orgs/_cadre_rows.html" if self.request.headers.get("HX-Request") else self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            unit=self.unit,
            crumbs=queries.breadcrumbs(self.unit, scope_for(self.request.user, Cap.VIEW_ORG)),
            form=self.form,
            page=context["page_obj"],
            query=query.urlencode(),
            can_edit=scope_for(self.request.user, Cap.EDIT_CADRES).contains(self.unit),
        )
        return context


CADRE_EXPORT_HEADERS = [
    "所在单位",
    "姓名",
    "性别",
    "出生日期",
    "文化程度",
    "职务",
    "专兼职",
    "中共党员",
    "进两委",
    "联系电话",
    "任期开始",
    "任期结束",
]


@login_required
def cadre_export(request, unit_id: int):
    unit = queries.access_unit(request.user, unit_id, Cap.VIEW_CADRES)
    _, f = _cadre_filter(request, unit)
    qs = queries.cadres_of(request.user, f)
    yn = {True: "是", False: "否"}
    rows = (
        [
            c.org_unit.name,
            c.name,
            c.get_gender_display(),
            c.birth_date,
            c.get_education_display(),
            c.get_position_display(),
            "专职" if c.full_time else "兼职",
            yn[c.party_member],
            yn[c.in_two_committees],
            c.phone,
            c.term_start,
            c.term_end,
        ]
        for c in qs.iterator(chunk_size=2000)
    )
    content = workbook_bytes("干部名单", CADRE_EXPORT_HEADERS, rows, title=f"{unit.name}妇联干部名单")
    record(
        request.user, "orgs.cadre.export", where=Where.of(unit), detail={"filter": request.GET.urlencode()}
    )
    return xlsx_response(content, f"{unit.name}-妇联干部名单-{dt.date.today():%Y%m%d}.xlsx")


@login_required
def cadre_stats(request, unit_id: int):
    unit = queries.access_unit(request.user, unit_id, Cap.VIEW_CADRES)
    rows, total = queries.cadre_stats(unit)
    context = {
        "unit": unit,
        "crumbs": queries.breadcrumbs(unit, scope_for(request.user, Cap.VIEW_ORG)),
        "columns": queries.STAT_COLUMNS,
        "rows": rows,
        "total": total,
        "shares": [(label, total.share(key)) for key, label in queries.STAT_COLUMNS[1:]],
        "today": dt.date.today(),
    }
    return render(request, "orgs/cadre_stats.html", context)


@login_required
def cadre_stats_export(request, unit_id: int):
    unit = queries.access_unit(request.user, unit_id, Cap.VIEW_CADRES)
    rows, total = queries.cadre_stats(unit)
    keys = [key for key, _ in queries.STAT_COLUMNS]
    content = workbook_bytes(
        "干部统计",
        ["单位", *[label for _, label in queries.STAT_COLUMNS]],
        ([r.label, *[r.values[k] for k in keys]] for r in rows),
        title=f"{unit.name}妇联干部情况统计表({dt.date.today():%Y年%m月%d日})",
        total_row=["合计", *[total.values[k] for k in keys]],
    )
    record(request.user, "orgs.cadre_stats.export", where=Where.of(unit))
    return xlsx_response(content, f"{unit.name}-妇联干部统计-{dt.date.today():%Y%m%d}.xlsx")


@login_required
def cadre_create(request, unit_id: int):
    unit = queries.access_unit(request.user, unit_id, Cap.EDIT_CADRES)
    form = CadreForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            actions.create_cadre(request.user, org_unit=unit, **data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"已添加干部:{data['name']}")
            return redirect("orgs:cadres", unit.pk)
    return render(request, "orgs/cadre_form.html", {"form": form, "unit": unit, "cadre": None})


@login_required
def cadre_edit(request, cadre_id: int):
    cadre = queries.access_cadre(request.user, cadre_id, write=True)
    form = CadreForm(request.POST or None, instance=cadre, initial={"version": cadre.version})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            actions.update_cadre(
                request.user, cadre, expected_version=form.cleaned_data["version"] or 0, **data
            )
        except actions.ConflictError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"已保存:{data['name']}")
            return redirect("orgs:cadres", cadre.org_unit_id)
    return render(request, "orgs/cadre_form.html", {"form": form, "unit": cadre.org_unit, "cadre": cadre})


@login_required
def unit_move(request, unit_id: int):
    unit = queries.access_unit(request.user, unit_id, Cap.MANAGE_ORG)
    candidates = (
        queries.units_in_scope(request.user, Cap.MANAGE_ORG)
        .filter(kind__in=[k for k, parents in actions_parent_kinds().items() if unit.kind in parents])
        .exclude(pk=unit.parent_id)
        .only("id", "name", "path", "kind")
    )
    form = MoveUnitForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        new_parent = queries.access_unit(request.user, form.cleaned_data["new_parent"], Cap.MANAGE_ORG)
        try:
            actions.move_unit(request.user, unit, new_parent)
        except (ValidationError, PermissionDenied) as exc:
            error = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        else:
            messages.success(request, f"已将“{unit.name}”及其下级单位移至“{new_parent.name}”之下。")
            return redirect("orgs:unit", unit.pk)
    return render(
        request,
        "orgs/unit_move.html",
        {
            "unit": unit,
            "candidates": candidates,
            "error": error,
            "selected": request.POST.get("new_parent", ""),
        },
    )


def actions_parent_kinds():
    from .models import ALLOWED_PARENT_KINDS

    return {parent: {k for k, ps in ALLOWED_PARENT_KINDS.items() if parent in ps} for parent in Kind.values}


@login_required
def import_page(request):
    if not (scope_for(request.user, Cap.MANAGE_ORG) or scope_for(request.user, Cap.EDIT_CADRES)):
        raise PermissionDenied("您无权导入数据。")
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        run = imports.import_units if form.cleaned_data["kind"] == "units" else imports.import_cadres
        result = run(request.user, form.cleaned_data["file"])
        if result.ok:
            messages.success(request, f"导入成功:共 {result.created} 条。")
            return redirect(reverse("orgs:import"))
    return render(request, "orgs/import.html", {"form": form, "result": result})


@login_required
def import_template(request, kind: str):
    if kind not in ("units", "cadres"):
        raise PermissionDenied
    content = imports.template_bytes(kind)
    name = "组织单位导入模板.xlsx" if kind == "units" else "妇联干部导入模板.xlsx"
    return xlsx_response(content, name)
