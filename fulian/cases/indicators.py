"""Case figures for the statistics service (fulian.reports): received / closed in the period and open cases
overdue now, with ``case_statistics``' aggregates and its small-cell rule (1 or 2 below county level is "<3").
Only viewers holding VIEW_CASES over the unit get them."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, Value
from django.db.models.functions import Substr, TruncMonth
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.orgs import statsql
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.reports.registry import LATEST, Source, month_of, months, register

from .models import OPEN_STATES, Case, State
from .queries import suppress

PERIOD_CODES = {"cases_received": "received", "cases_closed": "closed"}
ALL_CODES = [*PERIOD_CODES, "cases_overdue"]  # one column order for both parts of the UNION


def _bounds(start: dt.date, end: dt.date) -> Q:
    """Registered in [start, end] (dates in the current time zone): a range on ``created_at`` itself."""
    low, high = statsql.day_range(start, end)
    return Q(created_at__gte=low, created_at__lt=high)


CASES_TABLE = Case._meta.db_table
_OPEN = statsql.literals(OPEN_STATES)


def subtree_sql(unit: OrgUnit) -> tuple[str, list]:
    """The cases of ``unit``'s subtree, on the alias ``c``: TRUE for the only root (the period's index alone is
    read), else ``org_unit_id = ANY(ARRAY(…))`` on PostgreSQL — one probe per unit of the index (org_unit,
    created_at, …) instead of scanning a whole year of the province's cases and dropping those outside the
    subtree (a join on the path range did that: a city took as long as the province) — and ``IN`` on SQLite."""
    if statsql.whole_tree(unit):
        return "1 = 1", []
    return statsql.ids_in("c.org_unit_id", unit, array=True)


def overdue_sql(now: dt.datetime) -> tuple[str, list]:
    """``models.overdue_condition(now)`` as SQL on the alias ``c`` (a test compares the two)."""
    moment = statsql.moment(now)
    return (
        f"c.state IN ({_OPEN}) AND ((c.first_contact_at IS NULL AND c.first_contact_due < %s) "
        "OR (c.handling_due < %s AND c.paused_since IS NULL))",
        [moment, moment],
    )


def _union(
    unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str], group: str, group_params: tuple = ()
) -> tuple[str, list]:
    """case_statistics' cases (registered in the period, not drafts) with its counts for the period codes,
    and — a second SELECT of the same statement — the open cases overdue now, whenever they were registered
    (cases_overdue): each part through its own index (registration time; state and deadlines). Columns: the
    group, then ALL_CODES (0 where a part has nothing to say). Hand-written (``fulian.orgs.statsql``): the
    definitions are ``queries.stat_aggregates``' received/closed and ``models.overdue_condition``, which the
    tests compare them with."""
    subtree, params = subtree_sql(unit)
    where = f"{subtree} AND c.state <> 'draft'"
    parts, out = [], []
    if any(code in PERIOD_CODES for code in codes):
        low, high = statsql.day_moments(start, end)
        parts.append(
            f"SELECT {group} AS g, COUNT(c.created_at) AS cases_received, "  # noqa: S608
            "COUNT(CASE WHEN c.closed_at IS NOT NULL THEN 1 END) AS cases_closed, 0 AS cases_overdue "
            f"FROM {CASES_TABLE} c WHERE {where} AND c.created_at >= %s AND c.created_at < %s GROUP BY 1"
        )
        out += [*group_params, *params, low, high]
    if "cases_overdue" in codes:
        overdue, now = overdue_sql(timezone.now())
        # of org_unit_id: the partial index case_open_deadlines holds it and the deadlines (index-only)
        parts.append(
            f"SELECT {group} AS g, 0, 0, COUNT(c.org_unit_id) FROM {CASES_TABLE} c "  # noqa: S608
            f"WHERE {where} AND {overdue} GROUP BY 1"
        )
        out += [*group_params, *params, *now]
    return " UNION ALL ".join(parts), out


def _add(out: dict, g, codes: list[str], values) -> None:
    acc = out.setdefault(g, dict.fromkeys(codes, 0))
    for code, value in zip(ALL_CODES, values, strict=True):
        if code in acc:
            acc[code] += int(value or 0)


def _grouped(
    unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str], group: str, group_params: tuple = ()
) -> dict:
    """{group: {code: count}} from one statement (the parts as ``UNION ALL``), added up here."""
    sql, params = _union(unit, start, end, codes, group, group_params)
    out: dict = {}
    for g, *values in statsql.fetch(sql, params) if sql else ():
        _add(out, g, codes, values)
    return out


def _compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    values = _grouped(unit, start, end, codes, "''").get("", {})
    return {code: suppress(values.get(code, 0), unit) for code in codes}


def _by_branch(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict[str, dict]:
    """{child branch path: {code: count}}: the cases counted per unit first (index-only, no join per case),
    then those per-unit counts joined to the units and summed per branch, in one statement — about half the
    time of joining every case of a province year to its unit."""
    sql, params = _union(unit, start, end, codes, "c.org_unit_id")
    if not sql:
        return {}
    sums = ", ".join(f"SUM(x.{code})" for code in ALL_CODES)
    out: dict = {}
    rows = statsql.fetch(
        f"SELECT {statsql.branch('u.path', unit)}, {sums} FROM ({sql}) x "  # noqa: S608
        f"JOIN {statsql.UNITS} u ON u.id = x.g GROUP BY 1",
        params,
    )
    for g, *values in rows:
        _add(out, g, codes, values)
    return out


def _rows(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str], grouped: dict) -> dict:
    units = statsql.children_during(unit, start, end)
    if unit.path in grouped:
        units.insert(0, unit)
    return {
        code: {u.pk: suppress((grouped.get(u.path) or {}).get(code, 0), u) for u in units} for code in codes
    }


def _by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    return _rows(unit, start, end, codes, _by_branch(unit, start, end, codes))


def _table(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> tuple[dict, dict]:
    """Rows and total from one GROUP BY; the total adds up the raw counts of every branch (the cases of
    ``_compute``) before the small-cell rule."""
    grouped = _by_branch(unit, start, end, codes)
    total = {code: suppress(sum(g[code] for g in grouped.values()), unit) for code in codes}
    return _rows(unit, start, end, codes, grouped), total


def _by_month(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    """One statement grouped by the month of registration; cases_overdue (now, whatever the period) is the
    same in every month, as ``_compute`` gives it for each."""
    month, month_params = statsql.month_of_moment("c.created_at")
    grouped = {
        (month_of(statsql.as_date(g)) if g is not None else None): v
        for g, v in _grouped(unit, start, end, codes, month, month_params).items()
    }
    overdue = sum(v.get("cases_overdue", 0) for v in grouped.values())
    out = {}
    for low, _ in months(start, end):
        values = grouped.get(low.replace(day=1)) or {}
        out[low.replace(day=1)] = {
            code: suppress(overdue if code == "cases_overdue" else values.get(code, 0), unit)
            for code in codes
        }
    return out


CASES = Source("cases.statistics", _compute, _by_child, table=_table, by_month=_by_month)

register("cases_received", "维权案件受理登记", "件", module="cases", source=CASES, cap=Cap.VIEW_CASES)
register("cases_closed", "维权案件办结", "件", module="cases", source=CASES, cap=Cap.VIEW_CASES)
register(
    "cases_overdue",
    "逾期未办结案件",
    "件",
    module="cases",
    source=CASES,
    rollup=LATEST,
    cap=Cap.VIEW_CASES,
    description="当前在办且已超过首次联系或办理期限的案件",
)


# --- repeat contacts and duplicates merged (own block, own Source: the "cases" helper's, not the aggregates) -----
#
# cases_repeat: cases registered in the period (not drafts, not merged away as duplicates) whose affected person
# had an earlier case under the same reporting unit — the same ID number or phone, matched through the keyed
# blind indexes (``Party.id_index`` / ``phone_index``), never by decrypting. The earlier case must be inside the
# unit the figure is for, so a figure never says anything about cases outside the viewer's subtree.
# cases_merged: cases registered in the period that were found to duplicate another and merged into it.
# Both with the small-cell rule of the others (1 or 2 below county level shows "<3").
# During a key rotation an index under the old key does not match one under the new key: repeat counts may dip
# until ``fulian rotate_data_key`` has re-indexed every party.

REPEAT_CODES = ("cases_repeat", "cases_merged")


def _repeat_condition(unit: OrgUnit):
    from django.db.models import Exists, OuterRef

    from fulian.orgs.paths import subtree_range

    from .models import Party, PartyRole

    low, high = subtree_range(unit.path)
    same_person = Q(id_index__isnull=False, id_index=OuterRef("id_index")) | Q(
        phone_index__isnull=False, phone_index=OuterRef("phone_index")
    )
    earlier = Party.objects.filter(
        same_person,
        role=PartyRole.AFFECTED,
        case__created_at__lt=OuterRef("case__created_at"),
        case__org_unit__path__gte=low,
        case__org_unit__path__lt=high,
    ).exclude(case__state=State.DRAFT)
    affected = Party.objects.filter(case=OuterRef("pk"), role=PartyRole.AFFECTED).filter(Exists(earlier))
    return Exists(affected)


def _repeat_grouped(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str], group) -> dict:
    """{group: {code: raw count}} in one statement over the period's cases of the subtree."""
    aggs = {}
    if "cases_repeat" in codes:
        aggs["cases_repeat"] = Count("id", filter=Q(_repeat=True, merged_into__isnull=True))
    if "cases_merged" in codes:
        aggs["cases_merged"] = Count("id", filter=Q(merged_into__isnull=False))
    if not aggs:
        return {}
    qs = Case.objects.under(unit).exclude(state=State.DRAFT).filter(_bounds(start, end))
    if "cases_repeat" in codes:
        qs = qs.annotate(_repeat=_repeat_condition(unit))
    rows = qs.annotate(g=group).values("g").annotate(**aggs).order_by()
    return {row["g"]: {code: row.get(code) or 0 for code in codes} for row in rows}


def _repeat_compute(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    values = _repeat_grouped(unit, start, end, codes, Value("")).get("", {})
    return {code: suppress(values.get(code, 0), unit) for code in codes}


def _repeat_table(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> tuple[dict, dict]:
    """Per child unit (earlier cases looked for in the whole reporting unit, as for the total) and the total."""
    grouped = _repeat_grouped(
        unit, start, end, codes, Substr("org_unit__path", 1, prefix_length(unit.depth + 1))
    )
    total = {code: suppress(sum(g.get(code, 0) for g in grouped.values()), unit) for code in codes}
    return _rows(unit, start, end, codes, grouped), total


def _repeat_by_child(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    return _repeat_table(unit, start, end, codes)[0]


def _repeat_by_month(unit: OrgUnit, start: dt.date, end: dt.date, codes: list[str]) -> dict:
    grouped = {
        (month_of(g) if g is not None else None): v
        for g, v in _repeat_grouped(unit, start, end, codes, TruncMonth("created_at")).items()
    }
    return {
        low.replace(day=1): {
            code: suppress((grouped.get(low.replace(day=1)) or {}).get(code, 0), unit) for code in codes
        }
        for low, _ in months(start, end)
    }


REPEATS = Source(
    "cases.repeats", _repeat_compute, _repeat_by_child, table=_repeat_table, by_month=_repeat_by_month
)

register(
    "cases_repeat",
    "重复来访(再次求助)案件",
    "件",
    module="cases",
    source=REPEATS,
    cap=Cap.VIEW_CASES,
    description="本期登记的案件中,当事人此前在本单位(含下级)已有案件的(按身份证号或电话的密钥哈希比对)",
)
register(
    "cases_merged",
    "合并的重复登记",
    "件",
    module="cases",
    source=REPEATS,
    cap=Cap.VIEW_CASES,
    description="本期登记的案件中,经核实与另一案件为同一事项、已合并归档的",
)
