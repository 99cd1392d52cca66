"""Excel import of ledger records, one template per kind: all-or-nothing, every bad row listed in Chinese.

The reading, cell parsing, row errors and the all-or-nothing run are those of ``fulian.orgs.imports``; this
module only describes the columns of each kind and checks a row against the ledger's rules:

1. the unit code must name a unit the actor can see; only the unit's own people may record its ledger;
2. the row must pass the same validation as the quick-entry form (``actions.validate_record``: categories, no future
   date, 人次 ≥ 人数 …), its month must not be locked (unless a leader or a 补录 exception), its brand tags
   must exist;
3. only if no row has a problem, ``actions.create_records`` writes them all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.accounts.scope import Scope
from fulian.orgs import imports as base
from fulian.orgs.imports import Column, ImportResult, RowError, Spec

from . import actions, periods
from .models import CATEGORIES, KIND_FIELDS, BrandTag, LedgerRecord, PeriodException, RecordKind

TAG_SEPARATORS = re.compile(r"[、,，;；/\s]+")

# column headers of the count and text fields (no brackets: the reader drops "(…)" from headers)
HEADERS = {
    "sessions": "期数",
    "participants": "参加人数",
    "person_times": "人次",
    "beneficiaries": "受益人数",
    "recommended_jobs": "推荐就业",
    "employed": "实现就业",
    "employers": "参会企业",
    "jobs_offered": "提供岗位",
    "job_seekers": "求职人数",
    "agreements": "达成意向",
    "workers": "加工人数",
    "avg_income": "人均增收",
    "products": "加工产品",
    "amount": "金额",
    "fund_source": "资金来源",
    "partner": "合作部门",
}
TEXT_LENGTHS = {"products": 100, "fund_source": 100, "partner": 100}
DECIMALS = {"avg_income": Decimal("99999999.99"), "amount": Decimal("9999999999.99")}
HELP = {
    "sessions": "本次培训的期数,0 或正整数;不填为 0。",
    "participants": "参加的人数(每人只算一次),0 或正整数。",
    "person_times": "人次(同一人参加多期按多次算);不能少于参加人数;不填为 0。",
    "avg_income": "人均增收金额,单位:元,可有两位小数。",
    "amount": "服务花费的金额,单位:元,可有两位小数。",
}
EXAMPLES: dict[str, dict[str, Any]] = {
    RecordKind.TRAINING: {
        "title": "茶叶种植实用技术培训",
        "sessions": 2,
        "participants": 45,
        "person_times": 90,
    },
    RecordKind.ACTIVITY: {"title": "三八节宣传活动", "participants": 120, "beneficiaries": 300},
    RecordKind.JOB_FAIR: {
        "title": "春风行动招聘会",
        "employers": 12,
        "jobs_offered": 260,
        "job_seekers": 410,
    },
    RecordKind.WORKPOINT: {
        "title": "竹编来料加工点",
        "products": "竹编工艺品",
        "workers": 35,
        "avg_income": 800,
    },
    RecordKind.SERVICE: {
        "title": "单亲母亲帮扶",
        "beneficiaries": 8,
        "amount": 4000,
        "fund_source": "春蕾基金",
    },
}


def _column(kind: str, name: str) -> Column:
    example = EXAMPLES[kind].get(name)
    if name in TEXT_LENGTHS:
        return Column(HEADERS[name], name, False, f"最多 {TEXT_LENGTHS[name]} 个字。", example, 16)
    if name in DECIMALS:
        return Column(HEADERS[name], name, False, HELP[name], example, 12)
    help_text = HELP.get(name, "0 或正整数;不填为 0。")
    return Column(HEADERS[name], name, False, help_text, example, 10)


def _spec(kind: str) -> Spec:
    label = RecordKind(kind).label
    categories = CATEGORIES[kind]
    columns = (
        Column(
            "单位编码",
            "unit",
            True,
            "填报单位的单位编码。只能导入您本人所在单位的台账(台账由本单位的工作人员填报)。",
            "360430101201",
            16,
            text=True,
        ),
        Column(
            "日期",
            "date",
            True,
            "开展的日期,如 2026-03-08、2026/3/8 或 2026年3月8日;不能晚于今天;已锁定月份的记录需上级开通补录。",
            timezone.localdate().replace(day=1),
            14,
            date=True,
        ),
        Column("主题", "title", True, "最多 200 个字。", EXAMPLES[kind]["title"], 28),
        Column(
            "类型",
            "category",
            True,
            "可填:" + "、".join(categories) + "。",
            categories[0],
            12,
            choices=tuple(categories),
        ),
        *[_column(kind, name) for name in KIND_FIELDS[kind]],
        Column(
            "品牌标签",
            "tags",
            False,
            "可填多个,用顿号“、”分隔;必须是系统中已有的品牌标签,如:双学双比、巾帼建功。",
            None,
            20,
        ),
        Column("地点", "location", False, "最多 200 个字。", None, 16),
        Column("情况说明", "description", False, "简要情况。", None, 30),
    )
    return Spec(
        kind=kind,
        what=f"{label}台账",
        sheet=label.replace("/", "、"),
        action=f"ledger.import.{kind}",
        columns=columns,
        notes=(
            "第 1 行是列名,请不要修改或删除必填的列;从第 2 行起每行填写一条记录,空行会被跳过。",
            "第 2 行是示例,请改成真实数据或删除后再导入。",
            "整个文件全部正确才会导入;只要有一行有误,就一行也不导入,并列出所有错误行及原因。",
            "台账只能由本单位的工作人员填报:只能导入您本人所在单位的记录。",
        ),
        signature=tuple(HEADERS[n] for n in KIND_FIELDS[kind]),
        chooser="台账类别",
    )


SPECS: dict[str, Spec] = {kind: _spec(kind) for kind in RecordKind.values}


def template_bytes(kind: str) -> bytes:
    """The .xlsx template of one kind (built afresh: its example row is dated this month)."""
    if kind not in SPECS:
        raise ValueError(f"unknown ledger kind: {kind!r}")
    return base.spec_template_bytes(_spec(kind))


class _Cells(base._Cells):
    def decimal(self, key: str, maximum: Decimal) -> Decimal | None:
        value, column = self._raw(key)
        if value is None:
            return Decimal("0")
        try:
            number = Decimal(base._norm(base._as_text(value)))
        except InvalidOperation:
            number = None
        if number is None or isinstance(value, bool) or not number.is_finite() or number < 0:
            self.problems.append(f"{column.header}必须是 0 或正数(单位:元)")
            return None
        if number > maximum or number != number.quantize(Decimal("0.01")):
            self.problems.append(f"{column.header}最多两位小数,且不能超过 {maximum:,.0f}")
            return None
        return number.quantize(Decimal("0.01"))

    def tags(self, key: str, by_name: dict[str, BrandTag]) -> list[BrandTag]:
        value, column = self._raw(key)
        if value is None:
            return []
        found, unknown = [], []
        for name in TAG_SEPARATORS.split(base._as_text(value).strip()):
            if not name:
                continue
            tag = by_name.get(base._norm(name))
            if tag is None:
                unknown.append(name)
            elif tag not in found:
                found.append(tag)
        if unknown:
            self.problems.append(
                f"品牌标签“{'、'.join(unknown)}”不存在,可填:{'、'.join(by_name)}(多个用“、”分隔)"
            )
        return found


def _locked_message(day: dt.date) -> str:
    return periods.lock_message(day).rstrip("。") + ",不能导入;如需补录,请联系上级妇联开通该月补录"


def _check(actor, kind: str):
    spec = SPECS[kind]

    def check(scope: Scope, rows: list[tuple[int, dict[str, Any]]]) -> tuple[list, list[RowError]]:
        codes = {base._norm(base._as_text(v["unit"])) for _, v in rows if v.get("unit") is not None}
        units = base._units_by_code(scope, codes)
        tags = {base._norm(t.name): t for t in BrandTag.objects.filter(active=True)}
        today = timezone.localdate()
        problems: dict[int, list[str]] = {}
        plans: list[tuple[int, Any, dict, list]] = []
        for number, values in rows:
            cells = _Cells(spec, values)
            code = cells.code("unit")
            unit = units.get(code) if code else None
            if code and unit is None:
                cells.problems.append(f"单位编码“{code}”不存在或不在您的管理范围内")
            elif unit is not None and unit.is_closed:
                cells.problems.append(f"单位“{unit.name}”已撤销,不能导入台账")
            elif unit is not None and not actions.can_record_for(actor, unit):
                cells.problems.append(f"只能由“{unit.name}”的工作人员填报该单位的台账,您不能导入该单位的记录")
            fields: dict[str, Any] = {
                "kind": kind,
                "date": cells.date("date"),
                "title": cells.text("title", 200),
                "category": cells.choice("category", {c: c for c in CATEGORIES[kind]}, CATEGORIES[kind]),
                "location": cells.text("location", 200) or "",
                "description": cells.text("description", 2000) or "",
            }
            for name in KIND_FIELDS[kind]:
                if name in TEXT_LENGTHS:
                    fields[name] = cells.text(name, TEXT_LENGTHS[name]) or ""
                elif name in DECIMALS:
                    fields[name] = cells.decimal(name, DECIMALS[name])
                else:
                    fields[name] = cells.integer(name, default=0)
            row_tags = cells.tags("tags", tags)
            if not cells.problems:
                try:  # the very rules of the quick-entry form
                    actions.validate_record(LedgerRecord(org_unit=unit, **fields))
                except ValidationError as exc:
                    cells.problems.extend(m.rstrip("。") for m in exc.messages)
            problems[number] = cells.problems
            plans.append((number, unit, fields, row_tags))
        _check_locks(actor, plans, problems, today)
        return plans, base._collect(problems)

    return check


def _check_locks(actor, plans: list, problems: dict[int, list[str]], today: dt.date) -> None:
    """Rows of locked months need a leader over the unit or a live 补录 exception (one query)."""
    locked = [
        (number, unit, fields["date"])
        for number, unit, fields, _ in plans
        if not problems[number] and periods.is_locked(fields["date"], today)
    ]
    if not locked:
        return
    opened = set(
        PeriodException.objects.filter(
            org_unit__in={unit.pk for _, unit, _ in locked},
            month__in={periods.month_start(day) for _, _, day in locked},
            until__gte=today,
        ).values_list("org_unit_id", "month")
    )
    for number, unit, day in locked:
        if (unit.pk, periods.month_start(day)) in opened or actions.is_leader_over(actor, unit):
            continue
        problems[number].append(_locked_message(day))


def import_records(actor, kind: str, fileobj: Any) -> ImportResult:
    """Create the ledger records of one kind listed in an .xlsx file (see ``SPECS``), all or none."""
    spec = SPECS[kind]

    def create(plans: list) -> None:
        items = [(unit, fields, tags) for _, unit, fields, tags in plans]
        try:
            actions.create_records(actor, items, source=base._filename(fileobj))
        except actions.BulkItemError as exc:
            raise base._Abort(RowError(plans[exc.index][0], base._explain(exc.error))) from exc
        except (PermissionDenied, IntegrityError, ValueError) as exc:
            raise base._Abort(RowError(None, base._explain(exc))) from exc

    return base._run(
        actor,
        fileobj,
        spec,
        Cap.EDIT_WORK,
        "您没有填报台账的权限,不能导入台账。",
        _check(actor, kind),
        create,
        lambda plans: base._common_place({unit.pk: unit for _, unit, _, _ in plans}.values()),
        family=SPECS.values(),
    )
