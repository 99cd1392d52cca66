"""Forms of 民意: they parse and keep what was typed; the actions validate and say what is wrong (Chinese)."""

from __future__ import annotations

from django import forms

from fulian.throttle.captcha import CaptchaMixin

from .models import MAX_NOTE, MAX_REPLY, MAX_TEXT, Audience, Category, QuestionKind


def _text_area(rows: int, maxlength: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "maxlength": maxlength})


class SuggestionForm(CaptchaMixin, forms.Form):
    category = forms.ChoiceField(
        label="类别", choices=Category.choices, widget=forms.RadioSelect, initial=Category.SUGGESTION
    )
    text = forms.CharField(
        label="您的意见或建议",
        widget=_text_area(6, MAX_TEXT),
        required=False,
        strip=False,
        help_text=f"不超过{MAX_TEXT}字。",
    )
    contact_name = forms.CharField(label="联系人(可不填)", required=False, max_length=200)
    contact_phone = forms.CharField(
        label="联系电话(可不填)",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class ReceiptForm(forms.Form):
    code = forms.CharField(
        label="回执码",
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
        help_text="提交意见时得到的16位回执码,如 ABCD-EFGH-JKMN-PQRS。",
    )


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label="公开答复(凭回执码可见,请勿写入姓名等个人信息)", widget=_text_area(4, MAX_REPLY), required=False
    )


class ForwardForm(forms.Form):
    to_unit = forms.ModelChoiceField(label="转交给", queryset=None, empty_label="请选择单位")
    note = forms.CharField(label="转交说明", widget=_text_area(2, MAX_NOTE), required=False)

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        from fulian.orgs.models import OrgUnit

        self.fields["to_unit"].queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in targets])
        self.fields["to_unit"].choices = [("", "请选择单位")] + [(u.pk, u.name) for u in targets]


class ProblemForm(forms.Form):
    title = forms.CharField(label="问题", max_length=400, required=False)
    description = forms.CharField(label="问题描述", widget=_text_area(4, MAX_TEXT), required=False)
    category = forms.ChoiceField(label="问题类别", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from fulian.rectify.models import Category as ProblemCategory

        self.fields["category"].choices = [("", "请选择")] + list(ProblemCategory.choices)


class SurveyForm(forms.Form):
    title = forms.CharField(label="问卷标题", max_length=400, required=False)
    intro = forms.CharField(label="说明(显示在问卷开头)", widget=_text_area(3, MAX_TEXT), required=False)
    audience = forms.ChoiceField(label="调查对象", choices=Audience.choices, widget=forms.RadioSelect)
    opens_at = forms.DateTimeField(
        label="开始时间",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    closes_at = forms.DateTimeField(
        label="截止时间",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    error_messages = {"invalid": "请填写有效的日期和时间。", "required": "请填写日期和时间。"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("opens_at", "closes_at"):
            self.fields[name].error_messages.update(self.error_messages)
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label="题型", choices=QuestionKind.choices)
    text = forms.CharField(label="题目", max_length=1000, required=False)
    required = forms.BooleanField(label="必答", required=False, initial=True)
    options_text = forms.CharField(
        label="选项(选择题,每行一个)", widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    min_value = forms.CharField(label="最小值(数字题,可不填)", required=False, max_length=20)
    max_value = forms.CharField(label="最大值(数字题,可不填)", required=False, max_length=20)

    def __init__(self, *args, question=None, later=(), **kwargs):
        """``question`` (single choice) and the questions after it: one skip select per option."""
        super().__init__(*args, **kwargs)
        self.skip_names: list[tuple[int, str]] = []
        if question is not None and question.kind == QuestionKind.SINGLE:
            choices = [("", "继续下一题")] + [(str(q.pk), f"跳到第{q.number}题:{q.text[:30]}") for q in later]
            choices.append(("end", "结束问卷"))
            for i, option in enumerate(question.options):
                name = f"skip_{i}"
                self.fields[name] = forms.ChoiceField(
                    label=f"选“{option}”时",
                    choices=choices,
                    required=False,
                    initial=str(question.skip.get(str(i), "")),
                )
                self.skip_names.append((i, name))

    def options(self) -> list[str]:
        return [line for line in (self.cleaned_data.get("options_text") or "").splitlines() if line.strip()]

    def skip(self) -> dict:
        return {
            str(i): self.cleaned_data.get(name) for i, name in self.skip_names if self.cleaned_data.get(name)
        }
