"""The bulk-built benchmark city: a tiny one (factor knob) must be a tree the actions can keep editing."""

import re

import pytest

from fulian.audit.models import AuditEvent
from fulian.demo.bulk import CITY_ROOT_CODE, CityAlreadyBuilt, build_city
from fulian.orgs import actions, queries
from fulian.orgs.models import Cadre, Kind, OrgUnit
from fulian.orgs.paths import depth_of

SEGMENT = re.compile(r"\d{4}")


@pytest.fixture
def city(db):
    figures = build_city(seed=3, factor=0.15)
    root = OrgUnit.objects.get(code=CITY_ROOT_CODE)
    return root, figures


def test_paths_depths_and_last_child_numbers(city):
    root, figures = city
    units = {u.pk: u for u in OrgUnit.objects.all()}
    assert figures["units"] == len(units) > 20
    assert root.parent_id is None and root.kind == Kind.CITY and root.depth == depth_of(root.path) == 1
    segments_by_parent: dict[int, list[int]] = {}
    for unit in units.values():
        if unit.pk == root.pk:
            continue
        parent = units[unit.parent_id]
        head, _, last = unit.path.rpartition(".")
        assert head == parent.path and SEGMENT.fullmatch(last), unit.path
        assert unit.depth == depth_of(unit.path) == parent.depth + 1
        segments_by_parent.setdefault(parent.pk, []).append(int(last))
    for parent_id, segments in segments_by_parent.items():
        assert units[parent_id].last_child_number >= max(segments)
        assert sorted(segments) == list(range(1, len(segments) + 1))  # as create_unit allocates them
    leaves = set(units) - set(segments_by_parent)
    assert all(units[pk].last_child_number == 0 for pk in leaves)
    assert {u.kind for u in units.values()} >= {Kind.COUNTY, Kind.TOWNSHIP, Kind.VILLAGE, Kind.AGENCY}


def test_cadre_stats_total_counts_every_cadre(city):
    root, figures = city
    rows, total = queries.cadre_stats(root)
    assert total.values["total"] == Cadre.objects.count() == figures["cadres"] > 0
    assert sum(r.values["total"] for r in rows) == total.values["total"]
    assert total.values["fulltime"] + total.values["parttime"] == total.values["total"]


def test_create_unit_under_a_generated_county(city):
    root, _ = city
    county = OrgUnit.objects.filter(parent=root, kind=Kind.COUNTY).order_by("path").first()
    before = county.last_child_number
    unit = actions.create_unit(None, parent=county, kind=Kind.TOWNSHIP, name="新设镇妇联", code="NEW-TOWN")
    county.refresh_from_db()
    assert unit.path == f"{county.path}.{before + 1:04d}"
    assert unit.depth == county.depth + 1 and county.last_child_number == before + 1
    assert OrgUnit.objects.under(county).filter(pk=unit.pk).exists()
    village = actions.create_unit(None, parent=unit, kind=Kind.VILLAGE, name="新设村", code="NEW-VILLAGE")
    assert village.path == f"{unit.path}.0001"


def test_refuses_to_build_twice(city):
    with pytest.raises(CityAlreadyBuilt, match="已存在"):
        build_city(seed=3, factor=0.15)
    assert OrgUnit.objects.filter(code=CITY_ROOT_CODE).count() == 1
    assert AuditEvent.objects.filter(action="demo.city.bulk_build").count() == 1
