"""One backend of the ledger benchmark (run by bench/run.py with FULIAN_DATABASE_URL set).

Migrates the ledger (and supervision) apps, builds the city (fulian.demo.bulk) and its three years of ledger
(fulian.demo.bulk_ledger) once, fills the monthly totals (LedgerMonthTotal) if a database built before them
holds none, then times the roll-up table (fulian.ledger.queries.rollup) against two hand-written SQL
statements giving the same figures — the honest baseline over the RECORDS, and a second one over the monthly
table — after asserting that all give identical figures in every cell. It also times what the table costs a
write (create_record / delete_record with and without its upsert). When the supervision app offers
``create_task`` and ``reporting_rates``, a task sent to every unit of the city is timed the same way.
Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from unittest import mock

from _measure import REPS, WARMUPS, compare, log, percentile, raw, server_version  # first: sets up Django
from django.core.management import call_command
from django.db import connection

from fulian.audit.models import AuditEvent
from fulian.demo.bulk import CITY_ROOT_CODE, build_city
from fulian.demo.bulk_ledger import build_city_ledger
from fulian.ledger import actions as ledger_actions
from fulian.ledger import queries, totals
from fulian.ledger.models import BrandTag, LedgerMonthTotal, LedgerRecord, RecordKind
from fulian.orgs.models import Kind, OrgUnit
from fulian.orgs.paths import prefix_length, subtree_range

LEDGER_FACTOR = float(os.environ.get("BENCH_LEDGER_FACTOR", "1"))
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
PARTIAL = (dt.date(2025, 3, 15), dt.date(2025, 6, 20))  # whole April–May from the table, edges from records
WRITES = int(os.environ.get("BENCH_WRITES", "200"))  # create_record calls timed per variant
RECORD_TABLE = LedgerRecord._meta.db_table
MONTH_TABLE = LedgerMonthTotal._meta.db_table
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


def table_sql(unit: OrgUnit, start: dt.date, end: dt.date) -> tuple[str, list]:
    """The same table from the monthly totals, whole months only: plain SUMs of the 18 columns."""
    assert start.day == 1 and end == queries.periods.month_end(end)
    low, high = subtree_range(unit.path)
    length = prefix_length(unit.depth + 1)
    sums = ", ".join(f"SUM(m.{key})" for key in KEYS)
    sql = (
        f"SELECT substr(u.path, 1, {length}) AS branch, {sums} "
        f"FROM {MONTH_TABLE} m JOIN {UNIT_TABLE} u ON u.id = m.org_unit_id "
        f"WHERE u.path >= %s AND u.path < %s AND m.month >= %s AND m.month <= %s "
        f"GROUP BY substr(u.path, 1, {length})"
    )
    return sql, [low, high, start, queries.periods.month_start(end)]


def rollup_table_raw(unit, start, end):
    sql, params = table_sql(unit, start, end)
    branches = {row[0]: dict(zip(KEYS, row[1:], strict=True)) for row in raw(sql, params)}
    total = {k: sum((v[k] or 0 for v in branches.values()), 0) for k in KEYS}
    return branches, total


def compare3(name: str, ours, raw_records, raw_table) -> dict:
    """``compare`` with a second baseline: ours, SQL over the records, SQL over the monthly table, alternating
    within each repetition. The ratio that counts (ratio_median) stays the one to the records."""
    for _ in range(WARMUPS):
        ours(), raw_records(), raw_table()
    gc.collect()
    times: dict[str, list[float]] = {"ours": [], "raw": [], "table": []}
    for _ in range(REPS):
        for key, fn in (("ours", ours), ("raw", raw_records), ("table", raw_table)):
            started = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - started) * 1000)
    summary = {
        key: {"median": round(statistics.median(v), 3), "p95": round(percentile(v, 0.95), 3)}
        for key, v in times.items()
    }
    result = {
        "backend": connection.vendor,
        "name": name,
        "ours_ms": summary["ours"],
        "raw_sql_ms": summary["raw"],
        "ratio_median": round(summary["ours"]["median"] / summary["raw"]["median"], 2),
        "ratio_p95": round(summary["ours"]["p95"] / summary["raw"]["p95"], 2),
        "raw_table_sql_ms": summary["table"],
        "ratio_to_table_median": round(summary["ours"]["median"] / summary["table"]["median"], 2),
        "ratio_to_table_p95": round(summary["ours"]["p95"] / summary["table"]["p95"], 2),
    }
    log(
        f"{name}: ours {summary['ours']} raw(records) {summary['raw']} raw(table) {summary['table']} "
        f"ratios {result['ratio_median']} / {result['ratio_to_table_median']}"
    )
    return result


def assert_same_rollup(unit, start, end, tag=None) -> dict:
    rows, total = rollup_ours(unit, start, end, tag)
    branches, raw_total = rollup_raw(unit, start, end, tag)
    if tag is None and start.day == 1 and end == queries.periods.month_end(end):
        table_branches, table_total = rollup_table_raw(unit, start, end)
        assert {
            b: {k: _norm(k, v) for k, v in vals.items()}
            for b, vals in table_branches.items()
            if any(vals.values())
        } == {b: {k: _norm(k, v) for k, v in vals.items()} for b, vals in branches.items()}, unit.name
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


def ensure_month_totals(city: OrgUnit) -> dict:
    """A database whose ledger was built before LedgerMonthTotal existed: fill the table once (migration 0006
    does it on the way up; this catches a table emptied or never filled)."""
    rows = LedgerMonthTotal.objects.filter(org_unit__path__startswith=city.path).count()
    if rows:
        return {"rows": rows, "rebuilt": False}
    log("monthly totals empty: rebuilding them from the records…")
    started = time.perf_counter()
    figures = ledger_actions.rebuild_month_totals(None, city)
    seconds = round(time.perf_counter() - started, 2)
    log(f"monthly totals rebuilt: {figures['rows']} rows in {seconds} s")
    return {"rows": figures["rows"], "rebuilt": True, "seconds": seconds}


def _village(city: OrgUnit) -> OrgUnit:
    return (
        OrgUnit.objects.under(city)
        .filter(kind=Kind.VILLAGE, established=True, closed_on__isnull=True)
        .order_by("path")
        .first()
    )


def write_cost(city: OrgUnit) -> dict:
    """What the table costs a write: ``create_record`` (each its own transaction, committed) and then
    ``delete_record`` of the same records, with the monthly upsert and with it patched out; WRITES calls per
    variant, in alternating rounds of 25 so load drift hits both alike. The records are deleted again and the
    table is checked unchanged for the village afterwards."""
    village = _village(city)
    before = list(LedgerMonthTotal.objects.filter(org_unit=village).order_by("month").values_list())
    times: dict[str, dict[str, list[float]]] = {v: {"create": [], "delete": []} for v in ("with", "without")}
    rounds, per_round = max(1, WRITES // 25), min(25, WRITES)
    for i in range(rounds * 2):
        variant = ("with", "without")[i % 2]
        patch = mock.patch.object(totals.Deltas, "apply", lambda self: 0) if variant == "without" else None
        if patch:
            patch.start()
        try:
            recs = []
            for j in range(per_round):
                started = time.perf_counter()
                recs.append(
                    ledger_actions.create_record(
                        None,
                        org_unit=village,
                        kind=RecordKind.ACTIVITY,
                        category="宣传",
                        title=f"基准测试写入{i}-{j}",
                        date=dt.date(2025, 6, 1 + j % 28),
                        participants=30,
                    )
                )
                times[variant]["create"].append((time.perf_counter() - started) * 1000)
            for rec in recs:
                started = time.perf_counter()
                ledger_actions.delete_record(None, rec)
                times[variant]["delete"].append((time.perf_counter() - started) * 1000)
        finally:
            if patch:
                patch.stop()
    after = list(LedgerMonthTotal.objects.filter(org_unit=village).order_by("month").values_list())
    assert after == before, "the timed writes left the village's monthly totals changed"
    out: dict = {"backend": connection.vendor, "writes_per_variant": rounds * per_round}
    for op in ("create", "delete"):
        with_, without = times["with"][op], times["without"][op]
        out[op] = {
            "with_table_ms": {
                "median": round(statistics.median(with_), 3),
                "p95": round(percentile(with_, 0.95), 3),
            },
            "without_table_ms": {
                "median": round(statistics.median(without), 3),
                "p95": round(percentile(without, 0.95), 3),
            },
            "extra_ms_median": round(statistics.median(with_) - statistics.median(without), 3),
        }
    log(f"write cost: {out}")
    return out


def main() -> None:
    started = time.perf_counter()
    # only what this suite uses (and their dependencies): other apps' work-in-progress migrations stay out
    for app in ("ledger", "supervision"):
        call_command("migrate", app, verbosity=0, interactive=False)
    migrate_seconds = round(time.perf_counter() - started, 2)
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
    month_totals = {**ensure_month_totals(city), "migrate_seconds": migrate_seconds}
    county = OrgUnit.objects.filter(parent=city, kind=Kind.COUNTY).order_by("path").first()
    tag = BrandTag.objects.get(name="巾帼建功")
    start, end = YEAR

    checked = {
        "city": assert_same_rollup(city, start, end),
        "county": assert_same_rollup(county, start, end),
        "city_tag": assert_same_rollup(city, start, end, tag),
        "city_partial": assert_same_rollup(city, *PARTIAL),
    }
    results = [
        compare3(
            "ledger rollup (city, 2025, by child unit)",
            lambda: rollup_ours(city, start, end),
            lambda: rollup_raw(city, start, end),
            lambda: rollup_table_raw(city, start, end),
        ),
        compare3(
            "ledger rollup (county, 2025, by child unit)",
            lambda: rollup_ours(county, start, end),
            lambda: rollup_raw(county, start, end),
            lambda: rollup_table_raw(county, start, end),
        ),
        compare(
            "ledger rollup (city, 2025-03-15..06-20: months from the table, edges from records)",
            lambda: rollup_ours(city, *PARTIAL),
            lambda: rollup_raw(city, *PARTIAL),
        ),
        compare(
            "ledger rollup (city, 2025, tag 巾帼建功: all from the records)",
            lambda: rollup_ours(city, start, end, tag),
            lambda: rollup_raw(city, start, end, tag),
        ),
    ]
    writes = write_cost(city)
    check_started = time.perf_counter()
    differences = totals.differences(city)
    check_seconds = round(time.perf_counter() - check_started, 2)
    assert not differences, differences[:10]
    log(f"monthly totals equal the records for the whole city ({check_seconds} s to check)")
    month_totals["check_seconds"] = check_seconds
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
            "partial_period_records": checked["city_partial"]["records"],
            "month_totals": month_totals,
            "write_cost": writes,
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
