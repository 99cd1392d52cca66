"""Scoped reads of the ledger and the roll-up: the table the seeds compile by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Substr

from fulian.accounts.access import get_in_scope
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import InSubquery, prefix_length
from fulian.orgs.queries import children_of

from . import periods
from .models import BrandTag, LedgerMonthTotal, LedgerRecord, PeriodException, RecordKind


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


def aggregates(keys: list[str] | None = None, *, default: bool = False) -> dict:
    """One filtered aggregate per indicator (``default``: sums of no rows are 0 rather than NULL)."""
    aggs = {}
    for key, _, kind, agg in INDICATORS:
        if keys is None or key in keys:
            extra = {"default": _zero(key)} if default and isinstance(agg, Sum) else {}
            aggs[key] = type(agg)(*agg.source_expressions, filter=Q(kind=kind), **extra)
    return aggs


def _in_subtree(unit: OrgUnit) -> InSubquery:
    """A filter on ``org_unit_id``: the unit and its subtree, by the subtree's unit ids."""
    ids = Subquery(OrgUnit.objects.under(unit).order_by().values("pk"))
    return InSubquery(F("org_unit_id"), ids, as_array=unit.parent_id is not None)


def _records_under(unit: OrgUnit, start: dt.date, end: dt.date) -> QuerySet[LedgerRecord]:
    """The records of ``unit``'s subtree in [start, end], filtered by the subtree's unit ids."""
    return LedgerRecord.objects.filter(_in_subtree(unit)).in_period(start, end)


def _zero(key: str):
    return Decimal("0.00") if key == "service_amount" else 0


@dataclass(frozen=True)
class _Split:
    """A period as whole months (read from LedgerMonthTotal) and day ranges (read from the records)."""

    months: tuple[dt.date, dt.date] | None  # first days of the first and the last whole month
    days: tuple[tuple[dt.date, dt.date], ...]


def _split(start: dt.date, end: dt.date) -> _Split:
    """3月15日–6月20日 → months April–May, days March 15–31 and June 1–20."""
    first = start if start.day == 1 else periods.month_end(start) + dt.timedelta(days=1)
    last = end if end == periods.month_end(end) else periods.month_start(end) - dt.timedelta(days=1)
    if first > last:
        return _Split(None, ((start, end),) if start <= end else ())
    days = []
    if start < first:
        days.append((start, first - dt.timedelta(days=1)))
    if last < end:
        days.append((last + dt.timedelta(days=1), end))
    return _Split((first, periods.month_start(last)), tuple(days))


def _sums(
    unit: OrgUnit,
    start: dt.date,
    end: dt.date,
    keys: list[str],
    *,
    branch_length: int | None,
    tag: BrandTag | None = None,
    use_table: bool = True,
) -> dict[str, tuple[int, dict]]:
    """The indicators ``keys`` over ``unit``'s subtree and [start, end]: {branch: (records, values)}, branch
    being the path prefix of length ``branch_length`` of each record's unit (one entry "" if None), records
    how many records it sums. One statement: the whole months from LedgerMonthTotal UNION ALL the edge days
    from the records (all from the records with a tag — the table has no tag dimension — or without
    ``use_table``), added up here."""
    keys = [k for k, _, _, _ in INDICATORS if k in keys]  # one column order for both halves of the UNION
    split = _split(start, end) if use_table and tag is None else _Split(None, ((start, end),))
    branch = Substr("org_unit__path", 1, branch_length) if branch_length else Value("")
    parts = []
    if split.days:
        in_days = Q()
        for low, high in split.days:
            in_days |= Q(date__gte=low, date__lte=high)
        records = LedgerRecord.objects.filter(_in_subtree(unit)).filter(in_days)
        if tag is not None:
            # the tag's records as a list of ids, not a join: with statistics SQLite then starts from the tag's
            # rows (city-year 113 -> ~50 ms) instead of probing every unit of the subtree and checking the tag
            tagged = LedgerRecord.tags.through.objects.filter(brandtag=tag).values("ledgerrecord_id")
            records = records.filter(id__in=tagged)
        sums = {"n": Count("id"), **aggregates(keys)}
        parts.append(records.annotate(branch=branch).values("branch").annotate(**sums).order_by())
    if split.months:
        months = LedgerMonthTotal.objects.filter(_in_subtree(unit), month__range=split.months)
        sums = {"n": Sum("records"), **{k: Sum(k) for k in keys}}
        parts.append(months.annotate(branch=branch).values("branch").annotate(**sums).order_by())
    if not parts:
        return {}
    query = parts[0].union(*parts[1:], all=True).order_by() if len(parts) > 1 else parts[0]
    out: dict[str, tuple[int, dict]] = {}
    for row in query:
        n, values = out.get(row["branch"]) or (0, {k: _zero(k) for k in keys})
        for k in keys:
            values[k] += row[k] or 0
        out[row["branch"]] = (n + (row["n"] or 0), values)
    return out


@dataclass
class RollupRow:
    unit: OrgUnit | None
    label: str
    values: dict = field(default_factory=dict)


def rollup(
    unit: OrgUnit, start: dt.date, end: dt.date, *, tag: BrandTag | None = None, keys: list[str] | None = None
) -> tuple[list[RollupRow], RollupRow]:
    """Totals of ``unit``'s subtree for [start, end], one row per child unit (+ the unit's own records as
    "本级"), and a total row. One GROUP BY over a path prefix, live: whole months from the monthly totals the
    actions keep in step with every record write, partial months (and tag filters) from the records."""
    return _rollup(unit, start, end, tag=tag, keys=keys, use_table=True)


def _rollup(
    unit: OrgUnit,
    start: dt.date,
    end: dt.date,
    *,
    tag: BrandTag | None,
    keys: list[str] | None,
    use_table: bool,
) -> tuple[list[RollupRow], RollupRow]:
    """``rollup``; ``use_table=False`` computes everything from the records, as before the monthly totals
    existed (the reference test_month_totals.py holds the table-based result to)."""
    keys = keys or [k for k, _, _, _ in INDICATORS]
    child_len = prefix_length(unit.depth + 1)
    grouped = _sums(unit, start, end, keys, branch_length=child_len, tag=tag, use_table=use_table)
    rows: list[RollupRow] = []

    def clean(values: dict) -> dict:
        return {k: values.get(k, _zero(k)) for k in keys}

    own_records, own = grouped.pop(unit.path, (0, {}))
    if own_records:  # the unit's own row when it has records in the period, as a GROUP BY would show it
        rows.append(RollupRow(unit, f"{unit.name}(本级)", clean(own)))
    for child in children_of(unit).active_during(start, end):
        rows.append(RollupRow(child, child.name, clean(grouped.get(child.path, (0, {}))[1])))
    total = RollupRow(None, "合计", {k: sum((r.values[k] for r in rows), _zero(k)) for k in keys})
    return rows, total


def totals(unit: OrgUnit, start: dt.date, end: dt.date, keys: list[str] | None = None) -> dict:
    """The subtree's totals for the period (no breakdown), from the same sources as ``rollup``."""
    return _totals(unit, start, end, keys, use_table=True)


def _totals(unit: OrgUnit, start: dt.date, end: dt.date, keys: list[str] | None, *, use_table: bool) -> dict:
    keys = keys or [k for k, _, _, _ in INDICATORS]
    _, values = _sums(unit, start, end, keys, branch_length=None, use_table=use_table).get("", (0, {}))
    return {k: values.get(k) or _zero(k) for k in keys}


def tag_totals(
    unit: OrgUnit, start: dt.date, end: dt.date, tags: list[BrandTag] | None = None
) -> list[tuple[BrandTag, int]]:
    """How many records carry each brand tag in the subtree and period (``tags``: the active tags, if the
    caller has already loaded them)."""
    counts = (
        LedgerRecord.tags.through.objects.filter(
            ledgerrecord__in=_records_under(unit, start, end).order_by().values("pk")
        )
        .values("brandtag_id")
        .annotate(n=Count("id"))
        .order_by()
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


def tags_with_use() -> QuerySet[BrandTag]:
    """Every brand tag, retired ones too, with how many records carry it (for the tag list of the top unit)."""
    return BrandTag.objects.annotate(used=Count("records")).order_by("-active", "sort_order", "name")
