"""The tree as a materialised path (DESIGN.md §3).

A path is fixed-width decimal segments joined by dots: ``0001.0007.0031``. Because every segment has the
same width, "the subtree of P" is the half-open range [P, successor(P)) under any collation that orders
digits — the C collation, ICU and glibc locales alike (the dots may be ignored by a locale, the digits
still decide). So one indexed range scan answers it in SQLite and PostgreSQL, with no LIKE.
"""

from __future__ import annotations

from django.db.models import Lookup, Q

SEGMENT_WIDTH = 4
SEPARATOR = "."
MAX_SEGMENT = 10**SEGMENT_WIDTH - 1


def segment(number: int) -> str:
    if not 1 <= number <= MAX_SEGMENT:
        raise ValueError(f"path segment out of range: {number}")
    return f"{number:0{SEGMENT_WIDTH}d}"


def child_path(parent_path: str | None, number: int) -> str:
    return f"{parent_path}{SEPARATOR}{segment(number)}" if parent_path else segment(number)


def depth_of(path: str) -> int:
    return (len(path) + 1) // (SEGMENT_WIDTH + 1)


def prefix_length(depth: int) -> int:
    """Length of a path of the given depth (1 = root)."""
    return depth * (SEGMENT_WIDTH + 1) - 1


def successor(path: str) -> str:
    """The smallest path greater than every path in P's subtree."""
    head, _, last = path.rpartition(SEPARATOR)
    value = int(last) + 1
    if value <= MAX_SEGMENT:
        return f"{head}{SEPARATOR}{value:0{SEGMENT_WIDTH}d}" if head else f"{value:0{SEGMENT_WIDTH}d}"
    # Carry: the last possible child of its parent; everything after the parent's subtree follows.
    return successor(head) if head else "9" * (SEGMENT_WIDTH + 1)


def subtree_range(path: str) -> tuple[str, str]:
    return path, successor(path)


def subtree_q(paths, field: str = "path") -> Q:
    """A Q matching rows whose ``field`` lies in any of the given subtrees (never an empty match-all)."""
    q = Q(pk__in=[])
    for path in paths:
        low, high = subtree_range(path)
        q |= Q(**{f"{field}__gte": low, f"{field}__lt": high})
    return q


class InSubquery(Lookup):
    """``column IN (subquery)``; on PostgreSQL with ``as_array``, ``column = ANY(ARRAY(subquery))``.

    For a subtree's unit ids: with the subtree as a join on the path range (or an IN semi-join), PostgreSQL's
    planner cannot tell how many rows a subtree holds and scans by another column — a county of the benchmark
    city took ~250 ms for its 25,000 of the city's 320,000 ledger records of a year. Given an array of unit ids
    it probes the (org_unit, …) index per unit instead: ~30 ms. For the root (the whole tree) a scan is right
    and the array would only add thousands of probes, so callers pass ``as_array=False`` there. See
    docs/performance.md, "Ledger" and "Cases".

    A lookup, not a function: SQLite (no boolean type) would compare a function's value with ``= 1``, which no
    index can serve — a county leader's list of archived 高危 cases then read every archived case of the
    benchmark city through the state index: ~200 ms, against ~3 ms probing the county's units (with the
    planner's statistics, ``fulian.lib.sqlite``)."""

    lookup_name = "in_subquery"  # not registered on any field: used as ``InSubquery(F("col"), Subquery(…))``
    prepare_rhs = False

    def __init__(self, lhs, rhs, *, as_array: bool = True):
        super().__init__(lhs, rhs)
        self.as_array = as_array

    def as_sql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.lhs)
        rhs, rhs_params = compiler.compile(self.rhs)
        if self.as_array and connection.vendor == "postgresql":
            return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)
        return f"{lhs} IN {rhs}", (*lhs_params, *rhs_params)


def is_within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + SEPARATOR)


def minimal_roots(paths) -> tuple[str, ...]:
    """Drop paths already covered by another path in the set."""
    roots: list[str] = []
    for path in sorted(set(paths)):
        if not any(is_within(path, root) for root in roots):
            roots.append(path)
    return tuple(roots)
