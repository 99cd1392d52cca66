"""The dashboard and the 工作总结 of a unit: parse → access (404 outside the scope) → the statistics service."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.lib.xlsx import XLSX_CONTENT_TYPE, workbook_bytes

from . import queries
from .actions import record_summary_export, record_table_export
from .forms import SummaryForm
from .periods import parse_year, same_period_last_year
from .summary import render_docx, summary_content

HEADLINE_CODES = [
    "coverage_pct",
    "cadres_total",
    "training_sessions",
    "training_person_times",
    "training_employed",
    "activity_count",
    "service_beneficiaries",
    "tasks_on_time_pct",
    "cases_received",
    "cases_closed",
]
CHART_CODES = [
    "training_person_times",
    "training_sessions",
    "activity_count",
    "coverage_pct",
    "cases_received",
]
TREND_CODE = "training_person_times"


def dashboard_data(actor, unit, year: int, today: dt.date) -> dict:
    """Everything the dashboard shows, as plain JSON-able data (the page embeds it for the charts)."""
    start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
    table = queries.indicator_table(actor, unit, start, end, HEADLINE_CODES + CHART_CODES + ["cases_overdue"])
    shown = {i.code: i for i in table.indicators}
    headline = [shown[c] for c in HEADLINE_CODES if c in shown]
    last = queries.compute(unit, *same_period_last_year(start, end), headline)
    children = [r for r in table.rows if r.unit.pk != unit.pk]
    trend = queries.by_month(actor, unit, start, end, [TREND_CODE]) if TREND_CODE in shown else []
    return {
        "unit": {"id": unit.pk, "name": unit.name},
        "year": year,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "headline": [
            {
                "code": i.code,
                "name": i.name,
                "unit": i.unit,
                "value": queries.plain(table.total.values[i.code]),
                "last": queries.plain(last[i.code]),
                "delta": _delta(queries.plain(table.total.values[i.code]), queries.plain(last[i.code])),
            }
            for i in headline
        ],
        "children": {
            "ids": [r.unit.pk for r in children],
            "labels": [r.label for r in children],
            "urls": [reverse("reports:dashboard", args=[r.unit.pk]) + f"?year={year}" for r in children],
            "series": [
                {
                    "code": c,
                    "name": shown[c].name,
                    "unit": shown[c].unit,
                    "values": [queries.plain(r.values[c]) for r in children],
                }
                for c in CHART_CODES
                if c in shown
            ],
        },
        "trend": {
            "code": TREND_CODE,
            "name": shown[TREND_CODE].name if TREND_CODE in shown else "",
            "months": [m.strftime("%Y-%m") for m, _ in trend],
            "values": [queries.plain(v[TREND_CODE]) for _, v in trend],
        },
        "cases_overdue": queries.plain(table.total.values.get("cases_overdue")),
    }


def _delta(value, last):
    if isinstance(value, int | float) and isinstance(last, int | float):
        return round(value - last, 1)
    return None


@login_required
def dashboard(request, unit_id):
    unit = queries.access_stats_unit(request.user, unit_id)
    today = timezone.localdate()
    try:
        year = parse_year(request.GET.get("year"), today)
    except ValidationError:
        year = today.year
    data = dashboard_data(request.user, unit, year, today)
    sees_work = scope_for(request.user, Cap.VIEW_WORK).contains(unit)
    late = list(queries.late_assignments(unit, today)) if sees_work else []
    gaps = list(queries.coverage_gaps(unit, today))
    return render(
        request,
        "reports/dashboard.html",
        {
            "unit": unit,
            "data": data,
            "year": year,
            "years": list(range(today.year, today.year - 5, -1)),
            "late": late,
            "sees_work": sees_work,
            "sees_cases": data["cases_overdue"] is not None,
            "gaps": gaps,
            "form": SummaryForm(initial={"year": year}),
        },
    )


@login_required
def summary_docx(request, unit_id):
    """GET ?year= or POST the form: the year's 工作总结 as .docx (the form comes back with the typed text on
    an error)."""
    unit = queries.access_stats_unit(request.user, unit_id)
    today = timezone.localdate()
    data = request.POST if request.method == "POST" else {"year": request.GET.get("year") or today.year}
    form = SummaryForm(data)
    if not form.is_valid() or form.cleaned_data["year"] > today.year:
        if form.is_valid():
            form.add_error("year", f"年度不能晚于{today.year}年。")
        return render(request, "reports/summary_form.html", {"unit": unit, "form": form}, status=400)
    if not scope_for(request.user, Cap.VIEW_WORK).contains(unit):
        raise Http404("未找到该记录,或您无权查看。")
    year = form.cleaned_data["year"]
    content = summary_content(
        request.user, unit, year, today, form.cleaned_data["problems"], form.cleaned_data["plans"]
    )
    body = render_docx(content)
    record_summary_export(request.user, unit, year)
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(content.title)}.docx"
    return response


@login_required
def table_xlsx(request, unit_id):
    """The year's figures by child unit with a total row, as .xlsx: the same numbers as the page and the API
    (one code path: ``queries.indicator_table``). ``?codes=a,b`` limits the columns."""
    unit = queries.access_stats_unit(request.user, unit_id)
    today = timezone.localdate()
    try:
        year = parse_year(request.GET.get("year"), today)
        codes = queries.parse_codes(request.GET.get("codes"))
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
    table = queries.indicator_table(request.user, unit, start, end, codes)
    headers = ["单位", *[f"{i.name}({i.unit})" for i in table.indicators]]
    rows = [[r.label, *[queries.plain(r.values[i.code]) for i in table.indicators]] for r in table.rows]
    total = ["合计", *[queries.plain(table.total.values[i.code]) for i in table.indicators]]
    title = f"{unit.name}{year}年工作统计表(统计期 {start:%Y年%m月%d日}至{end:%Y年%m月%d日})"
    content = workbook_bytes("分单位统计", headers, rows, title=title, total_row=total)
    record_table_export(request.user, unit, start, end, [i.code for i in table.indicators])
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(f'{unit.name}{year}年统计表')}.xlsx"
    )
    return response
