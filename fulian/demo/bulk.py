"""Bulk-built org trees for benchmarks and capacity tests (``fulian seed --scale county|city|province``).

One generator, three shapes (``SHAPES``): a county (~400 units), the benchmark city (~5,000 units and ~100,000
cadres: 1 city, 12 counties, ~240 townships and streets, ~3,800 villages and communities, ~900 agency /
enterprise / new-organisation committees) and a province (1 province, 14 cities, ~120 counties, ~1,600
townships and streets, ~26,000 villages and communities, ~8,000 committees, ~150,000 cadres), with the
distributions of the demo county (fulian.demo.county). Unlike the demo county it does not go through the
per-row actions: the root is created with ``create_unit`` (so it is audited), everything below it is inserted
level by level with ``bulk_create`` (cadres with COPY on PostgreSQL), and a single audit event records the
bulk load.

The paths are exactly those ``create_unit`` would have allocated (fulian.orgs.paths.child_path, segments
1..n per parent, ``last_child_number`` = n), so the tree can be edited through the actions afterwards.
Deterministic for a given shape, ``seed`` and ``factor`` (ages relative to county.REFERENCE_DAY); the city
shape draws exactly as the city-only generator did before the other shapes existed, so ``build_city(seed=1)``
is still the data set docs/performance.md describes.
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
# the province's cities (fictional 云川省) and the syllables its ~120 county names are drawn from
CITY_NAMES = [
    "清江市",
    "云州市",
    "青阳市",
    "白沙市",
    "桃江市",
    "石城市",
    "凤阳市",
    "安远市",
    "永新市",
    "兰州湾市",
    "梅岭市",
    "龙川市",
    "金华山市",
    "松溪市",
    "黎平市",
    "鹤山市",
]
COUNTY_HEADS = "江云青白清桃石凤安永兰梅龙金松黎鹤宁丰长"
COUNTY_TAILS = "城溪山河源门岭宁丰川阳沙泉江平"
TOWN_COMMITTEES = {  # township-level committees, in this order (the city shape has two per township)
    Kind.TOWNSHIP: ("卫生院", "中心学校", "派出所"),
    Kind.STREET: ("社区卫生服务中心", "中心小学", "便民服务中心"),
}

CADRE_COLUMNS = (
    "org_unit_id",
    *CADRE_FIELDS,
    "version",
    "created_at",
    "updated_at",
)

Range = tuple[int, int]


@dataclass(frozen=True)
class Shape:
    """How wide each level of a generated tree is (counts before ``factor``) and how many cadres a unit has."""

    name: str  # "county" / "city" / "province"
    root_kind: str
    root_code: str
    root_name: str
    root_division: str  # the leading digits of the root's 12-digit division code
    cities: int = 0  # under a province root (no draw: round(cities * factor))
    province_committees: int = 0
    city_exec: Range = (30, 40)
    counties: int | Range = 12  # per city: an int is not drawn (round(n * factor)), a range is
    city_committees: int | Range = 40
    county_exec: Range = (30, 40)
    towns: Range = (17, 23)
    streets: Range = (3, 7)
    county_committees: Range = (26, 34)
    town_exec: Range = (25, 35)
    villages: Range = (13, 21)
    village_exec: Range = (15, 25)
    town_committees: Range = (2, 2)
    committee_members: Range = (4, 12)
    town_committee_members: Range = (4, 8)
    root_positions: tuple[str, ...] = ()


CITY_ROOT_POSITIONS = (
    (Position.CHAIR,) + (Position.VICE_CHAIR,) * 4 + (Position.STAFF,) * 8 + (Position.EXECUTIVE,) * 45
)
SHAPES = {
    "county": Shape(
        name="county",
        root_kind=Kind.COUNTY,
        root_code="BULK-COUNTY",
        root_name="清河县妇联",
        root_division="360905",
        root_positions=(Position.CHAIR,)
        + (Position.VICE_CHAIR,) * 3
        + (Position.STAFF,) * 5
        + (Position.EXECUTIVE,) * 35,
    ),
    "city": Shape(
        name="city",
        root_kind=Kind.CITY,
        root_code=CITY_ROOT_CODE,
        root_name="清江市妇联",
        root_division=CITY_DIVISION,
        root_positions=CITY_ROOT_POSITIONS,
    ),
    # issue #5: ≈ 14 cities, 120 counties, 1,600 townships, 26,000 villages, 8,000 committees, 150,000 cadres
    "province": Shape(
        name="province",
        root_kind=Kind.PROVINCE,
        root_code="DEMO-PROV",
        root_name="云川省妇联",
        root_division="36",
        cities=14,
        province_committees=40,
        city_exec=(20, 30),
        counties=(7, 10),
        city_committees=(30, 40),
        county_exec=(8, 12),
        towns=(12, 15),
        streets=(2, 4),
        county_committees=(24, 34),
        town_exec=(6, 10),
        villages=(14, 19),
        village_exec=(1, 2),
        town_committees=(2, 3),
        committee_members=(1, 4),
        town_committee_members=(1, 3),
        root_positions=(Position.CHAIR,)
        + (Position.VICE_CHAIR,) * 5
        + (Position.STAFF,) * 12
        + (Position.EXECUTIVE,) * 60,
    ),
}


class CityAlreadyBuilt(CommandError):
    """Raised when the root already exists (the bulk build never runs twice)."""


TreeAlreadyBuilt = CityAlreadyBuilt


@dataclass
class _Plan:
    """Units of one level, waiting for their bulk insert; cadre plans keyed by the unit's path."""

    units: list[OrgUnit] = field(default_factory=list)
    # (path, positions, office) — resolved to unit ids once the level is inserted
    cadres: list[tuple[str, list[str], bool]] = field(default_factory=list)


@dataclass
class _Node:
    """A generated unit that gets children: its code prefix, division digits and short name."""

    unit: OrgUnit
    code: str
    division: str | None
    short: str


def _scaled(rng: random.Random, low: int, high: int, factor: float) -> int:
    """A count drawn from [low, high], scaled by ``factor`` (never below 1)."""
    return max(1, round(rng.randint(low, high) * factor))


def _count(rng: random.Random, spec: int | Range, factor: float) -> int:
    """``spec`` children: an int is scaled without a draw, a range is drawn then scaled."""
    if isinstance(spec, int):
        return max(1, round(spec * factor))
    return _scaled(rng, *spec, factor)


def _unit(parent: OrgUnit, number: int, **fields) -> OrgUnit:
    path = child_path(parent.path, number)
    return OrgUnit(parent=parent, path=path, depth=depth_of(path), **fields)


def _division(prefix: str | None, *parts: tuple[int, int]) -> str | None:
    """``prefix`` + each (number, width) part, padded with zeros to the 12-digit statistical division code;
    None when a factor > 1 runs past the fixed widths."""
    if prefix is None:
        return None
    code = prefix + "".join(f"{n:0{w}d}" for n, w in parts)
    if any(len(f"{n:0{w}d}") != w for n, w in parts) or len(code) > 12:
        return None
    return code.ljust(12, "0")


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


def _committee_positions(rng: random.Random, members: Range = (4, 12)) -> list[str]:
    return (
        [Position.CHAIR]
        + [Position.VICE_CHAIR] * rng.randint(0, 1)
        + [Position.MEMBER] * rng.randint(*members)
    )


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


def copy_rows(table: str, columns: tuple[str, ...], rows) -> int:
    """Write ``rows`` (tuples in ``columns`` order) into ``table``: COPY on PostgreSQL (psycopg's
    ``cursor.copy``), ``executemany`` in batches of 5,000 elsewhere (inside the caller's transaction);
    returns the number of rows."""
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:  # noqa: S608
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def _insert_cadres(rows) -> int:
    """Insert the rows (an iterable in CADRE_COLUMNS order) with ``copy_rows``."""
    ops = connection.ops
    adapt = ops.adapt_datetimefield_value
    if connection.vendor != "postgresql":  # the driver does not adapt aware datetimes: as Django would
        rows = (row[:-2] + (adapt(row[-2]), adapt(row[-1])) for row in rows)
    return copy_rows(ops.quote_name(Cadre._meta.db_table), CADRE_COLUMNS, rows)


class _Builder:
    def __init__(self, shape: Shape, rng: random.Random, factor: float):
        self.shape, self.rng, self.factor = shape, rng, factor
        self.last_child: dict[str, int] = {}  # path -> number of children allocated
        self.cadre_plan: list[tuple[str, list[str], bool]] = []

    def _insert(self, level: _Plan, nodes: list[_Node]) -> list[_Node]:
        ids = _insert_units(level)
        for node in nodes:
            node.unit.pk = ids[node.unit.path]
        self.cadre_plan += level.cadres
        return nodes

    def _committees(
        self, level: _Plan, parent: _Node, prefix: str, count: int, number: int, code: str
    ) -> int:
        rng = self.rng
        for i, (name, kind) in enumerate(_committee_names(rng, prefix, count), start=1):
            number += 1
            unit = _unit(
                parent.unit,
                number,
                kind=kind,
                name=name,
                code=f"{code}{i:03d}",
                sort_order=100 + i,
                established=rng.random() > 0.05,
            )
            level.units.append(unit)
            level.cadres.append((unit.path, _committee_positions(rng, self.shape.committee_members), True))
        return number

    def _office_positions(self, staff: Range, exec_range: Range, vices: int) -> list[str]:
        rng = self.rng
        positions = [Position.CHAIR] + [Position.VICE_CHAIR] * vices + [Position.STAFF] * rng.randint(*staff)
        return positions + [Position.EXECUTIVE] * rng.randint(*exec_range)

    def cities(self, province: _Node) -> list[_Node]:
        s, rng, level, nodes = self.shape, self.rng, _Plan(), []
        n_cities = max(1, round(s.cities * self.factor))
        heads = rng.sample(CITY_NAMES, min(n_cities, len(CITY_NAMES)))
        for c in range(1, n_cities + 1):
            short = heads[c - 1] if c <= len(heads) else f"第{c}市"
            city = _unit(
                province.unit,
                c,
                kind=Kind.CITY,
                name=f"{short}妇联",
                code=f"P{c:02d}",
                division_code=_division(province.division, (c, 2)),
                sort_order=c,
                opened_on=dt.date(1950, 3, 8),
            )
            level.units.append(city)
            division = f"{province.division}{c:02d}" if province.division and c < 100 else None
            nodes.append(_Node(city, f"P{c:02d}", division, short))
            level.cadres.append((city.path, self._office_positions((3, 6), s.city_exec, 3), True))
        number = self._committees(
            level, province, "省", round(s.province_committees * self.factor), n_cities, "PC"
        )
        self.last_child[province.unit.path] = number
        return self._insert(level, nodes)

    def counties(self, cities: list[_Node]) -> list[_Node]:
        s, rng, level, nodes = self.shape, self.rng, _Plan(), []
        province_wide = len(cities) > 1 or cities[0].unit.kind != s.root_kind
        pool = [h + t for h in COUNTY_HEADS for t in COUNTY_TAILS]
        used: set[str] = set()
        for city in cities:
            n_counties = _count(rng, s.counties, self.factor)
            if province_wide:
                shorts = []
                for i in range(n_counties):
                    candidates = [p for p in rng.sample(pool, 8) if p not in used]
                    base = candidates[0] if candidates else f"第{len(used) + 1}"
                    used.add(base)
                    shorts.append(base + ("区" if i < 2 else "县"))
            else:
                shorts = [
                    COUNTY_NAMES[c - 1] if c <= len(COUNTY_NAMES) else f"第{c}区"
                    for c in range(1, n_counties + 1)
                ]
            for c in range(1, n_counties + 1):
                code = f"{city.code if province_wide else ''}CT{c:02d}"
                division = f"{city.division}{c:02d}" if city.division and c < 100 else None
                county = _unit(
                    city.unit,
                    c,
                    kind=Kind.COUNTY,
                    name=f"{shorts[c - 1]}妇联",
                    code=code,
                    division_code=_division(division),
                    sort_order=c,
                    opened_on=dt.date(1950, 3, 8),
                )
                level.units.append(county)
                nodes.append(_Node(county, code, division, shorts[c - 1]))
                level.cadres.append((county.path, self._office_positions((3, 6), s.county_exec, 3), True))
            prefix = city.short if province_wide else "市"
            count = _count(rng, s.city_committees, self.factor)
            self.last_child[city.unit.path] = self._committees(
                level, city, prefix, count, n_counties, f"{city.code if province_wide else ''}CTC"
            )
        return self._insert(level, nodes)

    def towns(self, counties: list[_Node]) -> list[_Node]:
        s, rng, level, nodes = self.shape, self.rng, _Plan(), []
        for county in counties:
            n_towns = _scaled(rng, *s.towns, self.factor)
            n_streets = min(n_towns - 1, rng.randint(*s.streets)) if n_towns > 1 else 0
            n_streets = min(n_streets, len(names.STREETS))
            t_names = rng.sample(names.TOWNSHIPS, min(n_towns - n_streets, len(names.TOWNSHIPS)))
            t_names += [f"第{i}镇" for i in range(len(t_names) + 1, n_towns - n_streets + 1)]  # factor > 1
            plan = [(n, Kind.TOWNSHIP) for n in t_names]
            plan += [(n, Kind.STREET) for n in rng.sample(names.STREETS, n_streets)]
            for t, (t_name, t_kind) in enumerate(plan, start=1):
                code = f"{county.code}{t:02d}"
                division = f"{county.division}{100 + t:03d}" if county.division and t < 900 else None
                town = _unit(
                    county.unit,
                    t,
                    kind=t_kind,
                    name=f"{t_name}妇联",
                    code=code,
                    division_code=_division(division),
                    sort_order=t,
                    opened_on=dt.date(1984, 1, 1),
                )
                level.units.append(town)
                nodes.append(_Node(town, code, division, t_name))
                level.cadres.append((town.path, self._office_positions((1, 2), s.town_exec, 2), True))
            count = _scaled(rng, *s.county_committees, self.factor)
            self.last_child[county.unit.path] = self._committees(
                level, county, county.short, count, len(plan), f"{county.code}C"
            )
        return self._insert(level, nodes)

    def villages(self, towns: list[_Node]) -> None:
        s, rng, level = self.shape, self.rng, _Plan()
        for town in towns:
            kind = town.unit.kind
            count = _scaled(rng, *s.villages, self.factor)
            if kind == Kind.TOWNSHIP:
                n_communities = min(count, rng.randint(1, 2))
                kinds = [Kind.VILLAGE] * (count - n_communities) + [Kind.COMMUNITY] * n_communities
                v_names = _villages(rng, count - n_communities) + _communities(rng, n_communities)
            else:
                n_villages = min(count, rng.randint(0, 3))
                kinds = [Kind.COMMUNITY] * (count - n_villages) + [Kind.VILLAGE] * n_villages
                v_names = _communities(rng, count - n_villages) + _villages(rng, n_villages)
            for v, (v_name, v_kind) in enumerate(zip(v_names, kinds, strict=True), start=1):
                established = rng.random() > 0.03
                division = f"{town.division}{200 + v:03d}" if town.division and v < 800 else None
                village = _unit(
                    town.unit,
                    v,
                    kind=v_kind,
                    name=v_name,
                    code=f"{town.code}{v:03d}",
                    division_code=_division(division),
                    sort_order=v,
                    established=established,
                    opened_on=dt.date(2017, rng.randint(1, 12), 1),
                )
                level.units.append(village)
                if established:
                    positions = [Position.CHAIR] + [Position.VICE_CHAIR] * rng.randint(1, 2)
                    positions += [Position.EXECUTIVE] * rng.randint(*s.village_exec)
                    level.cadres.append((village.path, positions, False))
            number = count
            base = town.unit.name.removesuffix("妇联")
            low, high = s.town_committees
            n_committees = low if low == high else rng.randint(low, high)  # the city shape draws nothing here
            for i, suffix in enumerate(TOWN_COMMITTEES[kind][:n_committees], start=1):
                number += 1
                unit = _unit(
                    town.unit,
                    number,
                    kind=Kind.AGENCY,
                    name=f"{base}{suffix}妇委会",
                    code=f"{town.code}C{i}",
                    sort_order=900,
                )
                level.units.append(unit)
                members = [Position.MEMBER] * rng.randint(*s.town_committee_members)
                level.cadres.append((unit.path, [Position.CHAIR] + members, True))
            self.last_child[town.unit.path] = number
        _insert_units(level)
        self.cadre_plan += level.cadres


@transaction.atomic
def build_tree(shape: Shape | str, seed: int = 1, factor: float = 1.0) -> dict:
    """Build the tree of ``shape`` (a key of SHAPES or a Shape); returns figures (units, cadres, seconds, the
    seconds of each phase) for the seed command. ``factor`` scales the breadth at every level."""
    shape = SHAPES[shape] if isinstance(shape, str) else shape
    started = time.perf_counter()
    if OrgUnit.objects.filter(code=shape.root_code).exists():
        what = {"county": "示范县", "city": "示范市", "province": "示范省"}.get(shape.name, "示范数据")
        raise CityAlreadyBuilt(f"{what}(单位编码 {shape.root_code})已存在,未重复生成。")
    if factor <= 0:
        raise ValueError("factor must be positive")
    rng = random.Random(seed)
    now = timezone.now()
    phases: dict[str, float] = {}

    root = create_unit(
        None,
        parent=None,
        kind=shape.root_kind,
        name=shape.root_name,
        code=shape.root_code,
        division_code=shape.root_division.ljust(12, "0"),
        opened_on=dt.date(1949, 10, 1),
        address=f"{shape.root_name.removesuffix('妇联')}人民大道 1 号",
        phone="0790-12338",
    )
    builder = _Builder(shape, rng, factor)
    builder.cadre_plan.append((root.path, list(shape.root_positions), True))
    node = _Node(root, "", shape.root_division, shape.root_name.removesuffix("妇联"))
    tick = time.perf_counter()
    if shape.root_kind == Kind.PROVINCE:
        counties = builder.counties(builder.cities(node))
    elif shape.root_kind == Kind.CITY:
        counties = builder.counties([node])
    else:
        node.short = node.short[:-1] if node.short.endswith(("县", "区")) else node.short
        node.code = "BC"  # the county shape's unit codes: BC01 (township), BC01001 (village) …
        counties = [node]
    builder.villages(builder.towns(counties))
    # --- last_child_number, then the cadres -----------------------------------------------------------------
    for path, n in builder.last_child.items():
        OrgUnit.objects.filter(path=path).update(last_child_number=n)
    phases["units"] = round(time.perf_counter() - tick, 2)
    tick = time.perf_counter()
    unit_ids = dict(OrgUnit.objects.under(root).values_list("path", "id"))
    cadres = _insert_cadres(
        row
        for path, positions, office in builder.cadre_plan
        for row in _cadre_rows(rng, unit_ids[path], positions, office, now)
    )
    analyze(OrgUnit, Cadre)  # fresh planner statistics after a bulk load
    phases["cadres"] = round(time.perf_counter() - tick, 2)

    figures = {
        "root_code": shape.root_code,
        "root_path": root.path,
        "backend": connection.vendor,
        "seed": seed,
        "factor": factor,
        "units": len(unit_ids),
        "cadres": cadres,
        "phase_seconds": phases,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if shape.name != "city":
        figures["shape"] = shape.name
    record(None, f"demo.{shape.name}.bulk_build", obj=root, where=Where.of(root), detail=figures)
    return figures


def analyze(*models) -> None:
    """Fresh planner statistics for these tables after a bulk load, on either backend (SQLite keeps none until
    ``ANALYZE`` runs: see ``fulian.lib.sqlite``)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(m._meta.db_table for m in models))
        else:
            for model in models:
                cursor.execute(f"ANALYZE {model._meta.db_table}")


def build_city(seed: int = 1, factor: float = 1.0) -> dict:
    """Build the benchmark city; returns figures (units, cadres, seconds, ...) for the seed command.

    ``factor`` scales the breadth at every level (counties, townships per county, villages per township,
    committees); 1.0 gives ~5,000 units and ~100,000 cadres, 0.1 a few dozen units for tests.
    """
    return build_tree("city", seed=seed, factor=factor)
