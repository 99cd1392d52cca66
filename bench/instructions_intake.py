"""Instructions per API intake in the Python process, counted by valgrind's callgrind: a figure of our code's cost
that does not move with the machine (docs/performance.md "Intake throughput (session 10)").

    FULIAN_DATABASE_URL=postgresql://…/<a database built by bench/_intake_load.py> \\
        .venv/bin/python bench/instructions_intake.py [n]

Re-runs itself under ``valgrind --tool=callgrind --instr-atstart=no``, sends 10 warm-up intakes through Django's
test client (the hotline operator of the benchmark city, bodies from a fixed seed), switches the counting on
(``callgrind_control -i on``) for the next ``n`` (default 30) intakes only, and prints one JSON document: the
instructions per intake. Two runs of the same code differ by < 0.1 %; the CPU time of the same intakes moved 2x
between sessions' machines and ±15 % between minutes on one. Only the Python side (Django, DRF, the action, psycopg
and its C parts, encryption): PostgreSQL's backend runs outside valgrind. ~30 s for 30 intakes."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

N = int(sys.argv[1]) if len(sys.argv) > 1 else 30
MARK = "FULIAN_UNDER_CALLGRIND"
WARMUP = 10
SEED = 12345


def outer() -> None:
    if not shutil.which("valgrind"):
        sys.exit("valgrind 未安装 (apt-get install valgrind): the instructions cannot be counted")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={tmp}/callgrind.out",
                sys.executable,
                __file__,
                str(N),
            ],
            env={**os.environ, MARK: "1"},
            capture_output=True,
            text=True,
            timeout=1800,
        )
    if proc.returncode != 0:
        sys.exit(f"the counted run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if not found:
        sys.exit(f"valgrind printed no count:\n{proc.stderr[-2000:]}")
    total = int(found.group(1))
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    json.dump(
        {
            "intakes_counted": N,
            "warmup": WARMUP,
            "python_instructions_per_intake": round(total / N),
            "python_instructions_total": total,
            "tool": f"{version} --tool=callgrind",
            "python": sys.version.split()[0],
        },
        sys.stdout,
        indent=1,
    )
    print()


def inner() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulian.settings")
    import django

    django.setup()
    from _intake_load import intake_via_test_client, payloads
    from django.test import Client

    from fulian.accounts.actions import create_token
    from fulian.accounts.models import User
    from fulian.accounts.roles import Role
    from fulian.orgs.models import Kind, OrgUnit

    hotline = User.objects.filter(memberships__role=Role.HOTLINE).order_by("pk").first()
    if hotline is None:
        sys.exit("no hotline operator: build the city first (bench/_intake_load.py)")
    county = OrgUnit.objects.filter(kind=Kind.COUNTY).order_by("-path").first()
    units = list(
        OrgUnit.objects.filter(parent=county, kind__in=[Kind.TOWNSHIP, Kind.STREET])
        .order_by("path")
        .values_list("pk", flat=True)
    )
    bodies = payloads(units, WARMUP + N, seed=SEED)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(None, hotline)}")
    run = secrets.token_hex(4)

    def intake(i: int) -> None:
        intake_via_test_client(client, bodies[i], f"ir-{run}-{i}")

    for i in range(WARMUP):
        intake(i)
    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    for i in range(WARMUP, WARMUP + N):
        intake(i)
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)


if __name__ == "__main__":
    inner() if os.environ.get(MARK) else outer()
