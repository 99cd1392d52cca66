"""One backend of the orgs benchmark (run by bench/run.py with FULIAN_DATABASE_URL set).

Migrates, builds the city once (reused when its root code exists), then times each query of the app against
a hand-written SQL statement returning the same rows or figures. Prints one JSON document on stdout;
progress goes to stderr.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulian.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from fulian.accounts.roles import Role  # noqa: E402
from fulian.audit.models import AuditEvent  # noqa: E402
from fulian.demo.bulk import CITY_ROOT_CODE, build_city  # noqa: E402
from fulian.demo.county import REFERENCE_DAY  # noqa: E402
from fulian.orgs import queries  # noqa: E402
from fulian.orgs.models import Cadre, Kind, OrgUnit  # noqa: E402
from fulian.orgs.paths import prefix_length, subtree_range  # noqa: E402

REPS = int(os.environ.get("BENCH_REPS", "50"))
FACTOR = float(os.environ.get("BENCH_FACTOR", "1"))  # > 1 for a province-sized experiment
WARMUPS = 2
DAY = REFERENCE_DAY
UNIT_TABLE = OrgUnit._meta.db_table
CADRE_TABLE = Cadre._meta.db_table


def log(message: str) -> None:
    print(f"[{connection.vendor}] {message}", file=sys.stderr, flush=True)


def columns(model, alias: str) -> str:
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


def raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, workers: int, *options: str, timeout: int = 120) -> subprocess.Popen:
    """``gunicorn fulian.wsgi`` on 127.0.0.1:``port`` in a session of its own (``stop_server`` ends it), with the
    settings given explicitly: this process's environment (its database), its data key, 127.0.0.1 allowed, never
    debug. ``options``: more gunicorn arguments (``--threads 4`` …)."""
    from django.conf import settings

    env = {**os.environ, "FULIAN_ALLOWED_HOSTS": "127.0.0.1", "FULIAN_DATA_KEY": settings.DATA_KEYS[0]}
    env.pop("FULIAN_DEBUG", None)
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "fulian.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            str(timeout),
            "--log-level",
            "warning",
            *options,
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
        start_new_session=True,
    )


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server started by ``start_gunicorn`` (its whole session: master and workers)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def compare(name: str, ours, raw_sql) -> dict:
    """Time both callables alternately (so drift hits both alike): WARMUPS, then REPS timed runs each."""
    for _ in range(WARMUPS):
        ours()
        raw_sql()
    gc.collect()
    times: dict[str, list[float]] = {"ours": [], "raw": []}
    for _ in range(REPS):
        for key, fn in (("ours", ours), ("raw", raw_sql)):
            started = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - started) * 1000)
    summary = {}
    for key in times:
        summary[key] = {
            "median": round(statistics.median(times[key]), 3),
            "p95": round(percentile(times[key], 0.95), 3),
        }
    result = {
        "backend": connection.vendor,
        "name": name,
        "ours_ms": summary["ours"],
        "raw_sql_ms": summary["raw"],
        "ratio_median": round(summary["ours"]["median"] / summary["raw"]["median"], 2),
        "ratio_p95": round(summary["ours"]["p95"] / summary["raw"]["p95"], 2),
    }
    log(f"{name}: ours {summary['ours']} raw {summary['raw']} ratio {result['ratio_median']}")
    return result


# --- (a) subtree listing ----------------------------------------------------------------------------------


def subtree_ours(unit: OrgUnit):
    qs = OrgUnit.objects.under(unit)
    return list(qs.order_by("path")[:100]), qs.count()


def subtree_raw(unit: OrgUnit):
    low, high = subtree_range(unit.path)
    page = raw(
        f"SELECT {columns(OrgUnit, 'u')} FROM {UNIT_TABLE} u "
        "WHERE u.path >= %s AND u.path < %s ORDER BY u.path LIMIT 100",
        (low, high),
    )
    count = raw(f"SELECT COUNT(*) FROM {UNIT_TABLE} WHERE path >= %s AND path < %s", (low, high))
    return page, count[0][0]


# --- (b, c) cadre statistics -------------------------------------------------------------------------------

STAT_KEYS = [key for key, _ in queries.STAT_COLUMNS]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def stats_sql(unit: OrgUnit, day: dt.date) -> tuple[str, list]:
    """The whole table in one statement: GROUP BY the child's path prefix, one SUM(CASE) per column."""
    params: list = []
    cases = ["COUNT(*)"]
    for _, _, values in queries.EDUCATION_BANDS:
        cases.append(f"SUM(CASE WHEN c.education IN ({', '.join(['%s'] * len(values))}) THEN 1 ELSE 0 END)")
        params += [str(v) for v in values]
    for _, _, age_low, age_high in queries.AGE_BANDS:
        cond = ["c.birth_date IS NOT NULL"]
        if age_high is not None:
            cond.append("c.birth_date > %s")
            params.append(_years_before(day, age_high + 1))
        if age_low is not None:
            cond.append("c.birth_date <= %s")
            params.append(_years_before(day, age_low))
        cases.append(f"SUM(CASE WHEN {' AND '.join(cond)} THEN 1 ELSE 0 END)")
    cases += [
        "SUM(CASE WHEN c.full_time THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN c.full_time THEN 0 ELSE 1 END)",
        "SUM(CASE WHEN c.party_member THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN c.in_two_committees THEN 1 ELSE 0 END)",
    ]
    low, high = subtree_range(unit.path)
    length = prefix_length(unit.depth + 1)
    sql = (
        f"SELECT substr(u.path, 1, {length}) AS branch, {', '.join(cases)} "
        f"FROM {CADRE_TABLE} c JOIN {UNIT_TABLE} u ON u.id = c.org_unit_id "
        f"WHERE u.path >= %s AND u.path < %s GROUP BY substr(u.path, 1, {length})"
    )
    return sql, [*params, low, high]


def stats_ours(unit: OrgUnit):
    return queries.cadre_stats(unit, DAY)


def stats_raw(unit: OrgUnit):
    sql, params = stats_sql(unit, DAY)
    branches = {
        row[0]: dict(zip(STAT_KEYS, (int(v) for v in row[1:]), strict=True)) for row in raw(sql, params)
    }
    total = {k: sum(b[k] for b in branches.values()) for k in STAT_KEYS}
    return branches, total


def assert_same_stats(unit: OrgUnit) -> int:
    rows, total = stats_ours(unit)
    branches, raw_total = stats_raw(unit)
    ours = {r.unit.path: {k: int(r.values[k]) for k in STAT_KEYS} for r in rows}
    for branch, values in branches.items():
        assert ours.get(branch) == values, (unit.name, branch, ours.get(branch), values)
    for path, values in ours.items():
        if path not in branches:
            assert not any(values.values()), (unit.name, path, values)
    assert {k: int(v) for k, v in total.values.items()} == raw_total, (unit.name, total.values, raw_total)
    assert raw_total["total"] == Cadre.objects.under(unit).count()
    log(f"cadre_stats({unit.name}) == raw SQL: {raw_total}")
    return raw_total["total"]


# --- (d) cadre list ---------------------------------------------------------------------------------------


def city_actor(city: OrgUnit):
    """A stand-in for a city-level user: cadres_of reads the scope from the memberships cached on the user."""
    membership = SimpleNamespace(org_unit=city, role=Role.LEADER)
    return SimpleNamespace(is_authenticated=True, is_active=True, pk=None, _fulian_memberships=[membership])


def cadres_ours(actor):
    qs = queries.cadres_of(actor, queries.CadreFilter())
    page = list(qs[:50])
    for cadre in page:  # what the list page renders
        cadre.org_unit.name  # noqa: B018
    return page, qs.count()


def cadres_raw(unit: OrgUnit):
    low, high = subtree_range(unit.path)
    joined = (
        f"FROM {CADRE_TABLE} c JOIN {UNIT_TABLE} u ON u.id = c.org_unit_id WHERE u.path >= %s AND u.path < %s"
    )
    page = raw(
        f"SELECT {columns(Cadre, 'c')}, {columns(OrgUnit, 'u')} {joined} "
        "ORDER BY u.path, c.position, c.name, c.id LIMIT 50",
        (low, high),
    )
    count = raw(f"SELECT COUNT(*) {joined}", (low, high))
    return page, count[0][0]


# --- main -------------------------------------------------------------------------------------------------


def server_version() -> str:
    if connection.vendor == "postgresql":
        return raw("SHOW server_version")[0][0]
    return raw("SELECT sqlite_version()")[0][0]


def main() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    city = OrgUnit.objects.filter(code=CITY_ROOT_CODE).first()
    if city is None:
        log("building the city…")
        figures = build_city(seed=1, factor=FACTOR)
        reused = False
        city = OrgUnit.objects.get(code=CITY_ROOT_CODE)
    else:
        event = AuditEvent.objects.filter(action="demo.city.bulk_build").order_by("id").last()
        figures = event.detail if event else {}
        reused = True
    log(f"city {'reused' if reused else 'built'}: {figures}")
    county = OrgUnit.objects.filter(parent=city, kind=Kind.COUNTY).order_by("path").first()
    units = OrgUnit.objects.under(city).count()
    cadres = Cadre.objects.under(city).count()

    # Same answers before any timing.
    ours_page, ours_count = subtree_ours(county)
    raw_page, raw_count = subtree_raw(county)
    assert [u.pk for u in ours_page] == [r[0] for r in raw_page] and ours_count == raw_count
    assert assert_same_stats(city) == cadres
    assert_same_stats(county)
    actor = city_actor(city)
    ours_cadres, ours_n = cadres_ours(actor)
    raw_cadres, raw_n = cadres_raw(city)
    assert [c.pk for c in ours_cadres] == [r[0] for r in raw_cadres] and ours_n == raw_n == cadres

    results = [
        compare(
            "subtree listing (county, first 100 + count)",
            lambda: subtree_ours(county),
            lambda: subtree_raw(county),
        ),
        compare("cadre stats (city)", lambda: stats_ours(city), lambda: stats_raw(city)),
        compare("cadre stats (county)", lambda: stats_ours(county), lambda: stats_raw(county)),
        compare("cadre list (city, first 50 + count)", lambda: cadres_ours(actor), lambda: cadres_raw(city)),
    ]
    json.dump(
        {
            "backend": connection.vendor,
            "server_version": server_version(),
            "units": units,
            "cadres": cadres,
            "county": {
                "name": county.name,
                "units": subtree_ours(county)[1],
                "cadres": Cadre.objects.under(county).count(),
            },
            "build_seconds": figures.get("seconds"),
            "reused": reused,
            "reps": REPS,
            "warmups": WARMUPS,
            "results": results,
        },
        sys.stdout,
        ensure_ascii=False,
    )


if __name__ == "__main__":
    main()
