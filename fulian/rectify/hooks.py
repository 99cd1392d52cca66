"""Hooks other apps register on rectification events.

This is the one deliberate inversion of "apps import downward only": the public portal (``fulian.portal``)
sits above rectify and must turn an accepted measure that is marked for disclosure (``Measure.disclose``) into
a disclosure draft (公开事项, 整改情况). Rectify may not import portal, so portal registers a function here
(from its ``AppConfig.ready``) and ``fulian.rectify.actions.accept_measure`` calls every registered function
**inside its transaction, after the state change**: the acceptance and the disclosure draft commit together,
or neither does (a hook that raises rolls the acceptance back).

A hook is ``fn(actor, measure) -> None``; ``actor`` is the accepting user (None for the system). Register::

    from fulian.rectify.hooks import on_measure_accepted

    @on_measure_accepted
    def draft_disclosure(actor, measure):
        if measure.disclose:
            ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Measure

measure_accepted: list[Callable[[Any, Measure], None]] = []


def on_measure_accepted(fn: Callable[[Any, Measure], None]) -> Callable[[Any, Measure], None]:
    """Register ``fn`` (once; registering the same function again is a no-op). Usable as a decorator."""
    if fn not in measure_accepted:
        measure_accepted.append(fn)
    return fn


def run_measure_accepted(actor, measure: Measure) -> None:
    for fn in list(measure_accepted):
        fn(actor, measure)
