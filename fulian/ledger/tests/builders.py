"""Test data for the ledger, through the real actions."""

import datetime as dt

from fulian.ledger.actions import create_record
from fulian.ledger.models import RecordKind


def training(
    unit, actor=None, *, day=None, sessions=1, people=20, person_times=None, employed=0, recommended=0, **kw
):
    return create_record(
        actor,
        org_unit=unit,
        kind=RecordKind.TRAINING,
        category=kw.pop("category", "实用技术"),
        title=kw.pop("title", "茶叶种植实用技术培训"),
        date=day or dt.date.today().replace(day=1),
        sessions=sessions,
        participants=people,
        person_times=person_times if person_times is not None else people * sessions,
        employed=employed,
        recommended_jobs=recommended,
        **kw,
    )


def activity(unit, actor=None, *, day=None, people=50, beneficiaries=0, **kw):
    return create_record(
        actor,
        org_unit=unit,
        kind=RecordKind.ACTIVITY,
        category=kw.pop("category", "宣传"),
        title=kw.pop("title", "三八节宣传活动"),
        date=day or dt.date.today().replace(day=1),
        participants=people,
        beneficiaries=beneficiaries,
        **kw,
    )
