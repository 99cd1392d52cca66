"""The dashboard's lists beside the figures: overdue cases (through the cases app's own scoped reads) and coverage
gaps (villages and communities without a federation or without a 妇女之家). The late-task list is
``queries.late_assignments``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.cases import indicators as case_indicators
from fulian.cases.models import CaseCategory
from fulian.orgs import statsql
from fulian.orgs.models import HomeKind, OrgUnit, WomensHome
from fulian.orgs.paths import subtree_range

from .queries import VILLAGE_KINDS


@dataclass
class OverdueCase:
    """What the dashboard shows of an overdue case: no party, no account — number, category, days overdue."""

    pk: int
    number: str
    category: str
    unit: str
    risk: int
    high_risk: bool
    days: int  # whole days past the first missed deadline (0: less than a day)
    which: str  # 首次联系 / 办理
    escalated: bool  # reported to the level above (fulian escalate_cases)


def overdue_cases(actor, unit: OrgUnit, limit: int = 20) -> list[OverdueCase] | None:
    """Open cases under ``unit`` past a deadline, the highest risk and the longest overdue first. None when the
    actor holds no VIEW_CASES over ``unit`` (the list is not shown at all). One query.

    These are the cases the actor's case list shows with ``overdue`` (``cases_of(actor, CaseFilter(unit=unit,
    state="open", overdue=True))``): holding VIEW_CASES over ``unit`` the actor sees every case of its subtree,
    and that list keeps only the subtree. So the scope is the subtree itself, and the rows come straight from the
    front of the partial index ``case_open_risk_due`` (open cases by risk, handling deadline, id; with their
    unit and deadlines): at the province the first ~20 index entries that are overdue, not a sort of every
    overdue case. Below the root the subtree's units are probed (``org_unit_id = ANY(ARRAY(…))``). Hand-written
    (``fulian.orgs.statsql``): only the columns shown, no model instances."""
    if not scope_for(actor, Cap.VIEW_CASES).contains(unit):
        return None
    now = timezone.now()
    subtree, params = case_indicators.subtree_sql(unit)
    overdue, now_params = case_indicators.overdue_sql(now)
    categories = CaseCategory._meta.db_table
    rows = statsql.fetch(
        "SELECT c.id, c.number, c.risk, c.first_contact_at, c.first_contact_due, c.handling_due, "  # noqa: S608
        "c.paused_since, c.escalated_at, u.name, k.name, s.name "
        f"FROM {case_indicators.CASES_TABLE} c JOIN {statsql.UNITS} u ON u.id = c.org_unit_id "
        f"JOIN {categories} k ON k.id = c.category_id LEFT JOIN {categories} s ON s.id = c.subcategory_id "
        f"WHERE {subtree} AND {overdue} ORDER BY c.risk DESC, c.handling_due ASC, c.id ASC LIMIT %s",
        [*params, *now_params, limit],
    )
    out = []
    for (
        pk,
        number,
        risk,
        contact_at,
        contact_due,
        handling_due,
        paused,
        escalated,
        unit_name,
        cat,
        sub,
    ) in rows:
        contact_at, contact_due = statsql.as_moment(contact_at), statsql.as_moment(contact_due)
        handling_due = statsql.as_moment(handling_due)
        missed = []
        if contact_at is None and contact_due and contact_due < now:
            missed.append((contact_due, "首次联系"))
        if handling_due and handling_due < now and paused is None:
            missed.append((handling_due, "办理"))
        due, which = min(missed) if missed else (now, "办理")
        out.append(
            OverdueCase(
                pk=pk,
                number=number or f"草稿{pk}",
                category=sub if sub is not None else cat,
                unit=unit_name,
                risk=risk,
                high_risk=risk >= 3,
                days=(now - due).days,
                which=which,
                escalated=escalated is not None,
            )
        )
    out.sort(key=lambda c: (-c.risk, -c.days, c.pk))
    return out


HOME_KINDS = (HomeKind.WOMEN, HomeKind.BOTH)
_VILLAGES = statsql.literals(VILLAGE_KINDS)
_HOME_KINDS = statsql.literals(HOME_KINDS)


@dataclass
class Gap:
    """A village or community without an established federation or without a 妇女之家."""

    name: str
    parent_name: str
    established: bool
    has_home: bool


def _villages(unit: OrgUnit, day: dt.date) -> tuple[str, str, list]:
    """(has_home expression, WHERE of the villages and communities ``v`` under ``unit`` existing on ``day``,
    parameters). ``id IN (the homes' units)``, not a correlated EXISTS: the homes are read once into a hash and
    each village probes it (the counts below use the flag three times; an EXISTS ran once per village and use)."""
    low, high = subtree_range(unit.path)
    homes = WomensHome._meta.db_table
    has_home = f"v.id IN (SELECT h.org_unit_id FROM {homes} h WHERE h.kind IN ({_HOME_KINDS}))"  # noqa: S608
    where = (
        f"WHERE v.path >= %s AND v.path < %s AND v.kind IN ({_VILLAGES}) "
        "AND (v.opened_on IS NULL OR v.opened_on <= %s) AND (v.closed_on IS NULL OR v.closed_on > %s)"
    )
    return has_home, where, [low, high, day, day]


def coverage_gaps(unit: OrgUnit, day: dt.date, limit: int = 50) -> list[Gap]:
    """Villages and communities under ``unit`` (existing on ``day``) without an established federation or
    without a 妇女之家, in tree order."""
    has_home, where, params = _villages(unit, day)
    rows = statsql.fetch(
        f"SELECT v.name, p.name, v.established, {has_home} FROM {statsql.UNITS} v "  # noqa: S608
        f"LEFT JOIN {statsql.UNITS} p ON p.id = v.parent_id {where} "
        f"AND (NOT v.established OR NOT ({has_home})) ORDER BY v.path LIMIT %s",
        [*params, limit],
    )
    return [Gap(name, parent or "", bool(est), bool(home)) for name, parent, est, home in rows]


def gap_counts(unit: OrgUnit, day: dt.date) -> dict[str, int]:
    """How many villages/communities lack a federation, a 妇女之家, either (the list above stops at its limit)."""
    has_home, where, params = _villages(unit, day)
    ((no_federation, no_home, either),) = statsql.fetch(
        f"SELECT COUNT(CASE WHEN NOT v.established THEN 1 END), COUNT(CASE WHEN NOT ({has_home}) THEN 1 END), "  # noqa: S608
        f"COUNT(CASE WHEN NOT v.established OR NOT ({has_home}) THEN 1 END) FROM {statsql.UNITS} v {where}",
        params,
    )
    return {"no_federation": no_federation, "no_home": no_home, "any": either}
