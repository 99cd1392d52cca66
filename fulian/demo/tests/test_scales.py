"""`fulian seed --scale county|city|province` at tiny sizes: deterministic, and every derived structure consistent —
materialised paths, the maintained ledger month totals and branch rows (`ledger_rebuild_totals --check`), case
numbers gap-free and equal to their counters; the statistics service agrees with a record-by-record sum."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max, Min

from fulian.audit.models import AuditEvent
from fulian.cases.models import Case, CaseCounter
from fulian.demo.bulk import SHAPES, CityAlreadyBuilt, build_tree
from fulian.demo.scales import SCALES, build_scale
from fulian.ledger import totals
from fulian.ledger.models import LedgerBranchMonth, LedgerMonthTotal, LedgerRecord
from fulian.orgs.models import Cadre, Kind, OrgUnit
from fulian.orgs.paths import depth_of
from fulian.reports import registry

SEGMENT = re.compile(r"\d{4}")
FACTORS = {"county": 0.15, "city": 0.06, "province": 0.1}


def signature(root: OrgUnit) -> tuple:
    units = list(
        OrgUnit.objects.under(root)
        .order_by("path")
        .values_list("path", "kind", "name", "code", "division_code", "established", "last_child_number")
    )
    cadres = list(
        Cadre.objects.order_by("org_unit__path", "id").values_list(
            "org_unit__path", "name", "birth_date", "position"
        )
    )
    records = list(
        LedgerRecord.objects.order_by("id").values_list(
            "org_unit__path", "kind", "date", "participants", "amount"
        )
    )
    cases = list(Case.objects.order_by("id").values_list("number", "org_unit__path", "state", "created_at"))
    return units, cadres, records, cases


def assert_paths_valid(root: OrgUnit) -> None:
    units = {u.pk: u for u in OrgUnit.objects.under(root)}
    children: dict[int, list[int]] = defaultdict(list)
    for unit in units.values():
        if unit.pk == root.pk:
            assert unit.parent_id is None and unit.depth == depth_of(unit.path) == 1
            continue
        parent = units[unit.parent_id]
        head, _, last = unit.path.rpartition(".")
        assert head == parent.path and SEGMENT.fullmatch(last), unit.path
        assert unit.depth == depth_of(unit.path) == parent.depth + 1
        children[parent.pk].append(int(last))
    for parent_id, segments in children.items():
        assert sorted(segments) == list(range(1, len(segments) + 1))  # as create_unit allocates them
        assert units[parent_id].last_child_number == len(segments)
    assert all(units[pk].last_child_number == 0 for pk in set(units) - set(children))


def assert_case_numbers_gap_free() -> None:
    per_unit_year = (
        Case.objects.values("registered_unit_id", "year")
        .annotate(n=Count("id"), low=Min("sequence"), high=Max("sequence"))
        .order_by()
    )
    counters = {(c.org_unit_id, c.year): c.last for c in CaseCounter.objects.all()}
    assert len(counters) == len(per_unit_year) > 0
    for row in per_unit_year:
        assert (
            row["low"] == 1 and row["high"] == row["n"] == counters[(row["registered_unit_id"], row["year"])]
        )
    for case in Case.objects.select_related("registered_unit")[:50]:
        assert case.number.endswith(f"-{case.year}-{case.sequence:06d}")


@pytest.mark.parametrize("scale", ["county", "city", "province"])
def test_scale_is_deterministic_and_consistent(db, scale):
    factor = FACTORS[scale]
    shape = SHAPES[SCALES[scale].shape]
    with transaction.atomic():
        first_figures = build_scale(scale, seed=4, factor=factor)
        first = signature(OrgUnit.objects.get(code=shape.root_code))
        transaction.set_rollback(True)
    figures = build_scale(scale, seed=4, factor=factor)
    root = OrgUnit.objects.get(code=shape.root_code)
    assert signature(root) == first  # the same seed and factor build the same data
    assert {k: v for k, v in figures["tree"].items() if k not in ("seconds", "phase_seconds")} == {
        k: v for k, v in first_figures["tree"].items() if k not in ("seconds", "phase_seconds")
    }
    assert root.kind == shape.root_kind and set(figures["phase_seconds"]) == {"tree", "ledger", "cases"}
    assert figures["tree"]["units"] == OrgUnit.objects.under(root).count()
    assert figures["tree"]["cadres"] == Cadre.objects.count() > 0
    assert figures["ledger"]["records"] == LedgerRecord.objects.count() > 0
    assert figures["cases"]["cases"] == Case.objects.count() > 0
    assert_paths_valid(root)
    # the monthly totals and the ancestors' rows equal the records (what the actions would have kept)
    assert LedgerBranchMonth.objects.exists() and LedgerMonthTotal.objects.exists()
    assert totals.differences(root) == []
    out = StringIO()
    call_command("ledger_rebuild_totals", "--check", "--unit", root.code, stdout=out)
    assert "一致" in out.getvalue()
    assert_case_numbers_gap_free()
    # the statistics service adds up exactly what the records hold
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    expected = sum(
        LedgerRecord.objects.filter(kind="training", date__range=(start, end)).values_list(
            "person_times", flat=True
        )
    )
    assert registry.get("training_person_times").compute(root, start, end) == expected
    with pytest.raises(CityAlreadyBuilt):
        build_tree(shape.name, seed=4, factor=factor)


def test_province_shape_has_every_level(db):
    figures = build_tree("province", seed=2, factor=0.1)
    root = OrgUnit.objects.get(code=SHAPES["province"].root_code)
    kinds = set(OrgUnit.objects.under(root).values_list("kind", flat=True))
    assert {Kind.PROVINCE, Kind.CITY, Kind.COUNTY, Kind.TOWNSHIP, Kind.VILLAGE, Kind.AGENCY} <= kinds
    assert OrgUnit.objects.values("code").distinct().count() == OrgUnit.objects.count() == figures["units"]
    assert AuditEvent.objects.filter(action="demo.province.bulk_build").count() == 1
    city = OrgUnit.objects.filter(parent=root, kind=Kind.CITY).first()
    assert city.division_code.startswith("36") and len(city.division_code) == 12


def test_seed_command_reports_each_phase(db):
    out = StringIO()
    call_command("seed", "--scale", "county", "--factor", "0.1", "--seed", "3", stdout=out, stderr=StringIO())
    figures = json.loads(out.getvalue())
    assert figures["scale"] == "county" and figures["tree"]["shape"] == "county"
    assert set(figures["phase_seconds"]) == {"tree", "ledger", "cases"} and figures["seconds"] >= 0
    assert OrgUnit.objects.filter(code="BULK-COUNTY", kind=Kind.COUNTY).exists()
