"""The small form a task defines (numbers, choices, text) and the parsing of what a target submits.
No database here: shared by the actions, the pages and the API."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from .models import FieldType

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 30
MAX_NUMBER = Decimal("999999999999")


def clean_field_specs(specs: list[dict] | None, reserved: set[str] = frozenset()) -> list[dict]:
    """Validate the task's own fields; return them normalised (key, label, type, required, choices)."""
    out: list[dict] = []
    seen: set[str] = set(reserved)
    errors: list[str] = []
    for i, spec in enumerate(specs or [], start=1):
        key = str(spec.get("key", "")).strip()
        label = str(spec.get("label", "")).strip()
        ftype = str(spec.get("type", FieldType.NUMBER)).strip()
        choices = [str(c).strip() for c in spec.get("choices") or [] if str(c).strip()]
        if not KEY_RE.match(key):
            errors.append(f"第{i}项:代码只能由小写字母、数字和下划线组成,且以字母开头。")
        elif key in seen:
            errors.append(f"第{i}项:代码“{key}”重复。")
        if not label:
            errors.append(f"第{i}项:请填写名称。")
        if ftype not in FieldType.values:
            errors.append(f"第{i}项:类型必须是数字、选项或文字。")
        if ftype == FieldType.CHOICE and len(choices) < 2:
            errors.append(f"第{i}项:选项至少要有两个。")
        seen.add(key)
        item = {"key": key, "label": label[:50], "type": ftype, "required": bool(spec.get("required"))}
        if ftype == FieldType.CHOICE:
            item["choices"] = choices
        out.append(item)
    if len(out) > MAX_FIELDS:
        errors.append(f"报送表单最多 {MAX_FIELDS} 项。")
    if errors:
        raise ValidationError({"fields": errors})
    return out


def parse_number(raw) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise InvalidOperation
    text = str(raw).strip().replace(",", "").replace(",", "")
    if text == "":
        return None
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation
    return value


def as_json_number(value: Decimal) -> int | str:
    """Whole numbers as JSON integers; others as exact decimal strings (never floats)."""
    return int(value) if value == value.to_integral_value() else str(value.normalize())


def number_of(value) -> int | Decimal | None:
    """A stored number back as int/Decimal (for the export and comparisons)."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else d


def parse_values(fields: list[dict], raw: dict, *, required: bool) -> tuple[dict, dict[str, list[str]]]:
    """Parse submitted values against the form. ``required`` is False for a draft (anything may be blank)."""
    values: dict = {}
    errors: dict[str, list[str]] = {}
    for f in fields:
        key, label = f["key"], f["label"]
        value = raw.get(key)
        if f["type"] == FieldType.NUMBER:
            try:
                number = parse_number(value)
            except (InvalidOperation, ValueError):
                errors[key] = [f"{label}:请填写数字。"]
                continue
            if number is not None and (number < 0 or number > MAX_NUMBER):
                errors[key] = [f"{label}:数字不能为负数,也不能过大。"]
                continue
            if number is not None and number.as_tuple().exponent < -2:
                errors[key] = [f"{label}:最多保留两位小数。"]
                continue
            if number is None:
                if required and f.get("required"):
                    errors[key] = [f"{label}:此项必填。"]
                continue
            values[key] = as_json_number(number)
        else:
            text = "" if value is None else str(value).strip()
            if not text:
                if required and f.get("required"):
                    errors[key] = [f"{label}:此项必填。"]
                continue
            if f["type"] == FieldType.CHOICE and text not in f.get("choices", []):
                errors[key] = [f"{label}:请从给定选项中选择。"]
                continue
            values[key] = text[:2000]
    return values, errors
