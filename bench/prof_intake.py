"""Where one API intake's CPU goes: ``python bench/prof_intake.py [n]`` with FULIAN_DATABASE_URL on the benchmark
database (a city built by ``bench/_intake_load.py``). Sends ``n`` (default 180) intakes of the hotline operator
through Django's test client: prints the CPU per intake (``process_time``), the SQL of one request, and a cProfile
on the CPU clock (not wall time: other jobs on the machine would inflate the waits) by own time and by cumulative
time of this project's functions."""

import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulian.settings")
import django  # noqa: E402
from django.conf import settings  # noqa: E402

if os.environ.get("BENCH_PG_OPTIONS"):  # e.g. '{"server_side_binding": true, "prepare_threshold": 1}'
    settings.DATABASES["default"].setdefault("OPTIONS", {}).update(json.loads(os.environ["BENCH_PG_OPTIONS"]))
django.setup()
import _intake_load as L  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from fulian.accounts.actions import create_token  # noqa: E402
from fulian.accounts.models import User  # noqa: E402
from fulian.orgs.models import Kind, OrgUnit  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 180
hot = User.objects.filter(memberships__role="hotline").first()
token = create_token(None, hot)
county = OrgUnit.objects.filter(kind=Kind.COUNTY).order_by("-path").first()
units = list(
    OrgUnit.objects.filter(parent=county, kind__in=[Kind.TOWNSHIP, Kind.STREET]).values_list("pk", flat=True)
)
bodies = L.payloads(units, 2 * N + 30, seed=secrets.randbits(32))
client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
prefix = secrets.token_hex(4)


def request(i):
    L.intake_via_test_client(client, bodies[i], f"p-{prefix}-{i}")


for i in range(20):
    request(i)
with CaptureQueriesContext(connection) as captured:
    request(20)
print(f"queries of one request: {len(captured)}")
for q in captured:
    print("  ", q["sql"][:160])
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
t, pg = time.process_time(), L._proc_cpu_seconds(backend)
for i in range(30, 30 + N):
    request(i)
py_ms = (time.process_time() - t) * 1000 / N
pg_ms = (L._proc_cpu_seconds(backend) - pg) * 1000 / N
print(f"cpu ms/intake: python {py_ms:.2f}, postgresql {pg_ms:.2f}")
if os.environ.get("PROF_CPU_ONLY"):
    sys.exit(0)
p = cProfile.Profile(time.process_time)
p.enable()
for i in range(30 + N, 30 + 2 * N):
    request(i)
p.disable()
s = io.StringIO()
st = pstats.Stats(p, stream=s)
st.sort_stats("tottime").print_stats(25)
st.sort_stats("cumulative").print_stats(
    "fulian|rest_framework/(views|request|serializers)|django/(core/handlers|db/models/(query|sql/compiler))",
    45,
)
print(s.getvalue())
if os.environ.get("PROF_OUT"):
    p.dump_stats(os.environ["PROF_OUT"])
