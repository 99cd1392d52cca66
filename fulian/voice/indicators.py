"""民意 figures for the statistics service (fulian.reports): suggestions received and replied in the period (of
those received in it), the reply rate, and survey responses received in the period. Spam is not counted."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import Substr

from fulian.accounts.roles import Cap
from fulian.orgs import statsql
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.reports.registry import RATIO, Source, register

from .models import Response, Suggestion

SUGGESTION_COUNTS = {
    "voice_suggestions": Count("id"),
    "voice_replied": Count("id", filter=~Q(reply="")),
}


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


def _suggestions(unit: OrgUnit, start: dt.date, end: dt.date):
    return Suggestion.objects.under(unit).filter(
        spam=False, created_at__date__gte=start, created_at__date__lte=end
    )


def _responses(unit: OrgUnit, start: dt.date, end: dt.date):
    return Response.objects.filter(
        survey__in=_survey_ids(unit), created_at__date__gte=start, created_at__date__lte=end
    )


def _survey_ids(unit: OrgUnit):
    from .models import Survey

    return Survey.objects.under(unit).values("pk")


def _values(counts: dict, responses: int | None, codes: list[str]) -> dict:
    received = counts.get("voice_suggestions") or 0
    replied = counts.get("voice_replied") or 0
    values = {
        "voice_suggestions": received,
        "voice_replied": replied,
        "voice_replied_pct": _pct(replied, received),
        "voice_survey_responses": responses or 0,
    }
    return {code: values[code] for code in codes}


def _compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    counts = {}
    if set(codes) - {"voice_survey_responses"}:
        counts = _suggestions(unit, start, end).aggregate(**SUGGESTION_COUNTS)
    responses = _responses(unit, start, end).count() if "voice_survey_responses" in codes else 0
    return _values(counts, responses, codes)


def _by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    length = prefix_length(unit.depth + 1)
    grouped: dict = {}
    if set(codes) - {"voice_survey_responses"}:
        grouped = {
            g.pop("branch"): g
            for g in _suggestions(unit, start, end)
            .annotate(branch=Substr("unit__path", 1, length))
            .values("branch")
            .annotate(**SUGGESTION_COUNTS)
            .order_by()
        }
    responses: dict = {}
    if "voice_survey_responses" in codes:
        responses = {
            r["branch"]: r["n"]
            for r in _responses(unit, start, end)
            .annotate(branch=Substr("survey__unit__path", 1, length))
            .values("branch")
            .annotate(n=Count("id"))
            .order_by()
        }
    children = [(c.pk, c.path) for c in statsql.children_during(unit, start, end)]
    own = unit.path in grouped or unit.path in responses
    units = [(unit.pk, unit.path), *children] if own else list(children)
    out: dict = {code: {} for code in codes}
    for pk, path in units:
        for code, value in _values(grouped.get(path, {}), responses.get(path, 0), codes).items():
            out[code][pk] = value
    return out


VOICE = Source("voice.counts", _compute, _by_child)

register("voice_suggestions", "收到群众意见建议", "条", module="voice", source=VOICE, cap=Cap.VIEW_WORK)
register(
    "voice_replied",
    "已答复意见建议",
    "条",
    module="voice",
    source=VOICE,
    cap=Cap.VIEW_WORK,
    description="本期收到的意见建议中已公开答复的条数",
)
register(
    "voice_replied_pct",
    "意见建议答复率",
    "%",
    module="voice",
    source=VOICE,
    rollup=RATIO,
    cap=Cap.VIEW_WORK,
    description="本期收到的意见建议中已答复的 / 收到的",
)
register("voice_survey_responses", "问卷答卷", "份", module="voice", source=VOICE, cap=Cap.VIEW_WORK)
