"""A city-sized tree for benchmarks (`fulian seed --scale city`), written with bulk inserts.

About 5,000 org units (1 city, 12 counties, ~240 townships and streets, ~3,800 villages and communities, ~900
agency / enterprise / new-organisation committees) and about 100,000 cadres, with the distributions of the
demo county (fulian.demo.county). Unlike the demo county it does not go through the per-row actions: the
root is created with ``create_unit`` (so it is audited), everything below it is inserted level by level with
``bulk_create`` (cadres with COPY on PostgreSQL), and a single audit event records the bulk load.

The paths are exactly those ``create_unit`` would have allocated (fulian.orgs.paths.child_path, segments
1..n per parent, ``last_child_number`` = n), so the tree can be edited through the actions afterwards.
Deterministic for a given ``seed`` and ``factor`` (ages relative to county.REFERENCE_DAY).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from fulian.audit.actions import Where, record
from fulian.orgs.actions import CADRE_FIELDS, create_unit
from fulian.orgs.models import Cadre, Kind, OrgUnit, Position
from fulian.orgs.paths import child_path, depth_of

from . import names
from .county import OFFICE_EDU, VILLAGE_EDU, _birth_date, _weighted

CITY_ROOT_CODE = "DEMO-CITY"
CITY_DIVISION = "3609"  # 4-digit city part of the 12-digit division code (fictional 清江市)
BATCH_SIZE = 2000

# Fictional counties and districts of 清江市; more than the default 12 so a factor > 1 still has names.
COUNTY_NAMES = [
    "江城区",
    "云溪区",
    "青山区",
    "白鹭洲区",
    "清河县",
    "桃源县",
    "石门县",
    "凤岭县",
    "安宁县",
    "永丰县",
    "兰溪县",
    "梅江县",
    "龙泉县",
    "金沙县",
    "松阳县",
    "黎川县",
]

CADRE_COLUMNS = (
    "org_unit_id",
    *CADRE_FIELDS,
    "version",
    "created_at",
    "updated_at",
)


class CityAlreadyBuilt(CommandError):
    """Raised when the city root already exists (the bulk build never runs twice)."""


@dataclass
class _Plan:
    """Units of one level, waiting for their bulk insert; cadre plans keyed by the unit's path."""

    units: list[OrgUnit] = field(default_factory=list)
    # (path, positions, office) — resolved to unit ids once the level is inserted
    cadres: list[tuple[str, list[str], bool]] = field(default_factory=list)


def _scaled(rng: random.Random, low: int, high: int, factor: float) -> int:
    """A count drawn from [low, high], scaled by ``factor`` (never below 1)."""
    return max(1, round(rng.randint(low, high) * factor))


def _unit(parent: OrgUnit, number: int, **fields) -> OrgUnit:
    path = child_path(parent.path, number)
    return OrgUnit(parent=parent, path=path, depth=depth_of(path), **fields)


def _division(county: int, town: int | None = None, village: int | None = None) -> str | None:
    """The 12-digit statistical division code, or None when a factor > 1 runs past its fixed widths."""
    code = f"{CITY_DIVISION}{county:02d}"
    code += f"{100 + town:03d}" if town is not None else "000"
    code += f"{200 + village:03d}" if village is not None else "000"
    return code if len(code) == 12 else None


def _villages(rng: random.Random, count: int) -> list[str]:
    """Distinct village names for one township; numbered ones once the name pool runs thin (factor > 1)."""
    pool = len(names.VILLAGE_HEADS) * len(names.VILLAGE_TAILS)
    drawn = names.village_names(rng, min(count, pool // 2), set())
    return drawn + [f"第{i}村" for i in range(len(drawn) + 1, count + 1)]


def _communities(rng: random.Random, count: int) -> list[str]:
    pool = len(names.COMMUNITY_WORDS) * 5
    drawn = names.community_names(rng, min(count, pool // 2), set())
    return drawn + [f"第{i}社区" for i in range(len(drawn) + 1, count + 1)]


def _committee_names(rng: random.Random, prefix: str, count: int) -> list[tuple[str, str]]:
    """``count`` committees in list order, the county-level names of names.py renamed for ``prefix``."""
    pool = (
        [(n, Kind.AGENCY) for n in names.AGENCIES]
        + [(n, Kind.ENTERPRISE) for n in names.ENTERPRISES]
        + [(n, Kind.NEW_ORG) for n in names.NEW_ORGS]
    )
    picked = sorted(rng.sample(range(len(pool)), min(count, len(pool))))
    return [(prefix + pool[i][0].removeprefix("县") + "妇委会", pool[i][1]) for i in picked]


def _cadre_rows(rng: random.Random, unit_id: int, positions: list[str], office: bool, now: dt.datetime):
    """Rows in CADRE_COLUMNS order, drawn as county._cadres draws them."""
    for i, position in enumerate(positions):
        female = position != Position.EXECUTIVE or rng.random() < 0.9
        yield (
            unit_id,
            names.person_name(rng, female=female),
            "F" if female else "M",
            _birth_date(rng),
            _weighted(rng, OFFICE_EDU if office else VILLAGE_EDU),
            position,
            office and (i < 3 or rng.random() < 0.3),
            rng.random() < (0.85 if office else 0.55),
            (not office) and (position == Position.CHAIR and rng.random() < 0.8 or rng.random() < 0.1),
            names.mobile(rng),
            dt.date(2023, rng.randint(1, 6), 1),
            dt.date(2028, rng.randint(1, 6), 1),
            1,
            now,
            now,
        )


def _insert_units(plan: _Plan) -> dict[str, int]:
    """Insert one level; returns path -> id (bulk_create returns primary keys on PostgreSQL and SQLite)."""
    created = OrgUnit.objects.bulk_create(plan.units, batch_size=BATCH_SIZE)
    missing = [u for u in created if u.pk is None]
    if missing:  # a backend that cannot return ids from a bulk insert: read them back
        ids = dict(OrgUnit.objects.filter(path__in=[u.path for u in missing]).values_list("path", "id"))
        for u in missing:
            u.pk = ids[u.path]
    return {u.path: u.pk for u in created}


def _insert_cadres(rows) -> int:
    """Insert the rows (an iterable in CADRE_COLUMNS order): COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Cadre._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(c) for c in CADRE_COLUMNS)
        count = 0
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
                for row in rows:
                    copy.write_row(row)
                    count += 1
        return count
    cadres = [Cadre(**dict(zip(CADRE_COLUMNS, row, strict=True))) for row in rows]
    Cadre.objects.bulk_create(cadres, batch_size=BATCH_SIZE)
    return len(cadres)


@transaction.atomic
def build_city(seed: int = 1, factor: float = 1.0) -> dict:
    """Build the benchmark city; returns figures (units, cadres, seconds, ...) for the seed command.

    ``factor`` scales the breadth at every level (counties, townships per county, villages per township,
    committees); 1.0 gives ~5,000 units and ~100,000 cadres, 0.1 a few dozen units for tests.
    """
    started = time.perf_counter()
    if OrgUnit.objects.filter(code=CITY_ROOT_CODE).exists():
        raise CityAlreadyBuilt(f"示范市(单位编码 {CITY_ROOT_CODE})已存在,未重复生成。")
    if factor <= 0:
        raise ValueError("factor must be positive")
    rng = random.Random(seed)
    now = timezone.now()

    city = create_unit(
        None,
        parent=None,
        kind=Kind.CITY,
        name="清江市妇联",
        code=CITY_ROOT_CODE,
        division_code=f"{CITY_DIVISION}00000000",
        opened_on=dt.date(1949, 10, 1),
        address="清江市人民大道 1 号",
        phone="0790-12338",
    )
    cadre_plan: list[tuple[str, list[str], bool]] = [
        (
            city.path,
            [Position.CHAIR] + [Position.VICE_CHAIR] * 4 + [Position.STAFF] * 8 + [Position.EXECUTIVE] * 45,
            True,
        )
    ]
    last_child: dict[str, int] = {}  # path -> number of children allocated

    # --- counties and city-level committees ----------------------------------------------------------------
    level = _Plan()
    n_counties = max(1, round(12 * factor))
    counties: list[tuple[OrgUnit, str]] = []  # (unit, short name)
    for c in range(1, n_counties + 1):
        short = COUNTY_NAMES[c - 1] if c <= len(COUNTY_NAMES) else f"第{c}区"
        county = _unit(
            city,
            c,
            kind=Kind.COUNTY,
            name=f"{short}妇联",
            code=f"CT{c:02d}",
            division_code=_division(c),
            sort_order=c,
            opened_on=dt.date(1950, 3, 8),
        )
        level.units.append(county)
        counties.append((county, short))
        positions = [Position.CHAIR] + [Position.VICE_CHAIR] * 3 + [Position.STAFF] * rng.randint(3, 6)
        level.cadres.append((county.path, positions + [Position.EXECUTIVE] * rng.randint(30, 40), True))
    number = n_counties
    for i, (name, kind) in enumerate(_committee_names(rng, "市", round(40 * factor)), start=1):
        number += 1
        unit = _unit(
            city,
            number,
            kind=kind,
            name=name,
            code=f"CTC{i:03d}",
            sort_order=100 + i,
            established=rng.random() > 0.05,
        )
        level.units.append(unit)
        level.cadres.append((unit.path, _committee_positions(rng), True))
    last_child[city.path] = number
    ids = _insert_units(level)
    for county, _ in counties:
        county.pk = ids[county.path]
    cadre_plan += level.cadres

    # --- townships, streets and county-level committees -----------------------------------------------------
    level = _Plan()
    towns: list[tuple[OrgUnit, int, int, str]] = []  # (unit, county number, town number, code)
    for c, (county, short) in enumerate(counties, start=1):
        n_towns = _scaled(rng, 17, 23, factor)
        n_streets = min(n_towns - 1, rng.randint(3, 7)) if n_towns > 1 else 0
        n_streets = min(n_streets, len(names.STREETS))
        t_names = rng.sample(names.TOWNSHIPS, min(n_towns - n_streets, len(names.TOWNSHIPS)))
        t_names += [f"第{i}镇" for i in range(len(t_names) + 1, n_towns - n_streets + 1)]  # factor > 1
        plan = [(n, Kind.TOWNSHIP) for n in t_names]
        plan += [(n, Kind.STREET) for n in rng.sample(names.STREETS, n_streets)]
        for t, (t_name, t_kind) in enumerate(plan, start=1):
            code = f"CT{c:02d}{t:02d}"
            town = _unit(
                county,
                t,
                kind=t_kind,
                name=f"{t_name}妇联",
                code=code,
                division_code=_division(c, t),
                sort_order=t,
                opened_on=dt.date(1984, 1, 1),
            )
            level.units.append(town)
            towns.append((town, c, t, code))
            positions = [Position.CHAIR] + [Position.VICE_CHAIR] * 2 + [Position.STAFF] * rng.randint(1, 2)
            level.cadres.append((town.path, positions + [Position.EXECUTIVE] * rng.randint(25, 35), True))
        number = len(plan)
        for i, (name, kind) in enumerate(_committee_names(rng, short, _scaled(rng, 26, 34, factor)), start=1):
            number += 1
            unit = _unit(
                county,
                number,
                kind=kind,
                name=name,
                code=f"CT{c:02d}C{i:03d}",
                sort_order=100 + i,
                established=rng.random() > 0.05,
            )
            level.units.append(unit)
            level.cadres.append((unit.path, _committee_positions(rng), True))
        last_child[county.path] = number
    ids = _insert_units(level)
    for town, *_ in towns:
        town.pk = ids[town.path]
    cadre_plan += level.cadres

    # --- villages, communities and township-level committees ------------------------------------------------
    level = _Plan()
    for town, c, t, code in towns:
        count = _scaled(rng, 13, 21, factor)
        if town.kind == Kind.TOWNSHIP:
            n_communities = min(count, rng.randint(1, 2))
            kinds = [Kind.VILLAGE] * (count - n_communities) + [Kind.COMMUNITY] * n_communities
            v_names = _villages(rng, count - n_communities) + _communities(rng, n_communities)
        else:
            n_villages = min(count, rng.randint(0, 3))
            kinds = [Kind.COMMUNITY] * (count - n_villages) + [Kind.VILLAGE] * n_villages
            v_names = _communities(rng, count - n_villages) + _villages(rng, n_villages)
        for v, (v_name, v_kind) in enumerate(zip(v_names, kinds, strict=True), start=1):
            established = rng.random() > 0.03
            village = _unit(
                town,
                v,
                kind=v_kind,
                name=v_name,
                code=f"{code}{v:03d}",
                division_code=_division(c, t, v),
                sort_order=v,
                established=established,
                opened_on=dt.date(2017, rng.randint(1, 12), 1),
            )
            level.units.append(village)
            if established:
                positions = [Position.CHAIR] + [Position.VICE_CHAIR] * rng.randint(1, 2)
                positions += [Position.EXECUTIVE] * rng.randint(15, 25)
                level.cadres.append((village.path, positions, False))
        number = count
        base = town.name.removesuffix("妇联")
        suffixes = ("卫生院", "中心学校") if town.kind == Kind.TOWNSHIP else ("社区卫生服务中心", "中心小学")
        for i, suffix in enumerate(suffixes, start=1):
            number += 1
            unit = _unit(
                town,
                number,
                kind=Kind.AGENCY,
                name=f"{base}{suffix}妇委会",
                code=f"{code}C{i}",
                sort_order=900,
            )
            level.units.append(unit)
            level.cadres.append((unit.path, [Position.CHAIR] + [Position.MEMBER] * rng.randint(4, 8), True))
        last_child[town.path] = number
    _insert_units(level)
    cadre_plan += level.cadres

    # --- last_child_number, then the cadres -----------------------------------------------------------------
    for path, n in last_child.items():
        OrgUnit.objects.filter(path=path).update(last_child_number=n)
    unit_ids = dict(OrgUnit.objects.under(city).values_list("path", "id"))
    cadres = _insert_cadres(
        row
        for path, positions, office in cadre_plan
        for row in _cadre_rows(rng, unit_ids[path], positions, office, now)
    )
    if connection.vendor == "postgresql":  # fresh planner statistics after a bulk load
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {OrgUnit._meta.db_table}, {Cadre._meta.db_table}")

    figures = {
        "root_code": CITY_ROOT_CODE,
        "root_path": city.path,
        "backend": connection.vendor,
        "seed": seed,
        "factor": factor,
        "units": len(unit_ids),
        "cadres": cadres,
        "seconds": round(time.perf_counter() - started, 2),
    }
    record(None, "demo.city.bulk_build", obj=city, where=Where.of(city), detail=figures)
    return figures


def _committee_positions(rng: random.Random) -> list[str]:
    return (
        [Position.CHAIR] + [Position.VICE_CHAIR] * rng.randint(0, 1) + [Position.MEMBER] * rng.randint(4, 12)
    )
