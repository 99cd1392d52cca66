"""One backend of the ledger benchmark (run by bench/run.py with FULIAN_DATABASE_URL set).

Migrates, builds the city (fulian.demo.bulk) and its three years of ledger (fulian.demo.bulk_ledger) once,
then times the roll-up table (fulian.ledger.queries.rollup) against one hand-written SQL statement giving the
same figures, after asserting that both give identical figures in every cell. When the supervision app offers
``create_task`` and ``reporting_rates``, a task sent to every unit of the city is timed the same way.
Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal

from _measure import REPS, WARMUPS, compare, log, raw, server_version  # first: sets up Django
from django.core.management import call_command
from django.db import connection

from fulian.audit.models import AuditEvent
from fulian.demo.bulk import CITY_ROOT_CODE, build_city
from fulian.demo.bulk_ledger import build_city_ledger
from fulian.ledger import queries
from fulian.ledger.models import BrandTag, LedgerRecord, RecordKind
from fulian.orgs.models import Kind, OrgUnit
from fulian.orgs.paths import prefix_length, subtree_range

LEDGER_FACTOR = float(os.environ.get("BENCH_LEDGER_FACTOR", "1"))
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
RECORD_TABLE = LedgerRecord._meta.db_table
TAG_TABLE = LedgerRecord.tags.through._meta.db_table
UNIT_TABLE = OrgUnit._meta.db_table
KEYS = [key for key, _, _, _ in queries.INDICATORS]

# key -> the SQL expression summed for it (per the kind it belongs to)
_COLUMN = {
    "training_sessions": "sessions",
    "training_people": "participants",
    "training_person_times": "person_times",
    "training_recommended": "recommended_jobs",
    "training_employed": "employed",
    "activity_count": None,
    "activity_people": "participants",
    "activity_beneficiaries": "beneficiaries",
    "fair_count": None,
    "fair_employers": "employers",
    "fair_jobs": "jobs_offered",
    "fair_seekers": "job_seekers",
    "fair_agreements": "agreements",
    "workpoint_count": None,
    "workpoint_workers": "workers",
    "service_count": None,
    "service_beneficiaries": "beneficiaries",
    "service_amount": "amount",
}
_KIND = {key: str(kind) for key, _, kind, _ in queries.INDICATORS}


def rollup_sql(unit: OrgUnit, start: dt.date, end: dt.date, tag: BrandTag | None) -> tuple[str, list]:
    """The whole table in one statement: GROUP BY the child's path prefix, one SUM(CASE) per column."""
    cases = []
    for key in KEYS:
        value = f"r.{_COLUMN[key]}" if _COLUMN[key] else "1"
        cases.append(f"SUM(CASE WHEN r.kind = '{_KIND[key]}' THEN {value} ELSE 0 END)")
    low, high = subtree_range(unit.path)
    length = prefix_length(unit.depth + 1)
    tag_join = f"JOIN {TAG_TABLE} t ON t.ledgerrecord_id = r.id AND t.brandtag_id = %s " if tag else ""
    sql = (
        f"SELECT substr(u.path, 1, {length}) AS branch, {', '.join(cases)} "
        f"FROM {RECORD_TABLE} r JOIN {UNIT_TABLE} u ON u.id = r.org_unit_id {tag_join}"
        f"WHERE u.path >= %s AND u.path < %s AND r.date >= %s AND r.date <= %s "
        f"GROUP BY substr(u.path, 1, {length})"
    )
    params = [tag.pk] if tag else []
    return sql, [*params, low, high, start, end]


def _norm(key: str, value) -> object:
    if key == "service_amount":
        return Decimal(str(value or 0)).quantize(Decimal("0.01"))
    return int(value or 0)


def rollup_ours(unit, start, end, tag=None):
    return queries.rollup(unit, start, end, tag=tag)


def rollup_raw(unit, start, end, tag=None):
    sql, params = rollup_sql(unit, start, end, tag)
    branches = {row[0]: dict(zip(KEYS, row[1:], strict=True)) for row in raw(sql, params)}
    total = {k: sum((v[k] or 0 for v in branches.values()), 0) for k in KEYS}
    return branches, total


def assert_same_rollup(unit, start, end, tag=None) -> dict:
    rows, total = rollup_ours(unit, start, end, tag)
    branches, raw_total = rollup_raw(unit, start, end, tag)
    ours = {r.unit.path: {k: _norm(k, r.values[k]) for k in KEYS} for r in rows}
    for branch, values in branches.items():
        assert ours.get(branch) == {k: _norm(k, v) for k, v in values.items()}, (unit.name, branch)
    for path, values in ours.items():
        if path not in branches:
            assert not any(values.values()), (unit.name, path, values)
    ours_total = {k: _norm(k, v) for k, v in total.values.items()}
    assert ours_total == {k: _norm(k, v) for k, v in raw_total.items()}, (unit.name, ours_total, raw_total)
    records = LedgerRecord.objects.under(unit).in_period(start, end)
    if tag is not None:
        records = records.filter(tags=tag)
    n = records.count()
    counted = sum(ours_total[k] for k in ("activity_count", "fair_count", "workpoint_count", "service_count"))
    assert counted + records.filter(kind=RecordKind.TRAINING).count() == n
    log(f"rollup({unit.name}, tag={tag}) == raw SQL over {n} records: {ours_total}")
    return {"records": n, "training_sessions": ours_total["training_sessions"]}


# --- supervision (when the app provides it) -----------------------------------------------------------------


def supervision_hook(city: OrgUnit) -> tuple[list[dict], str]:
    """Reporting rates of one task sent to every unit of the city, next to raw SQL (if the app exists)."""
    try:
        from fulian.supervision import actions as sv_actions
        from fulian.supervision import queries as sv_queries

        create_task = sv_actions.create_task
        reporting_rates = sv_queries.reporting_rates
    except (ImportError, AttributeError) as exc:
        return (
            [],
            f"supervision skipped: fulian.supervision.create_task/reporting_rates not available ({exc})",
        )
    from _measure_supervision import measure_supervision

    return measure_supervision(city, create_task, reporting_rates), ""


def main() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    city = OrgUnit.objects.filter(code=CITY_ROOT_CODE).first()
    if city is None:
        log("building the city…")
        build_city(seed=1)
        city = OrgUnit.objects.get(code=CITY_ROOT_CODE)
    if LedgerRecord.objects.under(city).exists():
        event = AuditEvent.objects.filter(action="demo.city.ledger_bulk_build").order_by("id").last()
        figures, reused = (event.detail if event else {}), True
    else:
        log(f"building three years of ledger (factor {LEDGER_FACTOR})…")
        figures, reused = build_city_ledger(seed=1, factor=LEDGER_FACTOR), False
    log(f"ledger {'reused' if reused else 'built'}: {figures}")
    county = OrgUnit.objects.filter(parent=city, kind=Kind.COUNTY).order_by("path").first()
    tag = BrandTag.objects.get(name="巾帼建功")
    start, end = YEAR

    checked = {
        "city": assert_same_rollup(city, start, end),
        "county": assert_same_rollup(county, start, end),
        "city_tag": assert_same_rollup(city, start, end, tag),
    }
    results = [
        compare(
            "ledger rollup (city, 2025, by child unit)",
            lambda: rollup_ours(city, start, end),
            lambda: rollup_raw(city, start, end),
        ),
        compare(
            "ledger rollup (county, 2025, by child unit)",
            lambda: rollup_ours(county, start, end),
            lambda: rollup_raw(county, start, end),
        ),
        compare(
            "ledger rollup (city, 2025, tag 巾帼建功)",
            lambda: rollup_ours(city, start, end, tag),
            lambda: rollup_raw(city, start, end, tag),
        ),
    ]
    notes = []
    sv_results, note = supervision_hook(city)
    results += sv_results
    if note:
        notes.append(note)
        log(note)
    json.dump(
        {
            "backend": connection.vendor,
            "server_version": server_version(),
            "units": OrgUnit.objects.under(city).count(),
            "records": LedgerRecord.objects.under(city).count(),
            "records_in_year": checked["city"]["records"],
            "county": {"name": county.name, "records_in_year": checked["county"]["records"]},
            "tag_records_in_year": checked["city_tag"]["records"],
            "build": figures,
            "reused": reused,
            "reps": REPS,
            "warmups": WARMUPS,
            "results": results,
            "notes": notes,
        },
        sys.stdout,
        ensure_ascii=False,
    )


if __name__ == "__main__":
    main()
