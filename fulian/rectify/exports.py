"""The ledger (整改台账) as .xlsx: the same rows as the page."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.http import HttpResponse

from fulian.lib.xlsx import XLSX_CONTENT_TYPE, workbook_bytes
from fulian.orgs.models import OrgUnit

from .queries import LedgerRow, summarize

HEADERS = [
    "序号",
    "查摆单位",
    "问题",
    "问题来源",
    "问题类别",
    "查摆日期",
    "整改措施",
    "责任单位",
    "责任人",
    "整改时限",
    "预期效果",
    "状态",
    "逾期天数",
    "整改完成情况",
    "验收时间",
]


def _row(i: int, r: LedgerRow) -> list:
    p, m = r.problem, r.measure
    row = [i, p.unit.name, p.title, p.get_source_display(), p.get_category_display() or "", p.found_on]
    if m is None:
        return row + ["", "", "", "", "", r.status, "", "", ""]
    return row + [
        m.text,
        m.owner_unit.name,
        m.owner_person,
        m.deadline,
        m.expected_result,
        r.status,
        r.overdue_days or "",
        m.result,
        m.accepted_at.date() if m.accepted_at else "",
    ]


def ledger_xlsx(unit: OrgUnit, rows: list[LedgerRow], today: dt.date) -> bytes:
    s = summarize(rows)
    total = ["合计", f"问题 {s.problems} 个", f"措施 {s.measures} 条", "", "", "", "", "", "", "", ""]
    total += [f"已验收 {s.accepted} 条", f"逾期 {s.overdue} 条", "", ""]
    return workbook_bytes(
        "整改台账",
        HEADERS,
        (_row(i, r) for i, r in enumerate(rows, start=1)),
        title=f"{unit.name}整改台账({today:%Y年%m月%d日})",
        total_row=total,
    )


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
