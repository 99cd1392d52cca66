"""Excel import: all or nothing, every bad row reported with the row number Excel shows."""

import datetime as dt
import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from openpyxl import Workbook, load_workbook

from fulian.audit.models import AuditEvent
from fulian.orgs import actions, imports
from fulian.orgs.imports import RowError
from fulian.orgs.models import Cadre, Education, Kind, OrgUnit, Position

UNIT_HEADERS = [
    "单位编码",
    "单位名称",
    "单位类型",
    "上级单位编码",
    "统计用区划代码",
    "是否建立妇联",
    "成立日期",
    "排序",
]
CADRE_HEADERS = [
    "所在单位编码",
    "姓名",
    "性别",
    "出生日期",
    "文化程度",
    "职务",
    "专兼职",
    "是否党员",
    "是否进两委",
    "联系电话",
    "任期开始",
    "任期结束",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(headers, rows, *, write_only=False):
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet() if write_only else wb.active
    if headers is not None:
        ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(content, name="导入.xlsx"):
    return SimpleUploadedFile(name, content, content_type=XLSX)


def units_file(*rows, headers=UNIT_HEADERS):
    return upload(xlsx_bytes(headers, rows))


def cadres_file(*rows, headers=CADRE_HEADERS):
    return upload(xlsx_bytes(headers, rows))


def unit_row(code, name, kind="村妇联", parent="A", division=None, established=None, opened=None, sort=None):
    return [code, name, kind, parent, division, established, opened, sort]


def cadre_row(
    unit="A1",
    name="赵小红",
    gender="女",
    birth="1985-03-04",
    education="高中或中专",
    position="委员",
    full_time="兼职",
    party="是",
    two="否",
    phone="13900002222",
    start=None,
    end=None,
):
    return [unit, name, gender, birth, education, position, full_time, party, two, phone, start, end]


def counts():
    return OrgUnit.objects.count(), Cadre.objects.count()


def rows_of(result):
    return [e.row for e in result.errors]


def message_of(result, row):
    return next(e.message for e in result.errors if e.row == row)


def last_import_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


# --- the template -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "headers"), [("units", UNIT_HEADERS), ("cadres", CADRE_HEADERS)])
def test_template_has_bold_chinese_headers_an_example_row_and_instructions(kind, headers):
    wb = load_workbook(io.BytesIO(imports.template_bytes(kind)))
    data, help_sheet = wb.worksheets
    assert [c.value for c in data[1]] == headers
    assert all(c.font.bold for c in data[1])
    assert data.max_row == 2 and all(c.value is not None for c in data[2])
    assert help_sheet.title == "填写说明"
    explained = {
        row[0]: (row[1], row[2]) for row in help_sheet.iter_rows(min_row=2, values_only=True) if row[2]
    }
    assert set(headers) <= set(explained)
    if kind == "units":
        assert explained["单位编码"][0] == "必填" and explained["统计用区划代码"][0] == "选填"
        assert "村妇联" in explained["单位类型"][1] and "12 位数字" in explained["统计用区划代码"][1]
    else:
        assert "专职" in explained["专兼职"][1] and "高中或中专" in explained["文化程度"][1]


def test_template_of_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        imports.template_bytes("homes")


def _fill_example(content, **by_header):
    wb = load_workbook(io.BytesIO(content))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    for header, value in by_header.items():
        ws.cell(row=2, column=headers.index(header) + 1, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_downloaded_unit_template_round_trips_through_the_import(cast, login):
    client = login(cast.users.a_leader)
    response = client.get("/orgs/import/template/units.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    content = b"".join(response.streaming_content) if response.streaming else response.content
    header = [c.value for c in load_workbook(io.BytesIO(content)).worksheets[0][1]]
    assert header == UNIT_HEADERS
    # the example row as downloaded names a parent that does not exist here: rejected, row 2
    before = counts()
    result = imports.import_units(cast.users.a_leader, upload(content))
    assert rows_of(result) == [2] and "上级单位编码" in result.errors[0].message
    filled = _fill_example(content, 上级单位编码="A", 单位编码="A3", 单位名称="甲三村")
    result = imports.import_units(cast.users.a_leader, upload(filled))
    assert result.ok, result.errors
    assert counts()[0] == before[0] + 1
    unit = OrgUnit.objects.get(code="A3")
    assert unit.parent == cast.town_a and unit.kind == Kind.VILLAGE
    assert unit.division_code == "360430101201" and unit.opened_on == dt.date(2020, 1, 5)


def test_downloaded_cadre_template_round_trips_through_the_import(cast, login):
    content = login(cast.users.a_staff).get("/orgs/import/template/cadres.xlsx").content
    assert [c.value for c in load_workbook(io.BytesIO(content)).worksheets[0][1]] == CADRE_HEADERS
    result = imports.import_cadres(cast.users.a_staff, upload(_fill_example(content, 所在单位编码="A1")))
    assert result.ok, result.errors
    cadre = Cadre.objects.get(org_unit=cast.village_a1, name="李秀英")
    assert cadre.birth_date == dt.date(1980, 5, 1) and cadre.position == Position.EXECUTIVE
    assert cadre.term_end == dt.date(2026, 5, 31)


# --- units: valid imports -----------------------------------------------------------------------------------------


def test_valid_unit_import_creates_parents_first_through_the_actions(cast):
    rows = [
        unit_row("S1", "东门社区", kind="社区妇联", parent="S", division=360430103001),
        unit_row("S", "城东街道妇联", kind="街道", parent="C", established="否", opened="2019/7/1", sort=3),
        unit_row("S2", "西门社区", kind="社区", parent="S"),
        unit_row("CE", "县电子厂妇委会", kind="企业妇委会", parent="C"),
    ]
    before = counts()
    result = imports.import_units(cast.users.county_leader, units_file(*rows, headers=UNIT_HEADERS))
    assert result.ok, result.errors
    assert result.created == 4 and counts()[0] == before[0] + 4
    street = OrgUnit.objects.get(code="S")
    assert street.parent == cast.county and street.kind == Kind.STREET
    assert street.path.startswith(cast.county.path + ".") and street.depth == 2
    assert not street.established and street.opened_on == dt.date(2019, 7, 1) and street.sort_order == 3
    for code in ("S1", "S2"):
        community = OrgUnit.objects.get(code=code)
        assert community.parent == street and community.kind == Kind.COMMUNITY
        assert community.path.startswith(street.path + ".") and community.depth == 3
    assert OrgUnit.objects.get(code="S1").division_code == "360430103001"
    assert OrgUnit.objects.get(code="CE").parent == cast.county
    assert AuditEvent.objects.filter(action="orgs.unit.create", actor_username="county_leader").count() == 4
    event = last_import_event("orgs.import.units")
    assert event.outcome == "success" and event.actor_username == "county_leader"
    assert event.detail == {"rows": 4, "filename": "导入.xlsx"}
    assert event.org_path == cast.county.path


def test_import_accepts_a_plain_binary_file_object(cast):
    content = xlsx_bytes(UNIT_HEADERS, [unit_row("A3", "甲三村")])
    result = imports.import_units(cast.users.a_leader, io.BytesIO(content))
    assert result.ok and OrgUnit.objects.get(code="A3").parent == cast.town_a
    assert last_import_event("orgs.import.units").detail == {"rows": 1, "filename": ""}


def test_headers_may_come_in_any_order_with_required_marks(cast):
    headers = ["*单位名称", "单位编码 ", "上级单位编码*", "单位类型(必填)"]
    result = imports.import_units(
        cast.users.a_leader, units_file(["甲三村", "A3", "A", "村"], headers=headers)
    )
    assert result.ok, result.errors
    unit = OrgUnit.objects.get(code="A3")
    assert unit.established and unit.division_code is None and unit.sort_order == 0


# --- units: every bad input -------------------------------------------------------------------------------------


def test_missing_headers_are_one_file_error_naming_the_columns(cast):
    headers = ["单位编码", "单位名称", "统计用区划代码"]
    before = counts()
    result = imports.import_units(cast.users.county_leader, units_file(["X", "某村", None], headers=headers))
    assert result.errors == [RowError(None, result.errors[0].message)]
    assert "缺少必需的列:单位类型、上级单位编码。" in result.errors[0].message
    assert counts() == before


def test_a_cadre_file_sent_as_units_is_named_as_such(cast):
    result = imports.import_units(cast.users.county_leader, cadres_file(cadre_row()))
    assert rows_of(result) == [None]
    assert "缺少必需的列:单位编码、单位名称、单位类型、上级单位编码" in result.errors[0].message
    assert "请在“导入内容”中选择“妇联干部”" in result.errors[0].message


def test_empty_required_cells_are_reported_on_their_rows(cast):
    rows = [
        unit_row("A3", "甲三村"),
        unit_row("A4", None),
        unit_row(None, "甲五村", kind=None, parent="  "),
        unit_row("A6", "甲六村"),
    ]
    before = counts()
    result = imports.import_units(cast.users.a_leader, units_file(*rows))
    assert rows_of(result) == [3, 4]
    assert message_of(result, 3) == "单位名称不能为空"
    assert message_of(result, 4) == "单位编码不能为空;单位类型不能为空;上级单位编码不能为空"
    assert str(result.errors[0]) == "第 3 行:单位名称不能为空"
    assert counts() == before


def test_unknown_and_foreign_parents_get_the_same_message(cast):
    rows = [
        unit_row("A3", "甲三村", parent="A"),
        unit_row("A4", "甲四村", parent="NOSUCH"),
        unit_row("A5", "甲五村", parent="B"),  # township B exists, but not for a township-A leader
        unit_row("A6", "甲六村", parent="A"),
    ]
    before = counts()
    result = imports.import_units(cast.users.a_leader, units_file(*rows))
    assert rows_of(result) == [3, 4]
    assert message_of(result, 3) == "上级单位编码“NOSUCH”不存在或不在您的管理范围内"
    assert message_of(result, 4) == "上级单位编码“B”不存在或不在您的管理范围内"
    assert counts() == before
    # the county leader may create under B: the rule is the scope, not the code
    result = imports.import_units(cast.users.county_leader, units_file(unit_row("B2", "乙二村", parent="B")))
    assert result.ok and OrgUnit.objects.get(code="B2").parent == cast.town_b


def test_township_a_leader_cannot_import_units_into_township_b(cast):
    before = counts()
    result = imports.import_units(
        cast.users.a_leader,
        units_file(unit_row("B2", "乙二村", parent="B"), unit_row("B3", "乙三村", parent="B1")),
    )
    assert rows_of(result) == [2, 3]
    assert all("不存在或不在您的管理范围内" in e.message for e in result.errors)
    assert counts() == before
    assert not OrgUnit.objects.filter(code__in=["B2", "B3"]).exists()


def test_duplicate_codes_in_the_file_and_in_the_database(cast):
    rows = [
        unit_row("N1", "甲三村"),
        unit_row("N1", "甲四村"),
        unit_row("B1", "甲五村"),  # taken by a unit the actor cannot even see: codes are unique system-wide
        unit_row("N2", "甲六村"),
        unit_row("N1", "甲七村"),
    ]
    before = counts()
    result = imports.import_units(cast.users.a_leader, units_file(*rows))
    assert rows_of(result) == [2, 3, 4, 6]
    assert message_of(result, 2) == "单位编码“N1”与第 3、6 行重复"
    assert message_of(result, 3) == "单位编码“N1”与第 2、6 行重复"
    assert message_of(result, 4) == "单位编码“B1”在系统中已存在"
    assert counts() == before


def test_malformed_division_codes(cast):
    rows = [
        unit_row("A3", "甲三村", division="3604301012"),
        unit_row("A4", "甲四村", division="36043010120X"),
        unit_row("A5", "甲五村", division=360430101205),  # a number cell is fine
        unit_row("A6", "甲六村", division="360430101206"),
        unit_row("A7", "甲七村", division="3604301012070"),
    ]
    before = counts()
    result = imports.import_units(cast.users.a_leader, units_file(*rows))
    assert rows_of(result) == [2, 3, 6]
    assert {e.message for e in result.errors} == {"统计用区划代码必须是 12 位数字"}
    assert str(result.errors[0]) == "第 2 行:统计用区划代码必须是 12 位数字"
    assert counts() == before


def test_kind_not_allowed_under_the_parent_kind(cast):
    rows = [
        unit_row("V1", "县直村", kind="村妇联", parent="C"),  # a village directly under the county
        unit_row("T1", "甲镇下的镇", kind="乡镇", parent="A"),
        unit_row("V2", "新村", kind="村", parent="V3"),  # under a village further down the file
        unit_row("V3", "另一村", kind="村", parent="A"),
        unit_row("AG", "甲镇机关妇委会", kind="机关", parent="A"),
    ]
    before = counts()
    result = imports.import_units(cast.users.county_leader, units_file(*rows))
    assert rows_of(result) == [2, 3, 4]
    assert message_of(result, 2) == "村妇联不能设在县(区)妇联之下"
    assert message_of(result, 3) == "乡镇妇联不能设在乡镇妇联之下"
    assert message_of(result, 4) == "村妇联不能设在村妇联之下"
    assert counts() == before


def test_parent_references_that_form_a_cycle(cast):
    rows = [
        unit_row("X1", "甲三村", kind="街道", parent="X2"),
        unit_row("X2", "甲四村", kind="街道", parent="X1"),
        unit_row("X3", "甲五村", kind="街道", parent="X3"),
    ]
    before = counts()
    result = imports.import_units(cast.users.county_leader, units_file(*rows))
    assert rows_of(result) == [2, 3, 4]
    assert "上级单位编码形成循环引用(第 2、3 行)" in message_of(result, 2)
    assert "上级单位编码形成循环引用(第 2、3 行)" in message_of(result, 3)
    assert message_of(result, 4) == "上级单位编码不能与本单位的单位编码相同"
    assert counts() == before


def test_names_are_unique_under_one_parent(cast):
    rows = [
        unit_row("A3", "甲一村"),  # 甲镇 already has 甲一村
        unit_row("A4", "甲四村"),
        unit_row("A5", "甲四村"),
        unit_row("B2", "甲四村", parent="B"),  # another parent: fine
    ]
    before = counts()
    result = imports.import_units(cast.users.county_leader, units_file(*rows))
    assert rows_of(result) == [2, 3, 4]
    assert message_of(result, 2) == "上级单位“甲镇妇联”下已有名为“甲一村”的单位"
    assert message_of(result, 3) == "单位名称“甲四村”与第 4 行重复(同一上级单位下不能重名)"
    assert counts() == before


def test_bad_values_in_optional_unit_columns(cast):
    rows = [
        unit_row("A3", "甲三村", kind="大队"),
        unit_row("A4", "甲四村", established="可能"),
        unit_row("A5", "甲五村", opened="2020-02-30"),
        unit_row("A6", "甲六村", sort="-1"),
        unit_row("A7", "甲" * 101),
        unit_row("A8", "甲八村", opened=dt.date.today() + dt.timedelta(days=1)),
    ]
    result = imports.import_units(cast.users.a_leader, units_file(*rows))
    assert rows_of(result) == [2, 3, 4, 5, 6, 7]
    assert message_of(result, 2).startswith("单位类型“大队”不正确,可填:省级妇联、")
    assert message_of(result, 3) == "是否建立妇联只能填“是”或“否”"
    assert message_of(result, 4).startswith("成立日期“2020-02-30”不是有效的日期")
    assert message_of(result, 5) == "排序必须是 0 或正整数"
    assert message_of(result, 6) == "单位名称不能超过 100 个字"
    assert message_of(result, 7) == "成立日期不能晚于今天"


def test_several_reasons_on_one_row_are_all_given(cast):
    result = imports.import_units(
        cast.users.a_leader, units_file(unit_row("A1", None, parent="NOSUCH", division="12"))
    )
    assert rows_of(result) == [2]
    message = message_of(result, 2)
    for reason in (
        "单位名称不能为空",
        "统计用区划代码必须是 12 位数字",
        "“A1”在系统中已存在",
        "“NOSUCH”不存在",
    ):
        assert reason in message


def test_units_need_the_manage_org_capability(cast):
    before = counts()
    result = imports.import_units(cast.users.a_staff, units_file(unit_row("A3", "甲三村")))
    assert result.errors == [RowError(None, "您没有管理组织单位的权限,不能导入组织单位。")]
    assert counts() == before
    assert last_import_event("orgs.import.units").outcome == "failure"


# --- files that are not what they claim ---------------------------------------------------------------------------


def _valid_units_bytes():
    return xlsx_bytes(UNIT_HEADERS, [unit_row(f"A{i}", f"甲{i}村") for i in range(3, 40)])


def _docx_like():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def _corrupt_member():
    """A complete zip whose sheet XML is cut off in the middle."""
    source = zipfile.ZipFile(io.BytesIO(_valid_units_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            z.writestr(info.filename, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("单位编码,单位名称\nA3,甲三村\n".encode(), "不是 Excel(.xlsx)文件", id="csv"),
        pytest.param(b"hello, this is just text\n", "不是 Excel(.xlsx)文件", id="text"),
        pytest.param(b"", "文件是空的", id="empty"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧版 Excel(.xls)", id="xls"),
        pytest.param(_docx_like(), "文件已损坏或不完整", id="other-zip"),
        pytest.param(_valid_units_bytes()[:3000], "文件已损坏或不完整", id="truncated"),
        pytest.param(_corrupt_member(), "文件已损坏或不完整", id="corrupt-sheet"),
    ],
)
def test_files_that_are_not_a_readable_xlsx_are_one_clear_error(cast, content, expected):
    before = counts()
    result = imports.import_units(cast.users.county_leader, upload(content, "单位.xlsx"))
    assert len(result.errors) == 1 and result.errors[0].row is None
    assert expected in result.errors[0].message
    assert counts() == before
    event = last_import_event("orgs.import.units")
    assert event.outcome == "failure" and event.detail["filename"] == "单位.xlsx"


def test_the_untruncated_file_used_above_is_valid(cast):
    assert imports.import_units(cast.users.county_leader, upload(_valid_units_bytes())).created == 37


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([], id="headers-only"),
        pytest.param([[None] * 8, [None, "  ", None]], id="blank-rows-only"),
    ],
)
def test_a_sheet_without_data_rows(cast, rows):
    before = counts()
    result = imports.import_units(cast.users.county_leader, units_file(*rows))
    assert result.errors == [RowError(None, "文件中没有数据行")]
    assert counts() == before


def test_a_completely_empty_workbook(cast):
    result = imports.import_cadres(cast.users.a_staff, upload(xlsx_bytes(None, [])))
    assert result.errors == [RowError(None, "文件中没有数据行")]


def test_blank_rows_are_skipped_and_row_numbers_stay_excel_numbers(cast):
    rows = [unit_row("A3", "甲三村"), [None] * 8, [], unit_row("A4", "甲四村", division="1"), [None, " "]]
    result = imports.import_units(cast.users.a_leader, units_file(*rows))
    assert rows_of(result) == [5]
    rows[3] = unit_row("A4", "甲四村")
    result = imports.import_units(cast.users.a_leader, units_file(*rows))
    assert result.ok and result.created == 2


# --- cadres -------------------------------------------------------------------------------------------------------


def test_valid_cadre_import_creates_the_rows_through_the_actions(cast):
    rows = [
        cadre_row("A1", "赵小红", start="2021-06-01", end="2026-05-31", phone=13900002222),
        cadre_row(
            "A",
            "钱芳",
            education="本科",
            position="副主席",
            full_time="专职",
            party="否",
            phone="0797-1234567",
        ),
        cadre_row("A2", "孙丽", gender="男", education="初中", position="专干", two="是", phone=None),
    ]
    before = counts()
    result = imports.import_cadres(cast.users.a_staff, cadres_file(*rows))
    assert result.ok, result.errors
    assert result.created == 3 and counts()[1] == before[1] + 3
    zhao = Cadre.objects.get(name="赵小红")
    assert zhao.org_unit == cast.village_a1 and zhao.birth_date == dt.date(1985, 3, 4)
    assert zhao.education == Education.HIGH_SCHOOL and zhao.position == Position.MEMBER
    assert not zhao.full_time and zhao.party_member and not zhao.in_two_committees
    assert zhao.phone == "13900002222" and zhao.term_start == dt.date(2021, 6, 1)
    qian = Cadre.objects.get(name="钱芳")
    assert qian.org_unit == cast.town_a and qian.full_time and not qian.party_member
    assert qian.education == Education.BACHELOR and qian.position == Position.VICE_CHAIR
    sun = Cadre.objects.get(name="孙丽")
    assert (
        sun.gender == "M" and sun.education == Education.BELOW and sun.in_two_committees and sun.phone == ""
    )
    bulk = AuditEvent.objects.filter(action="orgs.cadre.bulk_create", actor_username="a_staff")
    assert sum(e.detail["count"] for e in bulk) == 3
    assert {e.org_path for e in bulk} == {
        cast.village_a1.path,
        cast.town_a.path,
        cast.village_a2.path,
    }  # per unit
    assert sorted(i for e in bulk for i in e.detail["ids"]) == sorted([zhao.pk, qian.pk, sun.pk])
    event = last_import_event("orgs.import.cadres")
    assert event.outcome == "success" and event.detail == {"rows": 3, "filename": "导入.xlsx"}
    assert event.org_path == cast.town_a.path


def test_dates_as_date_cells_and_as_text(cast):
    births = [
        dt.datetime(1980, 1, 2),
        dt.date(1981, 2, 3),
        "1982-03-04",
        "1983/4/5",
        "1984年5月6日",
        "1985.6.7",
        "1986-07-08 00:00:00",
        19870809,
    ]
    rows = [cadre_row("A1", f"干部{i}", birth=birth) for i, birth in enumerate(births)]
    result = imports.import_cadres(cast.users.a_staff, cadres_file(*rows))
    assert result.ok, result.errors
    got = sorted(Cadre.objects.filter(name__startswith="干部").values_list("birth_date", flat=True))
    assert got == [
        dt.date(1980, 1, 2),
        dt.date(1981, 2, 3),
        dt.date(1982, 3, 4),
        dt.date(1983, 4, 5),
        dt.date(1984, 5, 6),
        dt.date(1985, 6, 7),
        dt.date(1986, 7, 8),
        dt.date(1987, 8, 9),
    ]


def test_birth_date_in_the_future_is_rejected(cast):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    rows = [
        cadre_row("A1", "甲"),
        cadre_row("A1", "乙", birth=tomorrow),
        cadre_row("A1", "丙", birth=tomorrow.isoformat()),
        cadre_row("A1", "丁", birth=dt.date.today()),
    ]
    before = counts()
    result = imports.import_cadres(cast.users.a_staff, cadres_file(*rows))
    assert rows_of(result) == [3, 4]
    assert {e.message for e in result.errors} == {"出生日期不能晚于今天"}
    assert counts() == before


def test_every_cadre_column_rule(cast):
    rows = [
        cadre_row("A1", "一", gender="女性"),
        cadre_row("A1", "二", education="幼儿园"),
        cadre_row("A1", "三", position="会长"),
        cadre_row("A1", "四", full_time="全职"),
        cadre_row("A1", "五", party="党员"),
        cadre_row("A1", "六", phone="1380000111"),
        cadre_row("A1", "七", start="2024-01-01", end="2023-12-31"),
        cadre_row("A1", "八" * 51),
        cadre_row("A1", "九", birth="去年"),
        cadre_row("A1", "十", birth=None, education=None),
        cadre_row("A1", "十一", phone="0797-123"),
        cadre_row("A1", "十二", phone="010-12345678", start="2024-01-01", end="2024-01-01"),
    ]
    before = counts()
    result = imports.import_cadres(cast.users.a_staff, cadres_file(*rows))
    assert rows_of(result) == list(range(2, 13))
    assert message_of(result, 2) == "性别“女性”不正确,可填:女、男"
    assert message_of(result, 3).startswith("文化程度“幼儿园”不正确,可填:研究生、本科")
    assert message_of(result, 4).startswith("职务“会长”不正确,可填:主席、副主席")
    assert message_of(result, 5) == "专兼职“全职”不正确,可填:专职、兼职"
    assert message_of(result, 6) == "是否党员只能填“是”或“否”"
    assert message_of(result, 7).startswith("联系电话“1380000111”格式不正确")
    assert message_of(result, 8) == "任期结束不能早于任期开始"
    assert message_of(result, 9) == "姓名不能超过 50 个字"
    assert message_of(result, 10).startswith("出生日期“去年”不是有效的日期")
    assert message_of(result, 11) == "出生日期不能为空;文化程度不能为空"
    assert message_of(result, 12).startswith("联系电话“0797-123”格式不正确")
    assert counts() == before


def test_unknown_unit_and_units_outside_the_scope(cast):
    rows = [cadre_row("A1", "甲"), cadre_row("NOSUCH", "乙"), cadre_row("B1", "丙"), cadre_row(None, "丁")]
    before = counts()
    result = imports.import_cadres(cast.users.a_staff, cadres_file(*rows))
    assert rows_of(result) == [3, 4, 5]
    assert message_of(result, 3) == "所在单位编码“NOSUCH”不存在或不在您的管理范围内"
    assert message_of(result, 4) == "所在单位编码“B1”不存在或不在您的管理范围内"
    assert message_of(result, 5) == "所在单位编码不能为空"
    assert counts() == before


def test_township_a_staff_cannot_import_cadres_into_township_b(cast):
    before = counts()
    for user in (cast.users.a_staff, cast.users.a_leader):
        result = imports.import_cadres(
            user, cadres_file(cadre_row("B", "乙镇干部"), cadre_row("B1", "乙村干部"))
        )
        assert rows_of(result) == [2, 3]
    assert counts() == before
    # a village-A1 user cannot reach the township above
    result = imports.import_cadres(cast.users.a1_staff, cadres_file(cadre_row("A", "甲镇干部")))
    assert rows_of(result) == [2]
    assert counts() == before


def test_cadres_need_the_edit_cadres_capability(cast):
    result = imports.import_cadres(cast.users.a_caseworker, cadres_file(cadre_row()))
    assert result.errors == [RowError(None, "您没有编辑妇联干部信息的权限,不能导入妇联干部。")]


def test_the_same_person_twice_in_the_file_or_already_in_the_unit(cast):
    rows = [
        cadre_row("A1", "张玉梅", birth="1965-03-02"),  # already there (the cast's A1 chair)
        cadre_row("A1", "赵小红"),
        cadre_row("A1", "赵小红"),
        cadre_row("A2", "赵小红"),  # another unit: a different person
        cadre_row("A1", "张玉梅", birth="1966-03-02"),  # another birth date: a different person
    ]
    before = counts()
    result = imports.import_cadres(cast.users.a_staff, cadres_file(*rows))
    assert rows_of(result) == [2, 3, 4]
    assert message_of(result, 2) == "“甲一村”已有姓名为“张玉梅”、出生日期为 1965-03-02 的干部,不能重复导入"
    assert message_of(result, 3) == "与第 4 行重复(同一单位、姓名和出生日期都相同)"
    assert counts() == before


def test_importing_the_same_file_twice_adds_nothing_the_second_time(cast):
    content = xlsx_bytes(CADRE_HEADERS, [cadre_row("A1", "赵小红"), cadre_row("A2", "钱芳")])
    assert imports.import_cadres(cast.users.a_staff, upload(content)).created == 2
    before = counts()
    result = imports.import_cadres(cast.users.a_staff, upload(content))
    assert rows_of(result) == [2, 3] and counts() == before


def test_closed_units_take_no_new_cadres(cast):
    actions.update_unit(None, cast.village_a2, closed_on=dt.date(2024, 1, 1))
    result = imports.import_cadres(cast.users.a_staff, cadres_file(cadre_row("A2", "赵小红")))
    assert message_of(result, 2) == "所在单位“甲二村”已撤销,不能导入干部"


def test_a_failed_import_is_on_the_audit_log(cast):
    rows = [cadre_row("A1", "甲"), cadre_row("A1", "乙", gender="?"), cadre_row("NOSUCH", "丙")]
    result = imports.import_cadres(cast.users.a_staff, cadres_file(*rows))
    assert not result.ok
    event = last_import_event("orgs.import.cadres")
    assert event.outcome == "failure" and event.actor_username == "a_staff"
    assert event.detail == {"rows": 3, "filename": "导入.xlsx", "errors": 2, "error_rows": [3, 4]}
    assert event.org_path == cast.town_a.path
    assert not AuditEvent.objects.filter(action="orgs.cadre.bulk_create", actor_username="a_staff").exists()


def test_a_failure_while_writing_rolls_back_every_row(cast, monkeypatch):
    real = actions._validate_cadre
    calls = []

    def flaky(cadre):
        calls.append(cadre.name)
        if len(calls) == 3:
            raise ValidationError({"name": "模拟写入失败"})
        return real(cadre)

    monkeypatch.setattr(actions, "_validate_cadre", flaky)
    before = counts()
    events = AuditEvent.objects.filter(action="orgs.cadre.bulk_create").count()
    rows = [cadre_row("A1", f"干部{i}") for i in range(5)]
    result = imports.import_cadres(cast.users.a_staff, cadres_file(*rows))
    assert result.errors == [RowError(4, "模拟写入失败")] and result.created == 0
    assert counts() == before
    assert AuditEvent.objects.filter(action="orgs.cadre.bulk_create").count() == events
    assert last_import_event("orgs.import.cadres").outcome == "failure"


@pytest.mark.parametrize("exc", [IntegrityError("unique"), PermissionDenied("您无权在该单位进行此操作。")])
def test_a_race_while_writing_units_rolls_back_every_row(cast, monkeypatch, exc):
    real = actions.create_unit
    calls = []

    def racing(actor, **kwargs):
        calls.append(kwargs["code"])
        if len(calls) == 2:
            raise exc
        return real(actor, **kwargs)

    monkeypatch.setattr(actions, "create_unit", racing)
    before = counts()
    rows = [
        unit_row("S", "城东街道", kind="街道", parent="C"),
        unit_row("S1", "东门社区", kind="社区", parent="S"),
    ]
    result = imports.import_units(cast.users.county_leader, units_file(*rows))
    assert rows_of(result) == [3]
    assert counts() == before and not OrgUnit.objects.filter(code="S").exists()


# --- 5,000 rows -----------------------------------------------------------------------------------------------


def _big_cadre_file(cast, n, bad_row=None):
    units = ["A", "A1", "A2"]
    rows = []
    for i in range(n):
        row = cadre_row(units[i % 3], f"干部{i:05d}", birth=dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28))
        if i + 2 == bad_row:
            row[3] = dt.date.today() + dt.timedelta(days=30)
        rows.append(row)
    return upload(xlsx_bytes(CADRE_HEADERS, rows, write_only=True), "干部名单.xlsx")


def test_5000_rows_with_one_bad_row_import_nothing_and_report_only_that_row(
    cast, django_assert_max_num_queries
):
    upload_file = _big_cadre_file(cast, 5000, bad_row=2501)
    before = counts()
    # set-based checks: the number of queries does not grow with the rows
    with django_assert_max_num_queries(12):
        result = imports.import_cadres(cast.users.a_staff, upload_file)
    assert rows_of(result) == [2501]
    assert result.errors[0].message == "出生日期不能晚于今天"
    assert result.created == 0 and counts() == before
    assert last_import_event("orgs.import.cadres").detail["rows"] == 5000


def test_a_5000_row_valid_file_imports_in_one_go(cast):
    """Rows are written through actions.create_cadres (scope check, validation, one audit event per unit)."""
    upload_file = _big_cadre_file(cast, 5000)
    before = counts()
    result = imports.import_cadres(cast.users.a_staff, upload_file)
    assert result.ok, result.errors[:3]
    assert result.created == 5000 and counts()[1] == before[1] + 5000
    bulk = AuditEvent.objects.filter(action="orgs.cadre.bulk_create", actor_username="a_staff")
    assert sum(e.detail["count"] for e in bulk) == 5000
    assert last_import_event("orgs.import.cadres").detail == {"rows": 5000, "filename": "干部名单.xlsx"}


# --- the page -------------------------------------------------------------------------------------------------


def test_import_page_lists_the_errors_in_chinese(cast, login):
    client = login(cast.users.a_leader)
    rows = [
        unit_row("A3", "甲三村"),
        unit_row("A4", "甲四村", division="12345"),
        unit_row("A5", "甲五村", parent="B"),
    ]
    before = counts()
    response = client.post("/orgs/import/", {"kind": "units", "file": units_file(*rows)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "未导入:发现 2 处错误" in html
    assert "第 3 行" in html and "统计用区划代码必须是 12 位数字" in html
    assert "第 4 行" in html and "上级单位编码“B”不存在或不在您的管理范围内" in html
    assert "第 2 行" not in html
    assert counts() == before


def test_import_page_reports_a_non_xlsx_file(cast, login):
    client = login(cast.users.a_staff)
    response = client.post("/orgs/import/", {"kind": "cadres", "file": upload(b"name,phone\n", "干部.xlsx")})
    assert response.status_code == 200
    assert "不是 Excel(.xlsx)文件" in response.content.decode()


def test_import_page_imports_a_valid_file(cast, login):
    client = login(cast.users.a_staff)
    response = client.post(
        "/orgs/import/", {"kind": "cadres", "file": cadres_file(cadre_row("A1", "赵小红"))}
    )
    assert response.status_code == 302 and response["Location"] == "/orgs/import/"
    assert Cadre.objects.filter(org_unit=cast.village_a1, name="赵小红").exists()
