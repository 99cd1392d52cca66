"""Three years of work ledger for the benchmark city (fulian.demo.bulk): about 1,000,000 records.

Like the city itself this bypasses the per-row actions: rows are generated month by month (so the table is
physically in date order, as a real ledger fills up) and written with COPY on PostgreSQL (psycopg's
``cursor.copy``) or ``executemany`` on SQLite, ids assigned here so the brand-tag links can be written in the
same pass; then the monthly totals the actions would have kept (``LedgerMonthTotal``) are computed from the
records in one ``INSERT … SELECT … GROUP BY org_unit_id, month`` (timed: ``month_totals_seconds``); one audit
event records the load. Deterministic for a given seed, factor and period (the three calendar years before
county.REFERENCE_DAY, so nothing is in the future).

Rates per unit and year (before ``factor``): an established village or community ~72 records (mostly
activities, then services, trainings and the odd 来料加工点), a township or street ~150, a county ~260, the
city ~300, a committee ~20; March (三八节), January (春节慰问), June (六一) and October (重阳) are busier.
"""

from __future__ import annotations

import datetime as dt
import random
import time

from django.db import connection, transaction
from django.utils import timezone

from fulian.audit.actions import Where, record
from fulian.ledger import totals
from fulian.ledger.models import BrandTag, LedgerBranchMonth, LedgerMonthTotal, LedgerRecord, RecordKind
from fulian.orgs.models import Kind, OrgUnit

from .bulk import CITY_ROOT_CODE, analyze, copy_rows
from .county import REFERENCE_DAY
from .ledger import ACTIVITIES, FUND_SOURCES, TRAININGS, WORKPOINT_PRODUCTS

YEARS = 3
TAG_SHARE = 0.3  # records carrying one brand tag

COLUMNS = (
    "id",
    "org_unit_id",
    "kind",
    "category",
    "title",
    "date",
    "location",
    "sessions",
    "participants",
    "person_times",
    "beneficiaries",
    "recommended_jobs",
    "employed",
    "employers",
    "jobs_offered",
    "job_seekers",
    "agreements",
    "workers",
    "avg_income",
    "products",
    "amount",
    "fund_source",
    "partner",
    "description",
    "created_at",
    "updated_at",
    "version",
)

VILLAGE_KINDS = (Kind.VILLAGE, Kind.COMMUNITY)
TOWN_KINDS = (Kind.TOWNSHIP, Kind.STREET)
COMMITTEE_KINDS = (Kind.AGENCY, Kind.ENTERPRISE, Kind.NEW_ORG)

# unit kind -> (records a year, cumulative kind mix)
_MIX = {
    "village": (72, [(RecordKind.ACTIVITY, 0.62), (RecordKind.SERVICE, 0.22), (RecordKind.TRAINING, 0.12)]),
    "town": (
        150,
        [
            (RecordKind.ACTIVITY, 0.45),
            (RecordKind.TRAINING, 0.30),
            (RecordKind.SERVICE, 0.17),
            (RecordKind.JOB_FAIR, 0.05),
        ],
    ),
    "county": (
        260,
        [
            (RecordKind.ACTIVITY, 0.35),
            (RecordKind.TRAINING, 0.30),
            (RecordKind.SERVICE, 0.20),
            (RecordKind.JOB_FAIR, 0.15),
        ],
    ),
    "committee": (20, [(RecordKind.ACTIVITY, 0.60), (RecordKind.TRAINING, 0.25), (RecordKind.SERVICE, 0.15)]),
}
# the rest of each mix (up to 1.0) is 来料加工点
MONTH_WEIGHT = {
    1: 1.4,
    2: 0.6,
    3: 1.8,
    4: 1.0,
    5: 1.0,
    6: 1.3,
    7: 0.8,
    8: 0.7,
    9: 1.0,
    10: 1.2,
    11: 0.9,
    12: 0.8,
}
_MONTH_NORM = 12 / sum(MONTH_WEIGHT.values())

TRAINING_CHOICES = [
    (category, title, partner)
    for category, (titles, partners, _) in TRAININGS.items()
    for title in titles
    for partner in partners[:1]
]
ACTIVITY_CHOICES = [(category, title) for category, (titles, _) in ACTIVITIES.items() for title in titles] + [
    ("慰问", "“六一”关爱留守儿童慰问"),
    ("慰问", "重阳节敬老慰问"),
]
SERVICE_CHOICES = [
    ("帮扶", "走访慰问困难妇女"),
    ("帮扶", "“两癌”患病妇女救助"),
    ("咨询", "婚姻家庭纠纷咨询调解"),
    ("咨询", "“贷免扶补”政策咨询"),
    ("讲座", "妇女心理健康讲座"),
]


def _profile(unit: OrgUnit) -> str | None:
    if unit.kind in VILLAGE_KINDS:
        return "village" if unit.established else None
    if unit.kind in TOWN_KINDS:
        return "town"
    if unit.kind in (Kind.COUNTY, Kind.CITY, Kind.PROVINCE):
        return "county"
    return "committee" if unit.established else None


class LedgerAlreadyBuilt(Exception):
    pass


def _period(years: int) -> tuple[dt.date, dt.date]:
    end = REFERENCE_DAY - dt.timedelta(days=1)
    return dt.date(end.year - years + 1, 1, 1), end


def _months(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        yield day, (min(nxt, end + dt.timedelta(days=1)) - day).days
        day = nxt


def _rows(
    rng: random.Random, units: list[tuple[int, str]], start, end, first_id, factor, tag_ids, links, now
):
    """Rows in COLUMNS order, month by month; appends (record id, tag id) pairs to ``links``."""
    rand = rng.random
    next_id = first_id
    for month_start, days in _months(start, end):
        weight = MONTH_WEIGHT[month_start.month] * _MONTH_NORM * factor / 12
        for unit_id, profile in units:
            per_year, mix = _MIX[profile]
            expected = per_year * weight
            count = int(expected) + (1 if rand() < expected - int(expected) else 0)
            for _ in range(count):
                day = month_start + dt.timedelta(days=int(rand() * days))
                r = rand()
                kind = RecordKind.WORKPOINT
                for k, share in mix:
                    if r < share:
                        kind = k
                        break
                    r -= share
                sessions = participants = person_times = beneficiaries = recommended = employed = 0
                employers = jobs = seekers = agreements = workers = 0
                avg_income = amount = 0
                products = fund_source = partner = ""
                if kind == RecordKind.TRAINING:
                    category, title, partner = TRAINING_CHOICES[int(rand() * len(TRAINING_CHOICES))]
                    sessions = 1 + int(rand() * rand() * 3)
                    participants = 12 + int(rand() * 40)
                    person_times = participants * sessions
                    if category in ("职业技能", "创业就业"):
                        recommended = int(participants * (0.3 + rand() * 0.3))
                        employed = int(recommended * (0.4 + rand() * 0.4))
                elif kind == RecordKind.ACTIVITY:
                    category, title = ACTIVITY_CHOICES[int(rand() * len(ACTIVITY_CHOICES))]
                    participants = 10 + int(rand() * 80)
                    beneficiaries = int(rand() * 60) if category in ("慰问", "宣传", "志愿服务") else 0
                elif kind == RecordKind.SERVICE:
                    category, title = SERVICE_CHOICES[int(rand() * len(SERVICE_CHOICES))]
                    beneficiaries = 1 + int(rand() * 40)
                    if category == "帮扶":
                        amount = beneficiaries * (100 + int(rand() * 5) * 100)
                        fund_source = FUND_SOURCES[int(rand() * len(FUND_SOURCES))]
                elif kind == RecordKind.JOB_FAIR:
                    category, title = (
                        ("招聘会", "巾帼专场招聘会") if rand() < 0.6 else ("洽谈会", "家门口就业洽谈会")
                    )
                    employers = 8 + int(rand() * 60)
                    jobs = employers * (8 + int(rand() * 20))
                    seekers = 80 + int(rand() * 1500)
                    agreements = int(seekers * (0.1 + rand() * 0.2))
                else:
                    category, title = "来料加工", "来料加工点"
                    products = WORKPOINT_PRODUCTS[int(rand() * len(WORKPOINT_PRODUCTS))]
                    workers = 8 + int(rand() * 50)
                    avg_income = (8 + int(rand() * 22)) * 100
                if rand() < TAG_SHARE:
                    links.append((next_id, tag_ids[int(rand() * len(tag_ids))]))
                yield (
                    next_id,
                    unit_id,
                    kind,
                    category,
                    title,
                    day,
                    "",
                    sessions,
                    participants,
                    person_times,
                    beneficiaries,
                    recommended,
                    employed,
                    employers,
                    jobs,
                    seekers,
                    agreements,
                    workers,
                    avg_income,
                    products,
                    amount,
                    fund_source,
                    partner,
                    "",
                    now,
                    now,
                    1,
                )
                next_id += 1


def build_city_ledger(seed: int = 1, factor: float = 1.0, years: int = YEARS) -> dict:
    """Fill the benchmark city with ``years`` of ledger records (``factor`` scales the rates)."""
    return build_ledger(CITY_ROOT_CODE, seed=seed, factor=factor, years=years)


@transaction.atomic
def build_ledger(root_code: str, seed: int = 1, factor: float = 1.0, years: int = YEARS) -> dict:
    """Fill the bulk-built tree whose root has ``root_code`` with ``years`` of ledger records (``factor``
    scales the rates). The figures say how long the records and the monthly totals took."""
    started = time.perf_counter()
    city = OrgUnit.objects.get(code=root_code)
    if LedgerRecord.objects.under(city).exists():
        raise LedgerAlreadyBuilt(f"{city.name}的工作台账已存在,未重复生成。")
    rng = random.Random(seed)
    units = [
        (pk, profile)
        for pk, kind, established in OrgUnit.objects.under(city)
        .order_by("path")
        .values_list("pk", "kind", "established")
        if (profile := _profile(OrgUnit(kind=kind, established=established))) is not None
    ]
    tag_ids = list(BrandTag.objects.order_by("sort_order", "pk").values_list("pk", flat=True))
    start, end = _period(years)
    first_id = (LedgerRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    links: list[tuple[int, int]] = []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = connection.ops.quote_name(LedgerRecord._meta.db_table)
    records = copy_rows(table, COLUMNS, _rows(rng, units, start, end, first_id, factor, tag_ids, links, now))
    through = LedgerRecord.tags.through
    copy_rows(
        connection.ops.quote_name(through._meta.db_table),
        ("ledgerrecord_id", "brandtag_id"),
        iter(links),
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (LedgerRecord, through):
                name = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))"  # noqa: S608
                )
    analyze(LedgerRecord, through)
    totals_started = time.perf_counter()
    month_rows = totals.rebuild_units(city, include_subtree=True)  # the bypassed actions' monthly upserts
    branch_rows = totals.rebuild_branches(from_records=False)  # and the ancestors' rows
    analyze(LedgerMonthTotal, LedgerBranchMonth)
    totals_seconds = round(time.perf_counter() - totals_started, 2)
    figures = {
        "backend": connection.vendor,
        "seed": seed,
        "factor": factor,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "units_recording": len(units),
        "records": records,
        "tag_links": len(links),
        "month_total_rows": month_rows,
        "branch_month_rows": branch_rows,
        "month_totals_seconds": totals_seconds,
        "seconds": round(time.perf_counter() - started, 2),
    }
    figures["records_seconds"] = round(totals_started - started, 2)
    action = "demo.city.ledger_bulk_build" if root_code == CITY_ROOT_CODE else "demo.tree.ledger_bulk_build"
    record(None, action, obj=city, where=Where.of(city), detail=figures)
    return figures
