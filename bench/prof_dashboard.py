"""Where one dashboard request's time goes: ``python bench/prof_dashboard.py LEVEL [n]`` with FULIAN_DATABASE_URL on
the reports benchmark database (``fulian_bench_province``, built by ``bench/run.py --suite reports``). LEVEL is
province, city, county, township or village (the units and leaders of ``bench/_measure_reports.py``). Prints the
statements of one request with their time, the CPU (``process_time``) and wall time per request of the page
through Django's test client and of ``dashboard_data`` alone, and a cProfile on the CPU clock."""

import cProfile
import io
import os
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulian.settings")
os.environ.setdefault("BENCH_SCALE", "province")
import django  # noqa: E402

django.setup()
import _measure_reports as M  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from fulian.orgs.models import OrgUnit  # noqa: E402
from fulian.reports.views import dashboard_data  # noqa: E402

LEVEL = sys.argv[1] if len(sys.argv) > 1 else "county"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 30
root = OrgUnit.objects.get(code=M.SHAPES[M.SCALES[M.SCALE].shape].root_code)
unit = M.pick_units(root)[LEVEL]
user = M.leader(LEVEL, unit)
client = Client()
client.force_login(user)
url = f"/reports/units/{unit.pk}/?year={M.YEAR}"
today = timezone.localdate()


def page():
    r = client.get(url)
    assert r.status_code == 200, r.status_code


def data():
    dashboard_data(user, unit, M.YEAR, today)


for _ in range(3):
    page()
with CaptureQueriesContext(connection) as ctx:
    page()
print(f"{LEVEL}: {unit.name}, {len(ctx.captured_queries)} statements")
for q in ctx.captured_queries:
    print(f"  {float(q['time']) * 1000:7.2f} ms  {q['sql'][:220]}")
for name, fn in (("page", page), ("dashboard_data", data)):
    cpu, wall = [], []
    for _ in range(N):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    print(f"{name}: CPU median {statistics.median(cpu):.1f} ms, wall median {statistics.median(wall):.1f} ms")
prof = cProfile.Profile(time.process_time)
prof.enable()
for _ in range(N):
    page()
prof.disable()
out = io.StringIO()
stats = pstats.Stats(prof, stream=out)
stats.sort_stats("tottime").print_stats(25)
stats.sort_stats("cumulative").print_stats("fulian", 45)
print(out.getvalue())
