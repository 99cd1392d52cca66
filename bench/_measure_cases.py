"""One backend of the cases benchmark (run by bench/run.py with FULIAN_DATABASE_URL set).

Migrates, builds the city (fulian.demo.bulk) and its three years of cases
(fulian.demo.bulk_cases) once, creates three bench users through the accounts actions (a township caseworker,
a county leader, a city 12338 hotline operator), then times the caseworker's list — ``queries.cases_of`` with
its filters, 高危 first: the page of ids and the count, as the list page and the API take them — against
hand-written SQL returning the same page of ids and the same count, after asserting that they are identical.
The full page (``queries.case_page``: ids, count, then the page's rows with units, categories and parties) is
timed alongside. On PostgreSQL (unless BENCH_INTAKES=0) it then runs the API intake load test
(bench/_intake_load.py: gunicorn, 20 client threads). Prints one JSON document on stdout; progress to stderr.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time

from _measure import REPS, WARMUPS, log, percentile, raw, server_version  # first: sets up Django
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from fulian.accounts.actions import add_membership, create_user
from fulian.accounts.models import User
from fulian.accounts.roles import Role
from fulian.audit.models import AuditEvent
from fulian.cases import queries
from fulian.cases.models import OPEN_STATES, Case, CaseCategory, State
from fulian.demo.bulk import CITY_ROOT_CODE, build_city
from fulian.demo.bulk_cases import build_city_cases
from fulian.orgs.models import Kind, OrgUnit
from fulian.orgs.paths import subtree_range

CASES_FACTOR = float(os.environ.get("BENCH_CASES_FACTOR", "1"))
CASE_TABLE = Case._meta.db_table
UNIT_TABLE = OrgUnit._meta.db_table
PASSWORD = "Bench-Fulian-2026"
LIST_OPEN = ("draft", *OPEN_STATES)


def bench_user(username: str, unit: OrgUnit, role: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = create_user(None, username=username, password=PASSWORD, unit=unit, role=role)
    else:
        add_membership(None, user, unit, role)
    return User.objects.get(pk=user.pk)  # fresh: no cached memberships


# --- the list ----------------------------------------------------------------------------------------------------


def list_ours(actor, f: queries.CaseFilter):
    """What the list page and the API take from ``cases_of``: the count and the page's ids (Paginator order)."""
    qs = queries.cases_of(actor, f)
    count = qs.count()
    return list(qs.values_list("pk", flat=True)[:50]), count


def page_ours(actor, f: queries.CaseFilter):
    page = queries.case_page(actor, f, 1)
    return [c.pk for c in page.object_list], page.paginator.count


def list_sql(unit: OrgUnit, f: queries.CaseFilter, now) -> tuple[str, str, list, list]:
    """The page and the count by hand: the subtree's cases by path range, the same filters, the same order."""
    low, high = subtree_range(unit.path)
    when = connection.ops.adapt_datetimefield_value(now)
    open_in = ", ".join(f"'{s}'" for s in OPEN_STATES)
    overdue = (
        f"(c.state IN ({open_in}) AND ((c.first_contact_at IS NULL AND c.first_contact_due < %s) "
        "OR (c.handling_due < %s AND c.paused_since IS NULL)))"
    )
    where = ["u.path >= %s", "u.path < %s"]
    params: list = [low, high]
    if f.state == "open":
        where.append(f"c.state IN ({', '.join(repr(str(s)) for s in LIST_OPEN)})")
    elif f.state != "all":
        where.append("c.state = %s")
        params.append(f.state)
    if f.risk:
        where.append("c.risk = %s")
        params.append(f.risk)
    if f.category:
        where.append("(c.category_id = %s OR c.subcategory_id = %s)")
        params += [f.category, f.category]
    if f.overdue:
        where.append(overdue)
        params += [when, when]
    base = f"FROM {CASE_TABLE} c JOIN {UNIT_TABLE} u ON u.id = c.org_unit_id WHERE {' AND '.join(where)}"
    page = (
        f"SELECT c.id {base} ORDER BY c.risk DESC, CASE WHEN {overdue} THEN 1 ELSE 0 END DESC, "
        "c.created_at DESC, c.id DESC LIMIT 50"
    )
    return page, f"SELECT COUNT(*) {base}", [*params, when, when], params


def list_raw(unit: OrgUnit, f: queries.CaseFilter):
    page_sql, count_sql, page_params, count_params = list_sql(unit, f, timezone.now())
    count = raw(count_sql, count_params)[0][0]
    return [r[0] for r in raw(page_sql, page_params)], count


def compare_list(name: str, actor, unit: OrgUnit, f: queries.CaseFilter) -> dict:
    """Same answer first (page of ids and count, ours and the full page alike), then ours / raw SQL / full page
    alternating within each repetition."""
    ours_ids, ours_n = list_ours(actor, f)
    raw_ids, raw_n = list_raw(unit, f)
    page_ids, page_n = page_ours(actor, f)
    assert ours_ids == raw_ids == page_ids and ours_n == raw_n == page_n, (name, ours_n, raw_n, page_n)
    risks = dict(Case.objects.filter(pk__in=ours_ids).values_list("pk", "risk"))
    fns = {
        "ours": lambda: list_ours(actor, f),
        "raw": lambda: list_raw(unit, f),
        "page": lambda: page_ours(actor, f),
    }
    for _ in range(WARMUPS):
        for fn in fns.values():
            fn()
    gc.collect()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(REPS):
        for key, fn in fns.items():
            started = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - started) * 1000)
    s = {
        k: {"median": round(statistics.median(v), 3), "p95": round(percentile(v, 0.95), 3)}
        for k, v in times.items()
    }
    result = {
        "backend": connection.vendor,
        "name": name,
        "rows": ours_n,
        "high_risk_on_page": sum(1 for pk in ours_ids if risks[pk] == 3),
        "ours_ms": s["ours"],
        "raw_sql_ms": s["raw"],
        "ratio_median": round(s["ours"]["median"] / s["raw"]["median"], 2),
        "ratio_p95": round(s["ours"]["p95"] / s["raw"]["p95"], 2),
        "full_page_ms": s["page"],
    }
    log(f"{name}: {ours_n} rows; ours {s['ours']} raw {s['raw']} full page {s['page']}")
    return result


def main() -> None:
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = round(time.perf_counter() - started, 2)
    city = OrgUnit.objects.filter(code=CITY_ROOT_CODE).first()
    if city is None:
        log("building the city…")
        build_city(seed=1)
        city = OrgUnit.objects.get(code=CITY_ROOT_CODE)
    if Case.objects.under(city).exists():
        event = AuditEvent.objects.filter(action="demo.city.cases_bulk_build").order_by("id").last()
        figures, reused = (event.detail if event else {}), True
    else:
        log(f"building three years of cases (factor {CASES_FACTOR})…")
        figures, reused = build_city_cases(seed=1, factor=CASES_FACTOR), False
    log(f"cases {'reused' if reused else 'built'}: {figures}")
    county = OrgUnit.objects.filter(parent=city, kind=Kind.COUNTY).order_by("path").first()
    township = OrgUnit.objects.filter(parent=county, kind=Kind.TOWNSHIP).order_by("path").first()
    caseworker = bench_user("bench_township_caseworker", township, Role.CASEWORKER)
    leader = bench_user("bench_county_leader", county, Role.LEADER)
    hotline = bench_user("bench_city_hotline", city, Role.HOTLINE)
    family = CaseCategory.objects.get(code="marriage_family")
    F = queries.CaseFilter
    results = [
        compare_list("case list (township caseworker, open, 高危 first)", caseworker, township, F()),
        compare_list("case list (county leader, open, 高危 first)", leader, county, F()),
        compare_list("case list (county leader, open, overdue only)", leader, county, F(overdue=True)),
        compare_list(
            "case list (county leader, all states, 婚姻家庭)",
            leader,
            county,
            F(state="all", category=family.pk),
        ),
        compare_list(
            "case list (county leader, archived, 高危)", leader, county, F(state=State.ARCHIVED, risk=3)
        ),
    ]
    document = {
        "backend": connection.vendor,
        "server_version": server_version(),
        "units": OrgUnit.objects.under(city).count(),
        "cases": Case.objects.under(city).count(),
        "county": {"name": county.name, "cases": Case.objects.under(county).count()},
        "township": {"name": township.name, "cases": Case.objects.under(township).count()},
        # every run's API intakes stay (cases cannot be deleted): open cases registered today in the townships
        "cases_from_earlier_intake_runs": Case.objects.filter(created_by=hotline).count(),
        "build": figures,
        "reused": reused,
        "migrate_seconds": migrate_seconds,
        "reps": REPS,
        "warmups": WARMUPS,
        "results": results,
        "intake": None,
        "notes": [],
    }
    if connection.vendor == "postgresql" and os.environ.get("BENCH_INTAKES", "2000") != "0":
        from _intake_load import run_intake_load

        document["intake"] = run_intake_load(city, hotline)
    json.dump(document, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
