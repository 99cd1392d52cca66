"""The demo rectification ledger: built through the actions, every state present, re-runnable."""

from __future__ import annotations

from fulian.rectify.demo import seed_demo_rectification
from fulian.rectify.models import Measure, Problem, State


def test_demo_ledger_has_every_state_and_is_rerunnable(cast):
    assert seed_demo_rectification(cast.county) == 3
    states = sorted(Measure.objects.values_list("state", flat=True))
    assert states == sorted([State.ACCEPTED, State.IN_PROGRESS, State.DONE, State.IN_PROGRESS])
    assert Measure.objects.filter(returned_count=1, state=State.DONE).count() == 1
    assert (
        Measure.objects.get(owner_unit=cast.village_a1).deadline
        < Measure.objects.get(state=State.ACCEPTED).deadline
    )
    assert seed_demo_rectification(cast.county) == 0
    assert Problem.objects.count() == 3
