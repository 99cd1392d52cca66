"""Forms of the rectification pages. They parse; the actions check (and their errors land on the form)."""

from __future__ import annotations

from django import forms

from .models import Category, Source

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProblemForm(forms.Form):
    title = forms.CharField(label="问题", max_length=200)
    description = forms.CharField(label="问题描述", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    source = forms.ChoiceField(label="问题来源", choices=[("", "—— 请选择 ——"), *Source.choices])
    category = forms.ChoiceField(
        label="问题类别", choices=[("", "—— 不分类 ——"), *Category.choices], required=False
    )
    found_on = forms.DateField(label="查摆日期", widget=DATE, required=False, help_text="不填则为今天。")


class MeasureForm(forms.Form):
    text = forms.CharField(label="整改措施", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    owner_unit = forms.ChoiceField(label="责任单位")
    owner_person = forms.CharField(label="责任人", max_length=50)
    deadline = forms.DateField(label="整改时限", widget=DATE)
    expected_result = forms.CharField(
        label="预期效果", widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )
    disclose = forms.BooleanField(label="整改结果需公开(验收后生成公开事项草稿)", required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = {str(u.pk): u for u in units}
        self.fields["owner_unit"].choices = [(str(u.pk), u.name) for u in units]

    def clean_owner_unit(self):
        value = self.cleaned_data["owner_unit"]
        return self.units[value]


class ProgressForm(forms.Form):
    text = forms.CharField(label="进展情况", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class DoneForm(forms.Form):
    result = forms.CharField(label="整改完成情况", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


MEASURE_FIELDS = ("text", "owner_unit", "owner_person", "deadline", "expected_result", "disclose")
