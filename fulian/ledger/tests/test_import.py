"""Excel import of ledger records: a template per kind, all or nothing, every bad row named in Chinese."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from fulian.audit.models import AuditEvent
from fulian.ledger import actions, imports
from fulian.ledger.models import LedgerRecord, RecordKind

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TRAINING_HEADERS = [
    "单位编码",
    "日期",
    "主题",
    "类型",
    "期数",
    "参加人数",
    "人次",
    "推荐就业",
    "实现就业",
    "合作部门",
    "品牌标签",
    "地点",
    "情况说明",
]
ACTIVITY_HEADERS = [
    "单位编码",
    "日期",
    "主题",
    "类型",
    "参加人数",
    "受益人数",
    "合作部门",
    "品牌标签",
    "地点",
    "情况说明",
]
SERVICE_HEADERS = [
    "单位编码",
    "日期",
    "主题",
    "类型",
    "受益人数",
    "金额",
    "资金来源",
    "品牌标签",
    "地点",
    "情况说明",
]


def xlsx_bytes(headers, rows):
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(content, name="台账.xlsx"):
    return SimpleUploadedFile(name, content, content_type=XLSX)


def today():
    return dt.date.today()


def training_row(
    unit="A1",
    day=None,
    title="茶叶种植培训",
    category="实用技术",
    sessions=2,
    people=30,
    person_times=60,
    recommended=None,
    employed=None,
    partner="县农业局",
    tags=None,
    location=None,
    description=None,
):
    day = day if day is not None else today().replace(day=1)
    return [
        unit,
        day,
        title,
        category,
        sessions,
        people,
        person_times,
        recommended,
        employed,
        partner,
        tags,
        location,
        description,
    ]


def training_file(*rows, headers=TRAINING_HEADERS):
    return upload(xlsx_bytes(headers, rows))


def rows_of(result):
    return [e.row for e in result.errors]


def message_of(result, row):
    return next(e.message for e in result.errors if e.row == row)


def _old_day():
    return (today().replace(day=1) - dt.timedelta(days=60)).replace(day=8)


# --- templates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "headers"),
    [
        (RecordKind.TRAINING, TRAINING_HEADERS),
        (RecordKind.ACTIVITY, ACTIVITY_HEADERS),
        (RecordKind.SERVICE, SERVICE_HEADERS),
    ],
)
def test_a_template_per_kind_with_chinese_headers_and_instructions(kind, headers):
    wb = load_workbook(io.BytesIO(imports.template_bytes(kind)))
    data, help_sheet = wb.worksheets
    assert [c.value for c in data[1]] == headers
    assert all(c.font.bold for c in data[1])
    explained = {row[0]: row[1:] for row in help_sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    assert set(headers) <= set(explained)
    assert explained["单位编码"][0] == "必填" and explained["品牌标签"][0] == "选填"
    assert "、" in explained["品牌标签"][1]


def test_every_kind_has_a_template_and_unknown_kinds_are_refused():
    for kind in RecordKind.values:
        assert load_workbook(io.BytesIO(imports.template_bytes(kind))).worksheets[0]["A1"].value == "单位编码"
    with pytest.raises(ValueError):
        imports.template_bytes("meeting")


def test_downloaded_template_round_trips(cast, login):
    client = login(cast.users.a1_staff)
    response = client.get("/ledger/import/template/training.xlsx")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb.worksheets[0]
    ws["A2"] = "A1"
    out = io.BytesIO()
    wb.save(out)
    result = imports.import_records(cast.users.a1_staff, RecordKind.TRAINING, upload(out.getvalue()))
    assert result.ok, result.errors
    rec = LedgerRecord.objects.get()
    assert (rec.org_unit, rec.title, rec.sessions, rec.person_times) == (
        cast.village_a1,
        "茶叶种植实用技术培训",
        2,
        90,
    )


# --- valid imports ------------------------------------------------------------------------------------------------


def test_valid_file_creates_every_row_with_tags_through_the_bulk_action(cast):
    rows = [
        training_row(tags="双学双比、巾帼建功"),
        training_row(
            title="家庭教育讲座",
            category="家庭教育",
            sessions=1,
            people=50,
            person_times=None,
            tags="巾帼建功",
        ),
        training_row(day=today().strftime("%Y年%m月%d日"), employed=3, recommended=5, location="村委会"),
    ]
    result = imports.import_records(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert result.ok, result.errors
    assert result.created == 3 and LedgerRecord.objects.count() == 3
    first = LedgerRecord.objects.get(title="茶叶种植培训", location="")
    assert sorted(first.tags.values_list("name", flat=True)) == ["双学双比", "巾帼建功"]
    lecture = LedgerRecord.objects.get(title="家庭教育讲座")
    assert lecture.person_times == 0 and lecture.created_by == cast.users.a1_staff
    assert LedgerRecord.objects.get(location="村委会").employed == 3
    event = AuditEvent.objects.filter(action="ledger.import.training").get()
    assert event.outcome == "success" and event.detail == {"rows": 3, "filename": "台账.xlsx"}
    assert event.org_path == cast.village_a1.path
    assert AuditEvent.objects.filter(action="ledger.record.bulk_create").get().detail["count"] == 3


def test_service_amounts_are_decimals(cast):
    rows = [
        ["A1", today(), "帮扶单亲母亲", "帮扶", 3, 1234.5, "春蕾基金", None, None, None],
        ["A1", today(), "法律咨询", "咨询", 10, None, None, None, None, None],
    ]
    result = imports.import_records(
        cast.users.a1_staff, RecordKind.SERVICE, upload(xlsx_bytes(SERVICE_HEADERS, rows))
    )
    assert result.ok, result.errors
    assert LedgerRecord.objects.get(title="帮扶单亲母亲").amount == Decimal("1234.50")
    assert LedgerRecord.objects.get(title="法律咨询").amount == Decimal("0")


# --- every bad case: nothing imported, every bad row named -----------------------------------------------------------


def _refused(actor, kind, fileobj):
    result = imports.import_records(actor, kind, fileobj)
    assert not result.ok
    assert not LedgerRecord.objects.exists()
    event = AuditEvent.objects.filter(action=f"ledger.import.{kind}").order_by("-id").first()
    assert event.outcome == "failure"
    return result


def test_wrong_headers_are_one_file_error(cast):
    headers = ["单位编码", "主题", "类型", "期数"]
    result = _refused(
        cast.users.a1_staff, RecordKind.TRAINING, training_file(["A1", "x", "实用技术", 1], headers=headers)
    )
    assert rows_of(result) == [None]
    assert "缺少必需的列:日期" in result.errors[0].message


def test_a_file_of_another_kind_is_named_as_such(cast):
    rows = [["A1", today(), "三八节活动", "宣传", 100, 200, None, None, None, None]]
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, upload(xlsx_bytes(ACTIVITY_HEADERS, rows)))
    assert rows_of(result) == [None]
    message = result.errors[0].message
    assert "活动台账" in message and "请在“台账类别”中选择“活动台账”" in message


def test_empty_required_cells(cast):
    rows = [training_row(), training_row(title=None), training_row(unit=None, category=None)]
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert rows_of(result) == [3, 4]
    assert message_of(result, 3) == "主题不能为空"
    assert message_of(result, 4) == "单位编码不能为空;类型不能为空"


def test_unknown_and_foreign_unit_codes_get_the_same_message(cast):
    rows = [training_row(), training_row(unit="NOSUCH"), training_row(unit="B1")]
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert rows_of(result) == [3, 4]
    assert message_of(result, 3) == "单位编码“NOSUCH”不存在或不在您的管理范围内"
    assert message_of(result, 4) == "单位编码“B1”不存在或不在您的管理范围内"


def test_a_unit_outside_the_users_recording_rights(cast):
    """A township sees its villages but does not type their ledger."""
    rows = [training_row(unit="A"), training_row(unit="A1")]
    result = _refused(cast.users.a_staff, RecordKind.TRAINING, training_file(*rows))
    assert rows_of(result) == [3]
    assert "只能由“甲一村”的工作人员填报" in message_of(result, 3)


def test_future_dates_and_bad_dates(cast):
    rows = [training_row(day=today() + dt.timedelta(days=1)), training_row(day="2026-02-30"), training_row()]
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert rows_of(result) == [2, 3]
    assert "日期不能晚于今天" in message_of(result, 2)
    assert message_of(result, 3).startswith("日期“2026-02-30”不是有效的日期")


def test_locked_months_need_an_exception_or_a_leader(cast):
    old = _old_day()
    rows = [training_row(day=old), training_row()]
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert rows_of(result) == [2]
    assert "锁定" in message_of(result, 2) and "开通该月补录" in message_of(result, 2)
    actions.grant_exception(cast.users.a_leader, cast.village_a1, old, today(), "漏报")
    result = imports.import_records(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert result.ok, result.errors
    # a leader records its own unit's locked month
    result = imports.import_records(
        cast.users.a_leader, RecordKind.TRAINING, training_file(training_row(unit="A", day=old))
    )
    assert result.ok, result.errors
    assert LedgerRecord.objects.filter(date=old).count() == 2


def test_person_times_below_participants_and_other_rules_of_the_form(cast):
    rows = [
        training_row(people=30, person_times=10),
        training_row(category="种地"),
        training_row(sessions=-1),
        training_row(employed=99, recommended=1),
        training_row(),
    ]
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert rows_of(result) == [2, 3, 4, 5]
    assert message_of(result, 2) == "人次不能少于参加人数"
    assert message_of(result, 3).startswith("类型“种地”不正确,可填:实用技术、职业技能")
    assert message_of(result, 4) == "期数必须是 0 或正整数"
    assert "实现就业人数不能多于" in message_of(result, 5)


def test_unknown_tags(cast):
    rows = [training_row(tags="巾帼建功、乡村振兴"), training_row(tags="双学双比,巾帼建功")]
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert rows_of(result) == [2]
    assert message_of(result, 2).startswith("品牌标签“乡村振兴”不存在,可填:")


def test_bad_amounts(cast):
    rows = [
        ["A1", today(), "帮扶", "帮扶", 3, -5, None, None, None, None],
        ["A1", today(), "帮扶", "帮扶", 3, "一百", None, None, None, None],
        ["A1", today(), "帮扶", "帮扶", 3, 1.005, None, None, None, None],
    ]
    result = _refused(cast.users.a1_staff, RecordKind.SERVICE, upload(xlsx_bytes(SERVICE_HEADERS, rows)))
    assert rows_of(result) == [2, 3, 4]
    assert message_of(result, 2) == message_of(result, 3) == "金额必须是 0 或正数(单位:元)"
    assert "最多两位小数" in message_of(result, 4)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"\xe5\x8d\x95\xe4\xbd\x8d\xe7\xbc\x96\xe7\xa0\x81,\xe6\x97\xa5\xe6\x9c\x9f\nA1,2026-01-01\n",
            "不是 Excel",
        ),
        (b"", "空的"),
        (None, "已损坏"),  # a truncated .xlsx
    ],
)
def test_non_xlsx_and_corrupt_files(cast, content, reason):
    if content is None:
        content = xlsx_bytes(TRAINING_HEADERS, [training_row()])[:300]
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, upload(content, "台账.csv"))
    assert rows_of(result) == [None] and reason in result.errors[0].message


def test_a_user_without_recording_rights_cannot_import(cast):
    result = imports.import_records(
        cast.users.county_auditor, RecordKind.TRAINING, training_file(training_row())
    )
    assert rows_of(result) == [None] and "没有填报台账的权限" in result.errors[0].message
    assert not LedgerRecord.objects.exists()


def test_two_thousand_rows_with_one_bad_row(cast):
    rows = [training_row(title=f"培训{i}", tags="巾帼建功" if i % 2 else None) for i in range(2000)]
    rows[1234] = training_row(title="坏行", people=30, person_times=5)
    result = _refused(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert rows_of(result) == [1236] and message_of(result, 1236) == "人次不能少于参加人数"
    rows[1234] = training_row(title="好行")
    result = imports.import_records(cast.users.a1_staff, RecordKind.TRAINING, training_file(*rows))
    assert result.ok and result.created == 2000
    assert LedgerRecord.objects.count() == 2000
    assert LedgerRecord.tags.through.objects.count() == 1000


# --- the page ------------------------------------------------------------------------------------------------------


def test_import_page_imports_a_valid_file_and_lists_errors_of_a_bad_one(cast, login):
    client = login(cast.users.a1_staff)
    body = client.get("/ledger/import/").content.decode()
    for kind in RecordKind.values:
        assert f"/ledger/import/template/{kind}.xlsx" in body
    assert "甲一村(A1)" in body
    bad = training_file(training_row(), training_row(unit="B1"))
    response = client.post("/ledger/import/", {"kind": "training", "file": bad})
    assert response.status_code == 200
    body = response.content.decode()
    assert "未导入" in body and "第 3 行" in body and "“B1”不存在" in body
    assert not LedgerRecord.objects.exists()
    response = client.post("/ledger/import/", {"kind": "training", "file": training_file(training_row())})
    assert response.status_code == 302 and LedgerRecord.objects.count() == 1


def test_import_page_refuses_users_who_record_nothing(cast, login):
    response = login(cast.users.county_auditor).get("/ledger/import/")
    assert response.status_code == 403


def test_a_training_file_sent_as_activity_is_named_too(cast):
    result = _refused(cast.users.a1_staff, RecordKind.ACTIVITY, training_file(training_row()))
    assert rows_of(result) == [None] and "请在“台账类别”中选择“培训台账”" in result.errors[0].message


def test_a_template_without_an_optional_column_is_still_read(cast):
    headers = [h for h in TRAINING_HEADERS if h != "合作部门"]
    row = training_row()
    del row[TRAINING_HEADERS.index("合作部门")]
    result = imports.import_records(
        cast.users.a1_staff, RecordKind.TRAINING, training_file(row, headers=headers)
    )
    assert result.ok, result.errors
