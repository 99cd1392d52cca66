"""The bulk-built ledger of the benchmark city: deterministic, in the period, tagged, and a table the actions
(and the sequence of ids) can keep using."""

import datetime as dt

import pytest
from django.db import transaction

from fulian.audit.models import AuditEvent
from fulian.demo.bulk import CITY_ROOT_CODE, build_city
from fulian.demo.bulk_ledger import LedgerAlreadyBuilt, build_city_ledger
from fulian.ledger import queries
from fulian.ledger.actions import create_record
from fulian.ledger.models import BrandTag, LedgerRecord, RecordKind
from fulian.orgs.models import Kind, OrgUnit


@pytest.fixture
def city(db):
    build_city(seed=3, factor=0.15)
    return OrgUnit.objects.get(code=CITY_ROOT_CODE)


def signature() -> list[tuple]:
    return list(
        LedgerRecord.objects.order_by("id").values_list("org_unit_id", "kind", "date", "participants")
    )


def test_builds_a_deterministic_tagged_ledger_in_the_period(city):
    with transaction.atomic():
        figures = build_city_ledger(seed=5, factor=0.5, years=2)
        first = signature()
        transaction.set_rollback(True)
    figures = build_city_ledger(seed=5, factor=0.5, years=2)
    records = LedgerRecord.objects.all()
    assert signature() == first
    assert figures["records"] == records.count() > 1000
    assert (figures["start"], figures["end"]) == ("2024-01-01", "2025-12-31")
    assert (
        records.filter(date__lt=dt.date(2024, 1, 1)).count()
        == records.filter(date__gt=dt.date(2025, 12, 31)).count()
        == 0
    )
    assert set(records.values_list("kind", flat=True)) == set(RecordKind.values)
    links = LedgerRecord.tags.through.objects.count()
    assert links == figures["tag_links"] and 0.2 < links / figures["records"] < 0.4
    # villages that have no federation keep no ledger
    assert not records.filter(org_unit__kind=Kind.VILLAGE, org_unit__established=False).exists()
    assert AuditEvent.objects.filter(action="demo.city.ledger_bulk_build").count() == 1


def test_rollup_counts_every_record_and_the_actions_keep_working(city):
    build_city_ledger(seed=1, factor=0.3, years=1)
    _, total = queries.rollup(city, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    counted = sum(
        total.values[k] for k in ("activity_count", "fair_count", "workpoint_count", "service_count")
    )
    assert (
        counted + LedgerRecord.objects.filter(kind=RecordKind.TRAINING).count()
        == LedgerRecord.objects.count()
    )
    assert total.values["training_sessions"] == sum(
        LedgerRecord.objects.filter(kind=RecordKind.TRAINING).values_list("sessions", flat=True)
    )
    tag = BrandTag.objects.get(name="巾帼建功")
    _, tagged = queries.rollup(city, dt.date(2025, 1, 1), dt.date(2025, 12, 31), tag=tag)
    assert 0 < tagged.values["activity_count"] < total.values["activity_count"]
    # ids were assigned by the generator: the next record through the action still gets a fresh one
    village = OrgUnit.objects.filter(kind=Kind.VILLAGE, established=True).order_by("path").first()
    before = LedgerRecord.objects.order_by("-id").values_list("id", flat=True).first()
    rec = create_record(
        None,
        org_unit=village,
        kind=RecordKind.ACTIVITY,
        category="宣传",
        title="新增活动",
        date=dt.date(2025, 6, 1),
    )
    assert rec.pk > before
    rec.tags.set([tag])


def test_refuses_to_build_twice(city):
    build_city_ledger(seed=1, factor=0.05, years=1)
    count = LedgerRecord.objects.count()
    with pytest.raises(LedgerAlreadyBuilt, match="已存在"):
        build_city_ledger(seed=1, factor=0.05, years=1)
    assert LedgerRecord.objects.count() == count
