"""Reads of the public site's records: scoped ones for the back office (through the scope of the acting user),
and the public ones (no user: only what is published, of units that still exist)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet
from django.http import Http404

from fulian.accounts.access import deny, get_in_scope
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.orgs.models import Kind, OrgUnit

from .models import (
    Comment,
    CommentState,
    Commitment,
    CommitmentUpdate,
    DisclosureItem,
    PortalProfile,
    State,
    open_unit_q,
)

# --- back office: access helpers ------------------------------------------------------------------------------


def access_item(actor, item_id) -> DisclosureItem:
    return get_in_scope(
        actor,
        DisclosureItem.objects.select_related(
            "org_unit", "follows", "created_by", "submitted_by", "reviewed_by"
        ),
        item_id,
        Cap.VIEW_WORK,
    )


def access_comment(actor, comment_id) -> Comment:
    return get_in_scope(
        actor, Comment.objects.select_related("item", "item__org_unit"), comment_id, Cap.VIEW_WORK
    )


def access_commitment(actor, commitment_id) -> Commitment:
    return get_in_scope(actor, Commitment.objects.select_related("org_unit"), commitment_id, Cap.VIEW_WORK)


def access_unit_for_edit(actor, unit_id) -> OrgUnit:
    """A unit the actor keeps the portal of (own EDIT_WORK membership or a leader above it), or 404."""
    from .actions import can_edit

    unit = get_in_scope(actor, OrgUnit.objects.all(), unit_id, Cap.VIEW_WORK)
    if not can_edit(actor, unit):
        raise deny(actor, "orgs.orgunit", unit_id, Cap.EDIT_WORK)
    return unit


def own_units(actor) -> list[OrgUnit]:
    """The units the actor drafts for: memberships with EDIT_WORK on the unit itself (no query: cached)."""
    seen: dict[int, OrgUnit] = {}
    for m in memberships_of(actor):
        if Cap.EDIT_WORK in ROLE_CAPS[m.role]:
            seen.setdefault(m.org_unit_id, m.org_unit)
    return list(seen.values())


# --- back office: lists ----------------------------------------------------------------------------------------


def items_in_scope(actor, *, state: str = "", category: str = "") -> QuerySet[DisclosureItem]:
    qs = DisclosureItem.objects.within(scope_for(actor, Cap.VIEW_WORK))
    if state:
        qs = qs.filter(state=state)
    if category:
        qs = qs.filter(category=category)
    return qs.select_related("org_unit").order_by("-updated_at", "-id")


def state_counts(actor) -> dict[str, int]:
    rows = (
        DisclosureItem.objects.within(scope_for(actor, Cap.VIEW_WORK))
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {r["state"]: r["n"] for r in rows}


def review_queue(actor) -> QuerySet[DisclosureItem]:
    """待审核 items the actor may publish (Cap.PUBLISH over their unit), the oldest first."""
    return (
        DisclosureItem.objects.within(scope_for(actor, Cap.PUBLISH))
        .filter(state=State.SUBMITTED)
        .select_related("org_unit", "submitted_by")
        .order_by("submitted_at", "id")
    )


def due_items(actor, today: dt.date) -> list[DisclosureItem]:
    """Regular disclosures whose next edition is due (next_due today or passed), the most overdue first."""
    return list(
        DisclosureItem.objects.within(scope_for(actor, Cap.VIEW_WORK))
        .filter(open_unit_q(day=today), state=State.PUBLISHED, next_due__lte=today)
        .select_related("org_unit")
        .order_by("next_due", "id")[:100]
    )


def comment_queue(actor) -> QuerySet[Comment]:
    return (
        Comment.objects.within(scope_for(actor, Cap.VIEW_WORK))
        .filter(state=CommentState.PENDING)
        .select_related("item", "item__org_unit")
        .order_by("created_at", "id")
    )


def comments_of(item: DisclosureItem) -> list[Comment]:
    """Every comment of an item, whatever its state (the back office sees all)."""
    return list(item.comments.select_related("moderated_by", "replied_by").order_by("created_at", "id"))


def commitments_in_scope(actor, *, year: int | None = None) -> QuerySet[Commitment]:
    qs = Commitment.objects.within(scope_for(actor, Cap.VIEW_WORK))
    if year:
        qs = qs.filter(year=year)
    return qs.select_related("org_unit").order_by("-year", "org_unit__path", "id")


def updates_of(c: Commitment) -> list[CommitmentUpdate]:
    return list(c.updates.select_related("actor", "file").order_by("-created_at", "-id"))


def profile_of(unit: OrgUnit) -> PortalProfile | None:
    return PortalProfile.objects.filter(org_unit=unit).first()


def followups_of(item: DisclosureItem) -> list[DisclosureItem]:
    return list(item.followups.order_by("created_at", "id"))


# --- public (no user) -------------------------------------------------------------------------------------------

PUBLIC_UNIT_KINDS = [
    Kind.PROVINCE,
    Kind.CITY,
    Kind.COUNTY,
    Kind.TOWNSHIP,
    Kind.STREET,
    Kind.VILLAGE,
    Kind.COMMUNITY,
]


def public_unit(unit_id) -> OrgUnit:
    """A unit with its parent and profile (one query), or 404. A closed unit is returned: the page says so."""
    try:
        pk = int(unit_id)
    except (TypeError, ValueError):
        raise Http404("未找到该妇联组织。") from None
    unit = OrgUnit.objects.select_related("parent", "portal_profile").filter(pk=pk).first()
    if unit is None:
        raise Http404("未找到该妇联组织。")
    return unit


def public_profile(unit: OrgUnit) -> PortalProfile | None:
    """The unit's profile when it is published (already loaded by ``public_unit``)."""
    try:
        profile = unit.portal_profile
    except PortalProfile.DoesNotExist:
        return None
    return profile if profile.published else None


def public_children(unit: OrgUnit) -> list[OrgUnit]:
    """Open child units that have a federation (a village without one, established=False, has no page to visit)."""
    return list(
        OrgUnit.objects.filter(open_unit_q(""), parent=unit, kind__in=PUBLIC_UNIT_KINDS, established=True)
        .order_by("sort_order", "path")
        .only("id", "name", "kind")
    )


def public_items(unit: OrgUnit, *, category: str = "") -> QuerySet[DisclosureItem]:
    qs = DisclosureItem.objects.public().filter(org_unit=unit)
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("-published_at", "-id").only(
        "id", "title", "category", "published_at", "follows_id", "org_unit_id"
    )


def public_item(item_id) -> DisclosureItem:
    try:
        pk = int(item_id)
    except (TypeError, ValueError):
        raise Http404("未找到该公开事项。") from None
    item = DisclosureItem.objects.public().select_related("org_unit", "follows").filter(pk=pk).first()
    if item is None:
        raise Http404("未找到该公开事项。")
    return item


def public_comments(item: DisclosureItem) -> list[Comment]:
    return list(
        item.comments.filter(state=CommentState.SHOWN)
        .order_by("created_at", "id")
        .only("id", "body", "created_at", "reply", "replied_at")
    )


def public_followups(item: DisclosureItem) -> list[DisclosureItem]:
    return list(
        item.followups.filter(state=State.PUBLISHED).order_by("published_at", "id").only("id", "title")
    )


def public_commitments(unit: OrgUnit, limit: int = 50) -> list[Commitment]:
    return list(Commitment.objects.public().filter(org_unit=unit).order_by("-year", "id")[:limit])


def public_counties() -> list[OrgUnit]:
    return list(
        OrgUnit.objects.filter(open_unit_q(""), kind=Kind.COUNTY)
        .select_related("parent")
        .order_by("path")
        .only("id", "name", "parent__name")
    )


def public_search(q: str, limit: int = 50) -> list[OrgUnit]:
    q = (q or "").strip()[:50]
    if not q:
        return []
    return list(
        OrgUnit.objects.filter(open_unit_q(""), name__icontains=q, kind__in=PUBLIC_UNIT_KINDS)
        .select_related("parent")
        .order_by("depth", "path")
        .only("id", "name", "kind", "parent__name")[:limit]
    )
