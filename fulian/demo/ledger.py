"""A year of the demo county's work ledger (工作台账), typed through the real action ``create_record``.

The last twelve months up to today (never a day in the future): trainings in the seeds' categories, the
activities of the year's fixed days (三八节, 六一, 重阳), job fairs (春风行动, 金秋招聘月), 来料加工点 and services
with the funds spent, most with a brand tag. Deterministic for a given seed and today. A record of an open month
is typed by the unit's own staff account when the unit has one (so "我的台账" is not empty); everything else,
and every record of a month that is already locked, is entered by the system (actor None), as a data
migration would be. The county total looks like the seeds' tables (举办培训五十来期、参训妇女一千来人 …).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from fulian.accounts.models import Membership
from fulian.accounts.roles import Role
from fulian.ledger import periods
from fulian.ledger.actions import create_record
from fulian.ledger.models import BrandTag, LedgerRecord, RecordKind
from fulian.orgs.models import Kind, OrgUnit

# --- the words of the seeds --------------------------------------------------------------------------------

# category -> (titles, partner departments, tags)
TRAININGS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "实用技术": (
        [
            "茶叶种植实用技术培训",
            "脐橙栽培管理技术培训",
            "蔬菜大棚种植技术培训",
            "家禽养殖技术培训",
            "中药材种植技术培训",
        ],
        ["县农业农村局", "乡镇农技站", "县林业局"],
        ["双学双比", "美在农家"],
    ),
    "职业技能": (
        [
            "家政服务员(月嫂)技能培训",
            "育婴员职业技能培训",
            "中式面点师培训",
            "养老护理员培训",
            "手工编织技能培训",
        ],
        ["县人社局", "县职业技术学校"],
        ["巾帼建功"],
    ),
    "创业就业": (
        ["巾帼电商直播带货培训", "妇女创业能力提升培训", "农村电商创业培训"],
        ["县商务局", "县人社局"],
        ["巾帼建功", "双学双比"],
    ),
    "家庭教育": (
        ["家庭教育公益讲座", "“家长学校”家庭教育培训", "隔代教养专题培训"],
        ["县教育体育局", "县关工委"],
        ["最美家庭", "五好文明家庭"],
    ),
    "法治宣传": (
        ["《反家庭暴力法》宣传培训", "《妇女权益保障法》学习培训", "民法典进家庭宣讲培训"],
        ["县司法局", "县法院"],
        ["平安家庭"],
    ),
    "干部培训": (
        ["村(社区)妇联主席履职能力培训", "妇联执委培训班"],
        ["县委党校"],
        [],
    ),
}
TRAINING_WEIGHTS = [("实用技术", 30), ("职业技能", 20), ("创业就业", 15), ("家庭教育", 15), ("法治宣传", 20)]

# category -> (titles, tags) for activities outside the fixed days
ACTIVITIES: dict[str, tuple[list[str], list[str]]] = {
    "宣传": (
        ["反家暴宣传进村入户", "“两癌”筛查政策宣传", "防范电信诈骗宣传", "禁毒宣传进家庭"],
        ["平安家庭"],
    ),
    "文体": (["广场舞展演", "巾帼健步走", "农家书屋读书分享会"], ["美在农家"]),
    "志愿服务": (["巾帼志愿者人居环境整治", "巾帼志愿者关爱空巢老人", "清洁家园志愿服务"], ["巾帼志愿服务"]),
    "评选表彰": (["“最美家庭”评选", "“五好文明家庭”评选表彰"], ["最美家庭", "五好文明家庭"]),
    "座谈": (["妇女议事会", "留守妇女座谈会"], []),
}
ACTIVITY_WEIGHTS = [("宣传", 35), ("文体", 20), ("志愿服务", 25), ("评选表彰", 10), ("座谈", 10)]

WORKPOINT_PRODUCTS = [
    "手工编织",
    "电子元件组装",
    "服装加工",
    "竹编工艺品",
    "毛绒玩具",
    "假发加工",
    "箱包配件",
]
FUND_SOURCES = ["县妇联", "省妇联专项资金", "乡镇财政", "爱心企业捐赠", "县慈善总会"]

# 重阳节 (the 9th day of the 9th lunar month) in the Gregorian calendar
CHONGYANG = {
    2023: dt.date(2023, 10, 23),
    2024: dt.date(2024, 10, 11),
    2025: dt.date(2025, 10, 29),
    2026: dt.date(2026, 10, 18),
    2027: dt.date(2027, 10, 8),
    2028: dt.date(2028, 10, 26),
    2029: dt.date(2029, 10, 16),
    2030: dt.date(2030, 10, 5),
}


def chongyang(year: int) -> dt.date:
    return CHONGYANG.get(year, dt.date(year, 10, 15))


@dataclass
class Item:
    unit: OrgUnit
    fields: dict
    tags: list[str] = field(default_factory=list)


@dataclass
class Window:
    """The twelve months up to ``today``; ``day(year_offset…)`` clamps nothing, callers drop future days."""

    first: dt.date
    today: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.first <= day <= self.today

    def last(self, month: int, day: int) -> dt.date:
        """The most recent ``month``/``day`` not after today."""
        candidate = dt.date(self.today.year, month, day)
        return candidate if candidate <= self.today else dt.date(self.today.year - 1, month, day)

    def random_day(self, rng: random.Random) -> dt.date:
        return self.first + dt.timedelta(days=rng.randint(0, (self.today - self.first).days))


def window_for(today: dt.date) -> Window:
    year, month = (today.year, today.month - 11) if today.month == 12 else (today.year - 1, today.month + 1)
    return Window(dt.date(year, month, 1), today)


def _training(rng: random.Random, unit: OrgUnit, day: dt.date, category: str, scale: float = 1.0) -> Item:
    titles, partners, tags = TRAININGS[category]
    sessions = rng.choices([1, 2, 3], weights=[70, 25, 5])[0]
    people = max(8, round(rng.randint(15, 40) * scale))
    jobs = category in ("职业技能", "创业就业")
    recommended = round(people * rng.uniform(0.3, 0.6)) if jobs else 0
    return Item(
        unit,
        dict(
            kind=RecordKind.TRAINING,
            category=category,
            title=rng.choice(titles),
            date=day,
            sessions=sessions,
            participants=people,
            person_times=people * sessions,
            recommended_jobs=recommended,
            employed=round(recommended * rng.uniform(0.4, 0.8)),
            partner=rng.choice(partners),
            location=f"{unit.name.removesuffix('妇联')}妇女之家"
            if unit.kind != Kind.COUNTY
            else "县妇女儿童活动中心",
        ),
        [t for t in tags if rng.random() < 0.7][:1],
    )


def _activity(rng, unit, day, category, title, people, beneficiaries=0, tags=()) -> Item:
    return Item(
        unit,
        dict(
            kind=RecordKind.ACTIVITY,
            category=category,
            title=title,
            date=day,
            participants=people,
            beneficiaries=beneficiaries,
        ),
        list(tags),
    )


def _service(unit, day, category, title, beneficiaries, amount, source, tags=()) -> Item:
    return Item(
        unit,
        dict(
            kind=RecordKind.SERVICE,
            category=category,
            title=title,
            date=day,
            beneficiaries=beneficiaries,
            amount=amount,
            fund_source=source,
        ),
        list(tags),
    )


def plan_year(rng: random.Random, county: OrgUnit, today: dt.date) -> Iterator[Item]:
    """The county's ledger for the twelve months up to ``today``, in no particular order of date."""
    w = window_for(today)
    townships = list(
        OrgUnit.objects.filter(parent=county, kind__in=[Kind.TOWNSHIP, Kind.STREET]).order_by("path")
    )
    villages = {
        t.pk: list(
            OrgUnit.objects.filter(
                parent=t, kind__in=[Kind.VILLAGE, Kind.COMMUNITY], established=True
            ).order_by("path")
        )
        for t in townships
    }
    women_day, children_day, elders_day = w.last(3, 8), w.last(6, 1), chongyang(today.year)
    if elders_day > today:
        elders_day = chongyang(today.year - 1)

    # --- the county federation itself
    yield _activity(
        rng, county, women_day, "评选表彰", "纪念“三八”国际妇女节暨“最美家庭”表彰大会", 320, 0, ["最美家庭"]
    )
    for month, title in ((3, "村(社区)妇联主席履职能力培训"), (9, "妇联执委培训班")):
        item = _training(rng, county, w.last(month, rng.randint(10, 25)), "干部培训", scale=4)
        item.fields["title"] = title
        yield item
    for month, title in ((2, "“春风行动”巾帼专场招聘会"), (9, "“金秋招聘月”妇女就业专场")):
        employers = rng.randint(40, 80)
        yield Item(
            county,
            dict(
                kind=RecordKind.JOB_FAIR,
                category="招聘会",
                title=title,
                date=w.last(month, rng.randint(8, 20)),
                employers=employers,
                jobs_offered=employers * rng.randint(15, 30),
                job_seekers=rng.randint(900, 2500),
                agreements=rng.randint(200, 500),
                partner="县人社局",
            ),
            ["巾帼建功"],
        )
    n = rng.randint(6, 14)
    yield _service(
        county,
        w.last(11, rng.randint(5, 25)),
        "帮扶",
        "“两癌”患病困难妇女救助金发放",
        n,
        10000 * n,
        "全国妇联“两癌”救助项目",
    )
    yield _service(county, w.last(5, 20), "咨询", "“贷免扶补”创业贷款政策咨询会", rng.randint(60, 150), 0, "")

    for town in townships:
        # trainings: one to three a year
        for _ in range(rng.randint(1, 3)):
            category = rng.choices(
                [c for c, _ in TRAINING_WEIGHTS], weights=[x for _, x in TRAINING_WEIGHTS]
            )[0]
            yield _training(rng, town, w.random_day(rng), category)
        yield _activity(
            rng, town, women_day, "文体", "庆“三八”巾帼健步走", rng.randint(80, 200), 0, ["美在农家"]
        )
        if rng.random() < 0.7:
            yield _activity(
                rng,
                town,
                children_day,
                "慰问",
                "“六一”关爱留守儿童慰问",
                rng.randint(10, 30),
                rng.randint(20, 80),
            )
        if rng.random() < 0.6:
            yield _activity(
                rng, town, elders_day, "慰问", "重阳节敬老慰问", rng.randint(10, 25), rng.randint(20, 60)
            )
        if rng.random() < 0.25:
            employers = rng.randint(10, 25)
            yield Item(
                town,
                dict(
                    kind=RecordKind.JOB_FAIR,
                    category="洽谈会",
                    title="家门口就业对接洽谈会",
                    date=w.random_day(rng),
                    employers=employers,
                    jobs_offered=employers * rng.randint(8, 20),
                    job_seekers=rng.randint(100, 400),
                    agreements=rng.randint(20, 90),
                    partner="乡镇劳动保障所",
                ),
                ["巾帼建功"],
            )
        n = rng.randint(10, 40)
        yield _service(
            town,
            w.last(1, rng.randint(10, 28)),
            "帮扶",
            "春节走访慰问困难妇女",
            n,
            n * rng.choice([200, 300, 500]),
            rng.choice(FUND_SOURCES),
        )
        if rng.random() < 0.5:
            yield _service(
                town, w.random_day(rng), "讲座", "妇女心理健康讲座", rng.randint(30, 80), 0, "", ["平安家庭"]
            )

        for village in villages[town.pk]:
            if rng.random() < 0.7:
                title, category = rng.choice(
                    [
                        ("“三八”节妇女座谈会", "座谈"),
                        ("庆“三八”趣味运动会", "文体"),
                        ("三八节文艺汇演", "文体"),
                    ]
                )
                yield _activity(
                    rng,
                    village,
                    women_day - dt.timedelta(days=rng.randint(0, 5)),
                    category,
                    title,
                    rng.randint(20, 80),
                    0,
                    ["美在农家"] if category == "文体" and rng.random() < 0.5 else [],
                )
            if rng.random() < 0.25:
                yield _activity(
                    rng,
                    village,
                    children_day,
                    "慰问",
                    "“六一”儿童节关爱活动",
                    rng.randint(5, 15),
                    rng.randint(10, 40),
                )
            if rng.random() < 0.4:
                yield _activity(
                    rng,
                    village,
                    elders_day,
                    "慰问",
                    "重阳节走访慰问老人",
                    rng.randint(5, 15),
                    rng.randint(8, 40),
                )
            for _ in range(rng.choices([0, 1, 2], weights=[35, 45, 20])[0]):
                category = rng.choices(
                    [c for c, _ in ACTIVITY_WEIGHTS], weights=[x for _, x in ACTIVITY_WEIGHTS]
                )[0]
                titles, tags = ACTIVITIES[category]
                yield _activity(
                    rng,
                    village,
                    w.random_day(rng),
                    category,
                    rng.choice(titles),
                    rng.randint(10, 60),
                    rng.randint(0, 40) if category in ("宣传", "志愿服务") else 0,
                    tags[:1] if rng.random() < 0.6 else [],
                )
            if rng.random() < 0.04:
                yield _training(rng, village, w.random_day(rng), "实用技术", scale=0.8)
            if village.kind == Kind.VILLAGE and rng.random() < 0.09:
                workers = rng.randint(8, 60)
                yield Item(
                    village,
                    dict(
                        kind=RecordKind.WORKPOINT,
                        category="来料加工",
                        title=f"{village.name}来料加工点",
                        date=w.random_day(rng),
                        products=rng.choice(WORKPOINT_PRODUCTS),
                        workers=workers,
                        avg_income=rng.randint(8, 30) * 100,
                    ),
                    ["巾帼建功"] if rng.random() < 0.5 else ["双学双比"],
                )
            if rng.random() < 0.1:
                yield _service(
                    village, w.random_day(rng), "咨询", "婚姻家庭纠纷咨询调解", rng.randint(1, 6), 0, ""
                )


def _typists(county: OrgUnit) -> dict[int, object]:
    """unit id -> a staff or leader account of exactly that unit (the person who types its ledger)."""
    rows = (
        Membership.objects.filter(
            org_unit__path__startswith=county.path, role__in=[Role.STAFF, Role.LEADER], user__is_active=True
        )
        .select_related("user")
        .order_by("role", "id")  # leader before staff, then the first created
    )
    typists: dict[int, object] = {}
    for m in rows:
        typists.setdefault(m.org_unit_id, m.user)
    return typists


@transaction.atomic
def build_demo_ledger(county: OrgUnit, seed: int = 1, today: dt.date | None = None) -> int:
    """Create the county's year of ledger records through ``create_record``; returns how many."""
    real_today = timezone.localdate()
    today = min(today or real_today, real_today)
    rng = random.Random(seed * 7919 + 17)
    tags = {t.name: t for t in BrandTag.objects.all()}
    typists = _typists(county)
    count = 0
    for item in plan_year(rng, county, today):
        day = item.fields["date"]
        actor = None if periods.is_locked(day, real_today) else typists.get(item.unit.pk)
        create_record(
            actor, org_unit=item.unit, tags=[tags[n] for n in item.tags if n in tags], **item.fields
        )
        count += 1
    return count


def has_ledger(county: OrgUnit) -> bool:
    return LedgerRecord.objects.under(county).exists()
