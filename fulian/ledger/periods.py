"""When a month's ledger is on time, late, and locked — two different deadlines, named plainly.

- 按时填报期限 (on-time window, DHIS2's timelyDays): a record entered within N days after its month ends counts
  as 按时; later it still counts in every figure but is marked 补录 (late entry). Default 5 days.
- 锁定期限 (lock, DHIS2's expiryDays): M days after its month ends the month is locked; a record can then be
  added, changed or deleted only by a leader of the unit or of a unit above, or while the level above has
  granted the unit a 补录 exception for that month. Default 15 days.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.conf import settings


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def timely_deadline(record_date: dt.date) -> dt.date:
    return month_end(record_date) + dt.timedelta(days=settings.LEDGER_TIMELY_DAYS)


def lock_date(record_date: dt.date) -> dt.date:
    """The first day on which the record's month is locked."""
    return month_end(record_date) + dt.timedelta(days=settings.LEDGER_LOCK_DAYS + 1)


def lock_message(record_date: dt.date) -> str:
    """The one wording of a lock, for the form, the import and the API."""
    return f"{record_date:%Y年%m月}的台账已于{lock_date(record_date):%Y年%m月%d日}锁定。"


def is_locked(record_date: dt.date, today: dt.date) -> bool:
    return today >= lock_date(record_date)


def is_timely(record_date: dt.date, entered_on: dt.date) -> bool:
    return entered_on <= timely_deadline(record_date)
