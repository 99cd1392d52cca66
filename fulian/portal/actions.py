"""Every write of the public site's records. Each takes the acting user first (None = the public or the system).

Who may do what:
- a unit's own staff (a membership on exactly that unit with EDIT_WORK) draft, edit and submit its disclosure
  items, keep its commitments and profile, moderate and answer the comments on its items;
- only a leader (Cap.PUBLISH over the unit: of the unit itself or above) publishes or returns an item and
  publishes a commitment; leaders may also do everything the unit's staff do within their subtree.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from fulian.accounts.models import User
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.audit.actions import Where, record
from fulian.files.actions import PreparedUpload, save_prepared
from fulian.notify.actions import notify
from fulian.orgs.actions import ConflictError, save_versioned
from fulian.orgs.models import OrgUnit
from fulian.throttle import limits
from fulian.throttle.limits import RateLimited

from .models import (
    BODY_MAX,
    COMMENT_MAX,
    EDITABLE_STATES,
    REPLY_MAX,
    TITLE_MAX,
    Category,
    Comment,
    CommentState,
    Commitment,
    CommitmentUpdate,
    DisclosureItem,
    Period,
    PortalProfile,
    State,
    add_period,
)

__all__ = [
    "ConflictError",
    "RateLimited",
    "can_edit",
    "can_publish",
    "create_commitment",
    "create_item",
    "draft_from_measure",
    "hide_comment",
    "new_edition",
    "post_comment",
    "publish_item",
    "reply_comment",
    "report_progress",
    "return_item",
    "save_profile",
    "set_commitment_published",
    "show_comment",
    "submit_item",
    "update_commitment",
    "update_item",
]

EDITOR_ROLES = [role for role, caps in ROLE_CAPS.items() if Cap.EDIT_WORK in caps]
PUBLISHER_ROLES = [role for role, caps in ROLE_CAPS.items() if Cap.PUBLISH in caps]

# the public's comments: per IP, at most this many in the window; more are kept, marked and held
COMMENT_LIMIT = 5
COMMENT_WINDOW = dt.timedelta(minutes=10)


# --- who may ------------------------------------------------------------------------------------------------


def can_publish(actor, unit: OrgUnit) -> bool:
    return actor is None or scope_for(actor, Cap.PUBLISH).contains(unit)


def can_edit(actor, unit: OrgUnit) -> bool:
    """The unit's own staff, or a leader over it."""
    if actor is None:
        return True
    own = any(m.org_unit_id == unit.pk and Cap.EDIT_WORK in ROLE_CAPS[m.role] for m in memberships_of(actor))
    return own or can_publish(actor, unit)


def _require_edit(actor, unit: OrgUnit) -> None:
    if not can_edit(actor, unit):
        raise PermissionDenied("只能由本单位的工作人员或上级领导编辑本单位的公开内容。")


def _require_publish(actor, unit: OrgUnit) -> None:
    if not can_publish(actor, unit):
        raise PermissionDenied("只有本单位或上级妇联的主席(分管领导)可以审核公开。")


def unit_editors(unit_ids) -> list[User]:
    """Active users with EDIT_WORK on exactly these units (one query)."""
    return list(
        User.objects.filter(
            is_active=True, memberships__org_unit__in=unit_ids, memberships__role__in=EDITOR_ROLES
        ).distinct()
    )


def _alive(unit: OrgUnit) -> None:
    if unit.closed_on is not None and unit.closed_on <= timezone.localdate():
        raise ValidationError("该单位已撤销,不能再公开新内容。")


# --- disclosure items ---------------------------------------------------------------------------------------


def _clean_item(title: str, body: str, category: str, period: str, next_due: dt.date | None) -> dict:
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        errors["title"] = ["请填写标题。"]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"标题不能超过{TITLE_MAX}字。"]
    if not body:
        errors["body"] = ["请填写公开内容。"]
    elif len(body) > BODY_MAX:
        errors["body"] = [f"公开内容不能超过{BODY_MAX}字,请精简或分多项公开。"]
    if category not in Category.values:
        errors["category"] = ["请选择公开类别。"]
    period = period or Period.NONE
    if period not in Period.values:
        errors["period"] = ["请选择公开周期。"]
    if period == Period.NONE:
        next_due = None
    if errors:
        raise ValidationError(errors)
    return {"title": title, "body": body, "category": category, "period": period, "next_due": next_due}


def _save_item(item: DisclosureItem, expected_version: int, **changes) -> DisclosureItem:
    return save_versioned(item, expected_version, **changes)


@transaction.atomic
def create_item(
    actor,
    *,
    unit: OrgUnit,
    category: str,
    title: str,
    body: str,
    period: str = Period.NONE,
    next_due: dt.date | None = None,
    follows: DisclosureItem | None = None,
) -> DisclosureItem:
    _require_edit(actor, unit)
    _alive(unit)
    data = _clean_item(title, body, category, period, next_due)
    if follows is not None and (follows.org_unit_id != unit.pk or follows.state != State.PUBLISHED):
        raise ValidationError("只能接续本单位已公开的事项。")
    item = DisclosureItem.objects.create(org_unit=unit, created_by=actor, follows=follows, **data)
    record(
        actor,
        "portal.item.create",
        obj=item,
        where=Where.of(unit),
        detail={"title": item.title, "category": item.category, "follows": follows.pk if follows else None},
    )
    return item


@transaction.atomic
def update_item(
    actor,
    item: DisclosureItem,
    *,
    expected_version: int,
    category: str,
    title: str,
    body: str,
    period: str = Period.NONE,
    next_due: dt.date | None = None,
) -> DisclosureItem:
    _require_edit(actor, item.org_unit)
    if item.state not in EDITABLE_STATES:
        raise PermissionDenied(f"当前状态为“{item.get_state_display()}”,不能修改。")
    data = _clean_item(title, body, category, period, next_due)
    item = _save_item(item, expected_version, **data)
    record(actor, "portal.item.update", obj=item, where=Where.of(item.org_unit), detail={"title": item.title})
    return item


@transaction.atomic
def submit_item(actor, item: DisclosureItem, *, expected_version: int) -> DisclosureItem:
    """提出: send the item to the leader for review (审核)."""
    _require_edit(actor, item.org_unit)
    if item.state not in EDITABLE_STATES:
        raise PermissionDenied(f"当前状态为“{item.get_state_display()}”,不能提交审核。")
    _alive(item.org_unit)
    item = _save_item(
        item, expected_version, state=State.SUBMITTED, submitted_at=timezone.now(), submitted_by=actor
    )
    record(actor, "portal.item.submit", obj=item, where=Where.of(item.org_unit), detail={"title": item.title})
    return item


def _require_review(actor, item: DisclosureItem) -> None:
    _require_publish(actor, item.org_unit)
    if item.state != State.SUBMITTED:
        raise PermissionDenied(f"当前状态为“{item.get_state_display()}”,只能审核待审核的事项。")


def _next_due_on_publish(item: DisclosureItem, today: dt.date) -> dt.date | None:
    """A regular disclosure's next date: the one typed in, if still ahead; otherwise one period after the
    previous edition's due date (or today), advanced until it lies ahead of today."""
    if item.period == Period.NONE:
        return None
    if item.next_due is not None and item.next_due > today:
        return item.next_due
    base = today
    if item.follows is not None and item.follows.next_due is not None:
        base = item.follows.next_due
    due = add_period(base, item.period)
    while due <= today:
        due = add_period(due, item.period)
    return due


@transaction.atomic
def publish_item(actor, item: DisclosureItem, *, expected_version: int) -> DisclosureItem:
    """审核 → 公开. A new edition of a regular disclosure takes over the schedule from the edition it follows."""
    _require_review(actor, item)
    _alive(item.org_unit)
    now = timezone.now()
    due = _next_due_on_publish(item, timezone.localdate(now))
    item = _save_item(
        item,
        expected_version,
        state=State.PUBLISHED,
        published_at=now,
        reviewed_at=now,
        reviewed_by=actor,
        return_reason="",
        next_due=due,
    )
    if item.follows_id is not None:
        DisclosureItem.objects.filter(pk=item.follows_id, next_due__isnull=False).update(
            next_due=None, version=F("version") + 1, updated_at=now
        )
    url = reverse("portal:item", args=[item.pk])
    recipients = [u for u in (item.submitted_by, item.created_by) if u is not None and u != actor]
    notify(recipients, kind="portal.published", title=f"已公开:{item.title}", url=url)
    record(
        actor,
        "portal.item.publish",
        obj=item,
        where=Where.of(item.org_unit),
        detail={"title": item.title, "next_due": due.isoformat() if due else None},
    )
    return item


@transaction.atomic
def return_item(actor, item: DisclosureItem, *, expected_version: int, reason: str) -> DisclosureItem:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写退回原因,告诉经办人需要怎样修改。"]})
    _require_review(actor, item)
    item = _save_item(
        item,
        expected_version,
        state=State.RETURNED,
        reviewed_at=timezone.now(),
        reviewed_by=actor,
        return_reason=reason[:1000],
    )
    recipients = [u for u in (item.submitted_by, item.created_by) if u is not None and u != actor]
    notify(
        recipients,
        kind="portal.returned",
        title=f"公开事项被退回:{item.title}",
        body=f"退回原因:{reason}",
        url=reverse("portal:item", args=[item.pk]),
    )
    record(
        actor,
        "portal.item.return",
        obj=item,
        where=Where.of(item.org_unit),
        detail={"title": item.title, "reason": reason[:200]},
    )
    return item


@transaction.atomic
def new_edition(actor, item: DisclosureItem) -> DisclosureItem:
    """A draft continuing a published item: the next edition of a regular disclosure, or the re-disclosure of a
    rectification (整改后再次公开). Same unit, category and period; the text starts from the old one."""
    if item.state != State.PUBLISHED:
        raise PermissionDenied("只能接续已公开的事项。")
    prefix = "【再次公开】" if item.category == Category.RECTIFICATION else ""
    title = item.title if item.title.startswith(prefix) else f"{prefix}{item.title}"
    return create_item(
        actor,
        unit=item.org_unit,
        category=item.category,
        title=title[:TITLE_MAX],
        body=item.body,
        period=item.period,
        follows=item,
    )


def compose_measure_text(measure) -> tuple[str, str]:
    """The title and body of a 整改情况 disclosure for an accepted rectification measure (Chinese)."""
    problem = measure.problem
    title = f"整改情况:{problem.title}"[:TITLE_MAX]
    parts = [f"问题:{problem.title}"]
    description = (getattr(problem, "description", "") or "").strip()
    if description:
        parts.append(f"问题描述:{description}")
    parts.append(f"整改措施:{(measure.text or '').strip()}")
    expected = (getattr(measure, "expected_result", "") or "").strip()
    if expected:
        parts.append(f"预期效果:{expected}")
    result = (getattr(measure, "result", "") or "").strip()
    if result:
        parts.append(f"整改完成情况:{result}")
    accepted_at = getattr(measure, "accepted_at", None)
    if accepted_at:
        parts.append(f"验收日期:{timezone.localdate(accepted_at):%Y年%m月%d日}")
    parts.append("整改已完成并通过验收,欢迎群众监督。")
    return title, "\n".join(parts)[:BODY_MAX]


def draft_from_measure(actor, measure) -> DisclosureItem | None:
    """The rectify hook: an accepted measure marked for disclosure becomes a 整改情况 draft of the problem's
    unit, linked to the measure, which then follows the normal review. Runs inside the acceptance transaction;
    at most one draft per measure (a unique link, so an acceptance repeated after a return adds nothing)."""
    if not getattr(measure, "disclose", False):
        return None
    existing = DisclosureItem.objects.filter(measure=measure).first()
    if existing is not None:
        return existing
    unit = measure.problem.unit
    title, body = compose_measure_text(measure)
    item = DisclosureItem.objects.create(
        org_unit=unit,
        category=Category.RECTIFICATION,
        title=title,
        body=body,
        created_by=actor,
        measure=measure,
    )
    notify(
        unit_editors([unit.pk]),
        kind="portal.measure_draft",
        title=f"整改情况待公开:{measure.problem.title}"[:200],
        body="整改措施已验收,系统已生成公开事项草稿,请核对后提交审核。",
        url=reverse("portal:item", args=[item.pk]),
        dedupe_key=f"portal:measure:{measure.pk}:draft",
    )
    record(
        actor,
        "portal.item.create",
        obj=item,
        where=Where.of(unit),
        detail={"title": item.title, "category": item.category, "measure": measure.pk},
    )
    return item


# --- comments (反馈) ------------------------------------------------------------------------------------------


def post_comment(item: DisclosureItem, *, body: str, ip: str | None) -> Comment:
    """A member of the public comments on a published item. The comment is always kept and held until it is
    moderated. Over the per-IP rate limit it is still kept (marked as a burst) and RateLimited is raised
    after the commit, so the sender learns to slow down and nothing sent is lost."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["请填写留言内容。"]})
    if len(body) > COMMENT_MAX:
        raise ValidationError({"body": [f"留言不能超过{COMMENT_MAX}字。"]})
    if item.state != State.PUBLISHED:
        raise ValidationError("该事项未公开,不能留言。")
    _alive(item.org_unit)
    with transaction.atomic():
        over = limits.hit("portal.comment", ip, limit=COMMENT_LIMIT, window=COMMENT_WINDOW)
        comment = Comment.objects.create(item=item, body=body, burst=over)
        record(
            None,
            "portal.comment.create",
            obj=comment,
            where=Where.of(item.org_unit),
            detail={"item": item.pk, "burst": over},
        )
    if over:
        raise RateLimited("您提交过于频繁。留言已收到,将在审核后显示;请稍后再试。", code="rate_limited")
    return comment


def _require_moderate(actor, comment: Comment) -> None:
    _require_edit(actor, comment.item.org_unit)


def _moderate(actor, comment: Comment, state: str, reason: str = "") -> Comment:
    _require_moderate(actor, comment)
    updated = Comment.objects.filter(pk=comment.pk, state=comment.state).update(
        state=state,
        moderated_at=timezone.now(),
        moderated_by=actor,
        hide_reason=reason[:200],
        version=F("version") + 1,
    )
    if not updated:
        raise ConflictError()
    comment.refresh_from_db()
    return comment


@transaction.atomic
def show_comment(actor, comment: Comment) -> Comment:
    comment = _moderate(actor, comment, CommentState.SHOWN)
    record(actor, "portal.comment.show", obj=comment, where=Where.of(comment.item.org_unit))
    return comment


@transaction.atomic
def hide_comment(actor, comment: Comment, *, reason: str = "") -> Comment:
    """不予显示: the comment stays in the database and in the back office, only the public never sees it."""
    comment = _moderate(actor, comment, CommentState.HIDDEN, (reason or "").strip())
    record(
        actor,
        "portal.comment.hide",
        obj=comment,
        where=Where.of(comment.item.org_unit),
        detail={"reason": comment.hide_reason},
    )
    return comment


@transaction.atomic
def reply_comment(actor, comment: Comment, *, reply: str, expected_version: int) -> Comment:
    """A public answer under a comment (shown with it once the comment is shown), or a new wording of it.
    ``expected_version``: the comment's version when the answer was written — if someone replied or moderated
    since, ConflictError and nothing is saved (the caller keeps the text)."""
    _require_moderate(actor, comment)
    reply = (reply or "").strip()
    if not reply:
        raise ValidationError({"reply": ["请填写答复内容。"]})
    if len(reply) > REPLY_MAX:
        raise ValidationError({"reply": [f"答复不能超过{REPLY_MAX}字(现在{len(reply)}字)。"]})
    now = timezone.now()
    updated = Comment.objects.filter(pk=comment.pk, version=expected_version).update(
        reply=reply, replied_at=now, replied_by=actor, version=F("version") + 1
    )
    if not updated:
        raise ConflictError()
    comment.refresh_from_db()
    record(actor, "portal.comment.reply", obj=comment, where=Where.of(comment.item.org_unit))
    return comment


# --- commitments (公开承诺) ----------------------------------------------------------------------------------


def _decimal(value, field: str, errors: dict, label: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[field] = [f"{label}请填写数字。"]
        return None
    if not number.is_finite() or number < 0 or number >= Decimal("1e10"):
        errors[field] = [f"{label}应为不小于0的合理数字。"]
        return None
    return number.quantize(Decimal("0.01"))


def _clean_commitment(year, title, detail, target_value, target_unit) -> dict:
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    detail = (detail or "").strip()
    target_unit = (target_unit or "").strip()
    try:
        year = int(year)
    except (TypeError, ValueError):
        year = None
    if year is None or not 2000 <= year <= 2100:
        errors["year"] = ["请填写正确的年度。"]
    if not title:
        errors["title"] = ["请填写承诺事项。"]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"承诺事项不能超过{TITLE_MAX}字。"]
    if len(detail) > BODY_MAX:
        errors["detail"] = [f"具体内容不能超过{BODY_MAX}字。"]
    if len(target_unit) > 16:
        errors["target_unit"] = ["计量单位不能超过16字。"]
    target = _decimal(target_value, "target_value", errors, "目标数量")
    if target is not None and target <= 0:
        errors["target_value"] = ["目标数量应大于0。"]
    if target is not None and not target_unit:
        errors["target_unit"] = ["请填写计量单位,例如“场”“人次”。"]
    if errors:
        raise ValidationError(errors)
    return {
        "year": year,
        "title": title,
        "detail": detail,
        "target_value": target,
        "target_unit": target_unit if target is not None else "",
    }


@transaction.atomic
def create_commitment(
    actor,
    *,
    unit: OrgUnit,
    year: int,
    title: str,
    detail: str = "",
    target_value=None,
    target_unit: str = "",
) -> Commitment:
    _require_edit(actor, unit)
    _alive(unit)
    data = _clean_commitment(year, title, detail, target_value, target_unit)
    c = Commitment.objects.create(org_unit=unit, created_by=actor, **data)
    record(actor, "portal.commitment.create", obj=c, where=Where.of(unit), detail={"title": c.title})
    return c


def _save_commitment(c: Commitment, expected_version: int, **changes) -> Commitment:
    return save_versioned(c, expected_version, **changes)


@transaction.atomic
def update_commitment(
    actor,
    c: Commitment,
    *,
    expected_version: int,
    year: int,
    title: str,
    detail: str = "",
    target_value=None,
    target_unit: str = "",
) -> Commitment:
    _require_edit(actor, c.org_unit)
    data = _clean_commitment(year, title, detail, target_value, target_unit)
    if data["target_value"] is not None and c.achieved_value is not None:
        data["progress"] = progress_of(c.achieved_value, data["target_value"])
    c = _save_commitment(c, expected_version, **data)
    record(actor, "portal.commitment.update", obj=c, where=Where.of(c.org_unit), detail={"title": c.title})
    return c


def progress_of(achieved: Decimal, target: Decimal) -> int:
    return max(0, min(100, int(achieved * 100 / target)))


@transaction.atomic
def report_progress(
    actor,
    c: Commitment,
    *,
    expected_version: int,
    evidence: str,
    progress=None,
    achieved_value=None,
    upload: PreparedUpload | None = None,
) -> CommitmentUpdate:
    """A progress report: a percentage, or the achieved quantity (the percentage then follows from the
    target), with the evidence. The commitment shows the latest; the reports stay as its history."""
    _require_edit(actor, c.org_unit)
    errors: dict[str, list[str]] = {}
    evidence = (evidence or "").strip()
    if not evidence:
        errors["evidence"] = ["请填写进展情况及佐证。"]
    elif len(evidence) > BODY_MAX:
        errors["evidence"] = [f"进展情况不能超过{BODY_MAX}字。"]
    achieved = _decimal(achieved_value, "achieved_value", errors, "已完成数量")
    pct = None
    if progress not in (None, ""):
        try:
            pct = int(str(progress).strip())
        except ValueError:
            errors["progress"] = ["完成进度请填写0到100之间的整数。"]
        else:
            if not 0 <= pct <= 100:
                errors["progress"] = ["完成进度请填写0到100之间的整数。"]
    if pct is None and "progress" not in errors:
        if achieved is not None and c.target_value:
            pct = progress_of(achieved, c.target_value)
        elif achieved is None:
            errors["progress"] = ["请填写完成进度,或填写已完成数量。"]
        else:
            errors["progress"] = ["该承诺没有目标数量,请直接填写完成进度(%)。"]
    if errors:
        raise ValidationError(errors)
    c = _save_commitment(c, expected_version, progress=pct, achieved_value=achieved)
    stored = save_prepared(actor, upload, unit=c.org_unit) if upload is not None else None
    update = CommitmentUpdate.objects.create(
        commitment=c, actor=actor, progress=pct, achieved_value=achieved, evidence=evidence, file=stored
    )
    record(
        actor,
        "portal.commitment.progress",
        obj=c,
        where=Where.of(c.org_unit),
        detail={"progress": pct, "achieved": str(achieved) if achieved is not None else None},
    )
    return update


@transaction.atomic
def set_commitment_published(actor, c: Commitment, *, expected_version: int, published: bool) -> Commitment:
    """Only a leader puts a commitment on the public page (or takes it off)."""
    _require_publish(actor, c.org_unit)
    if published:
        _alive(c.org_unit)
    changes: dict = {"published": published}
    if published and c.published_at is None:
        changes["published_at"] = timezone.now()
    c = _save_commitment(c, expected_version, **changes)
    record(
        actor,
        "portal.commitment.publish" if published else "portal.commitment.unpublish",
        obj=c,
        where=Where.of(c.org_unit),
        detail={"title": c.title},
    )
    return c


# --- profile --------------------------------------------------------------------------------------------------


@transaction.atomic
def save_profile(
    actor,
    unit: OrgUnit,
    *,
    expected_version: int,
    intro: str,
    address: str,
    phone: str,
    office_hours: str,
    published: bool,
) -> PortalProfile:
    """Create or update the unit's public profile (version 0 = none yet)."""
    _require_edit(actor, unit)
    errors: dict[str, list[str]] = {}
    intro, address = (intro or "").strip(), (address or "").strip()
    phone, office_hours = (phone or "").strip(), (office_hours or "").strip()
    for name, value, limit, label in (
        ("intro", intro, 5000, "简介"),
        ("address", address, 200, "办公地址"),
        ("phone", phone, 32, "联系电话"),
        ("office_hours", office_hours, 100, "办公时间"),
    ):
        if len(value) > limit:
            errors[name] = [f"{label}不能超过{limit}字。"]
    if phone and not all(ch.isdigit() or ch in "-+() 转" for ch in phone):
        errors["phone"] = ["联系电话只能包含数字、空格和“-”。"]
    if errors:
        raise ValidationError(errors)
    data = {
        "intro": intro,
        "address": address,
        "phone": phone,
        "office_hours": office_hours,
        "published": bool(published),
    }
    profile = PortalProfile.objects.select_for_update().filter(org_unit=unit).first()
    if profile is None:
        if expected_version != 0:
            raise ConflictError()
        profile = PortalProfile.objects.create(org_unit=unit, **data)
    else:
        updated = PortalProfile.objects.filter(pk=profile.pk, version=expected_version).update(
            **data, version=F("version") + 1, updated_at=timezone.now()
        )
        if not updated:
            raise ConflictError()
        profile.refresh_from_db()
    record(
        actor,
        "portal.profile.save",
        obj=profile,
        where=Where.of(unit),
        detail={"published": profile.published},
    )
    return profile
