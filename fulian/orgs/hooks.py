"""Hooks other apps register on changes of the tree.

This is the one deliberate inversion of "apps import downward only" in orgs, the ground floor: the ledger
(``fulian.ledger``) keeps per unit and month the figures of everything below it (``LedgerBranchMonth``), keyed
by the ancestor, so moving a unit (乡镇合并, 撤村并居) changes which rows hold the moved subtree. Orgs may not
import the ledger, so the ledger registers functions here (from its ``AppConfig.ready``) and
``fulian.orgs.actions.move_unit`` calls them **inside its transaction**: the move and the ledger's rows commit
together, or neither does (a hook that raises rolls the move back).

Two moments of the move:

- ``unit_moving``: ``fn(unit, new_parent) -> None``, first thing in the transaction, before the move locks any
  unit row. For table locks the later hook needs: taken here, every move takes its locks in the order
  "tables, then unit rows". Taken only later, a writer that holds such a table lock and then needs a unit row
  the move has locked (on PostgreSQL Django's foreign keys are checked at COMMIT, which takes a share lock on
  the referenced unit) waits for the move while the move waits for it: a deadlock.
- ``unit_moved``: ``fn(unit, old_ancestor_ids, new_ancestor_ids) -> None``, after the paths are rewritten and
  before the move's audit event. ``unit`` as it is after the move (new ``path``, ``depth`` and ``parent``);
  the ids of its ancestors before and after the move, from the root down (the root included, the unit itself
  not).

Register::

    from fulian.orgs.hooks import on_unit_moved, on_unit_moving

    @on_unit_moving
    def lock_tables(unit, new_parent):
        ...

    @on_unit_moved
    def keep_branch_rows(unit, old_ancestor_ids, new_ancestor_ids):
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import OrgUnit

UnitMovingHook = Callable[["OrgUnit", "OrgUnit"], None]
UnitMovedHook = Callable[["OrgUnit", list[int], list[int]], None]

unit_moving: list[UnitMovingHook] = []
unit_moved: list[UnitMovedHook] = []


def on_unit_moving(fn: UnitMovingHook) -> UnitMovingHook:
    """Register ``fn`` (once; registering the same function again is a no-op). Usable as a decorator."""
    if fn not in unit_moving:
        unit_moving.append(fn)
    return fn


def on_unit_moved(fn: UnitMovedHook) -> UnitMovedHook:
    """Register ``fn`` (once; registering the same function again is a no-op). Usable as a decorator."""
    if fn not in unit_moved:
        unit_moved.append(fn)
    return fn


def run_unit_moving(unit: OrgUnit, new_parent: OrgUnit) -> None:
    for fn in list(unit_moving):
        fn(unit, new_parent)


def run_unit_moved(unit: OrgUnit, old_ancestor_ids: list[int], new_ancestor_ids: list[int]) -> None:
    for fn in list(unit_moved):
        fn(unit, old_ancestor_ids, new_ancestor_ids)
