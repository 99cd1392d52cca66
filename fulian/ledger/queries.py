"""Scoped reads of the ledger and the roll-up: the table the seeds compile by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr

from fulian.accounts.access import get_in_scope
from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.orgs.queries import children_of

from .models import BrandTag, LedgerRecord, RecordKind


def access_record(actor, record_id, write: bool = False) -> LedgerRecord:
    """A record inside the actor's VIEW_WORK scope (404 otherwise); write access is checked by the actions."""
    return get_in_scope(
        actor, LedgerRecord.objects.select_related("org_unit", "created_by"), record_id, Cap.VIEW_WORK
    )


@dataclass(frozen=True)
class RecordFilter:
    unit: OrgUnit | None = None
    kind: str = ""
    category: str = ""
    tag: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    q: str = ""


def records_of(actor, f: RecordFilter) -> QuerySet[LedgerRecord]:
    qs = LedgerRecord.objects.within(scope_for(actor, Cap.VIEW_WORK)).select_related("org_unit")
    if f.unit is not None:
        qs = qs.under(f.unit)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.category:
        qs = qs.filter(category=f.category)
    if f.tag:
        qs = qs.filter(tags=f.tag)
    if f.start:
        qs = qs.filter(date__gte=f.start)
    if f.end:
        qs = qs.filter(date__lte=f.end)
    if f.q:
        qs = qs.filter(Q(title__contains=f.q) | Q(description__contains=f.q))
    return qs.order_by("-date", "-id")


# --- roll-up -------------------------------------------------------------------------------------------------

# (key, label, kind, aggregate) — the indicators of the roll-up table, in the seeds' words.
INDICATORS: list[tuple[str, str, str, object]] = [
    ("training_sessions", "培训期数", RecordKind.TRAINING, Sum("sessions")),
    ("training_people", "参训人数", RecordKind.TRAINING, Sum("participants")),
    ("training_person_times", "参训人次", RecordKind.TRAINING, Sum("person_times")),
    ("training_recommended", "推荐就业", RecordKind.TRAINING, Sum("recommended_jobs")),
    ("training_employed", "实现就业", RecordKind.TRAINING, Sum("employed")),
    ("activity_count", "活动次数", RecordKind.ACTIVITY, Count("id")),
    ("activity_people", "活动参与人数", RecordKind.ACTIVITY, Sum("participants")),
    ("activity_beneficiaries", "活动受益人数", RecordKind.ACTIVITY, Sum("beneficiaries")),
    ("fair_count", "招聘会场次", RecordKind.JOB_FAIR, Count("id")),
    ("fair_employers", "参会企业", RecordKind.JOB_FAIR, Sum("employers")),
    ("fair_jobs", "提供岗位", RecordKind.JOB_FAIR, Sum("jobs_offered")),
    ("fair_seekers", "求职人数", RecordKind.JOB_FAIR, Sum("job_seekers")),
    ("fair_agreements", "达成意向", RecordKind.JOB_FAIR, Sum("agreements")),
    ("workpoint_count", "来料加工点", RecordKind.WORKPOINT, Count("id")),
    ("workpoint_workers", "加工人数", RecordKind.WORKPOINT, Sum("workers")),
    ("service_count", "服务次数", RecordKind.SERVICE, Count("id")),
    ("service_beneficiaries", "服务受益人数", RecordKind.SERVICE, Sum("beneficiaries")),
    ("service_amount", "服务金额(元)", RecordKind.SERVICE, Sum("amount")),
]
INDICATOR_LABELS = {key: label for key, label, _, _ in INDICATORS}


def _aggregates(keys: list[str] | None = None) -> dict:
    aggs = {}
    for key, _, kind, agg in INDICATORS:
        if keys is None or key in keys:
            aggs[key] = type(agg)(*agg.source_expressions, filter=Q(kind=kind))
    return aggs


def _zero(key: str):
    return Decimal("0.00") if key == "service_amount" else 0


@dataclass
class RollupRow:
    unit: OrgUnit | None
    label: str
    values: dict = field(default_factory=dict)


def rollup(
    unit: OrgUnit, start: dt.date, end: dt.date, *, tag: BrandTag | None = None, keys: list[str] | None = None
) -> tuple[list[RollupRow], RollupRow]:
    """Totals of ``unit``'s subtree for [start, end], one row per child unit (+ the unit's own records as
    "本级"), and a total row. One GROUP BY over a path prefix: live, nothing precomputed."""
    keys = keys or [k for k, _, _, _ in INDICATORS]
    child_len = prefix_length(unit.depth + 1)
    qs = LedgerRecord.objects.under(unit).in_period(start, end)
    if tag is not None:
        qs = qs.filter(tags=tag)
    grouped = {
        g.pop("branch"): g
        for g in qs.annotate(branch=Substr("org_unit__path", 1, child_len))
        .values("branch")
        .annotate(**_aggregates(keys))
        .order_by()
    }
    rows: list[RollupRow] = []

    def clean(values: dict | None) -> dict:
        return {k: (values or {}).get(k) or _zero(k) for k in keys}

    own = grouped.pop(unit.path, None)
    if own:
        rows.append(RollupRow(unit, f"{unit.name}(本级)", clean(own)))
    for child in children_of(unit).active_during(start, end):
        rows.append(RollupRow(child, child.name, clean(grouped.get(child.path))))
    total = RollupRow(None, "合计", {k: sum((r.values[k] for r in rows), _zero(k)) for k in keys})
    return rows, total


def totals(unit: OrgUnit, start: dt.date, end: dt.date, keys: list[str] | None = None) -> dict:
    """The subtree's totals for the period (no breakdown)."""
    keys = keys or [k for k, _, _, _ in INDICATORS]
    values = LedgerRecord.objects.under(unit).in_period(start, end).aggregate(**_aggregates(keys))
    return {k: values.get(k) or _zero(k) for k in keys}


def tag_totals(unit: OrgUnit, start: dt.date, end: dt.date) -> list[tuple[BrandTag, int]]:
    """How many records carry each brand tag in the subtree and period."""
    counts = (
        LedgerRecord.tags.through.objects.filter(
            ledgerrecord__in=LedgerRecord.objects.under(unit).in_period(start, end).values("pk")
        )
        .values("brandtag_id")
        .annotate(n=Count("id"))
    )
    by_id = {c["brandtag_id"]: c["n"] for c in counts}
    return [(tag, by_id.get(tag.pk, 0)) for tag in BrandTag.objects.filter(active=True)]
