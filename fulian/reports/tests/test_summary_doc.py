"""The written report: one document model rendered to .docx and to the HTML preview, in two genres (工作总结,
情况汇报). Every number equals the statistics service's; the preview says what the download says; scope, query
counts, fonts and page set-up, escaping and bad input."""

from __future__ import annotations

import datetime as dt
import io
import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from docx import Document
from docx.oxml.ns import qn
from lxml import etree

from fulian.audit.models import AuditEvent
from fulian.ledger.tests.builders import training
from fulian.reports import queries
from fulian.reports.summary import APPENDIX_CODES, fmt

DOCX = "/reports/units/{}/summary.docx"
PREVIEW = "/reports/units/{}/summary/"
PROBLEMS = "部分村妇联执委履职不够积极。\n妇女之家活动阵地利用率不高。"
PLANS = "加强执委培训。"


def docx_of(response) -> Document:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return Document(io.BytesIO(response.content))


def docx_lines(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text.strip()]


def docx_table(doc) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in doc.tables[0].rows]


class DocumentParser(HTMLParser):
    """The text blocks (h1, h2, p) and the table rows inside ``<article id="document">``, in order."""

    BLOCKS = {"h1", "h2", "p"}

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside the article
        self.lines: list[str] = []
        self.rows: list[list[str]] = []
        self._text: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "article" and ("id", "document") in attrs:
            self.depth = 1
        elif self.depth and tag == "article":
            self.depth += 1
        if not self.depth:
            return
        if tag in self.BLOCKS:
            self._text = []
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag == "article":
            self.depth -= 1
        elif tag in self.BLOCKS and self._text is not None:
            self.lines.append("".join(self._text).strip())
            self._text = None
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def preview_of(response) -> DocumentParser:
    assert response.status_code == 200, response.content[:300]
    parser = DocumentParser()
    parser.feed(response.content.decode())
    assert parser.lines, "no document in the page"
    return parser


def numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", text))


def date_numbers(*days: dt.date) -> set[str]:
    return {str(n) for d in days for n in (d.year, d.month, d.day)}


GENRES = {
    "summary": {
        "title": "测试县妇联{year}年工作总结",
        "opening": "现将{year}年工作总结如下:",
        "headings": ["一、基本情况", "二、主要工作", "三、存在问题", "四、下一步打算"],
        "lead": "(一)技能培训。",
        "closing": None,
    },
    "briefing": {
        "title": "关于测试县妇联{year}年工作情况的汇报",
        "opening": "根据工作安排,现将测试县妇联{year}年工作情况汇报如下:",
        "headings": ["一、基本情况", "二、主要做法及成效", "三、存在的问题", "四、下一步工作打算"],
        "lead": "(一)抓技能培训,促妇女就业。",
        "closing": "特此汇报。",
    },
}


@pytest.mark.parametrize("genre", ["summary", "briefing"])
def test_every_number_of_both_genres_is_the_stats_service_and_the_preview_says_the_same(
    cast, data, login, genre
):
    year, today = timezone.localdate().year, timezone.localdate()
    start, end = dt.date(year, 1, 1), today
    client = login(cast.users.county_leader)
    form = {"genre": genre, "year": year, "problems": PROBLEMS, "plans": PLANS}
    doc = docx_of(client.post(DOCX.format(cast.county.pk), form))
    lines = docx_lines(doc)
    text = "\n".join(lines)
    t = queries.indicator_table(cast.users.county_leader, cast.county, start, end)
    v = t.total.values
    g = GENRES[genre]

    # the genre's title, opening, headings, run-in headings and closing
    assert lines[0] == g["title"].format(year=year)
    assert g["opening"].format(year=year) in lines[1]
    assert [line for line in lines if re.match(r"^[一二三四]、", line)] == g["headings"]
    assert any(line.startswith(g["lead"]) for line in lines)
    assert (g["closing"] in lines) if g["closing"] else ("特此汇报。" not in text)
    assert lines[-2:] == ["测试县妇联", f"{today.year}年{today.month}月{today.day}日"] or lines[-3:-1] == [
        "测试县妇联",
        f"{today.year}年{today.month}月{today.day}日",
    ]

    # the figures, as sentences
    assert (
        f"全县各乡镇共举办实用技术培训{v['training_sessions']}期,参训妇女{v['training_people']}人、" in text
    )
    assert f"{v['training_person_times']}人次" in text and v["training_person_times"] == 2 * 25 + 30 + 3 * 40
    assert f"组织覆盖率{v['coverage_pct']}%" in text
    assert f"受理妇女儿童维权案件{v['cases_received']}件,办结{v['cases_closed']}件。" in text
    assert f"按时报送率{fmt(v['tasks_on_time_pct'])}%" in text
    # every number anywhere in the text is one of the service's numbers, or a date of the period / the signature
    allowed = {fmt(x) for x in v.values()} | date_numbers(start, end, today)
    assert numbers(text) <= allowed, numbers(text) - allowed
    assert (
        "部分村妇联执委履职不够积极。" in lines and "妇女之家活动阵地利用率不高。" in lines
    )  # one line each

    # the appendix: header, one row per child unit, the total; each cell the service's value
    table = docx_table(doc)
    codes = [i.code for i in t.indicators if i.code in APPENDIX_CODES]
    assert table[0] == ["单位", *[f"{i.name}({i.unit})" for i in t.indicators if i.code in APPENDIX_CODES]]
    assert table[1:] == [[r.label, *[fmt(r.values[c]) for c in codes]] for r in [*t.rows, t.total]]
    assert table[-1][0] == "合计"

    # the HTML preview of the same form: the same lines in the same order, the same table
    preview = preview_of(client.post(PREVIEW.format(cast.county.pk), form))
    assert preview.lines == lines
    assert preview.rows == table
    event = AuditEvent.objects.get(action="reports.summary.export")
    assert event.detail == {"genre": genre, "start": start.isoformat(), "end": end.isoformat()}


def test_a_period_of_dates_has_its_own_figures_and_title(cast, data, login):
    today = timezone.localdate()
    last_year = today.year - 1
    training(cast.village_b1, None, day=dt.date(last_year, 3, 8), sessions=4, people=10)
    client = login(cast.users.county_leader)
    form = {"genre": "briefing", "start": f"{last_year}-03-01", "end": f"{last_year}-03-31"}
    doc = docx_of(client.post(DOCX.format(cast.county.pk), form))
    lines = docx_lines(doc)
    assert lines[0] == f"关于测试县妇联{last_year}年3月工作情况的汇报"
    v = queries.indicator_table(
        cast.users.county_leader, cast.county, dt.date(last_year, 3, 1), dt.date(last_year, 3, 31)
    ).total.values
    assert v["training_sessions"] == 4 and v["training_person_times"] == 40
    assert "全县各乡镇共举办实用技术培训4期,参训妇女10人、40人次" in "\n".join(lines)
    # a whole year: "2025年"; January to June: "2025年1—6月"; other days: both dates
    odd = {"start": f"{last_year}-03-08", "end": f"{last_year}-04-02"}
    assert preview_of(client.get(PREVIEW.format(cast.county.pk), odd)).lines[0] == (
        f"测试县妇联{last_year}年3月8日至{last_year}年4月2日工作总结"
    )
    whole = docx_lines(docx_of(client.get(DOCX.format(cast.county.pk), {"year": last_year})))
    assert whole[0] == f"测试县妇联{last_year}年工作总结"
    half = {"start": f"{last_year}-01-01", "end": f"{last_year}-06-30"}
    assert preview_of(client.get(PREVIEW.format(cast.county.pk), half)).lines[0] == (
        f"测试县妇联{last_year}年1—6月工作总结"
    )


def test_a_township_user_gets_404_for_the_county_preview_and_both_genres(cast, data, login):
    before = AuditEvent.objects.filter(action="access.denied").count()
    client = login(cast.users.a_leader)
    county = cast.county.pk
    assert client.get(PREVIEW.format(county)).status_code == 404
    assert client.post(PREVIEW.format(county), {"genre": "briefing", "problems": "x"}).status_code == 404
    assert client.post(DOCX.format(county), {"genre": "briefing"}).status_code == 404
    assert client.get(DOCX.format(county), {"genre": "summary"}).status_code == 404
    assert client.get(PREVIEW.format(cast.town_b.pk)).status_code == 404  # the neighbour
    # a caseworker of the county sees the county, but no work figures: no report either
    assert login(cast.users.county_caseworker).get(PREVIEW.format(county)).status_code == 404
    assert AuditEvent.objects.filter(action="access.denied").count() == before + 6
    assert not AuditEvent.objects.filter(action="reports.summary.export").exists()
    # the insider: its own township, its villages only in the appendix
    page = preview_of(login(cast.users.a_leader).get(PREVIEW.format(cast.town_a.pk), {"genre": "briefing"}))
    labels = [row[0] for row in page.rows[1:]]
    assert "甲一村" in labels and "乙一村" not in labels and "乙镇妇联" not in labels


# The page's own queries: session + user + memberships (the work-scope check reuses them) + the unit + the nav's
# unread count + the session saved (SESSION_SAVE_EVERY_REQUEST: savepoint, update, release). The rest is one indicator table of the statistics service, whose count belongs to it (one or two
# queries per registered source, whatever the records; modules that land later add their sources).
PREVIEW_OWN_QUERIES = 8


def service_queries(actor, unit, start, end) -> int:
    actor = type(actor).objects.get(pk=actor.pk)  # memberships not cached yet, as in a request
    from fulian.accounts.roles import Cap
    from fulian.accounts.scope import scope_for

    scope_for(actor, Cap.VIEW_ORG)  # the request has loaded them before the table
    with CaptureQueriesContext(connection) as ctx:
        queries.indicator_table(actor, unit, start, end)
    return len(ctx)


def test_preview_query_count_is_fixed(cast, data, login, django_assert_num_queries):
    today = timezone.localdate()
    table = service_queries(cast.users.county_leader, cast.county, today.replace(month=1, day=1), today)
    assert table >= 5  # orgs, cadres, ledger, tasks, cases at least
    client = login(cast.users.county_leader)
    url = PREVIEW.format(cast.county.pk)
    client.get(url)  # warm the session
    with django_assert_num_queries(PREVIEW_OWN_QUERIES + table):
        assert client.post(url, {"genre": "briefing", "problems": PROBLEMS}).status_code == 200
    for i in range(4):
        training(cast.village_a2, None, title=f"培训{i}")
    with django_assert_num_queries(PREVIEW_OWN_QUERIES + table):
        assert client.get(url, {"genre": "summary"}).status_code == 200


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_typed_text_is_escaped_in_the_preview_and_literal_in_the_docx(cast, data, login):
    client = login(cast.users.county_staff)
    form = {"genre": "summary", "problems": XSS, "plans": "&lt;b&gt;" + XSS}
    page = client.post(PREVIEW.format(cast.county.pk), form).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&amp;lt;b&amp;gt;" in page  # an entity typed by the user stays what was typed
    parsed = preview_of(client.post(PREVIEW.format(cast.county.pk), form))
    assert XSS in parsed.lines and "&lt;b&gt;" + XSS in parsed.lines
    lines = docx_lines(docx_of(client.post(DOCX.format(cast.county.pk), form)))
    assert XSS in lines and "&lt;b&gt;" + XSS in lines


@pytest.mark.parametrize(
    "form, field, message",
    [
        ({"start": "2025-06-01", "end": "2025-05-01"}, "end", "结束日期不能早于开始日期。"),
        ({"problems": "问" * 5001}, "problems", "存在问题不能超过5000字(现有 5001 字)。"),
        ({"plans": "划" * 5001}, "plans", "下一步打算不能超过5000字(现有 5001 字)。"),
        ({"start": "2025-02-30"}, "start", "有效的日期"),
        ({"end": "2999-01-01"}, "end", "结束日期不能晚于今天"),
        ({"year": "2099"}, "year", "年度不能晚于"),
        ({"year": "2999"}, "year", "小于或等于2100"),
        ({"genre": "poem"}, "genre", "选择一个有效的选项"),
        ({"start": "2010-01-01", "end": "2020-01-01"}, "start", "统计期不能超过五年。"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_the_form_keeps_what_was_typed(cast, login, form, field, message):
    client = login(cast.users.county_staff)
    typed = {"genre": "briefing", "problems": "问题一\n问题二", "plans": "打算一", **form}
    for url in (PREVIEW, DOCX):
        response = client.post(url.format(cast.county.pk), typed)
        assert response.status_code == 400
        page = response.content.decode()
        errors = re.search(rf'id="{field}-errors">(.*?)</small>', page, re.S)
        assert errors and message in errors.group(1), page[:2000]
        # everything typed comes back: the texts, the dates, the genre
        assert f">\n{typed['problems']}</textarea>" in page and f">\n{typed['plans']}</textarea>" in page
        for name in ("start", "end", "year"):
            if name in typed:
                assert f'name="{name}" value="{typed[name]}"' in page
        if typed["genre"] in ("summary", "briefing"):
            assert f'<option value="{typed["genre"]}" selected>' in page
        assert 'id="document"' not in page  # no half-made document under the error
    assert not AuditEvent.objects.filter(action="reports.summary.export").exists()


def test_the_docx_sets_chinese_fonts_a4_margins_and_page_numbers(cast, data, login):
    doc = docx_of(login(cast.users.county_leader).post(DOCX.format(cast.county.pk), {"genre": "briefing"}))
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    margins = [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin]
    assert [round(m.cm, 1) for m in margins] == [3.7, 3.5, 2.8, 2.6]

    def east_asia(style_name):
        rfonts = doc.styles[style_name].element.rPr.rFonts
        assert rfonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would win over the name
        return rfonts.get(qn("w:eastAsia")), rfonts.get(qn("w:ascii"))

    assert east_asia("Body Text") == ("仿宋_GB2312", "仿宋_GB2312")
    assert east_asia("Title") == ("方正小标宋简体", "方正小标宋简体")
    assert east_asia("Heading 1") == ("黑体", "黑体")
    assert east_asia("Normal") == ("宋体", "宋体")  # tables inherit Normal
    assert doc.styles["Body Text"].font.size.pt == 16 and doc.styles["Title"].font.size.pt == 22
    body = [p for p in doc.paragraphs if p.text.startswith("截至")][0]
    assert body.style.name == "Body Text"
    lead = [p for p in doc.paragraphs if p.text.startswith("(一)")][0]
    assert lead.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    # the stand-ins, for a computer without the government fonts
    fonts = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    table = {
        f.get(qn("w:name")): f.find(qn("w:altName")).get(qn("w:val"))
        for f in etree.fromstring(fonts.blob).findall(qn("w:font"))
        if f.find(qn("w:altName")) is not None
    }
    assert table["仿宋_GB2312"].split(",")[:2] == ["仿宋", "FangSong"]
    assert table["方正小标宋简体"].split(",")[0] == "宋体" and "黑体" in table["方正小标宋简体"]
    assert table["宋体"].startswith("SimSun")
    # — N — on odd (right) and even (left) pages
    for footer in (section.footer, section.even_page_footer):
        xml = footer._element.xml
        assert "PAGE" in xml and footer.paragraphs[0].text == "— 1 —"
    assert doc.settings.odd_and_even_pages_header_footer


def test_the_form_links_preview_and_download(cast, login):
    page = login(cast.users.county_staff).get(PREVIEW.format(cast.county.pk)).content.decode()
    assert 'id="summary-preview"' in page and f'formaction="{DOCX.format(cast.county.pk)}"' in page
    assert '<option value="briefing">情况汇报</option>' in page
    dash = login(cast.users.county_staff).get(f"/reports/units/{cast.county.pk}/").content.decode()
    assert f'action="{PREVIEW.format(cast.county.pk)}"' in dash and "下载 Word" in dash


def test_text_pasted_from_word_with_control_characters_still_makes_a_document(cast, data, login):
    client = login(cast.users.county_staff)
    form = {"genre": "summary", "problems": "第一条\x0b第二条\x07响铃\x1f", "plans": "打算\x0c下一页"}
    lines = docx_lines(docx_of(client.post(DOCX.format(cast.county.pk), form)))
    assert ["第一条", "第二条响铃"] == lines[lines.index("三、存在问题") + 1 : lines.index("四、下一步打算")]
    assert preview_of(client.post(PREVIEW.format(cast.county.pk), form)).lines == lines
