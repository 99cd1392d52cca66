"""Rectification reminders (called by ``fulian remind`` once a day; safe to run again the same day).

- due soon: a measure still 整改中 whose deadline is within the next 3 days → the owner unit's staff
  (those with EDIT_WORK on exactly that unit), once per measure and deadline;
- overdue: a measure still 整改中 after its deadline → the owner unit's staff, once per measure and deadline;
- overdue, not accepted (整改中 or 待验收) → the leaders of the problem's unit, once per measure and deadline.

"Once" is the notification's dedupe key (it carries the deadline: a measure whose deadline is moved is
reminded again). A day the command did not run is caught up the next day: deadlines up to ``CATCH_UP`` days
back still count as "just overdue", older ones are not announced again (no flood when the command starts
running on an old ledger)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from fulian.accounts.models import Membership, User
from fulian.accounts.roles import Role
from fulian.notify.actions import notify

from .actions import EDITOR_ROLES
from .models import Measure, State

DUE_SOON_DAYS = 3
CATCH_UP = 7


@dataclass
class Summary:
    due_soon: int = 0
    overdue: int = 0
    sent: int = 0


def _users_by_unit(unit_ids: set[int], roles) -> dict[int, list[User]]:
    """Active users holding one of ``roles`` on each unit: two queries."""
    rows = list(
        Membership.objects.filter(org_unit_id__in=unit_ids, role__in=roles, user__is_active=True)
        .values_list("org_unit_id", "user_id")
        .distinct()
    )
    users = {u.pk: u for u in User.objects.filter(pk__in={user_id for _, user_id in rows})}
    out: dict[int, list[User]] = defaultdict(list)
    for unit_id, user_id in rows:
        out[unit_id].append(users[user_id])
    return out


@transaction.atomic
def send_reminders(today: dt.date) -> Summary:
    summary = Summary()
    soon_end = today + dt.timedelta(days=DUE_SOON_DAYS)
    overdue_start = today - dt.timedelta(days=CATCH_UP)
    measures = list(
        Measure.objects.filter(
            Q(state=State.IN_PROGRESS, deadline__gte=today, deadline__lte=soon_end)
            | Q(~Q(state=State.ACCEPTED), deadline__gte=overdue_start, deadline__lt=today)
        )
        .filter(Q(owner_unit__closed_on__isnull=True) | Q(owner_unit__closed_on__gt=today))
        .select_related("problem", "problem__unit", "owner_unit")
        .order_by("deadline", "id")
    )
    if not measures:
        return summary
    owners = _users_by_unit({m.owner_unit_id for m in measures}, EDITOR_ROLES)
    leaders = _users_by_unit({m.problem.unit_id for m in measures if m.deadline < today}, [Role.LEADER])
    for m in measures:
        problem = m.problem
        url = reverse("rectify:measure", args=[m.pk])
        key = f"rectify:measure:{m.pk}:{{}}:{m.deadline:%Y%m%d}"
        if m.deadline >= today:
            summary.due_soon += 1
            days = (m.deadline - today).days
            when = "今天到期" if days == 0 else f"{days}天后到期"
            created = notify(
                owners.get(m.owner_unit_id, []),
                kind="rectify.remind.due",
                title=f"整改措施{when}:{problem.title}",
                body=f"{m.text[:100]}(整改时限 {m.deadline:%Y年%m月%d日},责任人 {m.owner_person})",
                url=url,
                dedupe_key=key.format("due"),
            )
            summary.sent += len(created)
            continue
        summary.overdue += 1
        days = (today - m.deadline).days
        if m.state == State.IN_PROGRESS:
            created = notify(
                owners.get(m.owner_unit_id, []),
                kind="rectify.remind.overdue",
                title=f"整改措施已逾期{days}天:{problem.title}",
                body=f"{m.text[:100]}(整改时限 {m.deadline:%Y年%m月%d日}),请尽快完成并报告。",
                url=url,
                dedupe_key=key.format("overdue"),
            )
            summary.sent += len(created)
        created = notify(
            leaders.get(problem.unit_id, []),
            kind="rectify.remind.overdue_leader",
            title=f"整改措施逾期未验收:{problem.title}",
            body=f"{m.owner_unit.name}({m.owner_person})负责的措施,整改时限 {m.deadline:%Y年%m月%d日},"
            f"当前状态:{m.status_label}。",
            url=url,
            dedupe_key=key.format("overdue-leader"),
        )
        summary.sent += len(created)
    return summary


def remind(today: dt.date) -> str:
    s = send_reminders(today)
    return (
        f"{today:%Y-%m-%d} 整改提醒:即将到期措施 {s.due_soon} 条、逾期未验收措施 {s.overdue} 条,"
        f"新发提醒 {s.sent} 条。"
    )
