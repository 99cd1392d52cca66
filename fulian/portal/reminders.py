"""Reminders of the public site (``fulian remind`` calls ``remind(today)`` of every app):

- a regular disclosure (每月/每季/每半年/每年) whose next date has passed: the unit's staff;
- an item waiting for review (待审核) for more than 3 days: the leaders of the nearest unit at or above the
  item's unit that has leaders (a village has none: its township's leaders review it).

Idempotent: each notice has a dedupe key (the item, its due date / its submission time), so a second run on the
same day — or the next day, for the same overdue date — notifies nobody twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.urls import reverse

from fulian.accounts.models import Membership, User
from fulian.notify.actions import notify

from .actions import EDITOR_ROLES, PUBLISHER_ROLES
from .models import DisclosureItem, State, open_unit_q

REVIEW_WAIT_DAYS = 3


def _users(ids) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(pk__in=set(ids), is_active=True)} if ids else {}


def _remind_due(today: dt.date) -> tuple[int, int]:
    items = list(
        DisclosureItem.objects.filter(
            open_unit_q(day=today), state=State.PUBLISHED, next_due__lt=today
        ).select_related("org_unit")
    )
    if not items:
        return 0, 0
    staff: dict[int, set[int]] = defaultdict(set)
    for unit_id, user_id in Membership.objects.filter(
        org_unit_id__in={i.org_unit_id for i in items}, role__in=EDITOR_ROLES
    ).values_list("org_unit_id", "user_id"):
        staff[unit_id].add(user_id)
    users = _users({u for s in staff.values() for u in s})
    sent = 0
    for item in items:
        recipients = [users[pk] for pk in staff.get(item.org_unit_id, ()) if pk in users]
        sent += len(
            notify(
                recipients,
                kind="portal.remind.due",
                title=f"定期公开已到期:{item.title}"[:200],
                body=f"{item.org_unit.name}的“{item.title}”({item.get_period_display()}公开)应于"
                f"{item.next_due:%Y年%m月%d日}更新,请发布新一期并提交审核。",
                url=reverse("portal:item", args=[item.pk]),
                dedupe_key=f"portal:item:{item.pk}:due:{item.next_due.isoformat()}",
            )
        )
    return len(items), sent


def _remind_review(today: dt.date) -> tuple[int, int]:
    cutoff = today - dt.timedelta(days=REVIEW_WAIT_DAYS)
    items = list(
        DisclosureItem.objects.filter(state=State.SUBMITTED, submitted_at__date__lt=cutoff).select_related(
            "org_unit"
        )
    )
    if not items:
        return 0, 0
    paths = {p for i in items for p in (*i.org_unit.ancestor_paths(), i.org_unit.path)}
    leaders: dict[str, set[int]] = defaultdict(set)
    for path, user_id in Membership.objects.filter(
        org_unit__path__in=paths, role__in=PUBLISHER_ROLES
    ).values_list("org_unit__path", "user_id"):
        leaders[path].add(user_id)
    users = _users({u for s in leaders.values() for u in s})
    sent = 0
    for item in items:
        chain = [item.org_unit.path, *reversed(item.org_unit.ancestor_paths())]
        nearest = next((p for p in chain if any(pk in users for pk in leaders.get(p, ()))), None)
        if nearest is None:
            continue
        waited = (today - item.submitted_at.date()).days
        sent += len(
            notify(
                [users[pk] for pk in leaders[nearest] if pk in users],
                kind="portal.remind.review",
                title=f"公开事项待审核:{item.title}"[:200],
                body=f"{item.org_unit.name}提交的公开事项已等待审核{waited}天,请及时审核。",
                url=reverse("portal:item", args=[item.pk]),
                dedupe_key=f"portal:item:{item.pk}:review:{item.submitted_at.isoformat()}",
            )
        )
    return len(items), sent


@transaction.atomic
def remind(today: dt.date) -> str:
    due, due_sent = _remind_due(today)
    waiting, review_sent = _remind_review(today)
    return (
        f"公开栏:到期未更新的定期公开{due}项,待审核超过{REVIEW_WAIT_DAYS}天{waiting}项,"
        f"发出提醒{due_sent + review_sent}条。"
    )
