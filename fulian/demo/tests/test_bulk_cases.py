"""The bulk-built cases of the benchmark city: deterministic, numbered consistently with the counters (an intake
afterwards gets the next number), parties encrypted as the app stores them and found by the blind index."""

import datetime as dt
from unittest import mock

import pytest
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from fulian.accounts.roles import Role
from fulian.audit.models import AuditEvent
from fulian.cases import actions, queries
from fulian.cases.models import (
    OPEN_STATES,
    Case,
    CaseCategory,
    CaseCounter,
    Channel,
    Party,
    State,
    TimelineEntry,
    overdue_condition,
)
from fulian.demo.bulk import CITY_ROOT_CODE, build_city
from fulian.demo.bulk_cases import CasesAlreadyBuilt, build_city_cases
from fulian.lib.idcard import parse_id_number
from fulian.lib.sensitive import Sensitive
from fulian.orgs.models import Kind, OrgUnit


@pytest.fixture
def city(db):
    build_city(seed=3, factor=0.15)
    return OrgUnit.objects.get(code=CITY_ROOT_CODE)


def signature() -> list[tuple]:
    return list(
        Case.objects.order_by("id").values_list("number", "org_unit_id", "state", "risk", "created_at")
    )


def test_builds_a_deterministic_mix_in_the_period(city):
    with transaction.atomic():
        build_city_cases(seed=5, factor=0.05, years=1)
        first = signature()
        transaction.set_rollback(True)
    figures = build_city_cases(seed=5, factor=0.05, years=1)
    cases = Case.objects.all()
    assert signature() == first
    assert figures["cases"] == cases.count() > 200
    assert figures["parties"] == Party.objects.count() > figures["cases"]
    assert (
        figures["timeline_entries"] == TimelineEntry.objects.filter(kind="intake").count() == figures["cases"]
    )
    low = timezone.make_aware(dt.datetime(2025, 11, 1))
    high = timezone.make_aware(dt.datetime(2026, 11, 1))
    assert not cases.filter(created_at__lt=low).exists() and not cases.filter(created_at__gte=high).exists()
    assert {"archived", "in_progress", "registered"} <= set(cases.values_list("state", flat=True))
    assert set(cases.values_list("channel", flat=True)) >= {Channel.HOTLINE, Channel.VISIT}
    high_risk = cases.filter(risk=3).count()
    assert 0 < high_risk < cases.count() * 0.1
    # open cases past their handling deadline exist (the list's overdue flag has work to do)
    assert cases.filter(overdue_condition(timezone.now())).exists()
    assert AuditEvent.objects.filter(action="demo.city.cases_bulk_build").count() == 1
    with pytest.raises(CasesAlreadyBuilt):
        build_city_cases(seed=5, factor=0.05, years=1)


def test_numbers_match_the_counters_and_an_intake_continues_them(city):
    build_city_cases(seed=2, factor=0.05, years=1)
    per_unit_year = (
        Case.objects.values("registered_unit_id", "year")
        .annotate(n=Count("id"), low=Min("sequence"), high=Max("sequence"))
        .order_by()
    )
    counters = {(c.org_unit_id, c.year): c.last for c in CaseCounter.objects.all()}
    assert len(counters) == len(per_unit_year) > 10
    for row in per_unit_year:
        assert (
            row["low"] == 1 and row["high"] == row["n"] == counters[(row["registered_unit_id"], row["year"])]
        )
    case = Case.objects.select_related("registered_unit").order_by("-id").first()
    assert case.number == f"WQ-{case.registered_unit.code}-{case.year}-{case.sequence:06d}"
    # an intake in the same unit and year (the clock set inside the period) gets the next number and a fresh id
    unit = case.registered_unit
    last = counters[(unit.pk, 2026)]
    category = CaseCategory.objects.get(code="other")
    with mock.patch(
        "django.utils.timezone.now", return_value=timezone.make_aware(dt.datetime(2026, 10, 31, 12))
    ):
        new = actions.intake_case(
            None,
            unit=unit,
            channel=Channel.HOTLINE,
            category=category,
            parties=[{"role": "caller", "anonymous": True}],
            account="咨询。",
        )
    assert (new.year, new.sequence) == (2026, last + 1)
    assert new.number == f"WQ-{unit.code}-2026-{last + 1:06d}"
    assert new.pk > case.pk
    assert CaseCounter.objects.get(org_unit=unit, year=2026).last == last + 1


def test_parties_decrypt_and_the_blind_index_finds_them(city):
    from fulian.accounts.actions import create_user

    build_city_cases(seed=4, factor=0.05, years=1)
    party = (
        Party.objects.filter(role="affected")
        .exclude(phone="")
        .exclude(id_number="")
        .select_related("case__org_unit")
        .order_by("id")
        .first()
    )
    assert isinstance(party.name, Sensitive) and isinstance(party.phone, Sensitive)
    phone, id_number = party.phone.reveal(), party.id_number.reveal()
    assert len(phone) == 11 and phone.startswith("1")
    assert len(id_number) == 18 and int(id_number[16]) % 2 == 0  # a woman's ID number, check digit valid
    assert parse_id_number(id_number, today=dt.date(2026, 11, 1)).number == id_number
    assert party.name.reveal() and "*" in str(party.name)
    assert party.case.account.reveal()
    # the envelopes live in the column, not the plaintext
    raw = Party.objects.filter(pk=party.pk).values_list("phone", flat=True).get()
    assert raw.envelope_for("cases.party.phone").startswith("v1:") and phone not in raw.envelope_for(
        "cases.party.phone"
    )
    worker = create_user(None, username="bulk_cw", password="Fulian2026!x", unit=city, role=Role.CASEWORKER)
    found = set(queries.earlier_cases(worker, phone=phone).values_list("pk", flat=True))
    assert party.case_id in found
    assert party.case_id in set(
        queries.earlier_cases(worker, id_number=id_number).values_list("pk", flat=True)
    )
    # out of scope: a caseworker of another county finds nothing of this one
    counties = OrgUnit.objects.filter(kind=Kind.COUNTY).order_by("path")
    other = next(c for c in counties if not party.case.org_unit.path.startswith(c.path))
    outsider = create_user(
        None, username="bulk_cw2", password="Fulian2026!x", unit=other, role=Role.CASEWORKER
    )
    visible = queries.earlier_cases(outsider, phone=phone)
    assert all(c.org_unit.path.startswith(other.path) for c in visible)
    assert party.case_id not in {c.pk for c in visible}
    # the open cases of a township show up in its caseworker's list, 高危 first
    page = list(queries.cases_of(worker).values_list("risk", flat=True)[:50])
    assert page == sorted(page, reverse=True)
    assert (
        queries.cases_of(worker).count() == Case.objects.filter(state__in=(State.DRAFT, *OPEN_STATES)).count()
    )
