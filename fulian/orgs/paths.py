"""The tree as a materialised path (DESIGN.md §3).

A path is fixed-width decimal segments joined by dots: ``0001.0007.0031``. Because every segment has the
same width, "the subtree of P" is the half-open range [P, successor(P)) under any collation that orders
digits — the C collation, ICU and glibc locales alike (the dots may be ignored by a locale, the digits
still decide). So one indexed range scan answers it in SQLite and PostgreSQL, with no LIKE.
"""

from __future__ import annotations

from django.db.models import Q

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


def is_within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + SEPARATOR)


def minimal_roots(paths) -> tuple[str, ...]:
    """Drop paths already covered by another path in the set."""
    roots: list[str] = []
    for path in sorted(set(paths)):
        if not any(is_within(path, root) for root in roots):
            roots.append(path)
    return tuple(roots)
