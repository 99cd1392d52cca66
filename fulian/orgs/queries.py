"""Scoped reads of the org tree, cadres and sites."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from fulian.accounts.access import get_in_scope
from fulian.accounts.roles import Cap
from fulian.accounts.scope import Scope, scope_for

from . import statsql
from .models import Cadre, Education, Kind, OrgUnit, Position, WomensHome
from .paths import prefix_length, subtree_range


def access_unit(actor, unit_id, cap: Cap = Cap.VIEW_ORG) -> OrgUnit:
    return get_in_scope(actor, OrgUnit.objects.select_related("parent"), unit_id, cap)


def access_cadre(actor, cadre_id, write: bool = False) -> Cadre:
    cap = Cap.EDIT_CADRES if write else Cap.VIEW_CADRES
    return get_in_scope(actor, Cadre.objects.select_related("org_unit"), cadre_id, cap)


def units_in_scope(actor, cap: Cap = Cap.VIEW_ORG) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.within(scope_for(actor, cap))


def children_of(unit: OrgUnit, day: dt.date | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(parent=unit)
    if day is not None:
        qs = qs.active_on(day)
    return qs.order_by("sort_order", "path")


def breadcrumbs(unit: OrgUnit, scope: Scope) -> list[OrgUnit]:
    """Ancestors the actor may see, top-down, ending with the unit itself."""
    visible = [p for p in unit.ancestor_paths() if scope.contains_path(p)]
    ancestors = list(OrgUnit.objects.filter(path__in=visible).order_by("path")) if visible else []
    return [*ancestors, unit]


# --- the tree page: counts per kind and coverage, per child -------------------------------------------------


@dataclass
class TreeRow:
    unit: OrgUnit | None
    label: str
    by_kind: dict[str, int] = field(default_factory=dict)
    total: int = 0
    established: int = 0

    @property
    def coverage(self) -> float | None:
        return round(100.0 * self.established / self.total, 1) if self.total else None


def tree_overview(unit: OrgUnit, day: dt.date | None = None) -> tuple[list[TreeRow], TreeRow, list[str]]:
    """Units below ``unit`` (active on ``day``), counted per kind and per child subtree, with coverage
    (units with an established federation / all units below). One GROUP BY over a path prefix."""
    day = day or dt.date.today()
    rows = {c.path: TreeRow(unit=c, label=c.name) for c in statsql.children_on(unit, day)}
    total = TreeRow(unit=None, label="合计")
    kinds_seen: set[str] = set()
    for branch, kind, n, est in unit_counts(unit, day, by_branch=True, by_kind=True):
        row = rows.get(branch)
        kinds_seen.add(kind)
        for r in (row, total) if row else (total,):
            r.by_kind[kind] = r.by_kind.get(kind, 0) + n
            r.total += n
            r.established += est
    kinds = [k for k in Kind.values if k in kinds_seen]
    return list(rows.values()), total, kinds


def unit_counts(unit: OrgUnit, day: dt.date, *, by_branch: bool, by_kind: bool) -> list[tuple]:
    """(child branch or "", kind or "", units, established units) of the units strictly below ``unit`` that
    exist on ``day``: one hand-written GROUP BY over the path range (``statsql``; the tree page and the
    statistics service both read it)."""
    low, high = subtree_range(unit.path)
    branch = statsql.branch("path", unit) if by_branch else "''"
    kind = "kind" if by_kind else "''"
    return statsql.fetch(
        f"SELECT {branch}, {kind}, COUNT(id), COUNT(CASE WHEN established THEN 1 END) "  # noqa: S608
        f"FROM {statsql.UNITS} WHERE path >= %s AND path < %s AND id <> %s "
        "AND (opened_on IS NULL OR opened_on <= %s) AND (closed_on IS NULL OR closed_on > %s) GROUP BY 1, 2",
        [low, high, unit.pk, day, day],
    )


# --- cadres --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CadreFilter:
    q: str = ""
    unit: OrgUnit | None = None
    education: str = ""
    position: str = ""
    full_time: bool | None = None
    party_member: bool | None = None
    in_two_committees: bool | None = None


def cadres_of(actor, f: CadreFilter) -> QuerySet[Cadre]:
    """Cadres inside the actor's scope, narrowed by the filter (the unit's subtree if one is given)."""
    qs = Cadre.objects.within(scope_for(actor, Cap.VIEW_CADRES)).select_related("org_unit")
    if f.unit is not None:
        qs = qs.under(f.unit)
    if f.q:
        qs = qs.filter(Q(name__contains=f.q) | Q(phone__contains=f.q))
    if f.education:
        qs = qs.filter(education=f.education)
    if f.position:
        qs = qs.filter(position=f.position)
    for name in ("full_time", "party_member", "in_two_committees"):
        value = getattr(f, name)
        if value is not None:
            qs = qs.filter(**{name: value})
    return qs.order_by("org_unit__path", "position", "name", "id")


def chair_of(unit: OrgUnit) -> Cadre | None:
    return unit.cadres.filter(position=Position.CHAIR).order_by("-term_start", "id").first()


def homes_of(unit: OrgUnit) -> QuerySet[WomensHome]:
    return WomensHome.objects.filter(org_unit=unit).order_by("name")


# The bands of seed 002: 本科 / 大专 / 高中或中专及以下, and 40岁以下 / 41-50 / 51-60 / 60以上.
EDUCATION_BANDS = [
    ("edu_bachelor", "本科及以上", [Education.POSTGRADUATE, Education.BACHELOR]),
    ("edu_college", "大专", [Education.COLLEGE]),
    ("edu_high_or_below", "高中或中专及以下", [Education.HIGH_SCHOOL, Education.BELOW]),
]
AGE_BANDS = [
    ("age_40_below", "40岁以下", None, 40),
    ("age_41_50", "41-50岁", 41, 50),
    ("age_51_60", "51-60岁", 51, 60),
    ("age_60_above", "60岁以上", 61, None),
]
STAT_COLUMNS = (
    [("total", "干部总数")]
    + [(key, label) for key, label, _ in EDUCATION_BANDS]
    + [(key, label) for key, label, _, _ in AGE_BANDS]
    + [("fulltime", "专职"), ("parttime", "兼职"), ("party", "中共党员"), ("two_committees", "进两委")]
)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_q(day: dt.date, low: int | None, high: int | None) -> Q:
    """Cadres whose age in whole years on ``day`` is within [low, high]."""
    q = Q(birth_date__isnull=False)
    if high is not None:  # age <= high  <=>  born after day - (high + 1) years
        q &= Q(birth_date__gt=_years_before(day, high + 1))
    if low is not None:  # age >= low  <=>  born on or before day - low years
        q &= Q(birth_date__lte=_years_before(day, low))
    return q


def stat_aggregates(day: dt.date) -> dict:
    aggs: dict = {"total": Count("id")}
    for key, _, values in EDUCATION_BANDS:
        aggs[key] = Count("id", filter=Q(education__in=values))
    for key, _, low, high in AGE_BANDS:
        aggs[key] = Count("id", filter=age_q(day, low, high))
    aggs["fulltime"] = Count("id", filter=Q(full_time=True))
    aggs["parttime"] = Count("id", filter=Q(full_time=False))
    aggs["party"] = Count("id", filter=Q(party_member=True))
    aggs["two_committees"] = Count("id", filter=Q(in_two_committees=True))
    return aggs


@dataclass
class StatRow:
    unit: OrgUnit | None
    label: str
    values: dict[str, int]

    def share(self, key: str) -> float | None:
        return round(100.0 * self.values[key] / self.values["total"], 1) if self.values.get("total") else None


def cadre_stats(unit: OrgUnit, day: dt.date | None = None) -> tuple[list[StatRow], StatRow]:
    """Cadre counts per child unit (rows) with a total row — the table seed 002 compiles by hand.

    One query: GROUP BY the first (depth+1) segments of the path. Cadres attached to ``unit`` itself form a
    "本级" row.
    """
    day = day or dt.date.today()
    child_len = prefix_length(unit.depth + 1)
    grouped = {
        g.pop("branch"): g
        for g in Cadre.objects.under(unit)
        .annotate(branch=Substr("org_unit__path", 1, child_len))
        .values("branch")
        .annotate(**stat_aggregates(day))
        .order_by()
    }
    keys = [key for key, _ in STAT_COLUMNS]
    empty = dict.fromkeys(keys, 0)
    rows = []
    own = grouped.pop(unit.path, None)
    if own:
        rows.append(StatRow(unit=unit, label=f"{unit.name}(本级)", values=own))
    for child in children_of(unit):
        values = grouped.get(child.path)
        if values is None and child.is_closed:
            continue
        rows.append(StatRow(unit=child, label=child.name, values=values or dict(empty)))
    total = StatRow(unit=None, label="合计", values={k: sum(r.values[k] for r in rows) for k in keys})
    return rows, total
