"""Parsing the period of a statistics request (pages and API alike)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

MAX_PERIOD_DAYS = 366 * 5


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def parse_year(value, today: dt.date) -> int:
    if value in (None, ""):
        return today.year
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"year": ["年份应为四位数字,如 2026。"]}) from None
    if not 2000 <= year <= today.year + 1:
        raise ValidationError({"year": [f"年份应在 2000 至 {today.year + 1} 之间。"]})
    return year


def parse_period(params, today: dt.date) -> tuple[dt.date, dt.date]:
    """``start``/``end`` (YYYY-MM-DD); by default from 1 January of the end's year to today."""
    errors: dict[str, list[str]] = {}
    dates: dict[str, dt.date | None] = {}
    for name, label in (("start", "开始日期"), ("end", "结束日期")):
        value = params.get(name)
        try:
            dates[name] = dt.date.fromisoformat(value) if value else None
        except ValueError:
            errors[name] = [f"{label}格式应为 YYYY-MM-DD。"]
    if errors:
        raise ValidationError(errors)
    end = dates["end"] or today
    start = dates["start"] or end.replace(month=1, day=1)
    if start > end:
        raise ValidationError({"start": ["开始日期不能晚于结束日期。"]})
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationError({"start": ["统计期不能超过五年。"]})
    return start, end


def same_period_last_year(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    def back(day: dt.date) -> dt.date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            return day.replace(year=day.year - 1, day=28)

    return back(start), back(end)
