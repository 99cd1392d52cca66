"""The bulk scales of ``fulian seed --scale county|city|province``: a tree (fulian.demo.bulk), its work ledger
(fulian.demo.bulk_ledger) and its rights-protection cases (fulian.demo.bulk_cases), each phase timed.

Sizes (seed 1, ``factor`` 1):

- county: 1 county, ~18 townships and streets, ~270 villages and communities, ~65 committees, ~7,000 cadres;
  3 years of ledger (~65,000 records), 3 years of cases (~20,000).
- city: the benchmark city of docs/performance.md: ~5,000 units, ~100,000 cadres, ~970,000 records, ~295,000
  cases.
- province (issue #5): 1 province, 14 cities, ~120 counties, ~1,600 townships and streets, ~26,000 villages
  and communities, ~8,000 committees, ~150,000 cadres; 5 years of ledger (~3,000,000 records); 3 years of
  cases (~300,000). No 关爱帮扶 (care) module exists yet, so no people in care.

``factor`` scales the breadth of the tree (tests use ~0.02); the ledger's and the cases' rates per unit are
the scale's own (``Scale``), so a smaller tree gets proportionally fewer records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .bulk import SHAPES, build_tree
from .bulk_cases import build_cases
from .bulk_ledger import build_ledger


@dataclass(frozen=True)
class Scale:
    shape: str
    ledger_factor: float  # records per unit relative to bulk_ledger's rates
    ledger_years: int
    cases_factor: float  # cases per unit relative to bulk_cases' rates
    cases_years: int


SCALES = {
    "county": Scale("county", ledger_factor=1.0, ledger_years=3, cases_factor=1.0, cases_years=3),
    "city": Scale("city", ledger_factor=1.0, ledger_years=3, cases_factor=1.0, cases_years=3),
    # ~600,000 records and ~100,000 cases a year over ~35,700 units: fewer per unit than the city
    "province": Scale("province", ledger_factor=0.27, ledger_years=5, cases_factor=0.125, cases_years=3),
}


def build_scale(
    name: str,
    seed: int = 1,
    factor: float = 1.0,
    *,
    progress: Callable[[str, dict], None] | None = None,
) -> dict:
    """Build the tree, the ledger and the cases of scale ``name``; one transaction per phase. Returns the
    figures of each phase and the seconds of each (``phase_seconds``) and in all."""
    scale = SCALES[name]
    started = time.perf_counter()
    root_code = SHAPES[scale.shape].root_code
    figures: dict = {"scale": name, "seed": seed, "factor": factor}
    phases: dict[str, float] = {}
    steps = (
        ("tree", lambda: build_tree(scale.shape, seed=seed, factor=factor)),
        (
            "ledger",
            lambda: build_ledger(root_code, seed=seed, factor=scale.ledger_factor, years=scale.ledger_years),
        ),
        (
            "cases",
            lambda: build_cases(root_code, seed=seed, factor=scale.cases_factor, years=scale.cases_years),
        ),
    )
    for phase, step in steps:
        tick = time.perf_counter()
        figures[phase] = step()
        phases[phase] = round(time.perf_counter() - tick, 2)
        if progress:
            progress(phase, figures[phase])
    figures["phase_seconds"] = phases
    figures["seconds"] = round(time.perf_counter() - started, 2)
    return figures
