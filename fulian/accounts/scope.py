"""Scope: which subtrees a user may see for a capability. Computed once per request and cached on the user."""

from __future__ import annotations

from dataclasses import dataclass

from fulian.orgs.paths import is_within, minimal_roots

from .roles import ROLE_CAPS, Cap


@dataclass(frozen=True)
class Scope:
    paths: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.paths)

    def contains_path(self, path: str | None) -> bool:
        return path is not None and any(is_within(path, root) for root in self.paths)

    def contains(self, unit) -> bool:
        return self.contains_path(unit.path)

    @property
    def is_root(self) -> bool:
        """True when a scope root is a tree root (sees events not placed in any unit)."""
        return any("." not in p for p in self.paths)


def memberships_of(user) -> list:
    """The user's memberships with units, loaded once per user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, "_fulian_memberships", None)
    if cached is None:
        cached = list(user.memberships.select_related("org_unit").order_by("org_unit__path", "role"))
        user._fulian_memberships = cached
    return cached


def remember_memberships(user, memberships: list) -> None:
    """Memberships (with their units, ordered by unit path and role, as ``memberships_of`` loads them) read
    together with the user elsewhere — the API's token authentication reads both in one query."""
    user._fulian_memberships = memberships


def scope_for(user, cap: Cap) -> Scope:
    paths = [m.org_unit.path for m in memberships_of(user) if cap in ROLE_CAPS.get(m.role, ())]
    return Scope(minimal_roots(paths))


def has_cap_anywhere(user, cap: Cap) -> bool:
    return bool(scope_for(user, cap))


def home_unit(user):
    """The unit a user lands on: the highest unit of their memberships."""
    ms = memberships_of(user)
    if not ms:
        return None
    return min((m.org_unit for m in ms), key=lambda u: (u.depth, u.path))
