"""Case intake through the real API under load (part of the cases benchmark; PostgreSQL only).

Starts gunicorn (``fulian.wsgi``, BENCH_GUNICORN_WORKERS=2 sync workers; BENCH_GUNICORN_THREADS=4: gthread workers
of 4 threads) on a free 127.0.0.1 port against the benchmark database, with the settings given explicitly
in its environment (FULIAN_DATABASE_URL, FULIAN_DATA_KEY, FULIAN_ALLOWED_HOSTS); creates an API token for the city's
12338 hotline operator with ``fulian token create``; then BENCH_INTAKE_CLIENTS=20 client threads (``http.client``,
one connection each) POST intakes to ``/api/v1/cases/`` (registered in the townships and streets of the city's last
county, away from the lists the suite times), each with its own ``Idempotency-Key``, until BENCH_INTAKES=2000
requests are sent or BENCH_INTAKE_SECONDS=30 have passed. Afterwards, checked in the database: every 201 created
exactly one case (distinct ids, and the operator's cases since the start are exactly those), case numbers are
gap-free per unit and year (1 … the counter, nothing missing, nothing twice), no 5xx; then 100 of the keys are
replayed (same body): each must return the first response marked ``Idempotent-Replayed`` and no case may be added.
gunicorn is stopped in every case. All traffic goes to 127.0.0.1.

That is the Python load generator. With wrk installed (``make bench`` installs it; BENCH_INTAKE_LOADGEN=auto, the
default) the timed load comes from wrk instead (``bench/intake_wrk.lua``; BENCH_INTAKE_CLIENTS connections on 2
threads for BENCH_WRK_SECONDS=10): on 2 cores the generator competes with the server it measures, and wrk costs a
third of the Python client's CPU per request and takes its latencies in an event loop rather than in threads
waiting for a GIL. Its run is checked in the database afterwards (``verify_wrk``: every 201 one case, every case
of the run the stored response of exactly one of its keys, numbers gap-free, no 5xx or socket error) and
replayed like the other (``replay_wrk``). The warm-up always goes through the Python client. Every run also
reports ``machine.reference_cpu_ms`` (a fixed piece of Python, best of 5, right after the load): how fast the
shared cores were at that moment.

If a goal is missed, ``profile_intake`` shows where one intake's time goes, in this single process (no HTTP
server): BENCH_PROFILE_INTAKES=150 API requests through Django's test client, timed and then under cProfile
(grouped into authentication, validation, idempotency, the action's steps, encryption, commits), the same number
of direct ``intake_case`` calls, the queries of one request, and how long the audit chain head stays locked per
intake (from ``record()`` to the commit) — the ceiling it puts on the whole database's intake rate.

Run alone (``python bench/_intake_load.py`` with FULIAN_DATABASE_URL on a PostgreSQL database): builds a small
city (BENCH_FACTOR, default 0.2) if absent and runs only the intake load, with two same-run baselines (the raw
single-row INSERT rate of one connection; the same load with 1 client). ``--cpu``: CPU per intake instead
(Python and the PostgreSQL backend, robust to other jobs on the machine); with BENCH_AUDIT_CEILING=1 also the
audit log's ceiling (one chain against the lanes, transactions holding the head 5 ms). With
FULIAN_DB_PREPARED_STATEMENTS=1 in the environment the in-process client and gunicorn both use PostgreSQL
server-side binding with prepared statements (opt-in, see fulian/settings.py). During the load, the CPU of the client threads (this process),
gunicorn's processes and this database's PostgreSQL backends is read from /proc (per request, with the machine's
idle share): robust to other jobs on the machine, which the rate is not. ``bench/prof_intake.py`` shows where one
intake's CPU goes. Used for docs/performance.md "Intake throughput (session 8)".
"""

from __future__ import annotations

import cProfile
import datetime as dt
import http.client
import io
import json
import os
import pstats
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from _measure import free_port, log, percentile, start_gunicorn, stop_server
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min

from fulian.cases import actions
from fulian.cases.models import Case, CaseCategory, CaseCounter, Channel
from fulian.orgs.models import Kind, OrgUnit

ROOT = Path(__file__).resolve().parent.parent
INTAKES = int(os.environ.get("BENCH_INTAKES", "2000"))
SECONDS = float(os.environ.get("BENCH_INTAKE_SECONDS", "30"))
CLIENTS = int(os.environ.get("BENCH_INTAKE_CLIENTS", "20"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
# 1: sync workers (the default: on a quiet machine the best p95, docs/performance.md "Intake throughput (session 9)");
# > 1: gthread workers (a thread's request runs while another waits for PostgreSQL; keep-alive connections)
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "1"))
# gunicorn's --keep-alive seconds (gthread workers keep connections open; sync workers close each one); "": default
KEEPALIVE = os.environ.get("BENCH_GUNICORN_KEEPALIVE", "")
REPLAYS = 100
# the load generator: "python" (CLIENTS threads of http.client in this process, every response checked as it
# comes), "wrk" (Debian's wrk with bench/intake_wrk.lua: CLIENTS connections, BENCH_WRK_SECONDS long, checked in
# the database afterwards) or "auto" (the default: wrk when it is installed — `make bench` installs it — else
# python). The document says which one ran.
WRK = os.environ.get("BENCH_WRK", "wrk")
LOADGEN = os.environ.get("BENCH_INTAKE_LOADGEN", "auto")
if LOADGEN == "auto":
    LOADGEN = "wrk" if shutil.which(WRK) else "python"
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
WRK_SECONDS = float(os.environ.get("BENCH_WRK_SECONDS", "10"))
# bodies prepared per second of a wrk run: above any rate this machine reaches (wrk stops rather than reuse one)
WRK_BODIES_PER_SECOND = int(os.environ.get("BENCH_WRK_BODIES_PER_SECOND", "700"))
# intakes sent through the same clients before the timed window (0 with one client): not in the rate or latencies
WARMUP = int(os.environ.get("BENCH_INTAKE_WARMUP", "60"))
PROFILE_INTAKES = int(os.environ.get("BENCH_PROFILE_INTAKES", "150"))
THROUGHPUT_GOAL = 200.0
P95_GOAL_MS = 100.0

SUBS = [
    ("marriage_family", "domestic_violence", 0.25),
    ("marriage_family", "divorce", 0.25),
    ("land_collective", "married_out_women", 0.15),
    ("labour_social", "wages_insurance", 0.15),
    ("other", None, 0.20),
]


def _proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this host (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> list[int]:
    """The machine's CPU ticks from /proc/stat (user, nice, system, idle, iowait, irq, softirq, steal)."""
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


def _cpu_of(pids) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = _proc_cpu_seconds(pid)
        except (OSError, ValueError, IndexError):  # gone
            pass
    return out


def _backends() -> list[int]:
    """The PostgreSQL backends connected to this database, other than this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


class CpuDuringLoad:
    """CPU time (Linux /proc, robust to other jobs on the machine) spent during the load by this process (the
    client threads), gunicorn (master and workers) and this database's PostgreSQL backends (those that connect
    during the load count from zero)."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def _sample(self) -> tuple[float, dict[int, float], dict[int, float], list[int]]:
        return (
            time.process_time(),
            _cpu_of([self.server_pid, *_children(self.server_pid)]),
            _cpu_of(_backends()),
            _machine_ticks(),
        )

    def __enter__(self):
        self.before = self._sample()
        return self

    def __exit__(self, *exc):
        self.after = self._sample()

    def per_request_ms(self, requests: int, client_cpu_s: float | None = None) -> dict:
        """``client_cpu_s``: the load generator's CPU when it is another process (wrk), else this process's."""
        (c0, g0, p0, m0), (c1, g1, p1, m1) = self.before, self.after

        def delta(a: dict, b: dict) -> float:
            return sum(v - a.get(pid, 0.0) for pid, v in b.items())

        n = max(requests, 1)
        figures = {
            "client": (c1 - c0 if client_cpu_s is None else client_cpu_s) * 1000 / n,
            "gunicorn": delta(g0, g1) * 1000 / n,
            "postgresql_backends": delta(p0, p1) * 1000 / n,
        }
        figures["total"] = sum(figures.values())
        out = {k: round(v, 2) for k, v in figures.items()}
        ticks = [b - a for a, b in zip(m0, m1, strict=True)]
        # the machine's idle share (idle + iowait over all) during the load: CPU that nobody — neither this load
        # nor other jobs — used; a worker model that leaves cores idle while requests wait shows here
        out["machine_idle_share"] = round((ticks[3] + ticks[4]) / max(sum(ticks), 1), 3)
        out["gunicorn_processes"] = sorted(round((v - g0.get(pid, 0.0)), 2) for pid, v in g1.items())
        return out


def _id_number(rng: random.Random) -> str:
    from fulian.lib.idcard import check_char

    first17 = f"360902{1970 + rng.randrange(35)}{1 + rng.randrange(12):02d}{1 + rng.randrange(28):02d}"
    first17 += f"{rng.randrange(500) * 2:03d}"
    return first17 + check_char(first17)


def _pick(r: float) -> tuple[str, str | None]:
    for top, sub, share in SUBS:
        if r < share:
            return top, sub
        r -= share
    return SUBS[-1][0], SUBS[-1][1]


def payloads(units: list[int], n: int, seed: int) -> list[dict]:
    """Deterministic intakes as a switchboard would push them: a caller, often the woman herself, a phone, at
    times an ID number; a checklist that makes a few of them 高危."""
    from fulian.demo import names

    rng = random.Random(seed)
    out = []
    for i in range(n):
        top, sub = _pick(rng.random())
        checklist = ["threat_to_kill"] if sub == "domestic_violence" and rng.random() < 0.12 else []
        if sub == "domestic_violence" and not checklist and rng.random() < 0.4:
            checklist = ["escalating"]
        affected = {
            "role": "affected",
            "name": names.person_name(rng),
            "phone": names.mobile(rng),
            "relation": "本人",
            "address": f"{rng.randrange(1, 9)}组{rng.randrange(1, 60)}号",
        }
        if rng.random() < 0.35:
            affected["id_number"] = _id_number(rng)
        parties = [affected]
        if rng.random() < 0.4:
            parties.insert(0, {"role": "caller", "name": names.person_name(rng), "phone": names.mobile(rng)})
        body = {
            "org_unit_id": units[i % len(units)],
            "channel": Channel.HOTLINE.value,
            "category": top,
            "parties": parties,
            "account": "来电反映近期家庭矛盾激化,希望妇联帮助协调。" * (1 + rng.randrange(3)),
            "request": "希望妇联帮助调解",
            "risk_checklist": checklist,
            "consent_store": True,
            "consent_refer": rng.random() < 0.8,
            "consent_contact": True,
        }
        if sub:
            body["subcategory"] = sub
        out.append(body)
    return out


def intake_via_test_client(client, body: dict, key: str) -> None:
    """One intake through Django's test client (in this process: no HTTP server), which must answer 201."""
    response = client.post(
        "/api/v1/cases/",
        data=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 201, response.content[:300]


def _post(conn: http.client.HTTPConnection, token: str, key: str, body: bytes):
    conn.request(
        "POST",
        "/api/v1/cases/",
        body=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "Host": "127.0.0.1",
        },
    )
    response = conn.getresponse()
    data = response.read()
    return response.status, response.getheader("Idempotent-Replayed"), data


def _wait_ready(port: int, token: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request(
                "GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}
            )
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
            raise RuntimeError(f"/api/v1/me answered {status}")
        except (ConnectionError, OSError):
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready within 60 s")


def load(port: int, token: str, bodies: list[bytes], keys: list[str]) -> tuple[list[dict], float]:
    """CLIENTS threads take the next request index until all are sent or SECONDS have passed."""
    lock = threading.Lock()
    state = {"next": 0}
    results: list[dict] = []
    deadline = time.perf_counter() + SECONDS

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while True:
            with lock:
                i = state["next"]
                if i >= len(bodies) or time.perf_counter() >= deadline:
                    break
                state["next"] = i + 1
            started = time.perf_counter()
            try:
                status, _, data = _post(conn, token, keys[i], bodies[i])
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                mine.append(
                    {"i": i, "status": 0, "ms": (time.perf_counter() - started) * 1000, "error": repr(exc)}
                )
                continue
            ms = (time.perf_counter() - started) * 1000
            row = {"i": i, "status": status, "ms": ms}
            if status == 201:
                doc = json.loads(data)
                row["id"], row["number"] = doc["id"], doc["number"]
            mine.append(row)
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 120)
    return results, time.perf_counter() - started


def load_wrk(port: int, token: str, bodies: list[bytes], run_id: str) -> dict:
    """The same closed loop from wrk (C, epoll; ``bench/intake_wrk.lua``): BENCH_INTAKE_CLIENTS connections on
    BENCH_WRK_THREADS=2 threads for BENCH_WRK_SECONDS=10 s. Its CPU per request is a tenth of the Python
    client's, and its latencies are taken in its event loop, not by threads waiting for a GIL — on a 2-core
    machine the load generator competes with the server it measures. Bodies line ``n`` goes with the key
    ``<run_id>-<n>``; never one key twice (wrk stops a thread rather than reuse a body). wrk's CPU comes from
    ``getrusage(RUSAGE_CHILDREN)`` around it."""
    import resource
    import tempfile

    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as handle:
        handle.write(b"\n".join(bodies) + b"\n")
        path = handle.name
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            [
                WRK,
                "-t",
                str(WRK_THREADS),
                "-c",
                str(CLIENTS),
                "-d",
                f"{WRK_SECONDS:g}s",
                "--timeout",
                "60s",
                "-s",
                str(ROOT / "bench" / "intake_wrk.lua"),
                f"http://127.0.0.1:{port}",
                "--",
                path,
                token,
                run_id,
                str(WRK_THREADS),
            ],
            capture_output=True,
            text=True,
            timeout=WRK_SECONDS + 120,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(path)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    out = json.loads(line.removeprefix("WRK-RESULT "))
    out["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


def verify_wrk(out: dict, hotline, since: dt.datetime, run_id: str, warm: list[dict]) -> dict:
    """The wrk run's checks in the database: every 201's id is one case with that number, nothing created twice;
    the cases since the start are the warm-up's and the 201s plus at most one in flight per connection when wrk
    stopped (wrk drops those responses), and each of them is the response stored for exactly one of this run's
    keys; case numbers gap-free per unit and year; no 5xx, no socket error."""
    from fulian.api.models import IdempotencyKey

    # the requests wrk abandoned when it stopped are still served (the server has read them): wait for them
    mine_now = Case.objects.filter(created_by=hotline, created_at__gte=since)
    count, stable_since = mine_now.count(), time.monotonic()
    while time.monotonic() - stable_since < 1.0:
        time.sleep(0.2)
        if (now := mine_now.count()) != count:
            count, stable_since = now, time.monotonic()
    pairs = [p.split(":", 1) for p in out["created"]]
    ids = [int(i) for i, _ in pairs]
    assert len(ids) == len(set(ids)), "a case id was returned twice"
    numbers = dict(Case.objects.filter(pk__in=ids).values_list("pk", "number"))
    assert all(numbers.get(int(i)) == n for i, n in pairs), (
        "a 201 whose case or number is not in the database"
    )
    warm_ids = {r["id"] for r in warm if r["status"] == 201}
    mine = set(Case.objects.filter(created_by=hotline, created_at__gte=since).values_list("pk", flat=True))
    in_flight = mine - set(ids) - warm_ids
    assert set(ids) <= mine and len(in_flight) <= CLIENTS, (len(mine), len(ids), len(in_flight))
    keyed = [
        row["id"]
        for row in IdempotencyKey.objects.filter(user=hotline, key__startswith=f"{run_id}-").values_list(
            "response", flat=True
        )
    ]
    assert len(keyed) == len(set(keyed)) and set(keyed) == mine - warm_ids, "a case without its key, or twice"
    gaps = _gaps(mine)
    assert not gaps, gaps[:5]
    errors = out["errors"]
    server_errors = sum(n for code, n in out["statuses"].items() if int(code) >= 500)
    assert not server_errors and not any(errors.values()), (out["statuses"], errors)
    assert out["bodies_exhausted"] == 0, "wrk ran out of bodies"
    return {
        "created": len(ids),
        "in_flight_when_wrk_stopped": len(in_flight),
        "units_checked_gap_free": len({u for u, _ in _touched(mine)}),
        "server_errors": 0,
    }


def _touched(ids) -> set[tuple[int, int]]:
    return set(Case.objects.filter(pk__in=ids).values_list("registered_unit_id", "year"))


def _gaps(ids) -> list[dict]:
    """Units and years among ``ids``' cases whose numbers are not exactly 1 … the counter."""
    gaps = []
    for unit_id, year in sorted(_touched(ids)):
        agg = Case.objects.filter(registered_unit_id=unit_id, year=year).aggregate(
            n=Count("id"),
            distinct=Count("sequence", distinct=True),
            low=Min("sequence"),
            high=Max("sequence"),
        )
        last = CaseCounter.objects.get(org_unit_id=unit_id, year=year).last
        if not (agg["n"] == agg["distinct"] == agg["high"] == last and agg["low"] == 1):
            gaps.append({"unit": unit_id, "year": year, **agg, "counter": last})
    return gaps


def verify(results: list[dict], hotline, since: dt.datetime) -> dict:
    created = [r for r in results if r["status"] == 201]
    ids = [r["id"] for r in created]
    assert len(ids) == len(set(ids)), "a case id was returned twice"
    mine = set(Case.objects.filter(created_by=hotline, created_at__gte=since).values_list("pk", flat=True))
    assert mine == set(ids), f"{len(mine)} cases in the database for {len(ids)} responses 201"
    numbers = dict(Case.objects.filter(pk__in=ids).values_list("pk", "number"))
    assert all(numbers[r["id"]] == r["number"] for r in created)
    touched = _touched(ids)
    gaps = _gaps(ids)
    assert not gaps, gaps[:5]
    server_errors = [r for r in results if r["status"] >= 500 or r["status"] == 0]
    assert not server_errors, server_errors[:5]
    return {"created": len(ids), "units_checked_gap_free": len(touched), "server_errors": 0}


def replay(port: int, token: str, results: list[dict], bodies, keys) -> dict:
    created = sorted((r for r in results if r["status"] == 201), key=lambda r: r["i"])[:REPLAYS]
    before = Case.objects.count()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    replayed = 0
    for r in created:
        status, flag, data = _post(conn, token, keys[r["i"]], bodies[r["i"]])
        assert status == 201 and flag == "true", (status, flag, data[:200])
        assert json.loads(data)["id"] == r["id"]
        replayed += 1
    conn.close()
    added = Case.objects.count() - before
    assert added == 0, f"{added} cases created by replays"
    return {"replayed": replayed, "cases_added": added}


def replay_wrk(port: int, token: str, hotline, run_id: str, bodies: list[bytes]) -> dict:
    """``replay`` for a wrk run: REPLAYS of its keys (from their stored rows; line ``n``'s body went with the key
    ``<run_id>-<n>``) sent again with the same body must each return the stored case, marked replayed, and add
    no case."""
    from fulian.api.models import IdempotencyKey

    rows = list(
        IdempotencyKey.objects.filter(user=hotline, key__startswith=f"{run_id}-")
        .order_by("pk")
        .values_list("key", "response")[:REPLAYS]
    )
    before = Case.objects.count()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for key, stored in rows:
        line = int(key.rsplit("-", 1)[1])
        status, flag, data = _post(conn, token, key, bodies[line - 1])
        assert status == 201 and flag == "true", (status, flag, data[:200])
        assert json.loads(data)["id"] == stored["id"]
    conn.close()
    added = Case.objects.count() - before
    assert added == 0, f"{added} cases created by replays"
    return {"replayed": len(rows), "cases_added": added}


PROFILED = {
    "auth.py:authenticate": "token authentication (BearerTokenAuthentication)",
    "idempotency.py:idempotent_create": "Idempotency-Key row + the create inside it",
    "serializers.py:is_valid": "request validation (DRF serializers)",
    "queries.py:access_unit": "access_unit (scope check of the unit)",
    "actions.py:intake_case": "intake_case (the action, all of it)",
    "actions.py:validate_intake": "  validate_intake",
    "actions.py:_number": "  numbering: counter row lock + deadlines",
    "actions.py:next_number": "    next_number (SELECT … FOR UPDATE of the counter)",
    "actions.py:deadlines": "    deadlines (holiday calendar query)",
    "actions.py:_audit": "  audit event (chain-head lock)",
    "actions.py:_entry": "  timeline entry",
    "actions.py:_notify_high_risk": "  notification of 高危 cases",
    "crypto.py:encrypt": "AES-GCM encryption (all values)",
    "crypto.py:blind_index": "blind indexes",
    "api.py:post": "the view's post() (everything but routing, middleware, authentication)",
    "transaction.py:__exit__": "commits (transaction.atomic exits)",
}


def profile_intake(units: list[int], hotline, token: str) -> dict:
    """Where one intake's time goes, single process, no HTTP server: the API request through Django's test
    client (middleware, authentication, validation, idempotency, the action, the response), timed and then
    under cProfile; and ``intake_case`` called directly."""
    from django.test import Client

    cats = {c.code: c for c in CaseCategory.objects.all()}
    bodies = payloads(units, PROFILE_INTAKES * 2 + 10, seed=secrets.randbits(32))
    unit_objs = {u.pk: u for u in OrgUnit.objects.filter(pk__in=units)}
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    prefix = secrets.token_hex(4)

    def request(i, body):
        intake_via_test_client(client, body, f"profile-{prefix}-{i}")

    def direct(body):
        body = dict(body)
        unit = unit_objs[body.pop("org_unit_id")]
        body["category"] = cats[body["category"]]
        body["subcategory"] = cats[body["subcategory"]] if body.get("subcategory") else None
        actions.intake_case(hotline, unit=unit, **body)

    for i, body in enumerate(bodies[:10]):  # warm-up
        request(i, body)
    api_times, direct_times = [], []
    for i, body in enumerate(bodies[10 : 10 + PROFILE_INTAKES], start=10):
        started = time.perf_counter()
        request(i, body)
        api_times.append((time.perf_counter() - started) * 1000)
    for body in bodies[10 + PROFILE_INTAKES :]:
        started = time.perf_counter()
        direct(body)
        direct_times.append((time.perf_counter() - started) * 1000)
    profiler = cProfile.Profile()
    for i, body in enumerate(bodies[10 : 10 + PROFILE_INTAKES], start=10_000):
        profiler.enable()
        request(i, body)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    n = PROFILE_INTAKES
    total_ms = max(cum for (_, _, _, cum, _) in stats.stats.values()) * 1000 / n
    buckets = {}
    for (filename, _, func), (_, ncalls, _tottime, cumtime, _) in stats.stats.items():
        key = f"{Path(filename).name}:{func}"
        if key in PROFILED and ("fulian" in filename or key.startswith(("serializers", "transaction"))):
            label = PROFILED[key]
            prev = buckets.get(label, {"ms_per_request": 0.0, "calls_per_request": 0.0})
            buckets[label] = {
                "ms_per_request": round(prev["ms_per_request"] + cumtime * 1000 / n, 2),
                "calls_per_request": round(prev["calls_per_request"] + ncalls / n, 2),
            }
    # how long the audit chain head (one row, locked by every audited write until its transaction commits) is
    # held per intake: from the call of record() in intake_case to the commit of the request's transaction
    held: list[float] = []
    real_record = actions.record

    def timed_record(*args, **kwargs):
        started = time.perf_counter()
        event = real_record(*args, **kwargs)
        transaction.on_commit(lambda: held.append((time.perf_counter() - started) * 1000))
        return event

    with mock.patch.object(actions, "record", timed_record):
        for i, body in enumerate(bodies[10 : 10 + PROFILE_INTAKES], start=20_000):
            request(i, body)
    from django.db import reset_queries
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        request(99_999, bodies[-1])
    queries_per_request = len(captured)
    reset_queries()
    log("profile of one API intake (cumulative):\n" + "\n".join(out.getvalue().splitlines()[:70]))
    ordered = sorted(buckets.items(), key=lambda kv: list(PROFILED.values()).index(kv[0]))
    return {
        "requests": n,
        "api_in_process_ms": {
            "median": round(statistics.median(api_times), 2),
            "p95": round(percentile(api_times, 0.95), 2),
        },
        "intake_case_direct_ms": {
            "median": round(statistics.median(direct_times), 2),
            "p95": round(percentile(direct_times, 0.95), 2),
        },
        "profiled_ms_per_request": round(total_ms, 2),
        "audit_chain_head_held_ms": {
            "median": round(statistics.median(held), 2),
            "p95": round(percentile(held, 0.95), 2),
            "ceiling_intakes_per_second": round(1000 / statistics.median(held), 0),
        },
        "queries_per_request": queries_per_request,
        "where_the_time_goes": dict(ordered),
    }


def run_intake_load(city: OrgUnit, hotline) -> dict:

    # the townships and streets of the city's LAST county: the intakes stay in the database (cases cannot be
    # deleted), so they must not land in the first county, whose lists the benchmark times
    county = OrgUnit.objects.filter(parent=city, kind=Kind.COUNTY).order_by("-path").first()
    units = list(
        OrgUnit.objects.under(county)
        .filter(kind__in=(Kind.TOWNSHIP, Kind.STREET), closed_on__isnull=True)
        .order_by("path")
        .values_list("pk", flat=True)
    )
    run_id = secrets.token_hex(4)
    warmup = WARMUP if CLIENTS > 1 else 0
    data = payloads(units, warmup + INTAKES, seed=7)
    bodies = [json.dumps(b, ensure_ascii=False).encode() for b in data]
    keys = [f"bench-{run_id}-{i:05d}" for i in range(len(bodies))]
    # the first requests of each worker open its database connection and import the intake's code (up to
    # ~0.5 s): sent before the timed window, checked like the others, reported apart
    warm_bodies, warm_keys, bodies, keys = bodies[:warmup], keys[:warmup], bodies[warmup:], keys[warmup:]
    env = {**os.environ}
    token = subprocess.run(
        [str(Path(sys.executable).parent / "fulian"), "token", "create", hotline.username, "--name", "bench"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()
    port = free_port()
    since = dt.datetime.now(dt.UTC)
    keep_alive = ["--keep-alive", KEEPALIVE] if KEEPALIVE else []
    proc = start_gunicorn(port, WORKERS, "--threads", str(THREADS), *keep_alive, timeout=60)
    log(f"gunicorn ({WORKERS} workers, {THREADS} threads) on 127.0.0.1:{port}, pid {proc.pid}")
    try:
        _wait_ready(port, token, proc)
        warm = load(port, token, warm_bodies, warm_keys)[0] if warm_bodies else []
        run = Run(port, token, hotline, since, proc.pid, units, warm)
        if LOADGEN == "wrk" and CLIENTS > 1:
            figures = _wrk_load(run, run_id)
        else:
            figures = _python_load(run, bodies, keys)
        figures = {"units": {"county": county.name, "townships_and_streets": len(units)}, **figures}
    finally:
        stop_server(proc)
    return _finish(figures, units, hotline, token)


@dataclass
class Run:
    """What both load generators need: the server, the operator, the start, the warm-up's results."""

    port: int
    token: str
    hotline: object
    since: dt.datetime
    server_pid: int
    units: list[int]
    warm: list[dict]
    load_before: float = 0.0  # the 1-minute load average when the timed load starts

    def figures(self, seconds: float, requests: int, statuses: dict, latency_ms: dict, **more):
        """The figures both generators report, in the same shape."""
        return {
            "workers": WORKERS,
            "worker_class": "sync" if THREADS == 1 else f"gthread ({THREADS} threads)",
            "keep_alive": KEEPALIVE or "default",
            "clients": CLIENTS,
            **more,
            "requests": requests,
            "seconds": round(seconds, 2),
            "statuses": statuses,
            "intakes_per_second": round(statuses.get("201", 0) / seconds, 1),
            "latency_ms": {k: round(v, 1) for k, v in latency_ms.items()},
            "loadavg_1m_before_after": [round(v, 2) for v in (self.load_before, os.getloadavg()[0])],
            "warmup": {
                "requests": len(self.warm),
                "created": sum(1 for r in self.warm if r["status"] == 201),
                "max_ms": round(max((r["ms"] for r in self.warm), default=0), 1),
            },
        }


def _python_load(run: Run, bodies: list[bytes], keys: list[str]) -> dict:
    """The load from CLIENTS threads of this process (http.client), every response checked as it comes."""
    run.load_before = os.getloadavg()[0]
    with CpuDuringLoad(run.server_pid) as cpu:
        results, seconds = load(run.port, run.token, bodies, keys)
    latencies = [r["ms"] for r in results]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    figures = run.figures(
        seconds,
        len(results),
        statuses,
        {
            "median": statistics.median(latencies),
            "p95": percentile(latencies, 0.95),
            "max": max(latencies),
        },
        load_generator=f"python ({CLIENTS} threads of http.client)",
        limit={"requests": INTAKES, "seconds": SECONDS},
    )
    figures["cpu_ms_per_request"] = cpu.per_request_ms(len(results))
    log(f"intake load: {figures}")
    figures["checks"] = verify(run.warm + results, run.hotline, run.since)
    figures["replay"] = replay(run.port, run.token, results, bodies, keys)
    log(f"intake checks: {figures['checks']} replay: {figures['replay']}")
    return figures


def _wrk_load(run: Run, run_id: str) -> dict:
    """The load from wrk (``load_wrk``), checked in the database afterwards (``verify_wrk``)."""
    wrk_bodies = [
        json.dumps(b, ensure_ascii=False).encode()
        for b in payloads(run.units, int(WRK_SECONDS * WRK_BODIES_PER_SECOND), seed=8)
    ]
    run.load_before = os.getloadavg()[0]
    with CpuDuringLoad(run.server_pid) as cpu:
        out = load_wrk(run.port, run.token, wrk_bodies, run_id)
    lat = out["latency_us"]
    figures = run.figures(
        out["duration_us"] / 1e6,
        out["completed"],
        out["statuses"],
        {"median": lat["median"] / 1000, "p95": lat["p95"] / 1000, "max": lat["max"] / 1000},
        load_generator=f"wrk ({WRK_THREADS} threads, {CLIENTS} connections)",
        limit={"seconds": WRK_SECONDS},
    )
    figures["cpu_ms_per_request"] = cpu.per_request_ms(out["completed"], client_cpu_s=out["cpu_s"])
    log(f"intake load (wrk): {figures}")
    figures["checks"] = verify_wrk(out, run.hotline, run.since, run_id, run.warm)
    figures["replay"] = replay_wrk(run.port, run.token, run.hotline, run_id, wrk_bodies)
    log(f"intake checks: {figures['checks']} replay: {figures['replay']}")
    return figures


def _finish(figures: dict, units: list[int], hotline, token: str) -> dict:
    from fulian.accounts.models import ApiToken

    # the machine's speed right after the load (not during it): on shared cores it moved 2x between runs minutes
    # apart (docs/performance.md "Intake throughput (session 10)"), so it tells a slow minute from slow code, but
    # the CPU per intake divided by it is not a stable figure
    figures["machine"] = {"reference_cpu_ms": reference_cpu_ms()}

    figures["goals"] = {
        f">= {THROUGHPUT_GOAL:.0f} intakes/s": figures["intakes_per_second"] >= THROUGHPUT_GOAL,
        f"p95 < {P95_GOAL_MS:.0f} ms": figures["latency_ms"]["p95"] < P95_GOAL_MS,
    }
    if not all(figures["goals"].values()) and PROFILE_INTAKES:
        figures["profile"] = profile_intake(units, hotline, token)
    ApiToken.objects.filter(user=hotline, name="bench").update(revoked=True)  # bench tokens are single-use
    return figures


def reference_cpu_ms() -> float:
    """Same-run baseline of the machine's speed: the CPU time (best of 5) of a fixed piece of Python — JSON,
    SHA-256, dict and string work, roughly the mix of a request. Machines of the same kind differ by 2x from one
    session to the next, and shared cores from one minute to the next: this tells which one a run had."""
    import hashlib

    doc = {"name": "张三", "phone": "13800000000", "items": list(range(50)), "text": "家庭矛盾" * 20}
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for i in range(3000):
            doc["n"] = i
            raw = json.dumps(doc, ensure_ascii=False)
            hashlib.sha256(raw.encode()).hexdigest()
            json.loads(raw)
            "".join(f"{k}={v}" for k, v in doc.items() if k != "items")
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def raw_insert_rate(seconds: float = 3.0) -> float:
    """Same-run baseline of the machine: single-row INSERT … COMMIT transactions per second from one client (a
    temporary table; nothing of ours), to quote the intake rate as a ratio of what the database does bare."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS bench_raw_insert (id serial primary key, v text)"
        )
    n = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_raw_insert (v) VALUES (%s)", ["x" * 100])
        n += 1
    return round(n / (time.perf_counter() - started), 1)


def cpu_per_intake(units: list[int], token: str, n: int = 300) -> dict:
    """CPU, not wall time, per API intake — robust to other jobs on the machine, which a throughput figure is
    not: ``n`` requests through Django's test client in this process (Python: ``time.process_time``) against
    PostgreSQL on this host (the backend's own CPU from /proc/<pid>/stat), and the queries of one request.
    2 cores / (Python + PostgreSQL CPU) is the throughput the work itself allows on this machine."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    bodies = payloads(units, n + 20, seed=secrets.randbits(32))
    prefix = secrets.token_hex(4)

    def request(i: int) -> None:
        intake_via_test_client(client, bodies[i], f"cpu-{prefix}-{i}")

    for i in range(10):
        request(i)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    py0, pg0, wall0 = time.process_time(), _proc_cpu_seconds(backend), time.perf_counter()
    for i in range(10, 10 + n):
        request(i)
    py, pg = time.process_time() - py0, _proc_cpu_seconds(backend) - pg0
    wall = time.perf_counter() - wall0
    with CaptureQueriesContext(connection) as captured:
        request(10 + n)
    return {
        "requests": n,
        "python_cpu_ms": round(py * 1000 / n, 2),
        "postgresql_cpu_ms": round(pg * 1000 / n, 2),
        "wall_ms": round(wall * 1000 / n, 2),
        "queries": len(captured),
        "two_core_ceiling_per_second": round(2 / ((py + pg) / n), 0),
    }


def audit_ceiling(threads: int = 8, seconds: float = 4.0, hold_ms: float = 5.0) -> dict:
    """What the audit chain lets through when CPU is not the limit: ``threads`` connections each run
    transactions that write one audit event and then keep the transaction open ``hold_ms`` (sleeping: the work an
    action does after ``record()`` — response, idempotency row, commit — without using CPU). Once with every
    event in one lane (no unit: one global chain, as before lanes), once with each thread's events in a unit of
    its own (their own lanes). Transactions per second for each; the events are real and verified after."""
    from django.db import connections

    from fulian.audit.actions import Where, lane_for, record
    from fulian.audit.verify import verify_chain

    # units whose lanes differ, one per thread (as many as there are lanes other than 0)
    units, seen = [], set()
    for unit_id in range(1, 10_000):
        lane = lane_for(unit_id)
        if lane not in seen:
            seen.add(lane)
            units.append(unit_id)
        if len(units) == threads:
            break

    def run(spread: bool) -> float:
        done = [0] * threads
        deadline = time.perf_counter() + seconds

        def worker(i: int) -> None:
            where = Where(unit_id=units[i % len(units)], path="bench") if spread else Where()
            while time.perf_counter() < deadline:
                with transaction.atomic():
                    record(None, "bench.audit_ceiling", where=where, detail={"i": i})
                    time.sleep(hold_ms / 1000)
                done[i] += 1
            connections.close_all()

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        started = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return round(sum(done) / (time.perf_counter() - started), 1)

    one_lane = run(spread=False)
    lanes = run(spread=True)
    return {
        "threads": threads,
        "hold_ms_after_record": hold_ms,
        "one_chain_tx_per_second": one_lane,
        "lanes_tx_per_second": lanes,
        "lanes_used": len(units),
        "verified": verify_chain().ok,
    }


def _prepared() -> bool:
    """Whether FULIAN_DB_PREPARED_STATEMENTS is on (server-side binding + prepared statements; gunicorn inherits
    the environment)."""
    return bool(settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold"))


def main() -> None:
    """Only the intake load against a small city (``python bench/_intake_load.py`` with FULIAN_DATABASE_URL set to
    a PostgreSQL database; BENCH_FACTOR, default 0.2, sizes the city). Also measures two same-run baselines: one
    client (N=1) through the same gunicorn, and the raw INSERT rate. Prints one JSON document on stdout."""
    global CLIENTS, INTAKES, PROFILE_INTAKES
    from _measure_cases import bench_user
    from django.core.management import call_command

    from fulian.accounts.roles import Role
    from fulian.demo.bulk import CITY_ROOT_CODE, build_city

    call_command("migrate", verbosity=0, interactive=False)
    city = OrgUnit.objects.filter(code=CITY_ROOT_CODE).first()
    if city is None:
        log("building a small city…")
        build_city(seed=1, factor=float(os.environ.get("BENCH_FACTOR", "0.2")))
        city = OrgUnit.objects.get(code=CITY_ROOT_CODE)
    hotline = bench_user("bench_city_hotline", city, Role.HOTLINE)
    if "--cpu" in sys.argv:  # only the CPU per intake (and the audit ceiling with BENCH_AUDIT_CEILING=1)
        county = OrgUnit.objects.filter(parent=city, kind=Kind.COUNTY).order_by("-path").first()
        units = list(
            OrgUnit.objects.under(county)
            .filter(kind__in=(Kind.TOWNSHIP, Kind.STREET), closed_on__isnull=True)
            .values_list("pk", flat=True)
        )
        token = subprocess.run(
            [
                str(Path(sys.executable).parent / "fulian"),
                "token",
                "create",
                hotline.username,
                "--name",
                "cpu",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout.strip()
        document = {"cpu_per_intake": cpu_per_intake(units, token), "prepared_statements": _prepared()}
        if os.environ.get("BENCH_AUDIT_CEILING", "0") != "0":
            document["audit_ceiling"] = audit_ceiling()
        json.dump(document, sys.stdout, ensure_ascii=False, indent=1)
        return
    document: dict = {
        "raw_insert_per_second_1_client": raw_insert_rate(),
        "prepared_statements": _prepared(),
    }
    clients, intakes, profiled = CLIENTS, INTAKES, PROFILE_INTAKES
    if os.environ.get("BENCH_BASELINE_N1", "1") != "0":
        CLIENTS, INTAKES, PROFILE_INTAKES = 1, min(INTAKES, 300), 0
        document["one_client"] = run_intake_load(city, hotline)
        CLIENTS, INTAKES, PROFILE_INTAKES = clients, intakes, profiled
    document["intake"] = run_intake_load(city, hotline)
    document["cases_in_database"] = Case.objects.count()
    if os.environ.get("BENCH_AUDIT_CEILING", "0") != "0":
        document["audit_ceiling"] = audit_ceiling()
    json.dump(document, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
