"""The 工作总结 as a Word document (python-docx): the figures of the statistics service written as sentences in
the register of the seeds, the user's own 存在问题 / 下一步打算, and an appendix table by child unit."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from fulian.orgs.models import Kind, OrgUnit

from . import queries

BODY_FONT, HEADING_FONT = "宋体", "黑体"
# what "everything below" is called in the seeds, by the level of the unit
AREA = {
    Kind.PROVINCE: "全省各市",
    Kind.CITY: "全市各县(区)",
    Kind.COUNTY: "全县各乡镇",
    Kind.TOWNSHIP: "全镇各村",
    Kind.STREET: "全街道各社区",
}
APPENDIX_CODES = [
    "units_total",
    "coverage_pct",
    "cadres_total",
    "training_sessions",
    "training_person_times",
    "training_employed",
    "activity_count",
    "tasks_on_time_pct",
]


def fmt(value) -> str:
    value = queries.plain(value)
    return "—" if value is None else str(value)


@dataclass
class SummaryContent:
    title: str
    basics: list[str]
    work: list[tuple[str, str]]  # (heading, sentence)
    problems: str
    plans: str
    table: queries.Table


def _org_sentences(unit: OrgUnit, end: dt.date, v: dict) -> list[str]:
    out = []
    if "units_total" in v:
        kinds = [
            f"{label}{fmt(v[f'units_{kind}'])}个"
            for kind, label in Kind.choices
            if v.get(f"units_{kind}") not in (None, 0)
        ]
        out.append(
            f"截至{end.year}年{end.month}月{end.day}日,{unit.name}下辖各级妇女组织{fmt(v['units_total'])}个"
            + (f",其中{'、'.join(kinds)}" if kinds else "")
            + f";已建立妇联组织{fmt(v['units_established'])}个,组织覆盖率{fmt(v['coverage_pct'])}%。"
        )
    if "cadres_total" in v:
        out.append(
            f"全系统共有妇联干部{fmt(v['cadres_total'])}人,其中本科及以上学历{fmt(v['cadres_edu_bachelor'])}人、"
            f"大专学历{fmt(v['cadres_edu_college'])}人、高中或中专及以下学历{fmt(v['cadres_edu_high_or_below'])}人。"
        )
    return out


def _work_sentences(unit: OrgUnit, v: dict) -> list[tuple[str, str]]:
    area = AREA.get(unit.kind, unit.name)
    out = []
    if "training_sessions" in v:
        out.append(
            (
                "技能培训",
                f"{area}共举办实用技术培训{fmt(v['training_sessions'])}期,参训妇女{fmt(v['training_people'])}人、"
                f"{fmt(v['training_person_times'])}人次,推荐就业{fmt(v['training_recommended'])}人,"
                f"实现就业{fmt(v['training_employed'])}人。",
            )
        )
        out.append(
            (
                "宣传活动",
                f"共开展各类宣传活动{fmt(v['activity_count'])}次,参与群众{fmt(v['activity_people'])}人,"
                f"受益{fmt(v['activity_beneficiaries'])}人。",
            )
        )
        out.append(
            (
                "就业服务",
                f"举办招聘会{fmt(v['fair_count'])}场,参会企业{fmt(v['fair_employers'])}家,"
                f"提供岗位{fmt(v['fair_jobs'])}个,求职妇女{fmt(v['fair_seekers'])}人,"
                f"达成就业意向{fmt(v['fair_agreements'])}人;建立来料加工点{fmt(v['workpoint_count'])}个,"
                f"带动{fmt(v['workpoint_workers'])}名妇女居家就业。",
            )
        )
        out.append(
            (
                "关爱服务",
                f"开展关爱服务{fmt(v['service_count'])}次,受益{fmt(v['service_beneficiaries'])}人,"
                f"发放帮扶资金{fmt(v['service_amount'])}元。",
            )
        )
    if "tasks_expected" in v:
        out.append(
            (
                "任务督办",
                f"全年下发督办任务应报{fmt(v['tasks_expected'])}次,按时报送{fmt(v['tasks_on_time'])}次,"
                f"按时报送率{fmt(v['tasks_on_time_pct'])}%。",
            )
        )
    if "cases_received" in v:
        out.append(
            (
                "维权服务",
                f"受理妇女儿童维权案件{fmt(v['cases_received'])}件,办结{fmt(v['cases_closed'])}件。",
            )
        )
    return out


def summary_content(
    actor, unit: OrgUnit, year: int, today: dt.date, problems: str, plans: str
) -> SummaryContent:
    """Everything the document says, from one indicator table of the statistics service (``unit`` from
    ``access_stats_unit``)."""
    start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
    table = queries.indicator_table(actor, unit, start, end)
    v = table.total.values
    return SummaryContent(
        title=f"{unit.name}{year}年工作总结",
        basics=_org_sentences(unit, end, v),
        work=_work_sentences(unit, v),
        problems=problems.strip(),
        plans=plans.strip(),
        table=table,
    )


def _fonts(style_or_run, name: str, size: float | None = None) -> None:
    font = style_or_run.font
    font.name = name
    if size:
        font.size = Pt(size)
    rpr = style_or_run.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), name)
    rfonts.set(qn("w:ascii"), name)
    rfonts.set(qn("w:hAnsi"), name)


def _page_number(paragraph) -> None:
    """第 N 页 with a PAGE field in the footer."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("第 ")
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)
    paragraph.add_run(" 页")


def _text_paragraphs(doc, text: str) -> None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines or ["(未填写)"]:
        doc.add_paragraph(line).paragraph_format.first_line_indent = Pt(24)


def render_docx(content: SummaryContent) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(37)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _fonts(doc.styles["Normal"], BODY_FONT, 14)
    for name in ("Title", "Heading 1", "Heading 2"):
        _fonts(doc.styles[name], HEADING_FONT)
        doc.styles[name].font.color.rgb = None
    _page_number(section.footer.paragraphs[0])

    title = doc.add_heading(content.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_heading("一、基本情况", level=1)
    _text_paragraphs(doc, "\n".join(content.basics) or "(无权查看组织数据)")
    doc.add_heading("二、主要工作", level=1)
    numbers = "一二三四五六七八九十"
    for i, (heading, sentence) in enumerate(content.work):
        p = doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(24)
        _fonts(p.add_run(f"({numbers[i]}){heading}。"), HEADING_FONT)
        p.add_run(sentence)
    doc.add_heading("三、存在问题", level=1)
    _text_paragraphs(doc, content.problems)
    doc.add_heading("四、下一步打算", level=1)
    _text_paragraphs(doc, content.plans)

    doc.add_heading("附表:分单位主要指标", level=1)
    t = content.table
    indicators = [i for i in t.indicators if i.code in APPENDIX_CODES]
    grid = doc.add_table(rows=1, cols=len(indicators) + 1)
    grid.style = "Table Grid"
    header = grid.rows[0].cells
    header[0].text = "单位"
    for cell, ind in zip(header[1:], indicators, strict=True):
        cell.text = f"{ind.name}({ind.unit})"
    for row in [*t.rows, t.total]:
        cells = grid.add_row().cells
        cells[0].text = row.label
        for cell, ind in zip(cells[1:], indicators, strict=True):
            cell.text = fmt(row.values.get(ind.code))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
