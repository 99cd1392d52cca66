from __future__ import annotations

from django import forms

from .actions import ACTION_RESULTS
from .models import (
    ACTION_KINDS,
    AgeGroup,
    Agency,
    CaseCategory,
    Channel,
    EntryKind,
    MandatoryReport,
    Risk,
    Satisfaction,
    State,
)
from .triage import RISK_ITEMS

TEXT = {"autocomplete": "off"}
PHONE = {"inputmode": "tel", "autocomplete": "off", "placeholder": "手机或 区号-号码"}


def _char(label: str, max_length: int, attrs=None, **kw) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=max_length, widget=forms.TextInput(attrs=attrs or TEXT), **kw
    )


class IntakeForm(forms.Form):
    """The one-screen form of a hotline operator mid-call. Field names of parties are ``<role>_<field>``, the
    keys the intake action reports its errors under."""

    unit = forms.ModelChoiceField(label="所在地(承办单位)", queryset=None, empty_label=None)
    channel = forms.ChoiceField(label="来源渠道", choices=Channel.choices, initial=Channel.HOTLINE)
    category = forms.ModelChoiceField(
        label="类别",
        queryset=CaseCategory.objects.filter(parent__isnull=True, active=True),
        empty_label="请选择",
    )
    subcategory = forms.ModelChoiceField(
        label="子类别",
        required=False,
        queryset=CaseCategory.objects.filter(parent__isnull=False, active=True).select_related("parent"),
        empty_label="—",
    )
    caller_anonymous = forms.BooleanField(label="来电人匿名", required=False)
    caller_name = _char("来电人姓名", 50)
    caller_phone = _char("来电号码", 30, PHONE)
    caller_relation = _char("与当事人关系", 20, {"placeholder": "本人/母亲/邻居…", **TEXT})
    affected_name = _char("当事人姓名(与来电人不同时)", 50)
    affected_phone = _char("当事人电话", 30, PHONE)
    affected_id_number = _char("当事人身份证号", 20, {"autocomplete": "off", "inputmode": "text"})
    affected_address = _char("当事人住址", 200)
    affected_age_group = forms.ChoiceField(label="年龄段", choices=AgeGroup.choices, required=False)
    affected_has_disability = forms.BooleanField(label="当事人有残疾", required=False)
    affected_safe_phone = _char("安全联系电话", 30, PHONE)
    affected_safe_time = _char("方便联系的时间", 50, {"placeholder": "如:工作日上午", **TEXT})
    affected_may_leave_message = forms.BooleanField(label="可以留言或发短信", required=False)
    perpetrator_name = _char("被投诉人姓名", 50)
    perpetrator_relation = _char("被投诉人与当事人关系", 20, {"placeholder": "丈夫/前夫/同事…", **TEXT})
    account = forms.CharField(label="情况陈述", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    request = forms.CharField(label="诉求", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    risk_checklist = forms.MultipleChoiceField(
        label="风险评估(勾选符合的情况)",
        required=False,
        choices=[(k, label) for k, label, _ in RISK_ITEMS],
        widget=forms.CheckboxSelectMultiple,
    )
    risk = forms.TypedChoiceField(
        label="风险等级(不选则按评估建议)",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "按评估建议"), *Risk.choices],
    )
    involves_minor = forms.BooleanField(label="涉及未成年人", required=False)
    lacks_capacity = forms.BooleanField(label="涉及无民事行为能力人", required=False)
    consent_store = forms.BooleanField(label="同意保存个人信息", required=False)
    consent_refer = forms.BooleanField(label="同意转介给有关部门", required=False)
    consent_contact = forms.BooleanField(label="同意回访联系", required=False)

    def __init__(self, units, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["subcategory"].label_from_instance = lambda c: f"{c.parent.name} · {c.name}"

    SECTIONS = (
        ("来电人", ["caller_anonymous", "caller_name", "caller_phone", "caller_relation"]),
        (
            "当事人与安全联系方式",
            [
                "affected_name",
                "affected_phone",
                "affected_safe_phone",
                "affected_safe_time",
                "affected_may_leave_message",
                "affected_id_number",
                "affected_address",
                "affected_age_group",
                "affected_has_disability",
            ],
        ),
        ("被投诉人", ["perpetrator_name", "perpetrator_relation"]),
    )

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def intake_values(self) -> dict:
        d = self.cleaned_data
        parties = [
            {
                "role": "caller",
                "anonymous": d["caller_anonymous"],
                "name": d["caller_name"],
                "phone": d["caller_phone"],
                "relation": d["caller_relation"],
            },
            {
                "role": "affected",
                "name": d["affected_name"],
                "phone": d["affected_phone"],
                "id_number": d["affected_id_number"],
                "address": d["affected_address"],
                "age_group": d["affected_age_group"],
                "has_disability": d["affected_has_disability"],
                "safe_phone": d["affected_safe_phone"],
                "safe_time": d["affected_safe_time"],
                "may_leave_message": d["affected_may_leave_message"],
            },
            {"role": "perpetrator", "name": d["perpetrator_name"], "relation": d["perpetrator_relation"]},
        ]
        return {
            "unit": d["unit"],
            "channel": d["channel"],
            "category": d["category"],
            "subcategory": d["subcategory"],
            "parties": parties,
            "account": d["account"],
            "request": d["request"],
            "risk_checklist": d["risk_checklist"],
            "risk": d["risk"],
            "involves_minor": d["involves_minor"],
            "lacks_capacity": d["lacks_capacity"],
            "consent_store": d["consent_store"],
            "consent_refer": d["consent_refer"],
            "consent_contact": d["consent_contact"],
        }


class CaseFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="状态", required=False, choices=[("open", "办理中(未结)"), ("all", "全部"), *State.choices]
    )
    risk = forms.TypedChoiceField(
        label="风险", required=False, coerce=int, empty_value=None, choices=[("", "全部"), *Risk.choices]
    )
    channel = forms.ChoiceField(label="渠道", required=False, choices=[("", "全部"), *Channel.choices])
    overdue = forms.BooleanField(label="只看超期", required=False)
    escalated = forms.BooleanField(label="下级超期上报", required=False)
    visit_due = forms.BooleanField(label="红色家庭到期走访", required=False)
    mine = forms.BooleanField(label="只看我的", required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=200, widget=forms.TextInput(attrs=TEXT))


class ActionForm(forms.Form):
    kind = forms.ChoiceField(label="措施", choices=[(k, EntryKind(k).label) for k in ACTION_KINDS])
    occurred_on = forms.DateField(
        label="日期", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    result = forms.ChoiceField(
        label="结果",
        required=False,
        choices=[("", "—"), *dict.fromkeys((r, r) for rs in ACTION_RESULTS.values() for r in rs)],
    )
    text = forms.CharField(label="情况说明", required=False, widget=forms.Textarea(attrs={"rows": 3}))


def _date(label: str, required: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class ReferForm(forms.Form):
    agency = forms.ChoiceField(label="接收单位类别", choices=Agency.choices)
    agency_name = forms.CharField(label="单位名称", required=False, max_length=100)
    sent_on = _date("转出日期")
    expected_reply_on = _date("应答复日期")
    note = forms.CharField(label="转介说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label="未经当事人同意转介的理由(仅主席)", required=False, max_length=200
    )


class ReplyForm(forms.Form):
    referral = forms.IntegerField(widget=forms.HiddenInput)
    replied_on = _date("答复日期")
    reply = forms.CharField(label="答复内容", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class FollowUpForm(forms.Form):
    satisfaction = forms.ChoiceField(label="满意度", choices=Satisfaction.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label="回访意见", required=False, widget=forms.Textarea(attrs={"rows": 2}))


MANDATORY_CHOICES = [c for c in MandatoryReport.choices if c[0]]


class StatsForm(forms.Form):
    start = _date("开始日期")
    end = _date("结束日期")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("开始日期不能晚于结束日期。")
        return data


class CaseEditForm(forms.Form):
    channel = forms.ChoiceField(label="来源渠道", choices=Channel.choices)
    category = forms.ModelChoiceField(
        label="类别", queryset=CaseCategory.objects.filter(parent__isnull=True, active=True), empty_label=None
    )
    subcategory = forms.ModelChoiceField(
        label="子类别",
        required=False,
        queryset=CaseCategory.objects.filter(parent__isnull=False, active=True),
        empty_label="—",
    )
    involves_minor = forms.BooleanField(label="涉及未成年人", required=False)
    involves_disability = forms.BooleanField(label="涉及残疾人", required=False)
    lacks_capacity = forms.BooleanField(label="涉及无民事行为能力人", required=False)
    consent_store = forms.BooleanField(label="同意保存个人信息", required=False)
    consent_refer = forms.BooleanField(label="同意转介", required=False)
    consent_contact = forms.BooleanField(label="同意回访联系", required=False)

    @classmethod
    def for_case(cls, case):
        return cls(initial={name: getattr(case, name) for name in cls.base_fields})


PARTY_TEXT_FIELDS = ("name", "phone", "id_number", "address", "relation", "safe_phone", "safe_time")


class PublicHelpForm(forms.Form):
    """The public help request: anonymous allowed, nothing required but the account and the consent to store."""

    unit = forms.ModelChoiceField(label="您所在的乡镇(街道)", queryset=None, empty_label="请选择")
    category = forms.ModelChoiceField(
        label="求助类别",
        required=False,
        queryset=CaseCategory.objects.filter(active=True).select_related("parent"),
        empty_label="说不清",
    )
    affected_name = _char("怎么称呼您(可以不填)", 50)
    affected_phone = _char("联系电话(可以不填)", 30, PHONE)
    affected_safe_time = _char("什么时候打给您比较安全", 50)
    affected_may_leave_message = forms.BooleanField(label="可以给这个号码留言或发短信", required=False)
    account = forms.CharField(
        label="您遇到的情况", widget=forms.Textarea(attrs={"rows": 5}), max_length=20000
    )
    request = forms.CharField(
        label="您希望得到什么帮助", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    consent_store = forms.BooleanField(label="同意妇联保存以上信息用于办理", required=False)
    consent_refer = forms.BooleanField(label="同意必要时转给公安、法院、法律援助等部门", required=False)
    consent_contact = forms.BooleanField(label="同意工作人员与我联系", required=False)

    def __init__(self, units, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["category"].label_from_instance = lambda c: (
            f"{c.parent.name} · {c.name}" if c.parent else c.name
        )


class TrackForm(forms.Form):
    code = forms.CharField(
        label="查询码", max_length=12, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    pin = forms.CharField(
        label="查询密码",
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
