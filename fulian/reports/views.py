"""The dashboard and the 工作总结 of a unit: parse → access (404 outside the scope) → the statistics service."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from fulian.accounts.access import deny
from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.lib.xlsx import XLSX_CONTENT_TYPE, workbook_bytes
from fulian.orgs import statsql

from . import queries, redlists, registry
from .actions import record_summary_export, record_table_export
from .forms import SummaryForm
from .periods import parse_year, same_period_last_year
from .summary import CSS_FONTS, build_report, render_docx

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
# monthly trends: all from the ledger's roll-up, so that several cost the queries of one (one per month)
TREND_CODES = [
    "training_person_times",
    "training_sessions",
    "training_employed",
    "activity_count",
    "service_beneficiaries",
]


@statsql.memo()
def dashboard_data(actor, unit, year: int, today: dt.date) -> dict:
    """Everything the dashboard shows, as plain JSON-able data (the page embeds it for the charts)."""
    start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
    figures = {
        i.code: i
        for i in queries.visible_indicators(actor, unit, HEADLINE_CODES + CHART_CODES + ["cases_overdue"])
    }
    headline = [figures[c] for c in HEADLINE_CODES if c in figures]
    # The bars' sources (ledger, tree, cases) give their rows and their totals from one statement
    # (``Source.table``): the headline figures of those sources are asked for in that same statement, so each
    # is not counted a second time by ``compute``. Only the other sources (cadres, tasks) run ``compute``.
    charted = {figures[c].source for c in CHART_CODES if c in figures}
    table = queries.indicator_table(
        actor, unit, start, end, [c for c in figures if figures[c].source in charted]
    )
    now = dict(table.total.values)
    now.update(queries.compute(unit, start, end, [i for i in figures.values() if i.source not in charted]))
    # last year: a period-free source (the cadres, counted as they are now) has last year's answer already
    again = [i for i in headline if not i.source.period_free]
    last = {i.code: now[i.code] for i in headline if i.source.period_free}
    last.update(queries.compute(unit, *same_period_last_year(start, end), again))
    shown = {i.code: i for i in table.indicators}
    # the child units and, when the unit has figures of its own, its "本级" row (first, without a drill-down
    # link): the bars then add up to the headline, as the .xlsx table and the Word appendix do
    children = table.rows
    visible = {i.code for i in queries.visible_indicators(actor, unit, TREND_CODES)}
    trend_codes = [c for c in TREND_CODES if c in visible]
    trend = queries.by_month(actor, unit, start, end, trend_codes) if trend_codes else []
    return {
        "unit": {"id": unit.pk, "name": unit.name},
        "year": year,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "headline": [_headline(i, now[i.code], last[i.code]) for i in headline],
        "children": {
            "ids": [r.unit.pk for r in children],
            "labels": [r.label for r in children],
            "urls": [
                ""
                if r.unit.pk == unit.pk
                else reverse("reports:dashboard", args=[r.unit.pk]) + f"?year={year}"
                for r in children
            ],
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
            "months": [m.strftime("%Y-%m") for m, _ in trend],
            "series": [
                {
                    "code": c,
                    "name": registry.get(c).name,
                    "unit": registry.get(c).unit,
                    "values": [queries.plain(v[c]) for _, v in trend],
                }
                for c in trend_codes
            ],
        },
        "cases_overdue": queries.plain(now.get("cases_overdue")),
    }


def _headline(ind, value, last) -> dict:
    value, last = queries.plain(value), queries.plain(last)
    delta = _delta(value, last)
    pct = None  # 同比 %, for counts only (a rate changes by percentage points: the delta)
    if delta is not None and ind.unit != "%" and last:
        pct = round(100.0 * delta / last, 1)
    return {
        "code": ind.code,
        "name": ind.name,
        "unit": ind.unit,
        "value": value,
        "last": last,
        "delta": delta,
        "abs_delta": abs(delta) if delta is not None else None,
        "pct": pct,
        "abs_pct": abs(pct) if pct is not None else None,
    }


def _delta(value, last):
    if isinstance(value, int | float) and isinstance(last, int | float):
        return round(value - last, 1)
    return None


@login_required
@statsql.memo()
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
    overdue = redlists.overdue_cases(request.user, unit)
    gaps = redlists.coverage_gaps(unit, today)
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
            "sees_cases": overdue is not None,
            "overdue": overdue or [],
            "gaps": gaps,
            "gap_counts": redlists.gap_counts(unit, today),
            "children_rows": _children_rows(data),
            "gap_items": _gap_items(gaps),
            "form": SummaryForm(initial={"year": year, "genre": "summary"}, today=today),
        },
    )


def _children_rows(data: dict) -> SafeString:
    """The bar chart's numbers as table rows (drill-down without JavaScript, and on paper): built here rather
    than by a template loop over every cell — at a county ~50 rows × 5 figures, the largest part of the page's
    rendering. Every text is escaped; numbers are localized as ``{{ v }}`` would show them."""
    series = data["children"]["series"]
    rows = []
    for i, (label, url) in enumerate(zip(data["children"]["labels"], data["children"]["urls"], strict=True)):
        head = format_html('<a href="{}">{}</a>', url, label) if url else escape(label)
        cells = "".join(
            "<td>—</td>" if s["values"][i] is None else f"<td>{escape(localize(s['values'][i]))}</td>"
            for s in series
        )
        rows.append(f'<tr><th scope="row">{head}</th>{cells}</tr>')
    return mark_safe("".join(rows))  # noqa: S308 (every piece escaped above)


def _gap_items(gaps: list) -> SafeString:
    """The coverage gaps as list items (as ``_children_rows``: one string, every text escaped)."""
    return format_html_join(
        "",
        "<li>{} · {}:{}{}</li>",
        (
            (
                g.parent_name,
                g.name,
                mark_safe('<span class="tag warn">未建妇联</span>') if not g.established else "",
                mark_safe(' <span class="tag">无妇女之家</span>') if not g.has_home else "",
            )
            for g in gaps
        ),
    )


def _summary_request(request, unit_id):
    """The unit (404 outside the scope, and for a viewer without work figures) and the bound form: POST, or GET
    parameters (a link), or the defaults."""
    unit = queries.access_stats_unit(request.user, unit_id)
    if not scope_for(request.user, Cap.VIEW_WORK).contains(unit):
        raise deny(request.user, "reports.summary", unit.pk, Cap.VIEW_WORK)
    today = timezone.localdate()
    data = request.POST if request.method == "POST" else request.GET.copy()
    if request.method != "POST" and not any(data.get(k) for k in ("year", "start", "end")):
        data["year"] = str(today.year)  # a plain link: this year so far, shown in the form
    return unit, today, SummaryForm(data, today=today)


def _build(request, unit, today, form):
    c = form.cleaned_data
    start, end = c["period"]
    return build_report(
        request.user,
        unit,
        start,
        end,
        today,
        genre=c["genre"],
        problems=c["problems"],
        plans=c["plans"],
    )


def _summary_page(request, unit, form, report=None, status=200):
    return render(
        request,
        "reports/summary.html",
        {"unit": unit, "form": form, "report": report, "css_fonts": CSS_FONTS},
        status=status,
    )


@login_required
def summary_preview(request, unit_id):
    """The written report as an HTML page (the same document model as the .docx) under its form, so that the
    text can be corrected and previewed again before the download."""
    unit, today, form = _summary_request(request, unit_id)
    if not form.is_valid():
        return _summary_page(request, unit, form, status=400)
    return _summary_page(request, unit, form, _build(request, unit, today, form))


@login_required
def summary_docx(request, unit_id):
    """GET (a link) or POST (the form): the 工作总结 / 情况汇报 as .docx; on an error the form comes back with
    what was typed."""
    unit, today, form = _summary_request(request, unit_id)
    if not form.is_valid():
        return _summary_page(request, unit, form, status=400)
    report = _build(request, unit, today, form)
    body = render_docx(report)
    start, end = form.cleaned_data["period"]
    record_summary_export(request.user, unit, start, end, report.genre.key)
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(report.title)}.docx"
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
