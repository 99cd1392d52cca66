"""Forms feed the actions; the actions check everything again (length, choices, rights)."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from fulian.throttle.captcha import CaptchaMixin

from .models import BODY_MAX, COMMENT_MAX, REPLY_MAX, TITLE_MAX, Category, Period

TEXTAREA = {"rows": 8}


class ItemForm(forms.Form):
    category = forms.ChoiceField(label="类别", choices=Category.choices)
    title = forms.CharField(
        label="标题", max_length=TITLE_MAX, error_messages={"max_length": f"标题不能超过{TITLE_MAX}字。"}
    )
    body = forms.CharField(
        label="公开内容",
        widget=forms.Textarea(attrs=TEXTAREA),
        max_length=BODY_MAX,
        error_messages={"max_length": f"公开内容不能超过{BODY_MAX}字,请精简或分多项公开。"},
    )
    period = forms.ChoiceField(
        label="公开周期",
        choices=Period.choices,
        initial=Period.NONE,
        help_text="常规性工作定期公开:每月、每季或半年更换一次。",
    )
    next_due = forms.DateField(
        label="下次公开日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="定期公开的事项可不填:审核公开时按周期自动计算。",
    )


class NewItemForm(ItemForm):
    unit = forms.ChoiceField(label="公开单位")

    field_order = ["unit", "category", "title", "body", "period", "next_due"]

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = {str(u.pk): u for u in units}
        self.fields["unit"].choices = [(str(u.pk), u.name) for u in units]


class ReturnForm(forms.Form):
    reason = forms.CharField(label="退回原因", widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class CommentForm(CaptchaMixin, forms.Form):
    body = forms.CharField(
        label="留言",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": COMMENT_MAX}),
        max_length=COMMENT_MAX,
        error_messages={
            "required": "请填写留言内容。",
            "max_length": f"留言不能超过{COMMENT_MAX}字。",
        },
        help_text="留言经工作人员审核后显示。请勿填写姓名、电话等个人信息;需要帮助请使用网上求助。",
    )


class ReplyForm(forms.Form):
    reply = forms.CharField(label="答复", widget=forms.Textarea(attrs={"rows": 3}), max_length=REPLY_MAX)


class CommitmentForm(forms.Form):
    unit = forms.ChoiceField(label="承诺单位", required=False)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    title = forms.CharField(label="承诺事项", max_length=TITLE_MAX)
    detail = forms.CharField(label="具体内容", widget=forms.Textarea(attrs={"rows": 4}), required=False)
    target_value = forms.DecimalField(
        label="目标数量",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="可量化的承诺请填写,例如 10",
    )
    target_unit = forms.CharField(label="计量单位", required=False, max_length=16, help_text="例如“场”“人次”")

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is None:
            del self.fields["unit"]
        else:
            self.units = {str(u.pk): u for u in units}
            self.fields["unit"].choices = [(str(u.pk), u.name) for u in units]
            self.fields["unit"].required = True
        self.fields["year"].initial = timezone.localdate().year


class ProgressForm(forms.Form):
    progress = forms.IntegerField(label="完成进度(%)", required=False, min_value=0, max_value=100)
    achieved_value = forms.DecimalField(
        label="已完成数量", required=False, min_value=0, max_digits=12, decimal_places=2
    )
    evidence = forms.CharField(label="进展情况及佐证", widget=forms.Textarea(attrs={"rows": 4}))
    file = forms.FileField(label="佐证材料(图片或PDF,选填)", required=False)


class ProfileForm(forms.Form):
    intro = forms.CharField(
        label="简介", widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=5000
    )
    address = forms.CharField(label="办公地址", required=False, max_length=200)
    phone = forms.CharField(label="联系电话", required=False, max_length=32)
    office_hours = forms.CharField(
        label="办公时间", required=False, max_length=100, help_text="例如:工作日 8:30—17:30"
    )
    published = forms.BooleanField(label="在公开网站显示简介", required=False)
