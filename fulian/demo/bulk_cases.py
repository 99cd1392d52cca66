"""Three years of rights-protection cases (维权) for the benchmark city (fulian.demo.bulk): about 300,000 cases.

Like the city and its ledger this bypasses the per-row actions, but every stored value is what the app would have
stored: the identifying fields of the parties and the free texts of the cases are encrypted by the model fields
themselves (``EncryptedTextField.get_prep_value``: AES-GCM envelopes under the current data key and the column's
purpose) and the blind indexes are computed by ``BlindIndexField``'s own purpose and kind, so a repeat-caller
lookup (``queries.earlier_cases``) finds bulk-built parties; deadlines come from ``fulian.cases.triage`` with the
holiday calendar; case numbers ``WQ-<unit code>-<year>-000123`` are given per registering unit and year in the
order of registration, and the ``CaseCounter`` rows are set to the last one, so an intake afterwards continues
the sequence without a gap (``fulian/demo/tests/test_bulk_cases.py``).

Rows are generated month by month in time order (ids assigned here, so parties and the intake timeline entry
are written in the same pass) and written with COPY on PostgreSQL (psycopg's ``cursor.copy``) or
``executemany`` in batches on SQLite (``bulk.copy_rows``); then the id sequences are reset and the tables
``ANALYZE``d; one audit event records the load. Deterministic for a given seed, factor and period.

The period ends on ``END_DAY`` (fixed, so the data set is deterministic, and late enough that the last weeks'
cases are still open and some are overdue on any later day). Rates per unit and year before ``factor``: a county
(its 12338 hotline and walk-in visits) ~2,700, the city ~1,000, a township or street ~220, an established
village or community ~4; committees none. A third of the county's cases are handled by one of its townships
(分派), a tenth of a township's by one of its villages.

Not generated: referrals, transfers, mediation and other timeline steps after the intake, case views, users
(``created_by`` and ``assignee`` stay empty, as for a switchboard push).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from fulian.audit.actions import Where, record
from fulian.cases import triage
from fulian.cases.actions import calendar_between, unit_number_code
from fulian.cases.models import (
    Case,
    CaseCategory,
    CaseCounter,
    Channel,
    EntryKind,
    Party,
    State,
    TimelineEntry,
)
from fulian.lib.idcard import check_char
from fulian.lib.sensitive import get_keyring
from fulian.orgs.models import Kind, OrgUnit

from . import names
from .bulk import CITY_DIVISION, CITY_ROOT_CODE, analyze, copy_rows

END_DAY = dt.date(2026, 10, 31)
YEARS = 3

# unit profile -> cases registered a year
RATES = {"city": 1000, "county": 2700, "town": 220, "village": 4}
ASSIGN_DOWN = {"county": 0.33, "town": 0.10}

CHANNEL_MIX = [
    (Channel.HOTLINE, 0.45),
    (Channel.VISIT, 0.25),
    (Channel.ONLINE, 0.12),
    (Channel.TRANSFER, 0.08),
    (Channel.LETTER, 0.05),
    (Channel.OUTREACH, 0.05),
]
# (category code, sub-category code or None, share)
CATEGORY_MIX = [
    ("marriage_family", "domestic_violence", 0.20),
    ("marriage_family", "divorce", 0.16),
    ("marriage_family", "child_support", 0.06),
    ("marriage_family", "elder_support", 0.05),
    ("marriage_family", "family_property", 0.06),
    ("marriage_family", "marriage_other", 0.04),
    ("personal_rights", "bodily_harm", 0.03),
    ("personal_rights", "privacy_reputation", 0.03),
    ("personal_rights", "personal_other", 0.02),
    ("land_collective", "married_out_women", 0.05),
    ("land_collective", "land_contract", 0.04),
    ("land_collective", "collective_income", 0.02),
    ("labour_social", "employment_discrimination", 0.02),
    ("labour_social", "maternity", 0.03),
    ("labour_social", "wages_insurance", 0.05),
    ("sexual_harassment", None, 0.03),
    ("trafficking", None, 0.003),
    ("other", None, 0.107),
]
# open states of a case still being worked on, with their shares
OPEN_MIX = [
    (State.REGISTERED, 0.25),
    (State.ACCEPTED, 0.20),
    (State.ASSIGNED, 0.20),
    (State.IN_PROGRESS, 0.28),
    (State.CLOSURE_REQUESTED, 0.05),
    (State.REVIEW, 0.02),
]

ACCOUNTS = {
    "domestic_violence": "丈夫{}酒后对她动手,{}。她不敢回家,担心孩子的安全。",
    "divorce": "双方感情破裂,男方不同意离婚,{},{}。",
    "child_support": "离婚后男方{}不支付孩子抚养费,{}。",
    "elder_support": "子女{}不履行赡养义务,{}。",
    "family_property": "夫妻共同财产被男方{}转移,{}。",
    "married_out_women": "出嫁后户口未迁出,村里{}不再分配集体收益,{}。",
    "bodily_harm": "被邻居{}打伤,{}。",
    "maternity": "怀孕后被单位{}调岗降薪,{}。",
    "wages_insurance": "单位{}拖欠工资、未缴社保,{}。",
    "sexual_harassment": "被同事{}多次言语和肢体骚扰,{}。",
}
ACCOUNT_DEFAULT = "来电反映{}遇到的问题,{}。"
WHEN = ["近一个月来", "多次", "去年起", "最近", "长期", "春节后"]
TAILS = ["希望妇联帮助协调", "已向村委会反映未果", "想咨询法律途径", "情绪低落,需要心理疏导", "请求尽快处理"]
REQUESTS = ["希望妇联帮助调解", "请求法律援助", "希望帮助申请人身安全保护令", "咨询相关政策", "请求协调解决"]
OUTCOMES = [
    "经调解双方达成协议。",
    "已转介法律援助中心,当事人已获代理。",
    "已协调村委会解决。",
    "已解答咨询,当事人表示满意。",
]
RELATIONS_CALLER = ["母亲", "邻居", "朋友", "女儿", "姐妹", "村妇联主席"]
RELATIONS_PERP = ["丈夫", "前夫", "男友", "公公", "儿子"]
VIOLENT = {"domestic_violence", "bodily_harm"}

CASE_COLUMNS = (
    "id",
    "number",
    "registered_unit_id",
    "year",
    "sequence",
    "org_unit_id",
    "assignee_id",
    "channel",
    "category_id",
    "subcategory_id",
    "state",
    "risk",
    "risk_suggested",
    "risk_checklist",
    "involves_minor",
    "involves_disability",
    "lacks_capacity",
    "consent_store",
    "consent_refer",
    "consent_contact",
    "account",
    "request",
    "mandatory_report_required",
    "mandatory_report",
    "first_contact_due",
    "first_contact_at",
    "handling_due",
    "paused_since",
    "escalated_at",
    "family_tag",
    "next_visit_due",
    "tracking_code",
    "tracking_pin_hash",
    "public_reply",
    "merged_into_id",
    "outcome",
    "closed_at",
    "satisfaction",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
)
PARTY_COLUMNS = (
    "id",
    "case_id",
    "role",
    "anonymous",
    "name",
    "phone",
    "phone_index",
    "id_number",
    "id_index",
    "address",
    "gender",
    "age_group",
    "relation",
    "has_disability",
    "safe_phone",
    "safe_time",
    "may_leave_message",
)
ENTRY_COLUMNS = ("id", "case_id", "created_at", "actor_id", "kind", "occurred_on", "text", "data")


class CasesAlreadyBuilt(Exception):
    pass


def _check_columns() -> None:
    """The generator writes every column of the three tables: fail loudly when a model gains one."""
    for model, columns in ((Case, CASE_COLUMNS), (Party, PARTY_COLUMNS), (TimelineEntry, ENTRY_COLUMNS)):
        actual = {f.column for f in model._meta.concrete_fields}
        if actual != set(columns):
            raise RuntimeError(f"{model.__name__}: columns changed: {sorted(actual ^ set(columns))}")


def _period(years: int, end: dt.date) -> tuple[dt.date, dt.date]:
    return dt.date(end.year - years, end.month, end.day) + dt.timedelta(days=1), end


def _pick(rng: random.Random, mix):
    r = rng.random()
    for value, share in mix:
        if r < share:
            return value
        r -= share
    return mix[-1][0]


class _Crypto:
    """The model fields' own encryption and blind indexes (purpose and kind read from the fields)."""

    def __init__(self):
        self.case = {f: Case._meta.get_field(f) for f in ("account", "request", "outcome")}
        self.party = {
            f: Party._meta.get_field(f) for f in ("name", "phone", "id_number", "address", "safe_phone")
        }
        self.index = {f: Party._meta.get_field(f) for f in ("phone_index", "id_index")}
        self.values = 0

    def enc(self, field, value: str) -> str:
        if not value:
            return ""
        self.values += 1
        return field.get_prep_value(value)

    def idx(self, name: str, value: str) -> str | None:
        if not value:
            return None
        purpose, kind = self.index[name].settings_for_lookup()
        return get_keyring().blind_index(value, purpose, kind=kind)


def _id_number(rng: random.Random, birth: dt.date) -> str:
    region = CITY_DIVISION + f"{rng.randrange(1, 30):02d}"
    seq = rng.randrange(0, 500) * 2  # an even 17th digit: a woman
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def _age_group(age: int) -> str:
    return "child" if age < 18 else "young" if age <= 35 else "middle" if age < 60 else "senior"


def build_city_cases(seed: int = 1, factor: float = 1.0, years: int = YEARS, end: dt.date = END_DAY) -> dict:
    """Fill the benchmark city with ``years`` of cases up to ``end`` (``factor`` scales the rates)."""
    return build_cases(CITY_ROOT_CODE, seed=seed, factor=factor, years=years, end=end)


@transaction.atomic
def build_cases(
    root_code: str, seed: int = 1, factor: float = 1.0, years: int = YEARS, end: dt.date = END_DAY
) -> dict:
    """Fill the bulk-built tree whose root has ``root_code`` with ``years`` of cases up to ``end``."""
    _check_columns()
    started = time.perf_counter()
    city = OrgUnit.objects.get(code=root_code)
    if Case.objects.under(city).exists():
        raise CasesAlreadyBuilt(f"{city.name}的维权案件已存在,未重复生成。")
    rng = random.Random(seed)
    rand = rng.random
    tz = timezone.get_current_timezone()
    start, end = _period(years, end)
    calendar = calendar_between(start, end + dt.timedelta(days=60))
    ops = connection.ops
    adt = ops.adapt_datetimefield_value
    add = ops.adapt_datefield_value
    crypto = _Crypto()

    units = list(
        OrgUnit.objects.under(city)
        .order_by("path")
        .values("pk", "kind", "established", "parent_id", "name", "code")
    )
    children: dict[int, list[dict]] = defaultdict(list)
    for u in units:
        children[u["parent_id"]].append(u)
    recorders: list[tuple[dict, str]] = []
    for u in units:
        kind = u["kind"]
        if kind in (Kind.CITY, Kind.PROVINCE):
            profile = "city"
        elif kind == Kind.COUNTY:
            profile = "county"
        elif kind in (Kind.TOWNSHIP, Kind.STREET):
            profile = "town"
        elif kind in (Kind.VILLAGE, Kind.COMMUNITY) and u["established"]:
            profile = "village"
        else:
            continue
        recorders.append((u, profile))
    by_pk = {u["pk"]: u for u in units}
    code_of = {u["pk"]: unit_number_code(OrgUnit(pk=u["pk"], code=u["code"])) for u in units}

    def county_of_unit(pk: int) -> int:  # the county (or the city itself): the pool of repeat callers
        u = by_pk[pk]
        while u["kind"] not in (Kind.COUNTY, Kind.CITY, Kind.PROVINCE):
            u = by_pk[u["parent_id"]]
        return u["pk"]

    county_of = {u["pk"]: county_of_unit(u["pk"]) for u in units}
    down = {
        u["pk"]: [
            c["pk"]
            for c in children[u["pk"]]
            if c["kind"] in (Kind.TOWNSHIP, Kind.STREET, Kind.VILLAGE, Kind.COMMUNITY) and c["established"]
        ]
        for u, _ in recorders
    }
    cats = {c.code: c for c in CaseCategory.objects.all()}
    category_mix = [((cats[top], cats[sub] if sub else None), share) for top, sub, share in CATEGORY_MIX]

    first_case = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    first_party = (Party.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    first_entry = (TimelineEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    counters: dict[tuple[int, int], int] = defaultdict(int)
    pools: dict[int, list[tuple]] = defaultdict(list)  # county -> earlier affected persons (repeat contacts)
    parties: list[tuple] = []
    entries: list[tuple] = []
    stats = defaultdict(int)
    end_moment = dt.datetime.combine(end, dt.time(23, 59), tzinfo=tz)

    def months():
        day = start
        while day <= end:
            nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
            yield day, (min(nxt, end + dt.timedelta(days=1)) - day).days
            day = nxt

    def person(unit: dict, county: int) -> tuple:
        repeat = pools[county]
        if repeat and rand() < 0.06:
            stats["repeat_contacts"] += 1
            return repeat[int(rand() * len(repeat))]
        age = 18 + int(rand() * 55) if rand() > 0.04 else 8 + int(rand() * 9)
        birth = dt.date(END_DAY.year - age, 1 + int(rand() * 12), 1 + int(rand() * 28))
        p = (
            names.person_name(rng),
            names.mobile(rng) if rand() < 0.9 else "",
            _id_number(rng, birth) if rand() < 0.35 else "",
            f"{unit['name']}{1 + int(rand() * 9)}组{1 + int(rand() * 60)}号" if rand() < 0.6 else "",
            _age_group(age),
        )
        if len(repeat) < 2000:
            repeat.append(p)
        else:
            repeat[int(rand() * 2000)] = p
        return p

    def case_rows():
        next_case, next_party, next_entry = first_case, first_party, first_entry
        for month_start, days in months():
            planned = []
            for u, profile in recorders:
                expected = RATES[profile] * factor * days / 365.25
                n = int(expected) + (1 if rand() < expected - int(expected) else 0)
                for _ in range(n):
                    hour = int(rand() * 24) if rand() < 0.3 else 8 + int(rand() * 10)
                    moment = dt.datetime.combine(
                        month_start + dt.timedelta(days=int(rand() * days)),
                        dt.time(hour, int(rand() * 60), int(rand() * 60)),
                        tzinfo=tz,
                    )
                    planned.append((moment, u["pk"], profile))
            planned.sort()
            for created, unit_pk, profile in planned:
                owner = unit_pk
                if profile in ASSIGN_DOWN and down[unit_pk] and rand() < ASSIGN_DOWN[profile]:
                    owner = down[unit_pk][int(rand() * len(down[unit_pk]))]
                year = created.year
                counters[(unit_pk, year)] += 1
                seq = counters[(unit_pk, year)]
                number = f"WQ-{code_of[unit_pk]}-{year}-{seq:06d}"
                channel = _pick(rng, CHANNEL_MIX)
                top, sub = _pick(rng, category_mix)
                code = sub.code if sub else top.code
                violent = code in VIOLENT
                r = rand()
                if code == "domestic_violence":
                    risk = 3 if r < 0.10 else 2 if r < 0.45 else 1
                elif code in ("bodily_harm", "trafficking", "sexual_harassment"):
                    risk = 3 if r < 0.05 else 2 if r < 0.35 else 1
                else:
                    risk = 3 if r < 0.003 else 2 if r < 0.06 else 1
                checklist = (
                    ["threat_to_kill", "escalating"]
                    if risk == 3 and rand() < 0.5
                    else ["strangulation"]
                    if risk == 3
                    else ["escalating"]
                    if risk == 2
                    else []
                )
                local = timezone.localtime(created, tz)
                first_due = triage.first_contact_due(local, risk, calendar)
                handling_due = triage.handling_due(local)
                age_days = (end - created.date()).days
                open_share = (
                    0.85 if age_days < 20 else 0.35 if age_days < 60 else 0.03 if age_days < 365 else 0.005
                )
                if rand() < open_share:
                    state = _pick(rng, OPEN_MIX)
                elif age_days > 180:
                    state = (
                        State.ARCHIVED
                        if rand() < 0.92
                        else State.FOLLOWED_UP
                        if rand() < 0.6
                        else State.CLOSED
                    )
                else:
                    r = rand()
                    state = State.REJECTED if r < 0.04 else State.FOLLOWED_UP if r < 0.6 else State.CLOSED
                stats[f"state_{state}"] += 1
                first_contact = None
                if state != State.REGISTERED and state != State.REJECTED:
                    hours = 0.5 + rand() * 20 if risk == 3 else 1 + rand() * 90
                    first_contact = min(created + dt.timedelta(hours=hours), end_moment)
                closed_at = outcome = None
                satisfaction = ""
                if state in (State.CLOSED, State.FOLLOWED_UP, State.ARCHIVED, State.REVIEW):
                    closed_at = min(created + dt.timedelta(days=3 + rand() * 40), end_moment)
                    outcome = OUTCOMES[int(rand() * len(OUTCOMES))]
                    if state in (State.FOLLOWED_UP, State.REVIEW) or (
                        state == State.ARCHIVED and rand() < 0.8
                    ):
                        satisfaction = (
                            "unsatisfied"
                            if state == State.REVIEW
                            else "satisfied"
                            if rand() < 0.7
                            else "fairly"
                            if rand() < 0.85
                            else "unsatisfied"
                        )
                is_open = state not in (State.REJECTED, State.CLOSED, State.FOLLOWED_UP, State.ARCHIVED)
                escalated = None
                if is_open and handling_due < end_moment - dt.timedelta(days=7):
                    escalated = handling_due + dt.timedelta(hours=1)
                    stats["escalated"] += 1
                family_tag, visit_due = "", None
                if code == "domestic_violence" and rand() < 0.5:
                    family_tag = "red"
                    if is_open:
                        visit_due = created.date() + dt.timedelta(days=30)
                elif code == "divorce" and rand() < 0.4:
                    family_tag = "orange"
                elif rand() < 0.02:
                    family_tag = "yellow"
                # parties
                county = county_of[unit_pk]
                name, phone, id_number, address, age_group = person(by_pk[owner], county)
                minor = age_group == "child" or code == "child_support"
                disability = rand() < 0.02
                mandatory = minor and violent
                shape = rand()
                case_parties = []
                if shape < 0.12:  # an anonymous caller only
                    case_parties.append(
                        ("caller", True, "", phone, "", "", "F", "", "", False, "", "", False)
                    )
                else:
                    if shape >= 0.60:  # someone else calls for her
                        case_parties.append(
                            (
                                "caller",
                                False,
                                names.person_name(rng, female=rand() < 0.8),
                                names.mobile(rng),
                                "",
                                "",
                                "",
                                "",
                                RELATIONS_CALLER[int(rand() * len(RELATIONS_CALLER))],
                                False,
                                "",
                                "",
                                False,
                            )
                        )
                    safe = code == "domestic_violence" and rand() < 0.5
                    case_parties.append(
                        (
                            "affected",
                            False,
                            name,
                            phone,
                            id_number,
                            address,
                            "F",
                            age_group,
                            "本人",
                            disability,
                            names.mobile(rng) if safe else "",
                            "工作日上午" if safe else "",
                            safe and rand() < 0.3,
                        )
                    )
                if (violent or code == "divorce") and rand() < 0.7:
                    case_parties.append(
                        (
                            "perpetrator",
                            False,
                            names.person_name(rng, female=False),
                            "",
                            "",
                            "",
                            "M",
                            "",
                            RELATIONS_PERP[int(rand() * len(RELATIONS_PERP))],
                            False,
                            "",
                            "",
                            False,
                        )
                    )
                for (
                    role,
                    anon,
                    pn,
                    pp,
                    pid,
                    paddr,
                    gender,
                    ag,
                    rel,
                    dis,
                    safe_phone,
                    safe_time,
                    msg,
                ) in case_parties:
                    parties.append(
                        (
                            next_party,
                            next_case,
                            role,
                            anon,
                            crypto.enc(crypto.party["name"], pn),
                            crypto.enc(crypto.party["phone"], pp),
                            crypto.idx("phone_index", pp),
                            crypto.enc(crypto.party["id_number"], pid),
                            crypto.idx("id_index", pid),
                            crypto.enc(crypto.party["address"], paddr),
                            gender,
                            ag,
                            rel,
                            dis,
                            crypto.enc(crypto.party["safe_phone"], safe_phone),
                            safe_time,
                            msg,
                        )
                    )
                    next_party += 1
                template = ACCOUNTS.get(code, ACCOUNT_DEFAULT)
                account = template.format(WHEN[int(rand() * len(WHEN))], TAILS[int(rand() * len(TAILS))])
                request = REQUESTS[int(rand() * len(REQUESTS))]
                intake_data = {
                    "channel": str(channel),
                    "risk": risk,
                    "risk_suggested": risk,
                    "draft": False,
                    "danger_words": len(triage.danger_words(account)),
                }
                entries.append(
                    (
                        next_entry,
                        next_case,
                        adt(created),
                        None,
                        EntryKind.INTAKE.value,
                        None,
                        "",
                        json.dumps(intake_data),
                    )
                )
                next_entry += 1
                consent = rand() < 0.9
                stats["cases"] += 1
                stats[f"risk_{risk}"] += 1
                yield (
                    next_case,
                    number,
                    unit_pk,
                    year,
                    seq,
                    owner,
                    None,
                    str(channel),
                    top.pk,
                    sub.pk if sub else None,
                    str(state),
                    risk,
                    risk,
                    json.dumps(checklist),
                    minor,
                    disability,
                    False,
                    consent,
                    consent and rand() < 0.8,
                    consent,
                    crypto.enc(crypto.case["account"], account),
                    crypto.enc(crypto.case["request"], request),
                    mandatory,
                    ("reported" if rand() < 0.5 else "already_known") if mandatory and not is_open else "",
                    adt(first_due),
                    adt(first_contact),
                    adt(handling_due),
                    None,
                    adt(escalated),
                    family_tag,
                    add(visit_due),
                    None,
                    "",
                    "",
                    None,
                    crypto.enc(crypto.case["outcome"], outcome or ""),
                    adt(closed_at),
                    satisfaction,
                    None,
                    adt(created),
                    adt(closed_at or first_contact or created),
                    1 + (state != State.REGISTERED) * 2 + (closed_at is not None) * 3,
                )
                next_case += 1
                if len(parties) >= 20000:
                    flush()

    party_table = ops.quote_name(Party._meta.db_table)
    entry_table = ops.quote_name(TimelineEntry._meta.db_table)
    written = {"parties": 0, "entries": 0}

    def flush():
        written["parties"] += copy_rows(party_table, PARTY_COLUMNS, iter(parties))
        written["entries"] += copy_rows(entry_table, ENTRY_COLUMNS, iter(entries))
        parties.clear()
        entries.clear()

    # cases are written in batches of 20,000 and their parties and timeline entries in between (never two COPYs
    # open at once); the foreign keys are deferred to the commit on both backends.
    cases_written = 0
    batch: list[tuple] = []
    case_table = ops.quote_name(Case._meta.db_table)
    for row in case_rows():
        batch.append(row)
        if len(batch) >= 20000:
            cases_written += copy_rows(case_table, CASE_COLUMNS, iter(batch))
            batch.clear()
    if batch:
        cases_written += copy_rows(case_table, CASE_COLUMNS, iter(batch))
    flush()
    CaseCounter.objects.bulk_create(
        [
            CaseCounter(org_unit_id=unit, year=year, last=last)
            for (unit, year), last in sorted(counters.items())
        ],
        batch_size=2000,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Case, Party, TimelineEntry):
                name = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))"  # noqa: S608
                )
    analyze(Case, Party, TimelineEntry, CaseCounter)
    figures = {
        "backend": connection.vendor,
        "seed": seed,
        "factor": factor,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "units_registering": len(recorders),
        "cases": cases_written,
        "parties": written["parties"],
        "timeline_entries": written["entries"],
        "counters": len(counters),
        "encrypted_values": crypto.values,
        **{k: v for k, v in sorted(stats.items()) if k != "cases"},
        "seconds": round(time.perf_counter() - started, 2),
    }
    action = "demo.city.cases_bulk_build" if root_code == CITY_ROOT_CODE else "demo.tree.cases_bulk_build"
    record(None, action, obj=city, where=Where.of(city), detail=figures)
    return figures
