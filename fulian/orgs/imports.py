"""Excel import of org units and cadres: all-or-nothing, every bad row listed in Chinese.

The flow is the same for both kinds:

1. read the first data sheet with openpyxl (read-only, cached values) into plain rows; a file that is not a
   readable .xlsx, lacks required columns or has no data rows is one file-level error;
2. check every row in Python against the whole file and a handful of set-based queries (never one query per
   row), collecting every problem with the row number Excel shows (the header is row 1);
3. only if no row has a problem, create everything in one transaction through the real actions
   (``actions.create_unit`` / ``actions.create_cadre``: scope checks, model validation, audit events) plus
   one ``orgs.import.*`` event. A failure at that stage (a race with another user, say) rolls everything back.

Every attempt, failed or not, leaves an ``orgs.import.*`` event on the audit log.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from fulian.accounts.roles import Cap
from fulian.accounts.scope import Scope, home_unit, scope_for
from fulian.audit.actions import Where, record
from fulian.audit.models import Outcome

from . import actions
from .models import ALLOWED_PARENT_KINDS, Cadre, Education, Gender, Kind, OrgUnit, Position


@dataclass
class RowError:
    row: int | None  # spreadsheet row number (1-based, as Excel shows it); None for file-level errors
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行:{self.message}" if self.row else self.message


@dataclass
class ImportResult:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


MAX_ROWS = 20_000  # data rows per file
MAX_BYTES = 20 * 1024 * 1024
HELP_SHEET = "填写说明"
TEMPLATE_ROWS = 5000  # how far down the template's dropdowns and cell formats reach
_CHUNK = 5000  # codes per ``code__in`` query (far below SQLite's variable limit)

NO_DATA = "文件中没有数据行"


# --- column specifications ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool
    help: str
    example: Any = None
    width: int = 14
    text: bool = False  # formatted as text in the template, so Excel keeps leading zeros and long codes
    date: bool = False
    choices: tuple[str, ...] = ()  # the template's dropdown
    strict: bool = True  # whether the dropdown refuses other values (kinds also accept short forms)


@dataclass(frozen=True)
class Spec:
    kind: str
    what: str
    sheet: str
    action: str
    columns: tuple[Column, ...]
    notes: tuple[str, ...]
    # headers that together tell this spec's files from a sibling's (whose required headers may be the same)
    signature: tuple[str, ...] = ()
    chooser: str = "导入内容"  # the import form's label where the user picks the spec

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


_YES_NO = ("是", "否")
_KIND_SHORT = {
    "省": Kind.PROVINCE,
    "省级": Kind.PROVINCE,
    "市": Kind.CITY,
    "市级": Kind.CITY,
    "县": Kind.COUNTY,
    "区": Kind.COUNTY,
    "县区": Kind.COUNTY,
    "县(区)": Kind.COUNTY,
    "乡镇": Kind.TOWNSHIP,
    "乡": Kind.TOWNSHIP,
    "镇": Kind.TOWNSHIP,
    "街道": Kind.STREET,
    "村": Kind.VILLAGE,
    "社区": Kind.COMMUNITY,
    "机关": Kind.AGENCY,
    "机关事业单位": Kind.AGENCY,
    "事业单位": Kind.AGENCY,
    "企业": Kind.ENTERPRISE,
    "新经济组织": Kind.NEW_ORG,
    "新社会组织": Kind.NEW_ORG,
    "两新组织": Kind.NEW_ORG,
}
_EDUCATION_ALIASES = {
    "硕士": Education.POSTGRADUATE,
    "博士": Education.POSTGRADUATE,
    "硕士研究生": Education.POSTGRADUATE,
    "博士研究生": Education.POSTGRADUATE,
    "大学本科": Education.BACHELOR,
    "大学": Education.BACHELOR,
    "大学专科": Education.COLLEGE,
    "专科": Education.COLLEGE,
    "高中": Education.HIGH_SCHOOL,
    "中专": Education.HIGH_SCHOOL,
    "职高": Education.HIGH_SCHOOL,
    "技校": Education.HIGH_SCHOOL,
    "初中": Education.BELOW,
    "小学": Education.BELOW,
}


def _norm(text: str) -> str:
    """Full-width letters, digits and brackets folded to half-width; all whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _lookup(choices: type, aliases: dict[str, str] | None = None) -> dict[str, str]:
    table = {}
    for value, label in choices.choices:
        table[_norm(label)] = value
        table[_norm(value)] = value
    for alias, value in (aliases or {}).items():
        table[_norm(alias)] = value
    return table


# labels, values and short forms; _Cells.choice also drops a trailing 妇联/妇委会 ("县妇联", "街道妇委会")
KIND_LOOKUP = _lookup(Kind, _KIND_SHORT)
EDUCATION_LOOKUP = _lookup(Education, _EDUCATION_ALIASES)
POSITION_LOOKUP = _lookup(Position)
GENDER_LOOKUP = {"女": Gender.FEMALE, "男": Gender.MALE}
FULL_TIME_LOOKUP = {"专职": True, "兼职": False}


def _parent_rule_text() -> str:
    rules = []
    for kind, parents in ALLOWED_PARENT_KINDS.items():
        if parents:
            names = "、".join(Kind(p).label for p in Kind.values if p in parents)
            rules.append(f"{Kind(kind).label}只能设在{names}之下")
    return ";".join(rules) + "。"


UNIT_SPEC = Spec(
    kind="units",
    what="组织单位",
    sheet="组织单位",
    action="orgs.import.units",
    columns=(
        Column(
            "单位编码",
            "code",
            True,
            "本单位的唯一编码,最多 32 个字符;不能与系统中已有的单位编码或本文件其他行重复。",
            "360430101201",
            16,
            text=True,
        ),
        Column(
            "单位名称",
            "name",
            True,
            "最多 100 个字;同一上级单位下不能有两个同名单位。",
            "示例村妇联",
            22,
        ),
        Column(
            "单位类型",
            "kind",
            True,
            "可填:"
            + "、".join(Kind.labels)
            + "。也可简写为:乡镇、街道、村、社区、县、市、省、机关、企业、新经济组织。上下级规则:"
            + _parent_rule_text(),
            Kind.VILLAGE.label,
            18,
            choices=tuple(Kind.labels),
            strict=False,
        ),
        Column(
            "上级单位编码",
            "parent",
            True,
            "系统中已有的、在您管理范围内的单位编码,或本文件中其他行的单位编码(可以引用写在后面的行,"
            "系统会先建上级再建下级)。",
            "360430101",
            16,
            text=True,
        ),
        Column(
            "统计用区划代码",
            "division_code",
            False,
            "国家统计局统计用区划代码,必须是 12 位数字,如 360430101201。",
            "360430101201",
            18,
            text=True,
        ),
        Column(
            "是否建立妇联",
            "established",
            False,
            "填“是”或“否”,不填按“是”。",
            "是",
            14,
            choices=_YES_NO,
        ),
        Column(
            "成立日期",
            "opened_on",
            False,
            "日期,如 2020-01-05、2020/1/5 或 2020年1月5日。",
            dt.date(2020, 1, 5),
            14,
            date=True,
        ),
        Column("排序", "sort_order", False, "0 或正整数,数字小的排在前面;不填为 0。", 1, 8),
    ),
    notes=(
        "第 1 行是列名,请不要修改或删除必填的列;从第 2 行起每行填写一个单位,空行会被跳过。",
        "第 2 行是示例,请改成真实数据或删除后再导入。",
        "整个文件全部正确才会导入;只要有一行有误,就一行也不导入,并列出所有错误行及原因。",
        "只能在您有权管理的单位之下新建单位。",
    ),
)

_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?)$")

CADRE_SPEC = Spec(
    kind="cadres",
    what="妇联干部",
    sheet="妇联干部",
    action="orgs.import.cadres",
    columns=(
        Column(
            "所在单位编码",
            "unit",
            True,
            "干部所在单位的单位编码,必须是系统中已有的、在您管理范围内的单位。",
            "360430101201",
            16,
            text=True,
        ),
        Column("姓名", "name", True, "最多 50 个字。", "李秀英", 10),
        Column("性别", "gender", True, "填“女”或“男”。", "女", 8, choices=tuple(GENDER_LOOKUP)),
        Column(
            "出生日期",
            "birth_date",
            True,
            "日期,如 1980-05-01、1980/5/1 或 1980年5月1日;不能晚于今天。",
            dt.date(1980, 5, 1),
            14,
            date=True,
        ),
        Column(
            "文化程度",
            "education",
            True,
            "可填:" + "、".join(Education.labels) + "。",
            Education.COLLEGE.label,
            14,
            choices=tuple(Education.labels),
            strict=False,
        ),
        Column(
            "职务",
            "position",
            True,
            "可填:" + "、".join(Position.labels) + "。",
            Position.EXECUTIVE.label,
            10,
            choices=tuple(Position.labels),
        ),
        Column(
            "专兼职", "full_time", True, "填“专职”或“兼职”。", "兼职", 10, choices=tuple(FULL_TIME_LOOKUP)
        ),
        Column("是否党员", "party_member", True, "填“是”或“否”(是否中共党员)。", "是", 10, choices=_YES_NO),
        Column(
            "是否进两委",
            "in_two_committees",
            True,
            "填“是”或“否”(是否进入村或社区“两委”班子;其他单位填“否”)。",
            "否",
            12,
            choices=_YES_NO,
        ),
        Column(
            "联系电话",
            "phone",
            False,
            "11 位手机号,或固定电话(数字和短横线,如 0797-1234567)。",
            "13800001111",
            16,
            text=True,
        ),
        Column("任期开始", "term_start", False, "日期,写法同出生日期。", dt.date(2021, 6, 1), 14, date=True),
        Column(
            "任期结束",
            "term_end",
            False,
            "日期,写法同出生日期;不能早于任期开始。",
            dt.date(2026, 5, 31),
            14,
            date=True,
        ),
    ),
    notes=(
        "第 1 行是列名,请不要修改或删除必填的列;从第 2 行起每行填写一名干部,空行会被跳过。",
        "第 2 行是示例,请改成真实数据或删除后再导入。",
        "整个文件全部正确才会导入;只要有一行有误,就一行也不导入,并列出所有错误行及原因。",
        "同一单位中姓名和出生日期都相同的干部视为重复,不会重复导入。",
        "只能向您有权编辑干部信息的单位导入干部。",
    ),
)

SPECS = {"units": UNIT_SPEC, "cadres": CADRE_SPEC}


# --- the template ---------------------------------------------------------------------------------------------


def template_bytes(kind: str) -> bytes:
    """An .xlsx template for ``kind`` ("units" / "cadres"): the data sheet and a 填写说明 sheet."""
    try:
        spec = SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown import kind: {kind!r}") from None
    return spec_template_bytes(spec)


def spec_template_bytes(spec: Spec) -> bytes:
    """The .xlsx template of any ``Spec`` (also used by other apps' imports)."""
    wb = Workbook()
    ws = wb.active
    ws.title = spec.sheet
    ws.append(spec.headers)
    header_fill = PatternFill("solid", fgColor="FCE4EC")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.append([c.example for c in spec.columns])
    for i, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(i)
        dimension = ws.column_dimensions[letter]
        dimension.width = column.width
        fmt = "@" if column.text else "yyyy-mm-dd" if column.date else None
        if fmt:
            dimension.number_format = fmt  # new cells typed into the column
            ws.cell(row=2, column=i).number_format = fmt
        if column.choices:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(column.choices) + '"',
                allow_blank=True,
                showErrorMessage=column.strict,
                errorTitle="填写有误",
                error="请从下拉列表中选择。",
            )
            dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A2"

    help_ws = wb.create_sheet(HELP_SHEET)
    help_ws.append(["列名", "是否必填", "填写说明"])
    for cell in help_ws[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
    for column in spec.columns:
        help_ws.append([column.header, "必填" if column.required else "选填", column.help])
    help_ws.append([])
    help_ws.append(["注意事项"])
    help_ws.cell(row=help_ws.max_row, column=1).font = Font(bold=True)
    for note in spec.notes:
        help_ws.append([note])
    help_ws.column_dimensions["A"].width = 16
    help_ws.column_dimensions["B"].width = 10
    help_ws.column_dimensions["C"].width = 90
    for row in help_ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- reading --------------------------------------------------------------------------------------------------


class _FileError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


_NOT_XLSX = "上传的文件不是 Excel(.xlsx)文件。如果是 CSV 或文本文件,请用 Excel 或 WPS 打开后“另存为”.xlsx 格式再上传。"
_OLD_XLS = (
    "上传的文件是旧版 Excel(.xls)格式或设置了打开密码,无法读取。请用 Excel 或 WPS 打开,取消密码后"
    "“另存为”.xlsx 格式再上传。"
)
_CORRUPT = "文件已损坏或不完整,无法读取。请用 Excel 或 WPS 打开确认无误后重新保存为 .xlsx 再上传。"


def _read_bytes(fileobj: Any) -> bytes:
    if isinstance(fileobj, bytes | bytearray):
        return bytes(fileobj)
    if hasattr(fileobj, "seek"):
        try:
            fileobj.seek(0)
        except (OSError, ValueError):
            pass
    data = fileobj.read(MAX_BYTES + 1)
    if isinstance(data, str):  # a text-mode file handed over by mistake
        raise _FileError(_NOT_XLSX)
    if len(data) > MAX_BYTES:
        raise _FileError(f"文件太大(超过 {MAX_BYTES // 1024 // 1024} MB),请拆分后分批导入。")
    return data


def _filename(fileobj: Any) -> str:
    name = getattr(fileobj, "name", "")
    return PurePath(name).name if isinstance(name, str) else ""


def _header_key(value: Any) -> str:
    """'* 单位编码(必填)' → '单位编码'."""
    if value is None:
        return ""
    text = _norm(str(value)).strip("*")
    return re.sub(r"\(.*\)$", "", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.replace("\u3000", " ").replace("\xa0", " ").strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _data_sheet(wb, spec: Spec):
    if spec.sheet in wb.sheetnames:
        return wb[spec.sheet]
    for ws in wb.worksheets:
        if ws.title != HELP_SHEET:
            return ws
    raise _FileError(NO_DATA)


def _read_rows(
    data: bytes, spec: Spec, family: Iterable[Spec] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """The non-blank data rows as (row number, {column key: cleaned value}); raises _FileError.

    ``family``: the specs a user chooses between on the same form (default: units and cadres), so a file of
    the wrong one is named as such."""
    if not data:
        raise _FileError("上传的文件是空的。")
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise _FileError(_OLD_XLS)
    if not data.startswith(b"PK\x03\x04"):
        raise _FileError(_NOT_XLSX)
    with warnings.catch_warnings():  # openpyxl warns about features it drops (extensions, styles)
        warnings.simplefilter("ignore")
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # zipfile, XML and KeyError failures of a broken or foreign file
            raise _FileError(_CORRUPT) from exc
        try:
            ws = _data_sheet(wb, spec)
            ws.reset_dimensions()  # trust the cells, not the (often wrong) <dimension> of generated files
            return _parse_sheet(ws.iter_rows(values_only=True), spec, family)
        except _FileError:
            raise
        except Exception as exc:  # a truncated member or bad XML only shows up while iterating
            raise _FileError(_CORRUPT) from exc
        finally:
            wb.close()


def _parse_sheet(
    rows: Iterator[Sequence[Any]], spec: Spec, family: Iterable[Spec] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    others = [s for s in (SPECS.values() if family is None else family) if s is not spec]
    header = next(rows, None)
    if header is None or all(_clean(v) is None for v in header):
        # an empty sheet; a sheet whose first row is blank but has data below is a header problem
        if not any(any(_clean(v) is not None for v in row) for row in rows):
            raise _FileError(NO_DATA)
        header = ()
    positions: dict[str, int] = {}
    known = {c.header: c.key for c in spec.columns}
    for i, value in enumerate(header):
        key = known.get(_header_key(value))
        if key is None:
            continue
        if key in positions:
            raise _FileError(f"列“{spec.column(key).header}”出现了两次,请使用导入模板。")
        positions[key] = i
    missing = [c.header for c in spec.columns if c.required and c.key not in positions]
    found = {_header_key(v) for v in header}

    def looks_like(other: Spec) -> bool:
        headers = other.signature or [c.header for c in other.columns if c.required]
        return all(h in found for h in headers)

    if missing:
        message = f"第 1 行的列名不对,缺少必需的列:{'、'.join(missing)}。请下载导入模板,按模板的列名填写。"
        other = next((o for o in others if looks_like(o)), None)
        if other is not None:
            message += f"这个文件看起来是{other.what}导入文件,请在“{other.chooser}”中选择“{other.what}”。"
        raise _FileError(message)
    if spec.signature and not all(h in found for h in spec.signature):
        other = next((o for o in others if looks_like(o)), None)
        if other is not None:
            raise _FileError(
                f"第 1 行的列名与{spec.what}导入模板不符,这个文件看起来是{other.what}导入文件,"
                f"请在“{other.chooser}”中选择“{other.what}”,或下载{spec.what}导入模板按模板填写。"
            )
    result = []
    for number, row in enumerate(rows, start=2):
        values = {key: _clean(row[i]) if i < len(row) else None for key, i in positions.items()}
        if all(v is None for v in values.values()):
            continue
        if len(result) >= MAX_ROWS:
            raise _FileError(f"单次最多导入 {MAX_ROWS} 行,请拆分文件后分批导入。")
        result.append((number, values))
    if not result:
        raise _FileError(NO_DATA)
    return result


# --- cell parsing ---------------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(value: Any) -> dt.date | None:
    """A date cell or text like 2020-01-05, 2020/1/5, 2020.1.5, 2020年1月5日, 20200105; None if not a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = _norm(str(value))
    match = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if not match:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _as_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _show(value: Any) -> str:
    text = _as_text(value)
    return text if len(text) <= 30 else text[:30] + "…"


class _Cells:
    """One data row's values by column key; every problem found while reading them goes to ``problems``."""

    def __init__(self, spec: Spec, values: dict[str, Any]):
        self.spec = spec
        self.values = values
        self.problems: list[str] = []

    def _raw(self, key: str) -> tuple[Any, Column]:
        column = self.spec.column(key)
        value = self.values.get(key)
        if value is None and column.required:
            self.problems.append(f"{column.header}不能为空")
        return value, column

    def text(self, key: str, max_length: int) -> str | None:
        value, column = self._raw(key)
        if value is None:
            return None
        text = _as_text(value)
        if len(text) > max_length:
            self.problems.append(f"{column.header}不能超过 {max_length} 个字")
            return None
        return text

    def code(self, key: str, max_length: int = 32) -> str | None:
        value, column = self._raw(key)
        if value is None:
            return None
        text = _norm(_as_text(value))
        if len(text) > max_length:
            self.problems.append(f"{column.header}不能超过 {max_length} 个字符")
            return None
        return text

    def choice(self, key: str, table: dict[str, Any], allowed: Iterable[str]) -> Any:
        value, column = self._raw(key)
        if value is None:
            return None
        text = _norm(_as_text(value))
        if text in table:
            return table[text]
        for suffix in ("妇联", "妇委会"):  # "街道妇委会", "县妇联": the kind named with another suffix
            if text.endswith(suffix) and text[: -len(suffix)] in table:
                return table[text[: -len(suffix)]]
        self.problems.append(f"{column.header}“{_show(value)}”不正确,可填:{'、'.join(allowed)}")
        return None

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        value, column = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = _norm(_as_text(value))
        if text in ("是", "否"):
            return text == "是"
        self.problems.append(f"{column.header}只能填“是”或“否”")
        return None

    def date(self, key: str) -> dt.date | None:
        value, column = self._raw(key)
        if value is None:
            return None
        day = parse_date(value)
        if day is None:
            self.problems.append(
                f"{column.header}“{_show(value)}”不是有效的日期,请写成 2020-01-05、2020/1/5 或 2020年1月5日"
            )
        return day

    def integer(self, key: str, default: int) -> int | None:
        value, column = self._raw(key)
        if value is None:
            return default
        text = _norm(_as_text(value))
        if isinstance(value, int | str) and not isinstance(value, bool) and re.fullmatch(r"\d{1,9}", text):
            return int(text)
        self.problems.append(f"{column.header}必须是 0 或正整数")
        return None


# --- scope and shared queries ---------------------------------------------------------------------------------


def _scope(actor, cap: Cap) -> Scope:
    if actor is None:  # the system itself: the whole tree
        return Scope(tuple(OrgUnit.objects.filter(parent__isnull=True).values_list("path", flat=True)))
    return scope_for(actor, cap)


def _chunks(items: Iterable, size: int = _CHUNK) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _units_by_code(scope: Scope, codes: Iterable[str]) -> dict[str, OrgUnit]:
    """Units with these codes inside the scope (one query per 5,000 codes); foreign units stay invisible."""
    found: dict[str, OrgUnit] = {}
    for chunk in _chunks(sorted(set(codes))):
        found.update((u.code, u) for u in OrgUnit.objects.within(scope).filter(code__in=chunk))
    return found


def _rows_text(rows: Iterable[int]) -> str:
    return "、".join(str(r) for r in sorted(rows))


def _collect(problems: dict[int, list[str]]) -> list[RowError]:
    return [RowError(row, ";".join(msgs)) for row, msgs in sorted(problems.items()) if msgs]


def _common_place(units: Iterable[OrgUnit]) -> Where:
    """The lowest unit above all of ``units`` (where the auditor of that subtree will see the import)."""
    units = list(units)
    if not units:
        return Where()
    common: list[str] = []
    for segments in zip(*(u.path.split(".") for u in units), strict=False):
        if len(set(segments)) != 1:
            break
        common.append(segments[0])
    path = ".".join(common)
    for unit in units:
        if unit.path == path:
            return Where.of(unit)
    return Where.of(OrgUnit.objects.filter(path=path).only("id", "path").first() if path else None)


def _fail(actor, spec: Spec, filename: str, rows: int, errors: list[RowError]) -> ImportResult:
    record(
        actor,
        spec.action,
        where=Where.of(home_unit(actor)) if actor is not None else None,
        outcome=Outcome.FAILURE,
        detail={
            "rows": rows,
            "filename": filename,
            "errors": len(errors),
            "error_rows": [e.row for e in errors if e.row][:20],
        },
    )
    return ImportResult(created=0, errors=errors)


class _Abort(Exception):
    def __init__(self, error: RowError):
        super().__init__(error.message)
        self.error = error


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return ";".join(exc.messages)
    if isinstance(exc, PermissionDenied):
        return str(exc) or "您无权在该单位进行此操作。"
    if isinstance(exc, IntegrityError):
        return "与系统中已有的数据冲突(可能有人刚刚录入了相同的单位编码或名称),请刷新后重新导入"
    return "无法写入该行,请检查后重新导入"


def _run(
    actor,
    fileobj: Any,
    spec: Spec,
    cap: Cap,
    no_permission: str,
    check: Callable[[Scope, list[tuple[int, dict[str, Any]]]], tuple[list, list[RowError]]],
    create: Callable[[list], None],
    place: Callable[[list], Where],
    family: Iterable[Spec] | None = None,
) -> ImportResult:
    filename = _filename(fileobj)
    scope = _scope(actor, cap)
    if not scope:
        return _fail(actor, spec, filename, 0, [RowError(None, no_permission)])
    try:
        rows = _read_rows(_read_bytes(fileobj), spec, family)
    except _FileError as exc:
        return _fail(actor, spec, filename, 0, [RowError(None, exc.message)])
    plans, errors = check(scope, rows)
    if errors:
        return _fail(actor, spec, filename, len(rows), errors)
    try:
        with transaction.atomic():
            create(plans)
            record(actor, spec.action, where=place(plans), detail={"rows": len(plans), "filename": filename})
    except _Abort as abort:
        return _fail(actor, spec, filename, len(rows), [abort.error])
    return ImportResult(created=len(plans))


# --- units ----------------------------------------------------------------------------------------------------

_DIVISION_RE = re.compile(r"^\d{12}$")


@dataclass(eq=False)
class _UnitPlan:
    row: int
    code: str | None
    name: str | None
    kind: str | None
    parent_code: str | None
    division_code: str | None
    established: bool | None
    opened_on: dt.date | None
    sort_order: int | None
    parent_unit: OrgUnit | None = None  # an existing parent
    parent_plan: _UnitPlan | None = None  # a parent created by the same file
    created: OrgUnit | None = None


def _parents_first(plans: list[_UnitPlan]) -> tuple[list[_UnitPlan], list[list[_UnitPlan]]]:
    """Plans ordered so each comes after its in-file parent, and the cycles that prevent it."""
    order: list[_UnitPlan] = []
    cycles: list[list[_UnitPlan]] = []
    state: dict[int, str] = {}
    for start in plans:
        chain: list[_UnitPlan] = []
        plan: _UnitPlan | None = start
        while plan is not None and plan.row not in state:
            state[plan.row] = "walking"
            chain.append(plan)
            plan = plan.parent_plan
        if plan is not None and state[plan.row] == "walking":
            cycles.append(chain[chain.index(plan) :])
        for p in reversed(chain):
            state[p.row] = "done"
            order.append(p)
    return order, cycles


def _check_units(scope: Scope, rows: list[tuple[int, dict[str, Any]]]) -> tuple[list, list[RowError]]:
    problems: dict[int, list[str]] = {}
    plans: list[_UnitPlan] = []
    kind_labels = list(Kind.labels)
    for number, values in rows:
        cells = _Cells(UNIT_SPEC, values)
        plan = _UnitPlan(
            row=number,
            code=cells.code("code"),
            name=cells.text("name", 100),
            kind=cells.choice("kind", KIND_LOOKUP, kind_labels),
            parent_code=cells.code("parent"),
            division_code=cells.code("division_code", 100),
            established=cells.boolean("established", default=True),
            opened_on=cells.date("opened_on"),
            sort_order=cells.integer("sort_order", default=0),
        )
        if plan.division_code is not None and not _DIVISION_RE.match(plan.division_code):
            cells.problems.append("统计用区划代码必须是 12 位数字")
        if plan.opened_on and plan.opened_on > dt.date.today():
            cells.problems.append("成立日期不能晚于今天")
        problems[number] = cells.problems
        plans.append(plan)

    by_code: dict[str, list[_UnitPlan]] = defaultdict(list)
    for plan in plans:
        if plan.code:
            by_code[plan.code].append(plan)
    for code, group in by_code.items():
        if len(group) > 1:
            for plan in group:
                others = _rows_text(p.row for p in group if p is not plan)
                problems[plan.row].append(f"单位编码“{code}”与第 {others} 行重复")
    taken: set[str] = set()
    for chunk in _chunks(sorted(by_code)):
        taken.update(OrgUnit.objects.filter(code__in=chunk).values_list("code", flat=True))
    for plan in plans:
        if plan.code in taken:
            problems[plan.row].append(f"单位编码“{plan.code}”在系统中已存在")

    existing = _units_by_code(scope, {p.parent_code for p in plans if p.parent_code})
    for plan in plans:
        code = plan.parent_code
        if code is None:
            continue
        if code == plan.code:
            problems[plan.row].append("上级单位编码不能与本单位的单位编码相同")
            continue
        if code in existing:
            plan.parent_unit = existing[code]
            if plan.parent_unit.is_closed:
                problems[plan.row].append(f"上级单位“{plan.parent_unit.name}”已撤销,不能在其下新建单位")
        elif code in by_code:
            plan.parent_plan = by_code[code][0]
        else:
            problems[plan.row].append(f"上级单位编码“{code}”不存在或不在您的管理范围内")
            continue
        parent_kind = plan.parent_unit.kind if plan.parent_unit else plan.parent_plan.kind
        if plan.kind and parent_kind:
            try:
                actions.check_parent_kind(plan.kind, OrgUnit(kind=parent_kind))
            except ValidationError as exc:
                problems[plan.row].extend(m.rstrip("。") for m in exc.messages)

    # names are unique among the children of one parent
    siblings: dict[tuple, list[_UnitPlan]] = defaultdict(list)
    for plan in plans:
        if plan.parent_unit:
            siblings[("unit", plan.parent_unit.pk, plan.name)].append(plan)
        elif plan.parent_plan:
            siblings[("row", plan.parent_plan.row, plan.name)].append(plan)
    for (_, _, name), group in siblings.items():
        if name and len(group) > 1:
            for plan in group:
                others = _rows_text(p.row for p in group if p is not plan)
                problems[plan.row].append(f"单位名称“{name}”与第 {others} 行重复(同一上级单位下不能重名)")
    parent_ids = {p.parent_unit.pk for p in plans if p.parent_unit}
    names_taken: set[tuple[int, str]] = set()
    for chunk in _chunks(sorted(parent_ids)):
        names_taken.update(OrgUnit.objects.filter(parent_id__in=chunk).values_list("parent_id", "name"))
    for plan in plans:
        if plan.parent_unit and (plan.parent_unit.pk, plan.name) in names_taken:
            problems[plan.row].append(f"上级单位“{plan.parent_unit.name}”下已有名为“{plan.name}”的单位")

    order, cycles = _parents_first(plans)
    for cycle in cycles:
        for plan in cycle:
            problems[plan.row].append(f"上级单位编码形成循环引用(第 {_rows_text(p.row for p in cycle)} 行)")
    return order, _collect(problems)


def _create_units(actor) -> Callable[[list[_UnitPlan]], None]:
    """Units one by one through create_unit (each needs the path its parent allocates), parents first."""

    def create(plans: list[_UnitPlan]) -> None:
        for plan in plans:
            parent = plan.parent_unit or plan.parent_plan.created
            try:
                plan.created = actions.create_unit(
                    actor,
                    parent=parent,
                    kind=plan.kind,
                    name=plan.name,
                    code=plan.code,
                    division_code=plan.division_code,
                    established=plan.established,
                    sort_order=plan.sort_order,
                    opened_on=plan.opened_on,
                )
            except (ValidationError, PermissionDenied, IntegrityError, ValueError) as exc:
                raise _Abort(RowError(plan.row, _explain(exc))) from exc

    return create


def import_units(actor, fileobj: Any) -> ImportResult:
    """Create the org units listed in an .xlsx file (see ``UNIT_SPEC``), all or none."""
    return _run(
        actor,
        fileobj,
        UNIT_SPEC,
        Cap.MANAGE_ORG,
        "您没有管理组织单位的权限,不能导入组织单位。",
        _check_units,
        _create_units(actor),
        lambda plans: _common_place(
            {p.parent_unit.pk: p.parent_unit for p in plans if p.parent_unit}.values()
        ),
    )


# --- cadres ---------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _CadrePlan:
    row: int
    unit: OrgUnit | None
    fields: dict[str, Any]


def _check_cadres(scope: Scope, rows: list[tuple[int, dict[str, Any]]]) -> tuple[list, list[RowError]]:
    units = _units_by_code(scope, {_norm(_as_text(v["unit"])) for _, v in rows if v.get("unit") is not None})
    today = dt.date.today()
    problems: dict[int, list[str]] = {}
    plans: list[_CadrePlan] = []
    education_labels, position_labels = list(Education.labels), list(Position.labels)
    for number, values in rows:
        cells = _Cells(CADRE_SPEC, values)
        code = cells.code("unit")
        unit = units.get(code) if code else None
        if code and unit is None:
            cells.problems.append(f"所在单位编码“{code}”不存在或不在您的管理范围内")
        elif unit is not None and unit.is_closed:
            cells.problems.append(f"所在单位“{unit.name}”已撤销,不能导入干部")
        fields = {
            "name": cells.text("name", 50),
            "gender": cells.choice("gender", GENDER_LOOKUP, GENDER_LOOKUP),
            "birth_date": cells.date("birth_date"),
            "education": cells.choice("education", EDUCATION_LOOKUP, education_labels),
            "position": cells.choice("position", POSITION_LOOKUP, position_labels),
            "full_time": cells.choice("full_time", FULL_TIME_LOOKUP, FULL_TIME_LOOKUP),
            "party_member": cells.boolean("party_member"),
            "in_two_committees": cells.boolean("in_two_committees"),
            "phone": cells.code("phone", 20) or "",
            "term_start": cells.date("term_start"),
            "term_end": cells.date("term_end"),
        }
        if fields["birth_date"]:
            if fields["birth_date"] > today:
                cells.problems.append("出生日期不能晚于今天")
            elif fields["birth_date"].year < 1900:
                cells.problems.append("出生日期不合理")
        if fields["phone"] and not _PHONE_RE.match(fields["phone"]):
            cells.problems.append(
                f"联系电话“{_show(values['phone'])}”格式不正确,应为 11 位手机号或固定电话(数字和短横线)"
            )
        if fields["term_start"] and fields["term_end"] and fields["term_end"] < fields["term_start"]:
            cells.problems.append("任期结束不能早于任期开始")
        problems[number] = cells.problems
        plans.append(_CadrePlan(number, unit, fields))

    # the same person twice: in the file, or already in the unit (a file imported a second time)
    seen: dict[tuple, list[_CadrePlan]] = defaultdict(list)
    for plan in plans:
        if plan.unit and plan.fields["name"] and plan.fields["birth_date"]:
            seen[(plan.unit.pk, plan.fields["name"], plan.fields["birth_date"])].append(plan)
    for group in seen.values():
        if len(group) > 1:
            for plan in group:
                others = _rows_text(p.row for p in group if p is not plan)
                problems[plan.row].append(f"与第 {others} 行重复(同一单位、姓名和出生日期都相同)")
    existing: set[tuple] = set()
    for chunk in _chunks(sorted({key[0] for key in seen})):
        existing.update(
            Cadre.objects.filter(org_unit_id__in=chunk).values_list("org_unit_id", "name", "birth_date")
        )
    for key, group in seen.items():
        if key in existing:
            for plan in group:
                problems[plan.row].append(
                    f"“{plan.unit.name}”已有姓名为“{key[1]}”、出生日期为 {key[2].isoformat()} 的干部,不能重复导入"
                )
    return plans, _collect(problems)


def import_cadres(actor, fileobj: Any) -> ImportResult:
    """Create the cadres listed in an .xlsx file (see ``CADRE_SPEC``), all or none."""

    def create(plans: list[_CadrePlan]) -> None:
        try:
            actions.create_cadres(actor, [(p.unit, p.fields) for p in plans], source=_filename(fileobj))
        except actions.BulkItemError as exc:
            raise _Abort(RowError(plans[exc.index].row, _explain(exc.error))) from exc
        except (
            PermissionDenied,
            IntegrityError,
            ValueError,
        ) as exc:  # not tied to one row: a file-level error
            raise _Abort(RowError(None, _explain(exc))) from exc

    return _run(
        actor,
        fileobj,
        CADRE_SPEC,
        Cap.EDIT_CADRES,
        "您没有编辑妇联干部信息的权限,不能导入妇联干部。",
        _check_cadres,
        create,
        lambda plans: _common_place({p.unit.pk: p.unit for p in plans}.values()),
    )
