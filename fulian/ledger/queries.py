"""Scoped reads of the ledger and the roll-up: the table the seeds compile by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import BooleanField, Count, F, Func, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Substr

from fulian.accounts.access import get_in_scope
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.orgs.queries import children_of

from .models import BrandTag, LedgerRecord, PeriodException, RecordKind


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


class _InSubquery(Func):
    """``column IN (subquery)``; on PostgreSQL, for a subtree below the root, ``column = ANY(ARRAY(subquery))``.

    With the subtree as a join on the path range (or an IN semi-join), PostgreSQL's planner cannot tell how
    many records a subtree holds and scans the whole period by date: a county of the benchmark city took
    ~250 ms for its 25,000 of the city's 320,000 records of a year. Given an array of unit ids it probes the
    (org_unit, date) index per unit instead: ~30 ms. For the root (the whole tree) the date scan is right,
    and the array form would only add 5,000 probes, so the root keeps the plain IN. SQLite evaluates the IN
    list once and is ~15 % faster with it than with the join. See docs/performance.md, "Ledger".
    """

    output_field = BooleanField()

    def __init__(self, column, subquery, *, as_array: bool = False):
        super().__init__(column, subquery)
        self.as_array = as_array

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="%(expressions)s", arg_joiner=" IN ", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        if not self.as_array:
            return self.as_sql(compiler, connection, **extra)
        return super().as_sql(
            compiler, connection, template="%(expressions)s))", arg_joiner=" = ANY(ARRAY(", **extra
        )


def _records_under(unit: OrgUnit, start: dt.date, end: dt.date) -> QuerySet[LedgerRecord]:
    """The records of ``unit``'s subtree in [start, end], filtered by the subtree's unit ids."""
    ids = Subquery(OrgUnit.objects.under(unit).order_by().values("pk"))
    in_subtree = _InSubquery(F("org_unit_id"), ids, as_array=unit.parent_id is not None)
    return LedgerRecord.objects.filter(in_subtree).in_period(start, end)


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
    qs = _records_under(unit, start, end)
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
    values = _records_under(unit, start, end).aggregate(**_aggregates(keys))
    return {k: values.get(k) or _zero(k) for k in keys}


def tag_totals(
    unit: OrgUnit, start: dt.date, end: dt.date, tags: list[BrandTag] | None = None
) -> list[tuple[BrandTag, int]]:
    """How many records carry each brand tag in the subtree and period (``tags``: the active tags, if the
    caller has already loaded them)."""
    counts = (
        LedgerRecord.tags.through.objects.filter(
            ledgerrecord__in=LedgerRecord.objects.under(unit).in_period(start, end).values("pk")
        )
        .values("brandtag_id")
        .annotate(n=Count("id"))
    )
    by_id = {c["brandtag_id"]: c["n"] for c in counts}
    if tags is None:
        tags = list(BrandTag.objects.filter(active=True))
    return [(tag, by_id.get(tag.pk, 0)) for tag in tags]


# --- pages: 补录 exceptions and the units an actor records for ----------------------------------------------


def exceptions_under(unit: OrgUnit, limit: int = 100) -> QuerySet[PeriodException]:
    """The 补录 exceptions granted to units of ``unit``'s subtree, newest first."""
    return (
        PeriodException.objects.filter(org_unit__in=OrgUnit.objects.under(unit).values("pk"))
        .select_related("org_unit", "granted_by")
        .order_by("-created_at", "-id")[:limit]
    )


def exception_candidates(unit: OrgUnit, day: dt.date) -> QuerySet[OrgUnit]:
    """Units below ``unit`` (not itself: the level above opens a month) that exist on ``day``."""
    return (
        OrgUnit.objects.under(unit, include_self=False)
        .active_on(day)
        .order_by("path")
        .only("id", "name", "path", "depth")
    )


def recording_units(actor) -> list[OrgUnit]:
    """The units whose ledger ``actor`` may type (its own units with EDIT_WORK), top-down."""
    units = {m.org_unit.pk: m.org_unit for m in memberships_of(actor) if Cap.EDIT_WORK in ROLE_CAPS[m.role]}
    return sorted(units.values(), key=lambda u: u.path)
