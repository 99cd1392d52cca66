"""The portal's figures in the statistics service: over a subtree and per child unit."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from fulian.portal import actions
from fulian.reports import registry

from .conftest import commitment, draft, published


def test_disclosures_and_commitments(cast):
    published(cast)
    published(cast, cast.village_a1)
    published(cast, cast.town_b)
    draft(cast)
    c = commitment(cast, year=timezone.localdate().year)
    actions.report_progress(cast.users.a_staff, c, expected_version=c.version, evidence="过半。", progress=60)
    commitment(cast, cast.town_b, year=timezone.localdate().year)
    commitment(cast, cast.town_b, title="未公开", publish=False, year=timezone.localdate().year)
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=30), today
    codes = ["disclosures_published", "commitments_published", "commitments_avg_progress"]
    source = registry.get("disclosures_published").source
    assert source.compute(cast.county, start, end, codes) == {
        "disclosures_published": 3,
        "commitments_published": 2,
        "commitments_avg_progress": 30.0,
    }
    assert source.compute(cast.town_a, start, end, codes)["disclosures_published"] == 2
    by_child = source.by_child(cast.county, start, end, codes)
    assert by_child["disclosures_published"][cast.town_a.pk] == 2
    assert by_child["disclosures_published"][cast.town_b.pk] == 1
    assert by_child["commitments_avg_progress"][cast.town_a.pk] == 60.0
    assert by_child["commitments_avg_progress"][cast.town_b.pk] == 0.0
    assert by_child["commitments_published"][cast.agency.pk] == 0
    earlier = source.compute(
        cast.county, start - dt.timedelta(days=400), start - dt.timedelta(days=370), codes
    )
    assert earlier["disclosures_published"] == 0
