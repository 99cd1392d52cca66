"""The written report of a unit and a period (工作总结 / 情况汇报) in the register of the seeds.

``build_report`` turns one indicator table of the statistics service into a document model (title, opening,
numbered sections of paragraphs, appendix tables, signature). Two renderers read that model and add no words
of their own: ``render_docx`` (python-docx, fonts and page set-up after GB/T 9704) and the HTML preview
(``reports/_document.html``). So the preview and the download say the same sentences with the same numbers.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from lxml import etree

from fulian.orgs import statsql
from fulian.orgs.models import Kind, OrgUnit

from . import queries

# --- fonts: the names a government document asks for, and what stands in for them where they are missing -------
# Word reads w:eastAsia for Chinese text (w:ascii/w:hAnsi only for Latin letters and digits); a missing font is
# replaced by the comma-separated w:altName of its entry in the font table.
BODY_FONT = "仿宋_GB2312"  # 正文 三号仿宋
TABLE_FONT = "宋体"  # tables and the Normal style they inherit
TITLE_FONT = "方正小标宋简体"  # 标题 二号小标宋
HEADING_FONT = "黑体"  # 一级标题 三号黑体
LEAD_FONT = "楷体_GB2312"  # 二级标题 三号楷体
PAGE_FONT = "宋体"  # 页码 四号半角宋体
FALLBACKS = {
    BODY_FONT: ["仿宋", "FangSong", "STFangsong"],
    TITLE_FONT: ["宋体", "SimSun", "黑体", "SimHei"],
    LEAD_FONT: ["楷体", "KaiTi", "STKaiti"],
    HEADING_FONT: ["SimHei", "STHeiti"],
    TABLE_FONT: ["SimSun", "STSong"],
}
# the same stacks for the HTML preview (CSS custom properties of reports/_document.html)
CSS_FONTS = {
    role: ", ".join(f'"{n}"' for n in [name, *FALLBACKS[name]]) + ", serif"
    for role, name in (
        ("body", BODY_FONT),
        ("title", TITLE_FONT),
        ("heading", HEADING_FONT),
        ("lead", LEAD_FONT),
        ("table", TABLE_FONT),
    )
}
FONT_TABLE_CHARSET = "86"  # GB2312
# 二号 22 pt, 三号 16 pt, 四号 14 pt, 五号 10.5 pt; body lines at a fixed 28 pt (22 lines a page)
TITLE_PT, BODY_PT, PAGE_PT, TABLE_PT, LINE_PT = 22, 16, 14, 10.5, 28
# GB/T 9704: A4, 天头 37 mm, 订口 28 mm; the bottom and right margins as the brief sets them
PAGE = {"width": 21.0, "height": 29.7, "top": 3.7, "bottom": 3.5, "left": 2.8, "right": 2.6}

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
NUMERALS = "一二三四五六七八九十"
EMPTY_TEXT = "(未填写)"
NO_ORGS = "(本单位暂无下级组织和干部数据)"
NO_WORK = "(本期暂无工作台账数据)"
NO_WORK_ACCESS = "(无权查看工作数据)"


@dataclass(frozen=True)
class Genre:
    """What differs between a 工作总结 and a 情况汇报: title, opening, headings, the run-in headings of the work
    paragraphs and the closing line. The sentences with the figures are the same."""

    key: str
    label: str
    title: str  # .format(unit=, period=)
    opening: str
    headings: tuple[str, str, str, str]  # 基本情况 / 主要工作 / 存在问题 / 下一步打算
    leads: dict[str, str]
    closing: str = ""


GENRES = {
    g.key: g
    for g in (
        Genre(
            key="summary",
            label="工作总结",
            title="{unit}{period}工作总结",
            opening=(
                "{period},{unit}在上级妇联和同级党委、政府的领导下,围绕中心、服务大局,团结引领广大妇女建功立业,"
                "扎实做好联系服务妇女、维护妇女儿童合法权益各项工作。现将{period}工作总结如下:"
            ),
            headings=("基本情况", "主要工作", "存在问题", "下一步打算"),
            leads={
                "training": "技能培训",
                "activity": "宣传活动",
                "jobs": "就业服务",
                "care": "关爱服务",
                "tasks": "任务督办",
                "cases": "维权服务",
            },
        ),
        Genre(
            key="briefing",
            label="情况汇报",
            title="关于{unit}{period}工作情况的汇报",
            opening="根据工作安排,现将{unit}{period}工作情况汇报如下:",
            headings=("基本情况", "主要做法及成效", "存在的问题", "下一步工作打算"),
            leads={
                "training": "抓技能培训,促妇女就业",
                "activity": "抓宣传引领,聚巾帼力量",
                "jobs": "搭就业平台,拓增收渠道",
                "care": "抓关爱帮扶,办民生实事",
                "tasks": "抓督办落实,提工作实效",
                "cases": "抓维权服务,护妇女儿童合法权益",
            },
            closing="特此汇报。",
        ),
    )
}
GENRE_CHOICES = [(g.key, g.label) for g in GENRES.values()]


def fmt(value) -> str:
    value = queries.plain(value)
    return "—" if value is None else str(value)


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def period_label(start: dt.date, end: dt.date, today: dt.date) -> str:
    """``2026年`` for a calendar year (or the current year so far), ``2026年3月`` / ``2026年1—6月`` for whole
    months of one year, otherwise the two dates."""
    if (
        start == dt.date(start.year, 1, 1)
        and end.year == start.year
        and end in (dt.date(end.year, 12, 31), today)
    ):
        return f"{start.year}年"
    if start.day == 1 and end.year == start.year and (end + dt.timedelta(days=1)).day == 1:
        months = f"{start.month}月" if start.month == end.month else f"{start.month}—{end.month}月"
        return f"{start.year}年{months}"
    return f"{cn_date(start)}至{cn_date(end)}"


# --- the document model ----------------------------------------------------------------------------------------


@dataclass
class Para:
    text: str
    lead: str = ""  # a run-in second-level heading, "(一)技能培训。", set in 楷体


@dataclass
class DocTable:
    caption: str
    header: list[str]
    rows: list[list[str]]  # the last row is the total


@dataclass
class Section:
    heading: str  # "一、基本情况"
    paras: list[Para] = field(default_factory=list)


@dataclass
class Report:
    genre: Genre
    title: str
    opening: list[Para]
    sections: list[Section]
    closing: list[Para]
    signature: list[str]  # the unit, the date
    appendix: list[DocTable]
    table: queries.Table  # what the figures came from

    @property
    def paragraphs(self) -> list[str]:
        """Every line of text in reading order (what both renderers print, tables aside)."""
        out = [self.title, *(p.lead + p.text for p in self.opening)]
        for s in self.sections:
            out += [s.heading, *(p.lead + p.text for p in s.paras)]
        out += [p.lead + p.text for p in self.closing] + self.signature
        for t in self.appendix:
            out.append(t.caption)
        return out


def _none(value) -> bool:
    """Nothing to report: zero or no value (a suppressed small cell such as "<3" is something)."""
    return queries.plain(value) in (None, 0)


def _pct(label: str, value) -> str:
    """ ",组织覆盖率83.3%" — or nothing when there is no denominator."""
    return "" if queries.plain(value) is None else f",{label}{fmt(value)}%"


def _org_sentences(unit: OrgUnit, end: dt.date, v: dict) -> list[str]:
    out = []
    if "units_total" in v and not _none(v["units_total"]):
        kinds = [
            f"{label}{fmt(v[f'units_{kind}'])}个"
            for kind, label in Kind.choices
            if not _none(v.get(f"units_{kind}"))
        ]
        out.append(
            f"截至{end.year}年{end.month}月{end.day}日,{unit.name}下辖各级妇女组织{fmt(v['units_total'])}个"
            + (f",其中{'、'.join(kinds)}" if kinds else "")
            + f";已建立妇联组织{fmt(v['units_established'])}个{_pct('组织覆盖率', v['coverage_pct'])}。"
        )
    if "cadres_total" in v and not _none(v["cadres_total"]):
        out.append(
            f"全系统共有妇联干部{fmt(v['cadres_total'])}人,其中本科及以上学历{fmt(v['cadres_edu_bachelor'])}人、"
            f"大专学历{fmt(v['cadres_edu_college'])}人、高中或中专及以下学历{fmt(v['cadres_edu_high_or_below'])}人。"
        )
    return out


def _work_sentences(unit: OrgUnit, v: dict) -> list[tuple[str, str]]:
    """(topic, sentence) for each module whose figures the viewer may see and that has something to report
    (the seeds do not write "举办招聘会0场")."""
    area = AREA.get(unit.kind, unit.name)
    out = []
    if "training_sessions" in v:
        if not _none(v["training_sessions"]):
            out.append(
                (
                    "training",
                    f"{area}共举办实用技术培训{fmt(v['training_sessions'])}期,"
                    f"参训妇女{fmt(v['training_people'])}人、{fmt(v['training_person_times'])}人次,"
                    f"推荐就业{fmt(v['training_recommended'])}人,实现就业{fmt(v['training_employed'])}人。",
                )
            )
        if not _none(v["activity_count"]):
            out.append(
                (
                    "activity",
                    f"共开展各类宣传活动{fmt(v['activity_count'])}次,参与群众{fmt(v['activity_people'])}人,"
                    f"受益{fmt(v['activity_beneficiaries'])}人。",
                )
            )
        jobs = []
        if not _none(v["fair_count"]):
            jobs.append(
                f"举办招聘会{fmt(v['fair_count'])}场,参会企业{fmt(v['fair_employers'])}家,"
                f"提供岗位{fmt(v['fair_jobs'])}个,求职妇女{fmt(v['fair_seekers'])}人,"
                f"达成就业意向{fmt(v['fair_agreements'])}人"
            )
        if not _none(v["workpoint_count"]):
            jobs.append(
                f"建立来料加工点{fmt(v['workpoint_count'])}个,带动{fmt(v['workpoint_workers'])}名妇女居家就业"
            )
        if jobs:
            out.append(("jobs", ";".join(jobs) + "。"))
        if not _none(v["service_count"]):
            out.append(
                (
                    "care",
                    f"开展关爱服务{fmt(v['service_count'])}次,受益{fmt(v['service_beneficiaries'])}人,"
                    f"发放帮扶资金{fmt(v['service_amount'])}元。",
                )
            )
    if "tasks_expected" in v and not _none(v["tasks_expected"]):
        out.append(
            (
                "tasks",
                f"下发督办任务应报{fmt(v['tasks_expected'])}次,按时报送{fmt(v['tasks_on_time'])}次"
                f"{_pct('按时报送率', v['tasks_on_time_pct'])}。",
            )
        )
    if "cases_received" in v and not _none(v["cases_received"]):
        out.append(
            (
                "cases",
                f"受理妇女儿童维权案件{fmt(v['cases_received'])}件,办结{fmt(v['cases_closed'])}件。",
            )
        )
    return out


def _typed(text: str) -> list[Para]:
    """The user's own text, one paragraph per non-empty line (kept literally: escaped in HTML, plain in .docx)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [Para(line) for line in lines or [EMPTY_TEXT]]


def _appendix(t: queries.Table, start: dt.date, end: dt.date) -> DocTable:
    indicators = [i for i in t.indicators if i.code in APPENDIX_CODES]
    return DocTable(
        caption=f"附表:分单位主要指标(统计期 {cn_date(start)}至{cn_date(end)})",
        header=["单位", *[f"{i.name}({i.unit})" for i in indicators]],
        rows=[[r.label, *[fmt(r.values.get(i.code)) for i in indicators]] for r in [*t.rows, t.total]],
    )


@statsql.memo()
def build_report(
    actor,
    unit: OrgUnit,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    *,
    genre: str = "summary",
    problems: str = "",
    plans: str = "",
) -> Report:
    """Everything the document says, from one indicator table of the statistics service (``unit`` from
    ``access_stats_unit``; only the indicators the actor may see)."""
    g = GENRES[genre]
    table = queries.indicator_table(actor, unit, start, end)
    v = table.total.values
    period = period_label(start, end, today)
    h = [f"{NUMERALS[i]}、{heading}" for i, heading in enumerate(g.headings)]
    work = [
        Para(text, lead=f"({NUMERALS[i]}){g.leads[topic]}。")
        for i, (topic, text) in enumerate(_work_sentences(unit, v))
    ]
    if not work:
        work = [Para(NO_WORK if any(i.module != "orgs" for i in table.indicators) else NO_WORK_ACCESS)]
    basics = [Para(s) for s in _org_sentences(unit, end, v)] or [Para(NO_ORGS)]
    return Report(
        genre=g,
        title=g.title.format(unit=unit.name, period=period),
        opening=[Para(g.opening.format(unit=unit.name, period=period))],
        sections=[
            Section(h[0], basics),
            Section(h[1], work),
            Section(h[2], _typed(problems)),
            Section(h[3], _typed(plans)),
        ],
        closing=[Para(g.closing)] if g.closing else [],
        signature=[unit.name, cn_date(today)],
        appendix=[_appendix(table, start, end)],
        table=table,
    )


# --- .docx -----------------------------------------------------------------------------------------------------


def _rfonts(rpr, name: str) -> None:
    """Set one font for every script (East Asian included) and drop the theme fonts, which would win."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("asciiTheme", "eastAsiaTheme", "hAnsiTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        rfonts.set(qn(f"w:{attr}"), name)


def _font(obj, name: str, size: float | None = None, bold: bool | None = None) -> None:
    """``obj``: a style or a run."""
    if size:
        obj.font.size = Pt(size)
    if bold is not None:
        obj.font.bold = bold
    obj.font.color.rgb = RGBColor(0, 0, 0)
    rpr = obj.element.get_or_add_rPr()
    _rfonts(rpr, name)
    if size:  # the template's complex-script size would disagree with the size set above
        szcs = rpr.find(qn("w:szCs"))
        if szcs is not None:
            szcs.set(qn("w:val"), str(round(size * 2)))


def _paragraph_style(doc, name: str, font: str, size: float, *, base: str = "Normal"):
    style = doc.styles[name] if name in [s.name for s in doc.styles] else doc.styles.add_style(name, 1)
    style.base_style = doc.styles[base]
    _font(style, font, size, bold=False)
    pf = style.paragraph_format
    pf.space_before = pf.space_after = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(LINE_PT)
    return style


def _font_table(doc) -> None:
    """Entries for the Chinese fonts with their stand-ins (w:altName) and the GB2312 charset."""
    part = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    root = etree.fromstring(part.blob)
    for name, alts in FALLBACKS.items():
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        etree.SubElement(font, qn("w:altName")).set(qn("w:val"), ",".join(alts))
        etree.SubElement(font, qn("w:charset")).set(qn("w:val"), FONT_TABLE_CHARSET)
        etree.SubElement(font, qn("w:family")).set(qn("w:val"), "modern" if name != TITLE_FONT else "script")
        etree.SubElement(font, qn("w:pitch")).set(qn("w:val"), "fixed" if name != TITLE_FONT else "variable")
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _page_number(paragraph, align) -> None:
    """— N — with a PAGE field (GB/T 9704: 四号半角宋体阿拉伯数字, 一字线 on both sides)."""
    paragraph.alignment = align
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = Pt(PAGE_PT)

    def run(text=None):
        r = paragraph.add_run(text)
        _font(r, PAGE_FONT, PAGE_PT)
        return r

    run("— ")
    r = run()
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
        r._r.append(el)
    run(" —")


def _setup(doc) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(PAGE["width"]), Cm(PAGE["height"])
    section.top_margin, section.bottom_margin = Cm(PAGE["top"]), Cm(PAGE["bottom"])
    section.left_margin, section.right_margin = Cm(PAGE["left"]), Cm(PAGE["right"])
    section.footer_distance = Cm(2.8)  # 页码 under the 版心, about 7 mm below it
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    default_rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _rfonts(default_rpr, TABLE_FONT)
    lang = default_rpr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    # Normal (and the tables that inherit it): 宋体 五号; the body has its own style
    _font(doc.styles["Normal"], TABLE_FONT, TABLE_PT)
    doc.styles["Normal"].paragraph_format.space_after = Pt(0)
    body = _paragraph_style(doc, "Body Text", BODY_FONT, BODY_PT)
    body.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    title = _paragraph_style(doc, "Title", TITLE_FONT, TITLE_PT)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.line_spacing = Pt(36)
    title.paragraph_format.space_after = Pt(LINE_PT)
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):  # the template draws a blue rule under the title
        ppr.remove(border)
    heading = _paragraph_style(doc, "Heading 1", HEADING_FONT, BODY_PT)
    heading.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    heading.paragraph_format.keep_with_next = True
    _font_table(doc)
    # 单页码居右空一字, 双页码居左空一字
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)


def _para(doc, p: Para, style: str = "Body Text"):
    paragraph = doc.add_paragraph(style=style)
    if p.lead:
        _font(paragraph.add_run(p.lead), LEAD_FONT)
    paragraph.add_run(p.text)
    return paragraph


def _table(doc, t: DocTable) -> None:
    caption = doc.add_paragraph(t.caption, style="Heading 1")
    caption.paragraph_format.first_line_indent = Pt(0)
    grid = doc.add_table(rows=len(t.rows) + 1, cols=len(t.header))  # all rows at once: add_row is slow
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    rows = grid.rows
    for i, texts in enumerate([t.header, *t.rows]):
        bold_all, last = i == 0, i == len(t.rows)
        for j, (cell, text) in enumerate(zip(rows[i].cells, texts, strict=True)):
            run = cell.paragraphs[0].add_run(text)
            if bold_all or (last and j == 0):
                run.font.bold = True


def render_docx(report: Report) -> bytes:
    doc = Document()
    _setup(doc)
    doc.add_paragraph(report.title, style="Title")
    for p in report.opening:
        _para(doc, p)
    for s in report.sections:
        doc.add_paragraph(s.heading, style="Heading 1")
        for p in s.paras:
            _para(doc, p)
    for p in report.closing:
        _para(doc, p)
    for i, line in enumerate(report.signature):
        sign = doc.add_paragraph(line, style="Body Text")
        sign.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        sign.paragraph_format.first_line_indent = Pt(0)
        sign.paragraph_format.right_indent = Pt(BODY_PT * 4)
        if i == 0:
            sign.paragraph_format.space_before = Pt(LINE_PT * 2)
    for t in report.appendix:
        doc.add_page_break()
        _table(doc, t)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
