"""What the portal does when other apps' events happen (registered in ``PortalConfig.ready``)."""

from __future__ import annotations


def measure_accepted(actor, measure) -> None:
    """rectify: a measure was accepted (inside its transaction). Marked for disclosure → a 整改情况 draft."""
    if measure.disclose:
        from .actions import draft_from_measure

        draft_from_measure(actor, measure)
