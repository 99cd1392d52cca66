"""Demo rectification ledger for `fulian seed`: what a county federation found through 座谈会, 问卷 and the
意见箱 and what it set against it (after the seed 沂南县妇联 «妇联工作整改措施»): some measures accepted, one
returned and reworked, one done and waiting for acceptance, one overdue. Through the real actions (actor None
= the system). Re-runnable: a problem that exists already (same unit and title) is left alone.

Call ``seed_demo_rectification(county)`` from ``fulian/demo/county.py`` after ``seed_demo_tasks``."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from fulian.orgs.models import Kind, OrgUnit

from . import actions
from .models import Problem, Source


@transaction.atomic
def seed_demo_rectification(root: OrgUnit) -> int:
    """Returns the number of problems created (0 when the demo ledger exists already)."""
    today = timezone.localdate()
    townships = list(
        OrgUnit.objects.filter(parent=root, kind__in=[Kind.TOWNSHIP, Kind.STREET]).order_by(
            "sort_order", "path"
        )
    )
    town = townships[0] if townships else None
    village = (
        OrgUnit.objects.filter(parent=town, kind__in=[Kind.VILLAGE, Kind.COMMUNITY]).order_by("path").first()
        if town
        else None
    )
    existing = set(Problem.objects.under(root).values_list("unit_id", "title"))
    found = today - dt.timedelta(days=75)
    created = 0

    def problem(unit, title, **kw) -> Problem | None:
        nonlocal created
        if (unit.pk, title) in existing:
            return None
        created += 1
        return actions.create_problem(None, unit=unit, title=title, found_on=kw.pop("found_on", found), **kw)

    p = problem(
        root,
        "布置工作满足于下发文件、开会布置,深入群众调查少",
        source=Source.FORUM,
        category="conduct",
        description="各界妇女座谈会上反映:县妇联布置工作多靠下发文件、开会部署,铺下身子抓落实的力度不够,"
        "对基层妇女的实际困难了解不深。",
    )
    if p:
        m = actions.add_measure(
            None,
            p,
            text="开展“作风建设年”活动,机关干部每人联系一个村(社区)妇联,每季度至少入户走访一次。",
            owner_unit=root,
            owner_person="县妇联办公室",
            deadline=today + dt.timedelta(days=5),
            expected_result="全年机关干部入户走访不少于200户,形成调研报告3篇以上。",
            disclose=True,
        )
        actions.report_progress(None, m, text="已印发作风建设年实施方案,机关干部联系点全部落实。")
        m = actions.mark_done(
            None, m, expected_version=m.version, result="12名机关干部完成首轮走访,形成调研报告3篇。"
        )
        actions.accept_measure(None, m, expected_version=m.version, note="材料齐全,按期完成。")
        m2 = actions.add_measure(
            None,
            p,
            text="建立基层妇女工作考核反馈制度,每半年将各乡镇工作情况反馈乡镇党委政府。",
            owner_unit=root,
            owner_person="县妇联组织联络部",
            deadline=today + dt.timedelta(days=20),
            expected_result="考核反馈函覆盖全部乡镇(街道)。",
        )
        actions.report_progress(None, m2, text="考核指标初稿已征求各乡镇意见。")

    p = problem(
        root,
        "为妇女儿童办实事“有心无力”,经费不足制约工作开展",
        source=Source.SURVEY,
        category="delivery",
        description="问卷调查中,38%的受访妇女认为妇联帮扶“办得慢、办得少”;经费基地建设畏难等待。",
    )
    if p and town:
        m = actions.add_measure(
            None,
            p,
            text="多方争取项目资金,在试点乡镇建设巾帼创业帮扶基地一处。",
            owner_unit=town,
            owner_person=f"{town.name}主席",
            deadline=found + dt.timedelta(days=45),
            expected_result="基地挂牌运行,带动妇女就业不少于30人。",
            disclose=True,
        )
        actions.report_progress(None, m, text="基地选址完成,正在装修。")
        m = actions.mark_done(None, m, expected_version=m.version, result="基地已挂牌。")
        m = actions.return_measure(
            None, m, expected_version=m.version, reason="尚未提供带动就业名单和照片,请补充佐证材料。"
        )
        actions.report_progress(None, m, text="补充带动就业妇女名单32人及基地运行照片。")
        m = actions.mark_done(None, m, expected_version=m.version, result="基地运行正常,带动32名妇女就业。")

    if town and village:
        p = problem(
            town,
            "村妇女之家平时大门紧锁,活动开展不经常",
            source=Source.SUGGESTION,
            category="service",
            description="意见箱收到群众意见:村妇女之家只在检查时开门,平时找不到人。",
        )
        if p:
            actions.add_measure(
                None,
                p,
                text="制定妇女之家开放制度,每周固定开放两天,开放时间上墙公示。",
                owner_unit=village,
                owner_person=f"{village.name}妇联主席",
                deadline=today - dt.timedelta(days=12),  # overdue, still in progress
                expected_result="每月开展活动不少于4次。",
            )
    return created
