"""The indicator registry: every module declares its own figures in ``fulian/<app>/indicators.py``.

An indicator is computed over a unit's subtree and a period, and broken down by child unit. Indicators that come
from the same query (the ledger's roll-up, the tree overview …) share a ``Source``, so that asking for ten of
them runs that query once. ``ReportsConfig.ready()`` imports the ``indicators`` module of every installed app,
so a module that lands later plugs in without touching this app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fulian.accounts.roles import Cap
from fulian.orgs.models import OrgUnit

SUM, RATIO, LATEST = "sum", "ratio", "latest"
ROLLUPS = (SUM, RATIO, LATEST)

Value = Any  # int, Decimal, float, None (no denominator) or a suppressed cell such as "<3"


@dataclass(frozen=True)
class Source:
    """One query computing several indicators at once.

    ``compute(unit, start, end, codes) -> {code: value}`` over the subtree;
    ``by_child(unit, start, end, codes) -> {code: {unit_id: value}}`` per child unit (and the unit's own
    records under its own id, when the module has such a row).

    Optional, for speed (the statistics service falls back to ``compute``/``by_child`` without them):
    ``table(unit, start, end, codes) -> (by_child, total)``, both at once from one query, the total equal to
    ``compute``'s; ``by_month(unit, start, end, codes) -> {first day of month: {code: value}}`` for every
    calendar month of [start, end] (the first and last clipped to the period), each equal to ``compute`` over
    that month, in one grouped query rather than one per month.
    """

    name: str
    compute: Callable[[OrgUnit, dt.date, dt.date, list[str]], dict[str, Value]]
    by_child: Callable[[OrgUnit, dt.date, dt.date, list[str]], dict[str, dict[int, Value]]]
    table: Callable[[OrgUnit, dt.date, dt.date, list[str]], tuple[dict, dict]] | None = None
    by_month: Callable[[OrgUnit, dt.date, dt.date, list[str]], dict[dt.date, dict[str, Value]]] | None = None
    # True when ``compute`` does not depend on the period at all (a stock counted as it is now, such as the
    # cadres): a page asking for two periods may reuse one answer for both instead of asking twice
    period_free: bool = False


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str  # Chinese, as the seeds write it
    unit: str  # 个 / 人 / 人次 / % / 元 …
    module: str  # the app label that declares it
    source: Source
    rollup: str = SUM  # how it sums up the tree: sum / ratio (of two sums) / latest (a stock on the end day)
    cap: Cap = Cap.VIEW_ORG  # the capability a viewer needs over the unit to see it
    description: str = ""
    order: int = field(default=0, compare=False)

    def compute(self, unit: OrgUnit, start: dt.date, end: dt.date) -> Value:
        return self.source.compute(unit, start, end, [self.code])[self.code]

    def by_child(self, unit: OrgUnit, start: dt.date, end: dt.date) -> dict[int, Value]:
        return self.source.by_child(unit, start, end, [self.code])[self.code]


def months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The calendar months of [start, end], clipped to it (the months of ``Source.by_month``)."""
    out = []
    first = start
    while first <= end:
        nxt = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        out.append((first, min(end, nxt - dt.timedelta(days=1))))
        first = nxt
    return out


def month_of(value: dt.date | dt.datetime) -> dt.date:
    """The first day of the month of a date, or of a datetime that TruncMonth gave back (already local)."""
    day = value.date() if isinstance(value, dt.datetime) else value
    return day.replace(day=1)


_REGISTRY: dict[str, Indicator] = {}


def register(
    code: str,
    name: str,
    unit: str,
    *,
    module: str,
    source: Source,
    rollup: str = SUM,
    cap: Cap = Cap.VIEW_ORG,
    description: str = "",
) -> Indicator:
    if rollup not in ROLLUPS:
        raise ValueError(f"unknown rollup {rollup!r} for indicator {code}")
    existing = _REGISTRY.get(code)
    if existing is not None and (existing.module, existing.source.name) != (module, source.name):
        raise ValueError(f"indicator {code} is already registered by {existing.module}")
    ind = Indicator(code, name, unit, module, source, rollup, cap, description, order=len(_REGISTRY))
    if existing is not None:
        ind = Indicator(code, name, unit, module, source, rollup, cap, description, order=existing.order)
    _REGISTRY[code] = ind
    return ind


def get(code: str) -> Indicator:
    return _REGISTRY[code]


def all_indicators() -> list[Indicator]:
    return sorted(_REGISTRY.values(), key=lambda i: i.order)


def known(codes: Iterable[str]) -> list[str]:
    """The registered codes among ``codes``, in registry order, without duplicates."""
    wanted = set(codes)
    return [i.code for i in all_indicators() if i.code in wanted]


def by_source(codes: Iterable[str]) -> dict[Source, list[str]]:
    """Group codes by the query that computes them (registry order kept within each group)."""
    groups: dict[Source, list[str]] = {}
    for code in known(codes):
        groups.setdefault(_REGISTRY[code].source, []).append(code)
    return groups
