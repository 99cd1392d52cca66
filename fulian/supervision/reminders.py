"""Deadline reminders (``fulian remind``): 3 days and 1 day before the deadline, and the day after it, to the
users of every target unit that has not submitted. Idempotent per user, task and reminder.

``remind(today) -> str`` is the entry point ``fulian remind`` calls for every installed app that has a
``reminders`` module (supervision first); it returns a one-line Chinese summary."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from fulian.accounts.models import Membership, User
from fulian.notify.actions import notify

from .actions import SUBMITTER_ROLES
from .models import OPEN_STATUSES, Task

# (days from today to the deadline, reminder key, title template)
SCHEDULE = [
    (3, "d3", "还有3天截止:{title}"),
    (1, "d1", "明天截止:{title}"),
    (-1, "overdue", "已逾期未报:{title}"),
]


@dataclass
class ReminderSummary:
    today: dt.date
    tasks: int = 0
    units: int = 0
    sent: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def send_reminders(today: dt.date) -> ReminderSummary:
    summary = ReminderSummary(today=today)
    for offset, key, title in SCHEDULE:
        deadline = today + dt.timedelta(days=offset)
        tasks = {t.pk: t for t in Task.objects.filter(deadline=deadline).select_related("issuer_unit")}
        if not tasks:
            continue
        # units that still owe a submission, and their users: one query
        rows = (
            Membership.objects.filter(
                role__in=SUBMITTER_ROLES,
                user__is_active=True,
                org_unit__assignments__task_id__in=list(tasks),
                org_unit__assignments__status__in=OPEN_STATUSES,
            )
            .filter(Q(org_unit__closed_on__isnull=True) | Q(org_unit__closed_on__gt=today))
            .values_list("org_unit__assignments__task_id", "org_unit_id", "user_id")
            .distinct()
        )
        users_by_task: dict[int, set[int]] = defaultdict(set)
        units_by_task: dict[int, set[int]] = defaultdict(set)
        for task_id, unit_id, user_id in rows:
            users_by_task[task_id].add(user_id)
            units_by_task[task_id].add(unit_id)
        users = {u.pk: u for u in User.objects.filter(pk__in={u for s in users_by_task.values() for u in s})}
        for task_id, user_ids in users_by_task.items():
            task = tasks[task_id]
            created = notify(
                [users[pk] for pk in user_ids],
                kind=f"task.remind.{key}",
                title=title.format(title=task.title),
                body=f"{task.issuer_unit.name}下发,截止日期 {task.deadline:%Y年%m月%d日}。",
                url=reverse("supervision:todo"),
                dedupe_key=f"task:{task_id}:remind:{key}",
            )
            summary.tasks += 1
            summary.units += len(units_by_task[task_id])
            summary.sent += len(created)
            summary.by_kind[key] = summary.by_kind.get(key, 0) + len(created)
    return summary


def remind(today: dt.date) -> str:
    s = send_reminders(today)
    parts = "、".join(f"{k} {v} 条" for k, v in s.by_kind.items()) or "无"
    return f"{today:%Y-%m-%d} 督办提醒:涉及任务 {s.tasks} 个、未报单位 {s.units} 个,新发提醒 {s.sent} 条({parts})。"
