"""The .xlsx of every submission of a task under one unit: one row per unit, numbers in columns, a total."""

from __future__ import annotations

from django.utils import timezone

from fulian.lib.xlsx import workbook_bytes
from fulian.orgs.models import OrgUnit

from . import queries
from .forms_spec import number_of
from .models import FieldType, Task


def submissions_xlsx(task: Task, parent: OrgUnit) -> bytes:
    fields = task.form_fields()
    headers = ["单位", "上级单位", "状态", "报送时间", "是否逾期"]
    for f in fields:
        headers.append(f["label"])
        if f.get("ledger"):
            headers += [f"{f['label']}(台账数)", f"{f['label']}(更正原因)"]
    headers += ["情况说明", "退回原因"]
    number_keys = [f["key"] for f in fields if f["type"] == FieldType.NUMBER]
    totals = dict.fromkeys(number_keys, 0)
    ledger_totals = {f["key"]: 0 for f in fields if f.get("ledger")}
    rows = []
    for a in queries.submissions(task, parent).iterator(chunk_size=2000):
        reported = a.first_submitted_at is not None
        row = [
            a.org_unit.name,
            a.org_unit.parent.name if a.org_unit.parent_id else "",
            a.get_status_display(),
            timezone.localtime(a.submitted_at).strftime("%Y-%m-%d %H:%M") if a.submitted_at else "",
            ("逾期报送" if a.is_late else "按时") if reported else "",
        ]
        for f in fields:
            key = f["key"]
            value = a.values.get(key) if reported else None
            if f["type"] == FieldType.NUMBER:
                value = number_of(value)
                if value is not None:
                    totals[key] += value
            row.append(value if value is not None else "")
            if f.get("ledger"):
                ledger_value = number_of(a.ledger_values.get(key)) if reported else None
                if ledger_value is not None:
                    ledger_totals[key] += ledger_value
                row += [ledger_value if ledger_value is not None else "", a.corrections.get(key, "")]
        row += [a.text if reported else "", a.return_reason]
        rows.append(row)
    total_row = ["合计", "", f"{sum(1 for r in rows if r[4])}/{len(rows)} 已报", "", ""]
    for f in fields:
        total_row.append(totals[f["key"]] if f["type"] == FieldType.NUMBER else "")
        if f.get("ledger"):
            total_row += [ledger_totals[f["key"]], ""]
    total_row += ["", ""]
    return workbook_bytes(
        "报送汇总",
        headers,
        rows,
        title=f"{task.title}({parent.name}汇总,截止{task.deadline:%Y年%m月%d日})",
        total_row=total_row,
    )
