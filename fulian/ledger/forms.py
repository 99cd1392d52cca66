from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from . import periods
from .actions import RECORD_FIELDS
from .models import CATEGORIES, KIND_FIELDS, BrandTag, LedgerRecord, RecordKind

DATE_WIDGET = {"type": "date"}
ALL_CATEGORIES = list(dict.fromkeys(c for kind in RecordKind.values for c in CATEGORIES[kind]))
# fields every kind has; the quick form shows the first ones, the rest sit under "更多"
COMMON_FIELDS = ["title", "category", "date"]
MORE_FIELDS = ["end_date", "location", "description"]


def _date_field(label: str, required: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d")
    )


class RecordFilterForm(forms.Form):
    kind = forms.ChoiceField(label="类别", required=False, choices=[("", "全部"), *RecordKind.choices])
    category = forms.ChoiceField(
        label="类型", required=False, choices=[("", "全部"), *[(c, c) for c in ALL_CATEGORIES]]
    )
    tag = forms.ModelChoiceField(
        label="品牌标签", required=False, queryset=BrandTag.objects.filter(active=True), empty_label="全部"
    )
    start = _date_field("开始日期")
    end = _date_field("结束日期")
    q = forms.CharField(label="主题/说明", required=False, max_length=50)


class RecordForm(forms.Form):
    """The quick-entry form of one kind: only that kind's fields, brand tags as checkboxes."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, kind: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in [*COMMON_FIELDS, *KIND_FIELDS[kind], *MORE_FIELDS]:
            model_field = LedgerRecord._meta.get_field(name)
            if name == "category":
                field = forms.ChoiceField(
                    label=model_field.verbose_name, choices=[(c, c) for c in CATEGORIES[kind]]
                )
            elif name in ("date", "end_date"):
                field = _date_field(model_field.verbose_name, required=name == "date")
            else:
                field = model_field.formfield()
                if name in ("description",):
                    field.widget.attrs["rows"] = 3
            if isinstance(model_field, models.PositiveIntegerField | models.DecimalField):
                # empty means 0: nothing to delete before typing on a phone
                field.required, field.initial = False, None
                field.validators.append(MinValueValidator(0, "不能小于 0。"))
                field.widget.attrs.update(
                    inputmode="decimal" if isinstance(model_field, models.DecimalField) else "numeric",
                    placeholder="0",
                )
            self.fields[name] = field
        self.fields["tags"] = forms.ModelMultipleChoiceField(
            label="品牌标签",
            required=False,
            queryset=BrandTag.objects.filter(active=True),
            widget=forms.CheckboxSelectMultiple,
        )
        if not self.is_bound and "date" not in self.initial:
            self.initial["date"] = timezone.localdate()
        if len(CATEGORIES[kind]) == 1:
            self.initial.setdefault("category", CATEGORIES[kind][0])
        if "sessions" in self.fields:
            self.initial.setdefault("sessions", 1)

    def main_fields(self):
        return [self[n] for n in [*COMMON_FIELDS, *KIND_FIELDS[self.kind]]]

    def more_fields(self):
        return [self[n] for n in MORE_FIELDS]

    def record_fields(self) -> dict:
        """The cleaned values as keyword arguments of create_record/update_record (empty counts are 0)."""
        data = {"kind": self.kind}
        for name in self.fields:
            if name in RECORD_FIELDS:
                value = self.cleaned_data.get(name)
                if value is None:
                    value = LedgerRecord._meta.get_field(name).get_default()
                    if name == "end_date":
                        value = None
                data[name] = value
        return data


class ExceptionForm(forms.Form):
    unit = forms.TypedChoiceField(label="开通单位", coerce=int)
    month = forms.CharField(label="补录月份", widget=forms.TextInput(attrs={"type": "month"}))
    until = _date_field("补录截止日期", required=True)
    reason = forms.CharField(label="原因", max_length=200)

    def __init__(self, units, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", "请选择")] + [(u.pk, u.name) for u in units]

    def clean_month(self) -> dt.date:
        value = self.cleaned_data["month"].strip()
        try:
            year, month = (int(p) for p in value.replace("/", "-").split("-")[:2])
            return dt.date(year, month, 1)
        except ValueError:
            raise forms.ValidationError("请选择月份,如 2026-03。") from None

    def clean_until(self) -> dt.date:
        until = self.cleaned_data["until"]
        if until < timezone.localdate():
            raise forms.ValidationError("补录截止日期不能早于今天。")
        return until


# --- the roll-up's period -------------------------------------------------------------------------------------

PRESETS = [
    ("this_month", "本月"),
    ("last_month", "上月"),
    ("this_quarter", "本季度"),
    ("this_year", "本年"),
    ("last_year", "上年"),
    ("custom", "自定义"),
]


def preset_period(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if preset == "last_month":
        end = periods.month_start(today) - dt.timedelta(days=1)
        return periods.month_start(end), end
    if preset == "this_quarter":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        last = periods.month_end(first.replace(month=first.month + 2))
        return first, last
    if preset == "this_year":
        return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    if preset == "last_year":
        return dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
    return periods.month_start(today), periods.month_end(today)


class RollupForm(forms.Form):
    period = forms.ChoiceField(label="期间", required=False, choices=PRESETS)
    start = _date_field("开始日期")
    end = _date_field("结束日期")
    tag = forms.TypedChoiceField(label="品牌标签", required=False, coerce=int, empty_value=None)

    def __init__(self, tags, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "全部"), *[(t.pk, t.name) for t in tags]]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError("结束日期不能早于开始日期。")
        return data

    def resolve(self, today: dt.date) -> tuple[str, dt.date, dt.date]:
        """(preset, start, end): explicit dates win (custom), else the preset, else this month."""
        data = self.cleaned_data if self.is_valid() else {}
        start, end = data.get("start"), data.get("end")
        preset = data.get("period") or ""
        if (start or end) and preset in ("", "custom"):
            start = start or dt.date(end.year, 1, 1)
            end = end or today
            return "custom", start, end
        preset = preset if preset in dict(PRESETS) and preset != "custom" else "this_month"
        return (preset, *preset_period(preset, today))


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="台账类别", choices=RecordKind.choices)
    file = forms.FileField(label="Excel 文件(.xlsx)")


class TagForm(forms.Form):
    name = forms.CharField(label="标签名称", max_length=30)
    sort_order = forms.IntegerField(label="排序", min_value=0, initial=0, required=False)
    active = forms.BooleanField(label="启用", required=False, initial=True)
