"""The public site's own records: disclosure items (公开栏) with their review procedure 提出 → 审核 → 公开 → 反馈,
the public's comments on them (held for moderation), commitments (公开承诺) with their progress, and each unit's
public profile. Nothing here is public until a person with the right says so."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from fulian.orgs.models import OrgUnit, ScopedQuerySet

TITLE_MAX = 200
BODY_MAX = 20000
COMMENT_MAX = 1000
REPLY_MAX = 2000


class Category(models.TextChoices):
    DEPLOYMENT = "deployment", "工作部署"
    ORGANISATION = "organisation", "组织建设"
    FUNDS = "funds", "经费使用"
    HONOURS = "honours", "评先评优"
    RECTIFICATION = "rectification", "整改情况"
    OTHER = "other", "其他"


class State(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审核"
    PUBLISHED = "published", "已公开"
    RETURNED = "returned", "退回"


EDITABLE_STATES = (State.DRAFT, State.RETURNED)


class Period(models.TextChoices):
    NONE = "none", "不定期"
    MONTH = "month", "每月"
    QUARTER = "quarter", "每季"
    HALF_YEAR = "half_year", "每半年"
    YEAR = "year", "每年"


PERIOD_MONTHS = {Period.MONTH: 1, Period.QUARTER: 3, Period.HALF_YEAR: 6, Period.YEAR: 12}


def add_period(day: dt.date, period: str) -> dt.date:
    """``day`` plus one period, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    months = PERIOD_MONTHS[period]
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def open_unit_q(prefix: str = "org_unit__", day: dt.date | None = None) -> Q:
    """Units that still exist on ``day`` (default today): not closed, or closing only later."""
    day = day or timezone.localdate()
    return Q(**{f"{prefix}closed_on__isnull": True}) | Q(**{f"{prefix}closed_on__gt": day})


class DisclosureQuerySet(ScopedQuerySet):
    scope_path_field = "org_unit__path"

    def public(self) -> DisclosureQuerySet:
        """What the public may see: published items of units that still exist."""
        return self.filter(open_unit_q(), state=State.PUBLISHED)


class DisclosureItem(models.Model):
    """One item of a unit's 公开栏. ``follows`` links a new edition of a regular disclosure, or the re-disclosure
    after a rectification (对重大问题整改后要再次公开), to the item it continues."""

    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="disclosures", verbose_name="公开单位"
    )
    category = models.CharField("类别", max_length=16, choices=Category.choices)
    title = models.CharField("标题", max_length=TITLE_MAX)
    body = models.TextField("公开内容")
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.DRAFT)
    period = models.CharField("公开周期", max_length=16, choices=Period.choices, default=Period.NONE)
    next_due = models.DateField("下次公开日期", null=True, blank=True)
    follows = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followups",
        verbose_name="接续的公开事项",
    )
    # the accepted rectification measure this item discloses (整改情况): one draft per measure at most
    measure = models.OneToOneField(
        "rectify.Measure",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disclosure",
        verbose_name="整改措施",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField("提交审核时间", null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    return_reason = models.TextField("退回原因", blank=True)
    published_at = models.DateTimeField("公开时间", null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DisclosureQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = "公开事项"
        verbose_name_plural = "公开事项"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=State.values), name="disclosure_state_valid"),
            models.CheckConstraint(
                condition=Q(category__in=Category.values), name="disclosure_category_valid"
            ),
            models.CheckConstraint(condition=Q(period__in=Period.values), name="disclosure_period_valid"),
            models.CheckConstraint(
                condition=~Q(state=State.PUBLISHED) | Q(published_at__isnull=False),
                name="disclosure_published_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state=State.RETURNED) | ~Q(return_reason=""),
                name="disclosure_returned_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(period=Period.NONE) | Q(next_due__isnull=True),
                name="disclosure_next_due_only_periodic",
            ),
            models.CheckConstraint(condition=~Q(follows=models.F("id")), name="disclosure_not_own_followup"),
        ]
        indexes = [
            models.Index(fields=["org_unit", "state", "published_at"], name="disclosure_unit_state"),
            models.Index(fields=["state", "next_due"], name="disclosure_state_due"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    @property
    def is_periodic(self) -> bool:
        return self.period != Period.NONE


class CommentState(models.TextChoices):
    PENDING = "pending", "待审核"
    SHOWN = "shown", "已显示"
    HIDDEN = "hidden", "不予显示"


class CommentQuerySet(ScopedQuerySet):
    scope_path_field = "item__org_unit__path"


class Comment(models.Model):
    """Feedback from the public (反馈) on a published item. Every comment is kept, whatever its fate: held until
    someone moderates it, then shown or not shown — never deleted."""

    item = models.ForeignKey(DisclosureItem, on_delete=models.PROTECT, related_name="comments")
    body = models.TextField("留言内容")
    state = models.CharField(
        "状态", max_length=16, choices=CommentState.choices, default=CommentState.PENDING
    )
    # sent while its sender was over the rate limit: kept like any other, marked for the moderator
    burst = models.BooleanField("频繁提交", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    hide_reason = models.CharField("不予显示原因", max_length=200, blank=True)
    reply = models.TextField("答复", blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # every moderation and reply moves it: a reply written against an older one is refused, not saved over
    version = models.PositiveIntegerField(default=1)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "群众留言"
        verbose_name_plural = "群众留言"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=CommentState.values), name="comment_state_valid"),
            models.CheckConstraint(
                condition=Q(state=CommentState.PENDING) | Q(moderated_at__isnull=False),
                name="comment_moderated_has_time",
            ),
        ]
        indexes = [models.Index(fields=["item", "state"], name="comment_item_state")]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.pk}"


class CommitmentQuerySet(ScopedQuerySet):
    scope_path_field = "org_unit__path"

    def public(self) -> CommitmentQuerySet:
        return self.filter(open_unit_q(), published=True)


class Commitment(models.Model):
    """公开承诺: what a unit promised for a year, measurable where possible, and how far it got."""

    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="commitments", verbose_name="承诺单位"
    )
    year = models.PositiveSmallIntegerField("年度")
    title = models.CharField("承诺事项", max_length=TITLE_MAX)
    detail = models.TextField("具体内容", blank=True)
    target_value = models.DecimalField("目标数量", max_digits=12, decimal_places=2, null=True, blank=True)
    target_unit = models.CharField("计量单位", max_length=16, blank=True)
    achieved_value = models.DecimalField("已完成数量", max_digits=12, decimal_places=2, null=True, blank=True)
    progress = models.PositiveSmallIntegerField("完成进度(%)", default=0)
    published = models.BooleanField("已公开", default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommitmentQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "org_unit__path", "id"]
        verbose_name = "公开承诺"
        verbose_name_plural = "公开承诺"
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="commitment_progress_pct"
            ),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="commitment_year_range"),
            models.CheckConstraint(
                condition=Q(target_value__isnull=True) | Q(target_value__gt=0),
                name="commitment_target_positive",
            ),
            models.CheckConstraint(
                condition=Q(achieved_value__isnull=True) | Q(achieved_value__gte=0),
                name="commitment_achieved_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["org_unit", "published", "year"], name="commitment_unit_pub")]

    def __str__(self) -> str:
        return self.title


class CommitmentUpdate(models.Model):
    """One progress report with its evidence (佐证): the commitment keeps the latest figures, this the history."""

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="updates")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    progress = models.PositiveSmallIntegerField("完成进度(%)")
    achieved_value = models.DecimalField("已完成数量", max_digits=12, decimal_places=2, null=True, blank=True)
    evidence = models.TextField("进展情况及佐证")
    file = models.ForeignKey(
        "files.StoredFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="commitment_update_progress_pct"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commitment_id}: {self.progress}%"


class PortalProfile(models.Model):
    """A unit's public self-presentation: what it is, where, when and how to reach it."""

    org_unit = models.OneToOneField(
        OrgUnit, on_delete=models.PROTECT, related_name="portal_profile", verbose_name="单位"
    )
    intro = models.TextField("简介", blank=True)
    address = models.CharField("办公地址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=32, blank=True)
    office_hours = models.CharField("办公时间", max_length=100, blank=True)
    published = models.BooleanField("在公开网站显示简介", default=False)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "公开网站简介"
        verbose_name_plural = "公开网站简介"

    def __str__(self) -> str:
        return f"{self.org_unit_id}"
