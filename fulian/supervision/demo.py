"""Demo tasks for `fulian seed`: what a county federation sends down in spring, some reported on time, some
late, some still missing. Re-runnable: a task that exists already (same issuer and title) is left alone."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from fulian.orgs.models import Kind, OrgUnit

from . import actions, queries
from .models import Task


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _submit(a, *, day: dt.date, text: str, extra: dict | None = None, reasons: dict | None = None) -> None:
    values = {**actions.ledger_prefill(a.task, a.org_unit), **(extra or {})}
    actions.submit_assignment(
        None, a, expected_version=a.version, text=text, values=values, reasons=reasons or {}, now=_at(day)
    )


@transaction.atomic
def seed_demo_tasks(root: OrgUnit) -> None:
    today = timezone.localdate()
    townships = list(queries.township_units(root, today))
    if not townships:
        return
    existing = set(Task.objects.filter(issuer_unit=root).values_list("title", flat=True))

    title = "报送三八节活动开展情况"
    if title not in existing:
        start = (
            dt.date(today.year, 3, 1)
            if today >= dt.date(today.year, 3, 20)
            else dt.date(today.year - 1, 3, 1)
        )
        end = start.replace(day=15)
        deadline = today - dt.timedelta(days=3)
        task = actions.create_task(
            None,
            issuer_unit=root,
            title=title,
            instructions=(
                "请各乡镇(街道)妇联汇总本辖区“三八”国际劳动妇女节期间开展宣传、慰问、文体等活动的情况,"
                "活动次数和参与人数已按各村(社区)台账自动汇总,请核对后报送,并简要说明特色做法。"
            ),
            deadline=deadline,
            targets=townships,
            fields=[
                {"key": "visits", "label": "走访慰问困难妇女(户)", "type": "number", "required": True},
                {
                    "key": "form",
                    "label": "主要活动形式",
                    "type": "choice",
                    "required": True,
                    "choices": ["宣传咨询", "文体活动", "走访慰问", "座谈表彰"],
                },
            ],
            ledger_keys=["activity_count", "activity_people", "activity_beneficiaries"],
            period_start=start,
            period_end=end,
            target_label="下辖全部乡镇(街道)",
        )
        assignments = list(task.assignments.select_related("org_unit", "task"))
        half = len(assignments) // 2
        for i, a in enumerate(assignments):
            if i < half:
                _submit(
                    a,
                    day=deadline - dt.timedelta(days=2),
                    extra={"visits": 12 + i, "form": "走访慰问"},
                    text="组织开展“三八”维权宣传周活动,走访慰问困难妇女,召开座谈会表彰先进。",
                )
                if i == 0:
                    a.refresh_from_db()
                    actions.accept_assignment(None, a, expected_version=a.version)
            elif i == half:
                _submit(
                    a,
                    day=today - dt.timedelta(days=1),
                    extra={"visits": 8, "form": "文体活动"},
                    text="因防汛工作推迟报送。组织广场舞展演和趣味运动会。",
                )
        # the rest are still missing: they are on the red list (逾期未报)

    title = "报送一季度巾帼建功培训开展情况"
    if title not in existing:
        q_start = dt.date(today.year, 1, 1)
        task = actions.create_task(
            None,
            issuer_unit=root,
            title=title,
            instructions="培训期数、人数和人次按台账自动汇总;请补充推荐就业情况和下一步打算。",
            deadline=today + dt.timedelta(days=3),
            targets=townships,
            fields=[{"key": "plan", "label": "下一步打算", "type": "text", "required": False}],
            ledger_keys=[
                "training_sessions",
                "training_people",
                "training_person_times",
                "training_employed",
            ],
            period_start=q_start,
            period_end=min(today, dt.date(today.year, 3, 31)),
            target_label="下辖全部乡镇(街道)",
        )
        first = task.assignments.select_related("org_unit", "task").first()
        if first is not None:
            _submit(first, day=today, text="开展茶叶种植、家政服务等培训。")

    town = townships[0]
    villages = list(
        OrgUnit.objects.under(town, include_self=False)
        .filter(kind__in=[Kind.VILLAGE, Kind.COMMUNITY])
        .active_on(today)
        .order_by("path")
    )
    title = f"报送{town.name}妇女之家建设情况"
    if villages and not Task.objects.filter(issuer_unit=root, title=title).exists():
        task = actions.create_task(
            None,
            issuer_unit=root,
            title=title,
            instructions="请各村(社区)妇联报送妇女之家阵地建设和使用情况。",
            deadline=today + dt.timedelta(days=10),
            targets=villages,
            fields=[
                {"key": "area", "label": "活动场所面积(平方米)", "type": "number", "required": True},
                {
                    "key": "fixed",
                    "label": "有无固定活动场所",
                    "type": "choice",
                    "required": True,
                    "choices": ["有", "无"],
                },
                {"key": "activities", "label": "本年开展活动(次)", "type": "number", "required": True},
            ],
            target_label=f"{town.name}全部村(社区)",
        )
        for i, a in enumerate(task.assignments.select_related("org_unit", "task")[:3]):
            _submit(
                a,
                day=today,
                text="妇女之家有牌子、有场所、有制度、有活动。",
                extra={"area": 60 + 10 * i, "fixed": "有", "activities": 6 + i},
            )
