import datetime as dt
import re

from django import forms

from .periods import MAX_PERIOD_DAYS
from .summary import GENRE_CHOICES

TEXT_LIMIT = 5000
# what Word's XML cannot hold: C0 controls other than tab and newline (a vertical tab or form feed pasted from
# Word is a line break)
LINE_BREAKS = re.compile(r"[\x0b\x0c\u2028\u2029]")
NOT_XML = re.compile(r"[\x00-\x08\x0e-\x1f\ufffe\uffff]")


def plain_text(value: str) -> str:
    return NOT_XML.sub("", LINE_BREAKS.sub("\n", value))


class SummaryForm(forms.Form):
    """The written report: which genre, which period (a year, or two dates), and the user's own 存在问题 /
    下一步打算. ``cleaned_data["period"]`` is (start, end), never after ``today``."""

    genre = forms.ChoiceField(label="文稿类型", choices=GENRE_CHOICES, initial="summary", required=False)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100, required=False)
    start = forms.DateField(
        label="开始日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="不填则按年度统计。",
    )
    end = forms.DateField(
        label="结束日期", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    problems = forms.CharField(
        label="存在问题",
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"max_length": f"存在问题不能超过{TEXT_LIMIT}字(现有 %(show_value)d 字)。"},
    )
    plans = forms.CharField(
        label="下一步打算",
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"max_length": f"下一步打算不能超过{TEXT_LIMIT}字(现有 %(show_value)d 字)。"},
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_problems(self):
        return plain_text(self.cleaned_data["problems"])

    def clean_plans(self):
        return plain_text(self.cleaned_data["plans"])

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        data["genre"] = data.get("genre") or "summary"
        start, end, year, today = data.get("start"), data.get("end"), data.get("year"), self.today
        if start or end:
            end = end or min(dt.date((start or today).year, 12, 31), today)
            start = start or end.replace(month=1, day=1)
            if end < start:
                self.add_error("end", "结束日期不能早于开始日期。")
            elif end > today:
                self.add_error("end", f"结束日期不能晚于今天({today:%Y-%m-%d})。")
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("start", "统计期不能超过五年。")
        else:
            year = year or today.year
            if year > today.year:
                self.add_error("year", f"年度不能晚于{today.year}年。")
            start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
        data["period"] = (start, end)
        return data
