"""Demo content of the public site for ``fulian seed``: the county's and two townships' profiles, a few published
disclosure items (one of them a regular quarterly one), one waiting for review, and the year's commitments with
their progress. Re-runnable: a unit that has a profile already is left alone."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from fulian.orgs.models import Kind, OrgUnit

from . import actions
from .models import Category, Period, PortalProfile

ITEMS = [
    (
        Category.DEPLOYMENT,
        Period.NONE,
        "“三八”国际劳动妇女节系列活动安排",
        "一、举办“巾帼心向党”主题宣讲3场。\n二、开展“最美家庭”寻找活动,各村(社区)推荐1户。\n"
        "三、组织农村妇女“两癌”免费检查。\n欢迎广大妇女群众踊跃参加。",
    ),
    (
        Category.FUNDS,
        Period.QUARTER,
        "第一季度妇联工作经费使用情况",
        "一、收入:上级妇联下拨工作经费5000元。\n二、支出:三八节活动2300元,妇女之家活动物资1200元,"
        "宣传资料800元。\n三、结余:700元。",
    ),
    (
        Category.HONOURS,
        Period.NONE,
        "“五好文明家庭”推荐名单公示",
        "经各村(社区)推荐、镇妇联审核,拟推荐以下家庭为“五好文明家庭”:……\n"
        "公示期为7天。如有异议,请在公示期内向镇妇联反映。",
    ),
]

COMMITMENTS = [
    ("开展妇女实用技术和职业技能培训", "联合人社、农业部门开展家政、电商、种养殖培训。", 10, "期", 6),
    ("走访慰问困难妇女和留守儿童", "节日期间入户走访,建立帮扶台账。", 200, "户", 150),
    ("实现村(社区)“妇女之家”活动常态化", "每个妇女之家每月至少开展1次活动。", None, "", 70),
]


@transaction.atomic
def seed_demo_portal(root: OrgUnit) -> None:
    today = timezone.localdate()
    townships = list(
        OrgUnit.objects.filter(parent=root, kind__in=[Kind.TOWNSHIP, Kind.STREET]).order_by(
            "sort_order", "path"
        )[:2]
    )
    for unit in [root, *townships]:
        if PortalProfile.objects.filter(org_unit=unit).exists():
            continue
        actions.save_profile(
            None,
            unit,
            expected_version=0,
            intro=f"{unit.name}是党和政府联系妇女群众的桥梁和纽带,组织、引导、服务妇女,维护妇女儿童合法权益。",
            address=unit.address,
            phone=unit.phone,
            office_hours="工作日 8:30—12:00,14:30—17:30",
            published=True,
        )
        for category, period, title, body in ITEMS:
            item = actions.create_item(
                None, unit=unit, category=category, title=title, body=body, period=period
            )
            item = actions.submit_item(None, item, expected_version=item.version)
            actions.publish_item(None, item, expected_version=item.version)
        waiting = actions.create_item(
            None,
            unit=unit,
            category=Category.ORGANISATION,
            title="村(社区)妇联换届工作进展",
            body="全镇村(社区)妇联换届工作已完成过半,执委中致富能手、巾帼志愿者比例明显提高。",
        )
        actions.submit_item(None, waiting, expected_version=waiting.version)
        for title, detail, target, measure, achieved in COMMITMENTS:
            c = actions.create_commitment(
                None,
                unit=unit,
                year=today.year,
                title=title,
                detail=detail,
                target_value=target,
                target_unit=measure,
            )
            actions.report_progress(
                None,
                c,
                expected_version=c.version,
                evidence="按计划推进中,相关照片和签到表已存档。",
                achieved_value=achieved if target else None,
                progress=None if target else achieved,
            )
            c.refresh_from_db()
            actions.set_commitment_published(None, c, expected_version=c.version, published=True)
