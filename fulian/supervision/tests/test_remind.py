"""`fulian remind`: 3 days and 1 day before the deadline and the day after it; idempotent."""

from __future__ import annotations

import datetime as dt
import io

from django.core.management import call_command

from fulian.notify.models import Notification
from fulian.orgs.actions import update_unit

from .conftest import assignment_of, sanba_task
from .test_flow import submit


def run(today: dt.date) -> str:
    out = io.StringIO()
    call_command("remind", "--today", today.isoformat(), stdout=out)
    return out.getvalue()


def reminded(kind: str) -> set[str]:
    return set(
        Notification.objects.filter(kind=f"task.remind.{kind}").values_list("user__username", flat=True)
    )


def test_reminders_go_to_units_that_have_not_submitted_and_only_once(cast, ledger):
    task = sanba_task(cast)
    submit(assignment_of(task, cast.town_b), cast.users.b_staff)
    d = task.deadline
    out = run(d - dt.timedelta(days=3))
    assert reminded("d3") == {"a_leader", "a_staff"}  # B already submitted; caseworkers etc. never
    assert "新发提醒 2 条" in out and "未报单位 1 个" in out
    assert "新发提醒 0 条" in run(d - dt.timedelta(days=3))  # the same day again: nothing new
    assert Notification.objects.filter(kind="task.remind.d3").count() == 2
    assert "新发提醒 0 条" in run(d - dt.timedelta(days=2))  # no reminder on other days
    run(d - dt.timedelta(days=1))
    assert reminded("d1") == {"a_leader", "a_staff"}
    assert "新发提醒 0 条" in run(d)
    submit(assignment_of(task, cast.town_a), cast.users.a_staff)
    assert "新发提醒 0 条" in run(d + dt.timedelta(days=1))  # everyone has submitted by then
    assert reminded("overdue") == set()


def test_overdue_reminder_and_closed_units(cast, ledger):
    task = sanba_task(cast)
    update_unit(None, cast.town_b, closed_on=task.deadline)  # closed on the deadline: no longer expected
    run(task.deadline + dt.timedelta(days=1))
    assert reminded("overdue") == {"a_leader", "a_staff"}
    title = Notification.objects.filter(kind="task.remind.overdue").values_list("title", flat=True).first()
    assert title == "已逾期未报:报送三八节活动开展情况"


def test_bad_date_is_a_clear_error(cast):
    import pytest
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("remind", "--today", "明天")
