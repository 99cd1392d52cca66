"""The demo county (`fulian seed --scale demo`), built through the real actions so it is audited like real data."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction

from fulian.accounts.actions import create_user
from fulian.accounts.models import User
from fulian.accounts.roles import Role
from fulian.orgs.actions import create_cadre, create_home, create_unit
from fulian.orgs.models import Education, HomeKind, Kind, OrgUnit, Position
from fulian.portal.demo import seed_demo_portal
from fulian.rectify.demo import seed_demo_rectification
from fulian.supervision.demo import seed_demo_tasks
from fulian.voice.demo import seed_demo_voice

from . import names
from .ledger import build_demo_ledger

DEMO_ROOT_CODE = "DEMO-QH"
DEMO_PASSWORD = "Fulian2026"
COUNTY_DIVISION = "360430"  # 6-digit county part of the 12-digit code (fictional county 清河县)
REFERENCE_DAY = dt.date(2026, 1, 1)  # ages are generated relative to this day, so data is deterministic


@dataclass
class DemoAccount:
    username: str
    password: str
    role: str
    unit: OrgUnit

    def as_json(self) -> dict:
        return {
            "username": self.username,
            "password": self.password,
            "role": self.role,
            "org_unit_id": self.unit.pk,
            "org_unit_code": self.unit.code,
            "org_unit_name": self.unit.name,
            "org_unit_kind": self.unit.kind,
        }


def _weighted(rng: random.Random, table: list[tuple[object, float]]):
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


# Seed 002's county: 本科 8.3%, 大专 33.5%, 高中或中专以下 58.2%; 40岁以下 38.7%, 41-50 42.7%, 51-60 ~15%.
VILLAGE_EDU = [
    (Education.BACHELOR, 8),
    (Education.COLLEGE, 34),
    (Education.HIGH_SCHOOL, 40),
    (Education.BELOW, 18),
]
OFFICE_EDU = [
    (Education.POSTGRADUATE, 5),
    (Education.BACHELOR, 55),
    (Education.COLLEGE, 35),
    (Education.HIGH_SCHOOL, 5),
]
AGE_TABLE = [((25, 40), 39), ((41, 50), 43), ((51, 60), 15), ((61, 66), 3)]


def _birth_date(rng: random.Random) -> dt.date:
    low, high = _weighted(rng, AGE_TABLE)
    age = rng.randint(low, high)
    return REFERENCE_DAY - dt.timedelta(days=age * 365 + rng.randint(0, 364))


def _cadres(rng: random.Random, unit: OrgUnit, positions: list[str], office: bool) -> None:
    for i, position in enumerate(positions):
        female = position != Position.EXECUTIVE or rng.random() < 0.9
        create_cadre(
            None,
            org_unit=unit,
            name=names.person_name(rng, female=female),
            gender="F" if female else "M",
            birth_date=_birth_date(rng),
            education=_weighted(rng, OFFICE_EDU if office else VILLAGE_EDU),
            position=position,
            full_time=office and (i < 3 or rng.random() < 0.3),
            party_member=rng.random() < (0.85 if office else 0.55),
            in_two_committees=(not office)
            and (position == Position.CHAIR and rng.random() < 0.8 or rng.random() < 0.1),
            phone=names.mobile(rng),
            term_start=dt.date(2023, rng.randint(1, 6), 1),
            term_end=dt.date(2028, rng.randint(1, 6), 1),
        )


@transaction.atomic
def build_demo_county(seed: int = 1) -> list[DemoAccount]:
    rng = random.Random(seed)
    county = create_unit(
        None,
        parent=None,
        kind=Kind.COUNTY,
        name="清河县妇联",
        code=DEMO_ROOT_CODE,
        division_code=f"{COUNTY_DIVISION}000000",
        opened_on=dt.date(1950, 3, 8),
        address="清河县人民路 88 号",
        phone="0790-12338",
    )
    _cadres(
        rng,
        county,
        [Position.CHAIR, Position.VICE_CHAIR, Position.VICE_CHAIR, Position.STAFF, Position.STAFF]
        + [Position.EXECUTIVE] * 15,
        office=True,
    )
    used: set[str] = set()
    townships: list[OrgUnit] = []
    villages_by_township: dict[int, list[OrgUnit]] = {}
    plan = [(n, Kind.TOWNSHIP) for n in names.TOWNSHIPS] + [(n, Kind.STREET) for n in names.STREETS]
    for t_index, (t_name, t_kind) in enumerate(plan, start=1):
        town = create_unit(
            None,
            parent=county,
            kind=t_kind,
            name=f"{t_name}妇联",
            code=f"QH{t_index:02d}",
            division_code=f"{COUNTY_DIVISION}{100 + t_index:03d}000",
            sort_order=t_index,
            opened_on=dt.date(1984, 1, 1),
        )
        townships.append(town)
        _cadres(
            rng,
            town,
            [Position.CHAIR, Position.VICE_CHAIR, Position.STAFF] + [Position.EXECUTIVE] * rng.randint(4, 8),
            office=True,
        )
        count = rng.randint(11, 17)
        if t_kind == Kind.TOWNSHIP:
            kinds = [Kind.VILLAGE] * (count - 1) + [Kind.COMMUNITY]
            v_names = names.village_names(rng, count - 1, used) + names.community_names(rng, 1, set())
        else:
            kinds = [Kind.COMMUNITY] * (count - 3) + [Kind.VILLAGE] * 3
            v_names = names.community_names(rng, count - 3, set()) + names.village_names(rng, 3, used)
        villages = []
        for v_index, (v_name, v_kind) in enumerate(zip(v_names, kinds, strict=True), start=1):
            established = rng.random() > 0.03
            village = create_unit(
                None,
                parent=town,
                kind=v_kind,
                name=v_name,
                code=f"QH{t_index:02d}{v_index:03d}",
                division_code=f"{COUNTY_DIVISION}{100 + t_index:03d}{200 + v_index:03d}",
                sort_order=v_index,
                established=established,
                opened_on=dt.date(2017, rng.randint(1, 12), 1),
            )
            villages.append(village)
            if established:
                positions = [Position.CHAIR, Position.VICE_CHAIR] + [Position.EXECUTIVE] * rng.randint(2, 5)
                _cadres(rng, village, positions, office=False)
            if established and rng.random() < 0.85:
                create_home(
                    None,
                    org_unit=village,
                    name=f"{v_name}妇女之家",
                    kind=_weighted(rng, [(HomeKind.WOMEN, 6), (HomeKind.BOTH, 3), (HomeKind.CHILDREN, 1)]),
                    address=f"{v_name}党群服务中心",
                    opened_on=dt.date(rng.randint(2012, 2024), rng.randint(1, 12), 1),
                    area_sqm=rng.randint(30, 200),
                    facilities=rng.choice(
                        ["活动室、图书角、心理咨询室", "活动室、调解室", "活动室、儿童游戏区、图书角"]
                    ),
                )
        villages_by_township[town.pk] = villages
    committees = (
        [(n, Kind.AGENCY) for n in names.AGENCIES]
        + [(n, Kind.ENTERPRISE) for n in names.ENTERPRISES]
        + [(n, Kind.NEW_ORG) for n in names.NEW_ORGS]
    )
    # about 80 committees: the county's own, plus a few township agencies (卫生院, 中心学校)
    for c_index, (c_name, c_kind) in enumerate(committees, start=1):
        unit = create_unit(
            None,
            parent=county,
            kind=c_kind,
            name=f"{c_name}妇委会",
            code=f"QHC{c_index:03d}",
            sort_order=100 + c_index,
            established=rng.random() > 0.05,
        )
        _cadres(rng, unit, [Position.CHAIR, Position.MEMBER, Position.MEMBER], office=True)
    for t_index, town in enumerate(townships[:12], start=1):
        for suffix, kind in (("卫生院", Kind.AGENCY), ("中心学校", Kind.AGENCY)):
            base = town.name.removesuffix("妇联")
            unit = create_unit(
                None,
                parent=town,
                kind=kind,
                name=f"{base}{suffix}妇委会",
                code=f"QH{t_index:02d}C{suffix[:1]}",
                sort_order=900,
            )
            _cadres(rng, unit, [Position.CHAIR, Position.MEMBER], office=True)

    accounts = []
    for role in Role.values:  # one demo account per role at county level
        accounts.append(
            _account(f"county_{role}", role, county, "13800000001" if role == Role.LEADER else None)
        )
    for i, town in enumerate(townships[:2], start=1):
        accounts.append(_account(f"township{i}_staff", Role.STAFF, town))
        accounts.append(_account(f"village{i}_staff", Role.STAFF, villages_by_township[town.pk][0]))
    # the township 维权专干 who takes the cases the county hotline registers for its villages
    accounts.append(_account("township1_caseworker", Role.CASEWORKER, townships[0]))
    build_demo_ledger(county, seed=seed)
    seed_demo_tasks(county)  # after the ledger: the tasks' forms are pre-filled from it
    seed_demo_extras(county, seed=seed)
    return accounts


def seed_demo_extras(county: OrgUnit, seed: int = 1) -> None:
    """The suggestion box and survey, the rectification ledger and the public site (公开栏, commitments) of the
    demo county; each part is re-runnable and adds only what is missing."""
    seed_demo_rectification(county)  # before the portal's: an accepted measure drafts a disclosure item
    seed_demo_portal(county)
    seed_demo_voice(county, seed=seed)


def _account(username: str, role: str, unit: OrgUnit, mobile: str | None = None) -> DemoAccount:
    create_user(
        None,
        username=username,
        password=DEMO_PASSWORD,
        unit=unit,
        role=role,
        mobile=mobile,
        display_name=f"{unit.name}{Role(role).label}",
    )
    return DemoAccount(username, DEMO_PASSWORD, role, unit)


def existing_demo_accounts() -> list[DemoAccount] | None:
    if not OrgUnit.objects.filter(code=DEMO_ROOT_CODE).exists():
        return None
    root = OrgUnit.objects.get(code=DEMO_ROOT_CODE)
    users = User.objects.filter(memberships__org_unit__path__startswith=root.path).prefetch_related(
        "memberships__org_unit"
    )
    accounts = []
    for user in users.distinct().order_by("id"):
        m = user.memberships.all()[0]
        accounts.append(DemoAccount(user.username, DEMO_PASSWORD, m.role, m.org_unit))
    return accounts
