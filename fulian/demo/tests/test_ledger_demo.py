"""The demo ledger: a deterministic year through the real actions, never in the future, locked months typed by
the system, and a county roll-up shaped like the seeds' tables."""

import datetime as dt
import io

from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from fulian.audit.models import AuditEvent
from fulian.demo.county import DEMO_ROOT_CODE
from fulian.demo.ledger import build_demo_ledger, chongyang, window_for
from fulian.ledger import periods, queries
from fulian.ledger.models import LedgerRecord, RecordKind
from fulian.orgs.models import Kind, OrgUnit


def signature() -> list[tuple]:
    return list(
        LedgerRecord.objects.order_by("id").values_list(
            "org_unit__code", "kind", "category", "title", "date", "participants", "sessions", "amount"
        )
    )


def built(county, seed, today) -> list[tuple]:
    """The records one build makes, rolled back afterwards."""
    with transaction.atomic():
        build_demo_ledger(county, seed=seed, today=today)
        rows = signature()
        transaction.set_rollback(True)
    return rows


def test_window_is_the_twelve_months_up_to_today():
    assert window_for(dt.date(2026, 11, 26)).first == dt.date(2025, 12, 1)
    assert window_for(dt.date(2026, 12, 3)).first == dt.date(2026, 1, 1)
    assert window_for(dt.date(2026, 1, 31)).first == dt.date(2025, 2, 1)
    assert chongyang(2026) == dt.date(2026, 10, 18)


def test_the_year_is_deterministic_per_seed_and_day(cast):
    day = dt.date(2025, 6, 20)
    first = built(cast.county, 1, day)
    assert first and first == built(cast.county, 1, day)
    assert first != built(cast.county, 2, day)
    assert not LedgerRecord.objects.exists()


def test_a_past_year_goes_through_the_actions_as_the_system(cast):
    day = dt.date(2025, 3, 20)
    count = build_demo_ledger(cast.county, seed=1, today=day)
    records = LedgerRecord.objects.all()
    assert records.count() == count > 10
    assert all(r.date <= day for r in records)
    assert not records.filter(created_by__isnull=False).exists()  # every month of 2024/25 is locked now
    assert AuditEvent.objects.filter(action="ledger.record.create").count() == count
    # the not-established village 甲二村 and the agency committee keep no ledger; the rest do
    units = set(records.values_list("org_unit__code", flat=True))
    assert {"C", "A", "B"} <= units and "A2" not in units and "CA" not in units
    assert records.filter(org_unit=cast.town_a, date=dt.date(2025, 3, 8), kind=RecordKind.ACTIVITY).exists()


def test_open_months_are_typed_by_the_units_own_people(cast):
    today = timezone.localdate()
    build_demo_ledger(cast.county, seed=3, today=today)
    records = list(LedgerRecord.objects.select_related("org_unit", "created_by"))
    assert all(r.date <= today for r in records)
    for r in records:
        if periods.is_locked(r.date, today):
            assert r.created_by is None, r
        elif r.created_by is not None:
            assert r.created_by.memberships.filter(org_unit=r.org_unit).exists(), r
    open_with_typist = [
        r
        for r in records
        if not periods.is_locked(r.date, today) and r.org_unit.code in {"C", "A", "B", "A1", "B1"}
    ]
    assert all(r.created_by is not None for r in open_with_typist)


def test_demo_seed_builds_a_year_of_ledger_shaped_like_the_seeds(db):
    call_command("seed", "--scale", "demo", stdout=io.StringIO())
    county = OrgUnit.objects.get(code=DEMO_ROOT_CODE)
    today = timezone.localdate()
    records = LedgerRecord.objects.under(county)
    assert 600 <= records.count() <= 1500
    assert records.filter(date__gt=today).count() == 0
    assert set(records.values_list("kind", flat=True)) == set(RecordKind.values)
    assert records.filter(tags__isnull=False).distinct().count() > 100
    rows, total = queries.rollup(county, window_for(today).first, today)
    t = total.values
    # "举办培训52期,参加培训妇女952人" — the same order of magnitude, every kind present
    assert 40 <= t["training_sessions"] <= 200 and 700 <= t["training_people"] <= 4000
    assert t["training_employed"] <= t["training_recommended"]
    assert t["activity_count"] > 300 and t["fair_count"] >= 2 and t["workpoint_count"] >= 5
    assert t["service_amount"] > 0
    towns = [r for r in rows if r.unit is not None and r.unit.kind in (Kind.TOWNSHIP, Kind.STREET)]
    assert len(towns) >= 20 and all(r.values["activity_count"] > 0 for r in towns)
    assert all(r.values["training_sessions"] > 0 for r in towns)

    # the suggestion box, survey, rectification ledger and public site have something to show
    from fulian.portal.models import DisclosureItem
    from fulian.rectify.models import Problem
    from fulian.voice.models import Response, Suggestion

    extras = lambda: (  # noqa: E731
        Problem.objects.count(),
        DisclosureItem.objects.count(),
        Suggestion.objects.count(),
        Response.objects.count(),
    )
    seeded = extras()
    assert all(seeded) and seeded[3] == 60
    assert DisclosureItem.objects.filter(measure__isnull=False).exists()  # drafted by an accepted measure

    # re-run: nothing duplicated; a county seeded before the ledger existed gets its year
    before = records.count()
    call_command("seed", "--scale", "demo", stdout=io.StringIO())
    assert records.count() == before and extras() == seeded
    LedgerRecord.tags.through.objects.all().delete()
    LedgerRecord.objects.all().delete()
    out = io.StringIO()
    call_command("seed", "--scale", "demo", stdout=out)
    assert "已补充示范县近一年的工作台账" in out.getvalue()
    assert records.count() == before
