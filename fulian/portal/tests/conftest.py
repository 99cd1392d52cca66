"""Portal fixtures: disclosure items and commitments made through the real actions."""

from __future__ import annotations

import pytest

from fulian.portal import actions
from fulian.portal.models import Category, Period

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files go to a temporary directory, never into the data dir."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def staff_of(cast, unit):
    return {
        cast.county.pk: cast.users.county_staff,
        cast.town_a.pk: cast.users.a_staff,
        cast.town_b.pk: cast.users.b_staff,
        cast.village_a1.pk: cast.users.a1_staff,
        cast.village_b1.pk: cast.users.b1_staff,
    }[unit.pk]


def leader_of(cast, unit):
    """The leader who reviews the unit's items: its own, or its township's (villages have none)."""
    if unit.pk in (cast.town_a.pk, cast.village_a1.pk, cast.village_a2.pk):
        return cast.users.a_leader
    if unit.pk in (cast.town_b.pk, cast.village_b1.pk):
        return cast.users.b_leader
    return cast.users.county_leader


def draft(cast, unit=None, actor=None, **kw):
    unit = unit or cast.town_a
    return actions.create_item(
        actor or staff_of(cast, unit),
        unit=unit,
        category=kw.pop("category", Category.FUNDS),
        title=kw.pop("title", "2026年第一季度妇联工作经费使用情况"),
        body=kw.pop(
            "body", "一、经费收入:县妇联下拨工作经费5000元。\n二、经费支出:开展三八节活动支出2300元。"
        ),
        period=kw.pop("period", Period.NONE),
        **kw,
    )


def submitted(cast, unit=None, **kw):
    item = draft(cast, unit, **kw)
    return actions.submit_item(staff_of(cast, item.org_unit), item, expected_version=item.version)


def published(cast, unit=None, **kw):
    item = submitted(cast, unit, **kw)
    return actions.publish_item(leader_of(cast, item.org_unit), item, expected_version=item.version)


def returned(cast, unit=None, **kw):
    item = submitted(cast, unit, **kw)
    return actions.return_item(
        leader_of(cast, item.org_unit), item, expected_version=item.version, reason="请补充支出明细。"
    )


def commitment(cast, unit=None, *, publish=True, **kw):
    unit = unit or cast.town_a
    c = actions.create_commitment(
        staff_of(cast, unit),
        unit=unit,
        year=kw.pop("year", 2026),
        title=kw.pop("title", "全年开展妇女技能培训"),
        detail=kw.pop("detail", "联合人社部门开展家政、电商等技能培训。"),
        target_value=kw.pop("target_value", 10),
        target_unit=kw.pop("target_unit", "场"),
    )
    if publish:
        c = actions.set_commitment_published(
            leader_of(cast, unit), c, expected_version=c.version, published=True
        )
    return c


@pytest.fixture
def item(cast):
    return published(cast)
