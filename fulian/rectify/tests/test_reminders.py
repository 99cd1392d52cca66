"""`fulian remind` also reminds rectification owners and leaders; once per measure and deadline."""

from __future__ import annotations

import datetime as dt
import io

from django.core.management import call_command

from fulian.notify.models import Notification

from .conftest import accepted, done, make_measure, set_deadline, today


def run_all(day: dt.date) -> str:
    out = io.StringIO()
    call_command("remind", "--today", day.isoformat(), stdout=out)
    return out.getvalue()


def run(day: dt.date) -> str:
    """The rectification line of the command's output."""
    (line,) = [x for x in run_all(day).splitlines() if "整改提醒" in x]
    return line


def reminded(kind: str) -> set[str]:
    return set(
        Notification.objects.filter(kind=f"rectify.remind.{kind}").values_list("user__username", flat=True)
    )


def test_the_command_runs_supervision_first_then_rectify(cast):
    lines = run_all(today()).splitlines()
    assert len(lines) >= 2
    assert "督办提醒" in lines[0]
    assert any(
        line.endswith("整改提醒:即将到期措施 0 条、逾期未验收措施 0 条,新发提醒 0 条。") for line in lines
    )


def test_due_soon_goes_to_the_owner_units_staff_once(cast, measure):
    d = measure.deadline
    assert "新发提醒 0 条" in run(d - dt.timedelta(days=4))
    out = run(d - dt.timedelta(days=3))
    assert reminded("due") == {"a1_staff"}  # the village's staff; not the township, not B
    assert "即将到期措施 1 条" in out and "新发提醒 1 条" in out
    title = Notification.objects.get(kind="rectify.remind.due").title
    assert title == "整改措施3天后到期:妇女之家活动开展不经常"
    assert "新发提醒 0 条" in run(d - dt.timedelta(days=3))  # again: nothing new
    assert "新发提醒 0 条" in run(d - dt.timedelta(days=1))  # still the same deadline
    assert Notification.objects.filter(kind="rectify.remind.due").count() == 1


def test_a_moved_deadline_is_reminded_again(cast, measure):
    run(measure.deadline - dt.timedelta(days=2))
    m = set_deadline(measure, measure.deadline + dt.timedelta(days=10))
    run(m.deadline - dt.timedelta(days=2))
    assert Notification.objects.filter(kind="rectify.remind.due").count() == 2


def test_overdue_goes_to_the_owner_and_the_problem_units_leaders_once(cast, measure):
    d = measure.deadline
    assert "逾期未验收措施 0 条" in run(d)  # on the deadline day itself: due today, not overdue
    assert Notification.objects.get(kind="rectify.remind.due").title.startswith("整改措施今天到期")
    assert reminded("overdue") == set()
    out = run(d + dt.timedelta(days=1))
    assert reminded("overdue") == {"a1_staff"}
    assert reminded("overdue_leader") == {"a_leader"}  # the problem's unit (township A), its leaders only
    assert "逾期未验收措施 1 条" in out and "新发提醒 2 条" in out
    assert "新发提醒 0 条" in run(d + dt.timedelta(days=2))
    assert Notification.objects.filter(kind__startswith="rectify.remind.overdue").count() == 2
    title = Notification.objects.get(kind="rectify.remind.overdue").title
    assert title == "整改措施已逾期1天:妇女之家活动开展不经常"


def test_done_measures_only_remind_the_leaders_and_accepted_ones_nobody(cast, problem):
    past = today() - dt.timedelta(days=1)
    waiting = done(cast, make_measure(cast, problem, text="等待验收的措施"))
    set_deadline(waiting, past)
    finished = accepted(cast, make_measure(cast, problem, text="已验收的措施", owner_unit=cast.town_a))
    set_deadline(finished, past)
    run(today())
    assert reminded("overdue") == set()
    assert reminded("overdue_leader") == {"a_leader"}
    assert Notification.objects.filter(kind="rectify.remind.overdue_leader").count() == 1


def test_old_overdue_measures_are_not_announced_when_reminders_start(cast, measure):
    set_deadline(measure, today() - dt.timedelta(days=30))
    run(today())
    assert not Notification.objects.filter(kind__startswith="rectify.remind").exists()
