"""Scoped reads of cases: one visibility rule for lists, details, history, lookups and the API.

Who sees a case: caseworkers and leaders whose VIEW_CASES scope holds the owning unit; and the intake-only
(hotline) user who registered it, while it is a draft or still waiting to be accepted — nothing afterwards.
Staff, sysadmins and auditors hold no case capability and see nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as SqlCase
from django.db.models.functions import Substr
from django.utils import timezone

from fulian.accounts.access import deny
from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.lib import lean
from fulian.lib.sensitive import index_lookup
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import InSubquery, prefix_length, subtree_q
from fulian.orgs.queries import children_of

from .models import (
    INTAKE_VISIBLE_STATES,
    OPEN_STATES,
    Case,
    CaseCategory,
    CaseDocument,
    CaseView,
    Channel,
    IntakeDraft,
    Party,
    Referral,
    ReferralState,
    Risk,
    State,
    TimelineEntry,
    overdue_condition,
)


def _units_in(paths) -> Subquery:
    return Subquery(OrgUnit.objects.filter(subtree_q(paths, "path")).order_by().values("pk"))


def visible_cases(actor) -> QuerySet[Case]:
    """Every case the actor may see at all (the base of every other read)."""
    if actor is None or not actor.is_authenticated:
        return Case.objects.none()
    view = scope_for(actor, Cap.VIEW_CASES)
    intake = scope_for(actor, Cap.INTAKE_CASES)
    condition = Q(pk__in=[])
    if view:
        condition |= Q(InSubquery(F("org_unit_id"), _units_in(view.paths), as_array=not view.is_root))
        # a transfer (转办) waiting for a unit of the scope to accept or reject it
        incoming = Referral.objects.filter(state=ReferralState.SENT, to_unit_id__in=_units_in(view.paths))
        condition |= Q(InSubquery(F("id"), Subquery(incoming.order_by().values("case_id"))))
    # intake-only (hotline) memberships: the cases the actor registered, until someone accepts them
    intake_only = [p for p in intake.paths if not view.contains_path(p)]
    if intake_only:
        condition |= Q(created_by=actor, state__in=INTAKE_VISIBLE_STATES) & subtree_q(
            intake_only, "org_unit__path"
        )
    return Case.objects.filter(condition)


def access_intake_unit(actor, unit_id) -> OrgUnit:
    """``access_unit(actor, unit_id, Cap.INTAKE_CASES)`` for the API intake, in one lean statement: the unit by its
    key (no ORM compilation, no parent), the scope checked on its path in Python — the same answer as the
    range filter — and the same audited 404 for a missing or a foreign unit."""
    scope = scope_for(actor, Cap.INTAKE_CASES)
    try:
        pk = int(unit_id)
    except (TypeError, ValueError):
        raise deny(actor, OrgUnit._meta.label_lower, unit_id, Cap.INTAKE_CASES) from None
    unit = None
    if scope and -(2**63) <= pk < 2**63:  # a key out of the column's range is missing, not an error
        with lean.cursor() as cursor:
            cursor.execute(_unit_sql(connection.vendor), [pk])
            row = cursor.fetchone()
        unit = lean.build(OrgUnit, row)[0] if row is not None else None
    if unit is None or not scope.contains(unit):
        raise deny(actor, OrgUnit._meta.label_lower, pk, Cap.INTAKE_CASES)
    return unit


def categories_by_code(codes: list[str]) -> dict[str, CaseCategory]:
    """The categories with these codes (one or two: an intake's category and sub-category), by code, in one lean
    statement (read on every API intake)."""
    codes = list(dict.fromkeys(codes))
    with lean.cursor() as cursor:
        cursor.execute(_categories_sql(connection.vendor, len(codes)), codes)
        rows = cursor.fetchall()
    found = (lean.build(CaseCategory, row)[0] for row in rows)
    return {c.code: c for c in found}


@cache
def _categories_sql(vendor: str, n: int) -> str:
    table = connection.ops.quote_name(CaseCategory._meta.db_table)
    marks = ", ".join(["%s"] * n)
    return f'SELECT {lean.columns(CaseCategory, "c")} FROM {table} c WHERE c."code" IN ({marks})'  # noqa: S608


@cache
def _unit_sql(vendor: str) -> str:
    table = connection.ops.quote_name(OrgUnit._meta.db_table)
    return f'SELECT {lean.columns(OrgUnit, "o")} FROM {table} o WHERE o."id" = %s'  # noqa: S608 (metadata only)


def access_case(actor, case_id, write: bool = False) -> Case:
    """One case the actor may see (``write``: may also handle), or the same audited 404 for missing and
    forbidden alike."""
    cap = Cap.HANDLE_CASES if write else Cap.VIEW_CASES
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise deny(actor, "cases.case", case_id, cap) from None
    qs = visible_cases(actor).select_related(
        "org_unit", "registered_unit", "category", "subcategory", "assignee", "created_by"
    )
    case = qs.filter(pk=pk).first()
    if case is None or (write and not scope_for(actor, Cap.HANDLE_CASES).contains(case.org_unit)):
        raise deny(actor, "cases.case", case_id, cap)
    return case


def sees_content(actor, case: Case) -> bool:
    """Caseworkers and leaders over the case (or over the unit a transfer of it waits for) read its account and
    timeline; the hotline only sees what it typed."""
    scope = scope_for(actor, Cap.VIEW_CASES)
    return scope.contains(case.org_unit) or bool(incoming_referral(actor, case))


def incoming_referral(actor, case: Case) -> Referral | None:
    """The pending transfer of ``case`` to a unit the actor handles cases of, if any."""
    scope = scope_for(actor, Cap.HANDLE_CASES)
    if not scope:
        return None
    return (
        Referral.objects.filter(case=case, state=ReferralState.SENT)
        .filter(subtree_q(scope.paths, "to_unit__path"))
        .select_related("to_unit", "from_unit")
        .first()
    )


def referrals_of(case: Case) -> list[Referral]:
    return list(
        Referral.objects.filter(case=case).select_related("to_unit", "from_unit", "created_by").order_by("id")
    )


def incoming_referrals(actor) -> QuerySet[Referral]:
    """Transfers waiting for a unit of the actor's handling scope to accept or reject."""
    scope = scope_for(actor, Cap.HANDLE_CASES)
    return (
        Referral.objects.filter(state=ReferralState.SENT, to_unit__isnull=False)
        .filter(subtree_q(scope.paths, "to_unit__path"))
        .select_related("case", "from_unit", "to_unit", "case__category")
        .order_by("-case__risk", "created_at")
    )


def transfer_targets(case: Case) -> QuerySet[OrgUnit]:
    """Where a case may be transferred: up (ancestors), sideways (siblings, siblings of the parent) and down
    (children) of its unit — the units a worker means by 转办, without listing the whole province."""
    unit = case.org_unit
    parent = unit.parent
    q = Q(pk__in=OrgUnit.objects.filter(path__in=unit.ancestor_paths()).values("pk")) | Q(parent=unit)
    if parent is not None:
        q |= Q(parent=parent)
        if parent.parent_id is not None:
            q |= Q(parent_id=parent.parent_id)
    return (
        OrgUnit.objects.filter(q, closed_on__isnull=True)
        .exclude(pk=unit.pk)
        .order_by("path")
        .only("id", "name", "path", "depth")
    )


# --- lists -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilter:
    unit: OrgUnit | None = None
    state: str = "open"  # "open", "all", or one State value
    risk: int | None = None
    category: int | None = None
    channel: str = ""
    overdue: bool = False
    escalated: bool = False
    visit_due: bool = False
    mine: bool = False


LIST_RELATED = ("org_unit", "category", "subcategory", "assignee")


def cases_of(actor, f: CaseFilter | None = None) -> QuerySet[Case]:
    """The actor's cases, 高危 first, then overdue, then newest."""
    f = f or CaseFilter()
    now = timezone.now()
    qs = visible_cases(actor).select_related(*LIST_RELATED)
    if f.unit is not None:
        qs = qs.filter(subtree_q([f.unit.path], "org_unit__path"))
    if f.state == "open":
        qs = qs.filter(state__in=(State.DRAFT, *OPEN_STATES))
    elif f.state in State.values:
        qs = qs.filter(state=f.state)
    if f.risk:
        qs = qs.filter(risk=f.risk)
    if f.category:
        qs = qs.filter(Q(category_id=f.category) | Q(subcategory_id=f.category))
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.overdue:
        qs = qs.filter(overdue_condition(now))
    if f.escalated:
        qs = qs.filter(escalated_at__isnull=False, state__in=OPEN_STATES)
    if f.visit_due:
        qs = qs.filter(next_visit_due__lte=timezone.localdate())
    if f.mine:
        qs = qs.filter(Q(assignee=actor) | Q(created_by=actor))
    return qs.annotate(is_overdue=_overdue_flag(now)).order_by("-risk", "-is_overdue", "-created_at", "-id")


def _overdue_flag(now):
    return SqlCase(When(overdue_condition(now), then=Value(1)), default=Value(0), output_field=IntegerField())


def case_page(actor, f: CaseFilter | None, page_number, per_page: int = 50):
    """One page of ``cases_of``: the ordering runs over the case table alone and picks the page's ids; only
    those rows are then loaded with their units and categories (and their parties, in one more query). At a
    county with many open cases this is several times faster than sorting fully joined rows."""
    qs = cases_of(actor, f)
    page = Paginator(qs.values_list("pk", flat=True), per_page).get_page(page_number)
    page.object_list = load_page(list(page.object_list))
    return page


def load_page(ids: list[int]) -> list[Case]:
    """The cases of ``ids`` in that order, with their relations, overdue flag and parties (two queries)."""
    by_pk = {
        c.pk: c
        for c in Case.objects.filter(pk__in=ids)
        .select_related(*LIST_RELATED)
        .annotate(is_overdue=_overdue_flag(timezone.now()))
    }
    rows = [by_pk[pk] for pk in ids if pk in by_pk]
    attach_parties(rows)
    return rows


def attach_parties(cases) -> None:
    """One query for the parties of a page of cases; each case gets ``party_list`` and ``display_party``."""
    by_case: dict[int, list[Party]] = {}
    for party in Party.objects.filter(case__in=[c.pk for c in cases]).order_by("case_id", "id"):
        by_case.setdefault(party.case_id, []).append(party)
    for case in cases:
        parties = by_case.get(case.pk, [])
        case.party_list = parties
        affected = [p for p in parties if p.role == "affected"] or [p for p in parties if p.role == "caller"]
        case.display_party = affected[0] if affected else None


def earlier_cases(
    actor, *, phone: str = "", id_number: str = "", exclude: int | None = None
) -> QuerySet[Case]:
    """Cases of the same person (same phone or ID number, any party) within the actor's scope only — through
    the keyed blind index, never by decrypting."""
    condition = Q(pk__in=[])
    if phone:
        condition |= index_lookup(Party, "phone_index", phone)
    if id_number:
        condition |= index_lookup(Party, "id_index", id_number)
    party_cases = Party.objects.filter(condition).values("case_id")
    qs = visible_cases(actor).filter(pk__in=party_cases).select_related("org_unit", "category")
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.order_by("-created_at", "-id")


def related_cases(actor, case: Case) -> QuerySet[Case]:
    """Other visible cases sharing a phone or ID number with this case's parties (stored indexes compared; no
    decryption)."""
    own = Party.objects.filter(case=case)
    same = Party.objects.filter(
        Q(phone_index__in=own.exclude(phone_index=None).values("phone_index"))
        | Q(id_index__in=own.exclude(id_index=None).values("id_index"))
    ).values("case_id")
    return (
        visible_cases(actor)
        .filter(pk__in=same)
        .exclude(pk=case.pk)
        .select_related("org_unit", "category")
        .order_by("-created_at", "-id")
    )


def access_document(actor, case_id, document_id) -> CaseDocument:
    """A document of a case whose content the actor reads (``access_case`` + ``sees_content``: caseworkers and
    leaders over the case; not the hotline, staff, sysadmin or auditor), or the same audited 404."""
    case = access_case(actor, case_id)
    document = None
    if sees_content(actor, case):
        try:
            document = (
                CaseDocument.objects.filter(case=case, pk=int(document_id)).select_related("file").first()
            )
        except (TypeError, ValueError):
            document = None
    if document is None:
        raise deny(actor, "cases.casedocument", document_id, Cap.VIEW_CASES)
    document.case = case
    return document


def documents_of(case: Case) -> dict[int, CaseDocument]:
    return {d.pk: d for d in CaseDocument.objects.filter(case=case).select_related("file")}


def timeline_of(case: Case) -> QuerySet[TimelineEntry]:
    return TimelineEntry.objects.filter(case=case).select_related("actor").order_by("created_at", "id")


def views_of(case: Case) -> QuerySet[CaseView]:
    return CaseView.objects.filter(case=case).select_related("user").order_by("-created_at", "-id")


def handlers_for(actor, unit: OrgUnit) -> list:
    """Caseworkers who may be given a case of ``unit`` (inside the actor's handling scope)."""
    from fulian.accounts.models import User
    from fulian.accounts.roles import Role

    scope = scope_for(actor, Cap.HANDLE_CASES)
    if not scope.contains(unit):
        return []
    paths = [unit.path, *unit.ancestor_paths()]
    return list(
        User.objects.filter(
            is_active=True, memberships__role=Role.CASEWORKER, memberships__org_unit__path__in=paths
        )
        .distinct()
        .order_by("username")
    )


def assignable_units(actor, case: Case) -> QuerySet[OrgUnit]:
    """The case's unit and the units below it, inside the actor's handling scope."""
    scope = scope_for(actor, Cap.HANDLE_CASES)
    return (
        OrgUnit.objects.within(scope)
        .under(case.org_unit)
        .filter(closed_on__isnull=True)
        .order_by("path")
        .only("id", "name", "path", "depth")
    )


def intake_units(actor) -> QuerySet[OrgUnit]:
    return (
        OrgUnit.objects.within(scope_for(actor, Cap.INTAKE_CASES))
        .filter(closed_on__isnull=True)
        .order_by("path")
        .only("id", "name", "path", "depth")
    )


def own_drafts(actor) -> QuerySet[IntakeDraft]:
    return IntakeDraft.objects.filter(user=actor).order_by("-updated_at", "-id")


def access_draft(actor, draft_id) -> IntakeDraft:
    """One of the actor's own intake drafts (nobody else's, whatever their role), or the audited 404."""
    try:
        pk = int(draft_id)
    except (TypeError, ValueError):
        raise deny(actor, "cases.intakedraft", draft_id, Cap.INTAKE_CASES) from None
    draft = own_drafts(actor).filter(pk=pk).first()
    if draft is None:
        raise deny(actor, "cases.intakedraft", draft_id, Cap.INTAKE_CASES)
    return draft


# --- statistics (small cells suppressed below county level) ----------------------------------------------------------

SMALL_CELL = 3
# units at these levels are large enough that a count cannot point at one woman
UNSUPPRESSED_KINDS = frozenset({"province", "city", "county"})
STAT_COLUMNS = [
    ("received", "受理登记"),
    ("accepted", "已受理"),
    ("rejected", "不予受理"),
    ("closed", "已办结"),
    ("closed_in_time", "按期办结"),
    ("high_risk", "高危"),
    ("minor", "涉未成年人"),
    ("unsatisfied", "回访不满意"),
]


def suppress(value: int, unit: OrgUnit) -> int | str:
    """A count of 1 or 2 at a township/village (or women's committee) shows as "<3"."""
    if unit.kind not in UNSUPPRESSED_KINDS and 0 < value < SMALL_CELL:
        return f"<{SMALL_CELL}"
    return value


@dataclass
class StatRow:
    unit: OrgUnit | None
    label: str
    values: dict


def stat_aggregates() -> dict:
    return {
        "received": Count("id"),
        "accepted": Count("id", filter=~Q(state__in=(State.REGISTERED, State.REJECTED))),
        "rejected": Count("id", filter=Q(state=State.REJECTED)),
        "closed": Count("id", filter=Q(closed_at__isnull=False)),
        "closed_in_time": Count("id", filter=Q(closed_at__isnull=False, closed_at__lte=F("handling_due"))),
        "high_risk": Count("id", filter=Q(risk=3)),
        "minor": Count("id", filter=Q(involves_minor=True)),
        "unsatisfied": Count("id", filter=Q(satisfaction="unsatisfied")),
    }


def _avg(values: dict, key: str, n_key: str, unit: OrgUnit, per: dt.timedelta, digits: int = 1) -> str:
    """An average duration in hours/days, or a dash when it rests on fewer than 3 cases below county level."""
    n, value = values.get(n_key) or 0, values.get(key)
    if value is None or n == 0 or (unit.kind not in UNSUPPRESSED_KINDS and n < SMALL_CELL):
        return "—"
    return f"{value / per:.{digits}f}"


def _timing(qs, unit: OrgUnit) -> list[tuple[str, int | str]]:
    """Times to first contact and to closure, first contact in time, satisfaction, merged duplicates, and the
    referrals of these cases with their reply times."""
    duration = DurationField()
    v = qs.aggregate(
        contacted=Count("id", filter=Q(first_contact_at__isnull=False)),
        contact_in_time=Count("id", filter=Q(first_contact_at__lte=F("first_contact_due"))),
        to_contact=Avg(ExpressionWrapper(F("first_contact_at") - F("created_at"), output_field=duration)),
        closed=Count("id", filter=Q(closed_at__isnull=False)),
        to_close=Avg(ExpressionWrapper(F("closed_at") - F("created_at"), output_field=duration)),
        satisfied=Count("id", filter=Q(satisfaction__in=("satisfied", "fairly"))),
        followed=Count("id", filter=~Q(satisfaction="")),
        merged=Count("id", filter=Q(merged_into__isnull=False)),
    )
    r = Referral.objects.filter(case__in=qs.values("pk")).aggregate(
        sent=Count("id"),
        external=Count("id", filter=Q(to_unit__isnull=True)),
        replied=Count("id", filter=Q(state=ReferralState.REPLIED)),
        late=Count("id", filter=Q(state=ReferralState.SENT, expected_reply_on__lt=timezone.localdate())),
    )
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    return [
        ("已首次联系", suppress(v["contacted"], unit)),
        ("按时首次联系", suppress(v["contact_in_time"], unit)),
        ("平均首次联系用时(小时)", _avg(v, "to_contact", "contacted", unit, hour)),
        ("平均办结用时(天)", _avg(v, "to_close", "closed", unit, day)),
        ("已回访", suppress(v["followed"], unit)),
        ("回访满意或基本满意", suppress(v["satisfied"], unit)),
        ("合并的重复案件", suppress(v["merged"], unit)),
        ("转办/转介", suppress(r["sent"], unit)),
        ("转介外部单位", suppress(r["external"], unit)),
        ("已答复", suppress(r["replied"], unit)),
        ("答复超期", suppress(r["late"], unit)),
    ]


def case_statistics(actor, unit: OrgUnit, start, end) -> dict:
    """Cases registered in [start, end] under ``unit`` (inside the actor's scope): one row per child unit plus the
    unit's own, a total, and breakdowns by channel, category and risk. Small cells are suppressed."""
    qs = (
        Case.objects.within(scope_for(actor, Cap.VIEW_CASES))
        .under(unit)
        .exclude(state=State.DRAFT)
        .filter(created_at__date__gte=start, created_at__date__lte=end)
    )
    child_len = prefix_length(unit.depth + 1)
    grouped = {
        g.pop("branch"): g
        for g in qs.annotate(branch=Substr("org_unit__path", 1, child_len))
        .values("branch")
        .annotate(**stat_aggregates())
        .order_by()
    }
    keys = [k for k, _ in STAT_COLUMNS]
    rows = []
    own = grouped.pop(unit.path, None)
    if own:
        rows.append(StatRow(unit, f"{unit.name}(本级)", {k: suppress(own[k], unit) for k in keys}))
    for child in children_of(unit).active_during(start, end):
        values = grouped.get(child.path) or {}
        rows.append(StatRow(child, child.name, {k: suppress(values.get(k, 0), child) for k in keys}))
    totals = qs.aggregate(**stat_aggregates())
    total = StatRow(None, "合计", {k: suppress(totals[k] or 0, unit) for k in keys})

    def breakdown(field: str, labels: dict) -> list[tuple[str, int | str]]:
        counts = {r[field]: r["n"] for r in qs.values(field).annotate(n=Count("id")).order_by()}
        return [(label, suppress(counts.get(value, 0), unit)) for value, label in labels.items()]

    categories = dict(
        CaseCategory.objects.filter(parent__isnull=True).order_by("sort_order").values_list("pk", "name")
    )
    return {
        "columns": STAT_COLUMNS,
        "rows": rows,
        "total": total,
        "timing": _timing(qs, unit),
        "by_channel": breakdown("channel", dict(Channel.choices)),
        "by_category": breakdown("category_id", categories),
        "by_risk": breakdown("risk", dict(Risk.choices)),
    }
