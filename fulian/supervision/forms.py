"""The task form of the issuer side. The target's submission form is built from the task's own fields."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from fulian.orgs.models import Kind, OrgUnit

from .models import FieldType


class TargetMode:
    TOWNSHIPS = "townships"
    VILLAGES = "villages"
    CHILDREN = "children"
    CHOICES = [
        (TOWNSHIPS, "下辖全部乡镇(街道)"),
        (VILLAGES, "指定乡镇(街道)下的全部村(社区)"),
        (CHILDREN, "选定的直属下级单位"),
    ]


TOWNSHIP_KINDS = [Kind.TOWNSHIP, Kind.STREET]
VILLAGE_KINDS = [Kind.VILLAGE, Kind.COMMUNITY]

_CHOICE_LINE = re.compile(r"^(?P<label>[^\[\]((]+)\[(?P<choices>[^\]]+)\]$")


def parse_field_lines(text: str) -> list[dict]:
    """One field per line, in plain words (no codes to learn):

    ``参加人数`` a number · ``活动形式[线上/线下/线上线下结合]`` a choice · ``典型经验(文字)`` a text;
    a line ending in ``(选填)`` is optional, every other field is required.
    """
    fields: list[dict] = []
    for i, raw in enumerate(line.strip() for line in (text or "").splitlines()):
        if not raw:
            continue
        required = True
        for suffix in ("(选填)", "(选填)"):
            if raw.endswith(suffix):
                required, raw = False, raw[: -len(suffix)].strip()
        spec = {"key": f"f{i + 1}", "required": required}
        match = _CHOICE_LINE.match(raw)
        if match:
            choices = [c.strip() for c in re.split(r"[/／、,,]", match["choices"]) if c.strip()]
            spec.update(label=match["label"].strip(), type=FieldType.CHOICE, choices=choices)
        elif raw.endswith("(文字)") or raw.endswith("(文字)"):
            spec.update(label=raw[:-4].strip(), type=FieldType.TEXT)
        else:
            spec.update(label=raw, type=FieldType.NUMBER)
        fields.append(spec)
    return fields


class TaskForm(forms.Form):
    title = forms.CharField(label="任务名称", max_length=200)
    instructions = forms.CharField(label="任务要求", widget=forms.Textarea(attrs={"rows": 4}), required=False)
    deadline = forms.DateField(label="报送截止日期", widget=forms.DateInput(attrs={"type": "date"}))
    target_mode = forms.ChoiceField(label="报送单位", choices=TargetMode.CHOICES, widget=forms.RadioSelect)
    village_parent = forms.ChoiceField(label="哪个乡镇(街道)下的村(社区)", required=False)
    children = forms.MultipleChoiceField(
        label="选定的直属下级单位", required=False, widget=forms.CheckboxSelectMultiple
    )
    require_text = forms.BooleanField(label="需要填写情况说明", required=False, initial=True)
    require_files = forms.BooleanField(label="需要上传附件(材料、照片)", required=False)
    ledger_keys = forms.MultipleChoiceField(
        label="引用台账数据(自动预填,报送单位核对)", required=False, widget=forms.CheckboxSelectMultiple
    )
    period_start = forms.DateField(
        label="统计期起", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label="统计期止", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    field_lines = forms.CharField(
        label="其他报送项目(每行一项)",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "宣传资料发放份数\n活动形式[线上/线下]\n典型经验(文字)(选填)"}
        ),
        help_text="每行一项:直接写名称为数字;名称[选项/选项] 为选择;名称(文字) 为文字;末尾加(选填)为非必填。",
    )

    def __init__(self, *args, issuer: OrgUnit, children: list[OrgUnit], townships: list[OrgUnit], **kwargs):
        super().__init__(*args, **kwargs)
        from fulian.ledger.queries import INDICATORS

        self.issuer = issuer
        self.fields["children"].choices = [(str(u.pk), u.name) for u in children]
        self.fields["village_parent"].choices = [("", "—— 请选择 ——")] + [
            (str(u.pk), u.name) for u in townships
        ]
        self.fields["ledger_keys"].choices = [(key, label) for key, label, _, _ in INDICATORS]

    def clean(self):
        data = super().clean()
        mode = data.get("target_mode")
        if mode == TargetMode.VILLAGES and not data.get("village_parent"):
            self.add_error("village_parent", "请选择乡镇(街道)。")
        if mode == TargetMode.CHILDREN and not data.get("children"):
            self.add_error("children", "请至少选择一个下级单位。")
        try:
            data["fields"] = parse_field_lines(data.get("field_lines", ""))
        except ValidationError as exc:
            self.add_error("field_lines", exc)
        return data
