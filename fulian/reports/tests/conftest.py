"""Reports fixtures: a little of every module's data in the cast, built through the real actions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone

from fulian.cases.tests.conftest import make_case
from fulian.ledger.tests.builders import activity, training
from fulian.supervision.tests.conftest import make_late, sanba_task


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def year():
    return timezone.localdate().year


@pytest.fixture
def data(cast):
    u = cast.users
    task = sanba_task(cast)
    make_late(task)
    return SimpleNamespace(
        a1_training=training(cast.village_a1, u.a1_staff, sessions=2, people=25, employed=12),
        a2_training=training(cast.village_a2, None, sessions=1, people=30, employed=5),
        b1_training=training(cast.village_b1, u.b1_staff, sessions=3, people=40, employed=20),
        a_activity=activity(cast.town_a, u.a_staff, people=120),
        task=task,
        case_a1=make_case(u.county_hotline, cast.village_a1),
        case_b=make_case(u.b_caseworker, cast.town_b),
    )
