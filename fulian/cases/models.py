"""Rights-protection cases (维权): intake from the 12338 hotline and other channels, triage, handling, closure
and follow-up — in confidence. Every identifying value of a person and every free text about her is encrypted
at rest (``EncryptedTextField``); repeat callers are found through keyed blind indexes, never by decrypting.

The timeline of a case is append-only (like the audit log): nothing in it can be changed or deleted through the
ORM. Every reveal of an identity is a ``CaseView`` row (leaders see who looked) and an audit event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from fulian.files.models import StoredFile
from fulian.lib.sensitive import BlindIndexField, EncryptedTextField
from fulian.orgs.models import OrgUnit, ScopedQuerySet

# The blind-index purposes shared by every party column, so a caller's phone matches an earlier affected
# person's phone (and the same ID number matches whoever it was typed for).
PHONE_INDEX_PURPOSE = "cases.person.phone"
ID_INDEX_PURPOSE = "cases.person.idcard"


class Channel(models.TextChoices):
    HOTLINE = "hotline", "12338热线"
    LETTER = "letter", "来信"
    VISIT = "visit", "来访"
    ONLINE = "online", "网络"
    TRANSFER = "transfer", "转办"
    OUTREACH = "outreach", "主动发现"


class State(models.TextChoices):
    DRAFT = "draft", "草稿"
    REGISTERED = "registered", "登记"
    ACCEPTED = "accepted", "受理"
    REJECTED = "rejected", "不予受理"
    ASSIGNED = "assigned", "已分派"
    IN_PROGRESS = "in_progress", "处理中"
    CLOSURE_REQUESTED = "closure_requested", "待审批办结"
    CLOSED = "closed", "已办结"
    FOLLOWED_UP = "followed_up", "已回访"
    REVIEW = "review", "回访不满意待复核"
    ARCHIVED = "archived", "归档"


# States in which the case still needs work (lists default to these; deadlines run in them).
OPEN_STATES = (
    State.REGISTERED,
    State.ACCEPTED,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.CLOSURE_REQUESTED,
    State.REVIEW,
)
# What an intake-only (hotline) user keeps seeing of the cases she registered: until someone accepts them.
INTAKE_VISIBLE_STATES = (State.DRAFT, State.REGISTERED)
# The handling clock has stopped (closed, refused, archived).
FINISHED_STATES = (State.REJECTED, State.CLOSED, State.FOLLOWED_UP, State.ARCHIVED)


def overdue_condition(now) -> Q:
    """Open cases past their first-contact deadline without a contact, or past the handling deadline (not while
    the clock is paused for an external agency)."""
    return Q(state__in=OPEN_STATES) & (
        Q(first_contact_at__isnull=True, first_contact_due__lt=now)
        | Q(handling_due__lt=now, paused_since__isnull=True)
    )


class Risk(models.IntegerChoices):
    NORMAL = 1, "一般"
    ELEVATED = 2, "较高"
    HIGH = 3, "高危"


class FamilyTag(models.TextChoices):
    NONE = "", "无"
    YELLOW = "yellow", "黄色(生活困难)"
    ORANGE = "orange", "橙色(婚姻矛盾)"
    RED = "red", "红色(家庭暴力)"


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    FAIRLY = "fairly", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"


class MandatoryReport(models.TextChoices):
    """Art. 14 of the Anti-Domestic Violence Law: the answer to the 强制报告 checklist item."""

    UNANSWERED = "", "未回答"
    REPORTED = "reported", "已向公安机关报案"
    ALREADY_KNOWN = "already_known", "公安机关已经知晓(已报警)"
    NOT_APPLICABLE = "not_applicable", "经核实不属于强制报告情形"


class CaseCategory(models.Model):
    """The editable category tree: a top level (婚姻家庭, 人身权益 …) and sub-categories (家庭暴力 …)."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name="上级类别",
    )
    name = models.CharField("名称", max_length=40)
    code = models.SlugField("代码", max_length=40, unique=True)
    # 家庭暴力, 性骚扰, 拐卖 …: violence against a minor or a person without capacity raises 强制报告
    is_violence = models.BooleanField("属于暴力侵害", default=False)
    active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = "维权类别"
        verbose_name_plural = "维权类别"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="casecategory_unique_name_per_parent"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="casecategory_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """The public-holiday calendar an admin maintains: a day off on a weekday, or a 调休 working weekend."""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("调休上班", default=False)
    name = models.CharField("名称", max_length=30, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "节假日"
        verbose_name_plural = "节假日"

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {'上班' if self.is_workday else '休息'} {self.name}"


class CaseCounter(models.Model):
    """The last case number of a unit in a year: locked (SELECT … FOR UPDATE) by each intake, so numbers are
    gap-free and never repeat, and rolled back with the intake if it fails."""

    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org_unit", "year"], name="casecounter_unit_year")]

    def __str__(self) -> str:
        return f"{self.org_unit_id}/{self.year}: {self.last}"


class CaseQuerySet(ScopedQuerySet):
    scope_path_field = "org_unit__path"

    def open(self) -> CaseQuerySet:
        return self.filter(state__in=OPEN_STATES)


class Case(models.Model):
    # numbered when registered (a draft has no number yet, so abandoned drafts leave no gaps)
    # unique through Meta.constraints, not unique=True: that would add a second index on PostgreSQL (a LIKE
    # pattern index) which no query uses and every intake maintains
    number = models.CharField("案件编号", max_length=40, null=True, blank=True)
    # the unit that registered it (the number's unit) and the unit that owns it now (after 分派)
    registered_unit = models.ForeignKey(  # indexed by case_number_per_unit_year (registered_unit first)
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name="登记单位", db_index=False
    )
    year = models.PositiveSmallIntegerField("年度", null=True, blank=True)
    sequence = models.PositiveIntegerField("序号", null=True, blank=True)
    # indexed by case_unit_state_risk and case_unit_created_stats (org_unit first)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="cases", verbose_name="承办单位", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name="承办人",
    )
    channel = models.CharField("来源渠道", max_length=16, choices=Channel.choices)
    category = models.ForeignKey(
        CaseCategory, on_delete=models.PROTECT, related_name="+", verbose_name="类别"
    )
    subcategory = models.ForeignKey(
        CaseCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="子类别"
    )
    state = models.CharField("状态", max_length=20, choices=State.choices, default=State.REGISTERED)
    risk = models.PositiveSmallIntegerField("风险等级", choices=Risk.choices, default=Risk.NORMAL)
    risk_suggested = models.PositiveSmallIntegerField(
        "建议风险等级", choices=Risk.choices, default=Risk.NORMAL
    )
    risk_checklist = models.JSONField("风险评估", default=list, blank=True)  # keys of triage.RISK_ITEMS
    involves_minor = models.BooleanField("涉及未成年人", default=False)
    involves_disability = models.BooleanField("涉及残疾人", default=False)
    lacks_capacity = models.BooleanField("涉及无民事行为能力人", default=False)
    consent_store = models.BooleanField("同意保存信息", default=False)
    consent_refer = models.BooleanField("同意转介", default=False)
    consent_contact = models.BooleanField("同意回访联系", default=False)
    account = EncryptedTextField("情况陈述", purpose="cases.case.account", kind="text", blank=True)
    request = EncryptedTextField("诉求", purpose="cases.case.request", kind="text", blank=True)
    mandatory_report_required = models.BooleanField("需强制报告", default=False)
    mandatory_report = models.CharField(
        "强制报告",
        max_length=16,
        choices=MandatoryReport.choices,
        default=MandatoryReport.UNANSWERED,
        blank=True,
    )
    first_contact_due = models.DateTimeField("首次联系时限", null=True, blank=True)
    first_contact_at = models.DateTimeField("首次联系时间", null=True, blank=True)
    handling_due = models.DateTimeField("办理时限", null=True, blank=True)
    paused_since = models.DateTimeField("暂停计时起", null=True, blank=True)  # waiting for an external agency
    # overdue: the level above was told (fulian escalate_cases)
    escalated_at = models.DateTimeField("超期上报时间", null=True, blank=True)
    # the family's risk tag; red families are visited on a schedule (next_visit_due)
    family_tag = models.CharField("家庭风险标识", max_length=8, choices=FamilyTag.choices, blank=True)
    next_visit_due = models.DateField("下次走访日期", null=True, blank=True)
    # a public help request (portal): the person follows it with a tracking code and a PIN (only a hash kept);
    # the code is unique through Meta.constraints
    tracking_code = models.CharField("查询码", max_length=12, null=True, blank=True)
    tracking_pin_hash = models.CharField(max_length=128, blank=True)
    public_reply = EncryptedTextField("公开答复", purpose="cases.case.public_reply", kind="text", blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged", verbose_name="合并到"
    )
    outcome = EncryptedTextField("办理结果", purpose="cases.case.outcome", kind="text", blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    satisfaction = models.CharField("回访满意度", max_length=16, choices=Satisfaction.choices, blank=True)
    created_by = models.ForeignKey(  # indexed by case_creator_state (created_by first)
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name="登记人",
        db_index=False,
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-risk", "-created_at", "-id"]
        verbose_name = "维权案件"
        verbose_name_plural = "维权案件"
        indexes = [
            models.Index(fields=["org_unit", "state", "risk"], name="case_unit_state_risk"),
            models.Index(fields=["created_by", "state"], name="case_creator_state"),
            models.Index(fields=["state", "handling_due"], name="case_state_handling_due"),
            # statistics over a period (fulian/cases/indicators.py), index-only with what the counts need:
            # per unit of a subtree a range of registration times; for a whole tree the time range itself
            models.Index(
                fields=["org_unit", "created_at", "state", "closed_at"], name="case_unit_created_stats"
            ),
            models.Index(fields=["created_at", "org_unit", "state", "closed_at"], name="case_created_stats"),
            # open cases with their deadlines (~4 % of all): the overdue count per unit, index-only
            models.Index(
                fields=["org_unit", "first_contact_due", "first_contact_at", "handling_due", "paused_since"],
                condition=Q(state__in=OPEN_STATES),
                name="case_open_deadlines",
            ),
            # the dashboard's overdue red list (fulian/reports/redlists.py): open cases in its order (highest
            # risk, earliest handling deadline), with what the overdue test and the subtree need, so the top
            # rows are read from the front of the index instead of sorting every overdue case of a province
            models.Index(
                fields=[
                    "-risk",
                    "handling_due",
                    "id",
                    "org_unit",
                    "first_contact_due",
                    "first_contact_at",
                    "paused_since",
                ],
                condition=Q(state__in=OPEN_STATES),
                name="case_open_risk_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="case_number_unique"),
            models.UniqueConstraint(fields=["tracking_code"], name="case_tracking_code_unique"),
            models.UniqueConstraint(
                fields=["registered_unit", "year", "sequence"], name="case_number_per_unit_year"
            ),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="case_channel_valid"),
            models.CheckConstraint(condition=Q(state__in=State.values), name="case_state_valid"),
            models.CheckConstraint(condition=Q(risk__in=Risk.values), name="case_risk_valid"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="case_sequence_positive"),
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="case_not_merged_into_itself"
            ),
            models.CheckConstraint(
                condition=Q(state="draft")
                | Q(
                    number__isnull=False,
                    sequence__isnull=False,
                    year__isnull=False,
                    handling_due__isnull=False,
                ),
                name="case_registered_is_numbered",
            ),
            models.CheckConstraint(
                condition=Q(satisfaction="") | Q(satisfaction__in=Satisfaction.values),
                name="case_satisfaction_valid",
            ),
            models.CheckConstraint(
                condition=Q(mandatory_report__in=MandatoryReport.values), name="case_mandatory_report_valid"
            ),
            models.CheckConstraint(
                condition=Q(family_tag__in=FamilyTag.values), name="case_family_tag_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"草稿{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class PartyRole(models.TextChoices):
    CALLER = "caller", "来电/来访人"
    AFFECTED = "affected", "当事人(受害人)"
    PERPETRATOR = "perpetrator", "被投诉人(施暴人)"


class AgeGroup(models.TextChoices):
    UNKNOWN = "", "不详"
    CHILD = "child", "未成年(18岁以下)"
    YOUNG = "young", "18-35岁"
    MIDDLE = "middle", "36-59岁"
    SENIOR = "senior", "60岁以上"


class PartyQuerySet(ScopedQuerySet):
    scope_path_field = "case__org_unit__path"


class Party(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="parties")
    role = models.CharField("身份", max_length=16, choices=PartyRole.choices)
    anonymous = models.BooleanField("匿名", default=False)
    name = EncryptedTextField("姓名", purpose="cases.party.name", kind="name", blank=True)
    phone = EncryptedTextField("电话", purpose="cases.party.phone", kind="phone", blank=True)
    # the blind indexes are indexed through Meta.indexes: db_index=True would add a LIKE pattern index on
    # PostgreSQL beside each (hashes are only ever compared whole), doubling what every intake maintains
    phone_index = BlindIndexField(source="phone", purpose=PHONE_INDEX_PURPOSE, db_index=False)
    id_number = EncryptedTextField("身份证号", purpose="cases.party.id_number", kind="idcard", blank=True)
    id_index = BlindIndexField(source="id_number", purpose=ID_INDEX_PURPOSE, db_index=False)
    address = EncryptedTextField("住址", purpose="cases.party.address", kind="address", blank=True)
    gender = models.CharField("性别", max_length=1, choices=[("F", "女"), ("M", "男")], blank=True)
    age_group = models.CharField("年龄段", max_length=8, choices=AgeGroup.choices, blank=True)
    relation = models.CharField("与当事人关系", max_length=20, blank=True)
    has_disability = models.BooleanField("残疾", default=False)
    # safe contact: calling back the abuser's phone can kill
    safe_phone = EncryptedTextField(
        "安全联系电话", purpose="cases.party.safe_phone", kind="phone", blank=True
    )
    safe_time = models.CharField("方便联系的时间", max_length=50, blank=True)
    may_leave_message = models.BooleanField("可以留言", default=False)

    objects = PartyQuerySet.as_manager()

    class Meta:
        ordering = ["case", "id"]
        verbose_name = "当事人"
        verbose_name_plural = "当事人"
        indexes = [
            models.Index(fields=["phone_index"], name="party_phone_index"),
            models.Index(fields=["id_index"], name="party_id_index"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=PartyRole.values), name="party_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.name or '匿名'}"


class EntryKind(models.TextChoices):
    INTAKE = "intake", "登记"
    TRANSITION = "transition", "状态变更"
    CHANGE = "change", "信息修改"
    CONTACT = "contact", "首次联系"
    NOTE = "note", "备注"
    CONSULTATION = "consultation", "咨询/建议"
    MEDIATION = "mediation", "调解"
    LEGAL_AID = "legal_aid", "法律援助转介"
    SHELTER = "shelter", "庇护/救助安置"
    PROTECTION_ORDER = "protection_order", "协助申请人身安全保护令"
    POLICE_WARNING = "police_warning", "协助申请告诫书"
    VISIT = "visit", "走访"
    MANDATORY_REPORT = "mandatory_report", "强制报告"
    CLOCK = "clock", "计时暂停/恢复"
    ESCALATION = "escalation", "超期上报"
    REFERRAL = "referral", "转办/转介"
    MERGE = "merge", "合并重复案件"
    FOLLOW_UP = "follow_up", "回访"
    DOCUMENT = "document", "文书/附件"


# The handling actions a caseworker records (the others are written by the transitions themselves).
ACTION_KINDS = (
    EntryKind.CONTACT,
    EntryKind.CONSULTATION,
    EntryKind.MEDIATION,
    EntryKind.LEGAL_AID,
    EntryKind.SHELTER,
    EntryKind.PROTECTION_ORDER,
    EntryKind.POLICE_WARNING,
    EntryKind.VISIT,
    EntryKind.NOTE,
)


class AppendOnlyError(Exception):
    pass


class TimelineQuerySet(ScopedQuerySet):
    scope_path_field = "case__org_unit__path"

    def update(self, **kwargs):
        raise AppendOnlyError("案件记录只能追加,不能修改")

    def delete(self):
        raise AppendOnlyError("案件记录只能追加,不能删除")


class TimelineEntry(models.Model):
    """One step of a case: who, when, what. Append-only."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="timeline")
    created_at = models.DateTimeField("时间", auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    kind = models.CharField("类型", max_length=20, choices=EntryKind.choices)
    occurred_on = models.DateField("发生日期", null=True, blank=True)
    text = EncryptedTextField("内容", purpose="cases.timeline.text", kind="text", blank=True)
    # clear, non-identifying facts: states, outcome codes, field names changed (values masked)
    data = models.JSONField(default=dict, blank=True)

    objects = TimelineQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "案件记录"
        verbose_name_plural = "案件记录"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="timeline_kind_valid")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("案件记录只能追加,不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("案件记录只能追加,不能删除")


class Agency(models.TextChoices):
    POLICE = "police", "公安机关"
    COURT = "court", "人民法院"
    JUSTICE = "justice", "司法所"
    LEGAL_AID = "legal_aid", "法律援助中心"
    CIVIL_AFFAIRS = "civil_affairs", "民政部门"
    EDUCATION = "education", "教育部门"
    HEALTH = "health", "卫生健康部门"
    HRSS = "hrss", "人力资源和社会保障部门"
    OTHER = "other", "其他单位"


class ReferralState(models.TextChoices):
    SENT = "sent", "待接收/待答复"
    ACCEPTED = "accepted", "已接收"
    REJECTED = "rejected", "已拒收"
    REVOKED = "revoked", "已撤回"
    REPLIED = "replied", "已答复"


class ReferralQuerySet(ScopedQuerySet):
    scope_path_field = "case__org_unit__path"


class Referral(models.Model):
    """A referral (转办/转介): to another unit of the tree (it accepts or rejects; the sender may revoke before
    that), or to an external agency (date sent, expected reply, reply received)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    from_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name="转出单位"
    )
    to_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="接收单位"
    )
    agency = models.CharField("外部单位类别", max_length=16, choices=Agency.choices, blank=True)
    agency_name = models.CharField("外部单位名称", max_length=100, blank=True)
    state = models.CharField("状态", max_length=16, choices=ReferralState.choices, default=ReferralState.SENT)
    sent_on = models.DateField("转出日期")
    expected_reply_on = models.DateField("应答复日期", null=True, blank=True)
    replied_on = models.DateField("答复日期", null=True, blank=True)
    note = EncryptedTextField("转办说明", purpose="cases.referral.note", kind="text", blank=True)
    reply = EncryptedTextField("答复/拒收理由", purpose="cases.referral.reply", kind="text", blank=True)
    consent_override_reason = models.CharField("未经同意转介的理由", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "转办/转介"
        verbose_name_plural = "转办/转介"
        indexes = [models.Index(fields=["to_unit", "state"], name="referral_to_unit_state")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(to_unit__isnull=False) & Q(agency=""))
                | (Q(to_unit__isnull=True) & ~Q(agency="")),
                name="referral_unit_xor_agency",
            ),
            models.CheckConstraint(condition=Q(state__in=ReferralState.values), name="referral_state_valid"),
            models.CheckConstraint(
                condition=Q(agency="") | Q(agency__in=Agency.values), name="referral_agency_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.to_unit_id or self.agency}"

    @property
    def is_internal(self) -> bool:
        return self.to_unit_id is not None

    def reply_overdue(self, today) -> bool:
        return (
            self.state == ReferralState.SENT
            and self.expected_reply_on is not None
            and self.expected_reply_on < today
        )


class CaseExport(models.Model):
    """A leader's export of cases (.xlsx): asked for with a reason, downloadable once by her within a few
    minutes through an unguessable link; identities masked. Both steps are audited."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=43, unique=True)
    reason = models.CharField("导出原因", max_length=200)
    filters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    downloaded_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "案件导出"
        verbose_name_plural = "案件导出"
        constraints = [
            models.CheckConstraint(condition=Q(token__length__gte=32), name="caseexport_token_long")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at}"


class IntakeDraft(models.Model):
    """What an operator has typed into the intake form so far, saved automatically while she types (encrypted
    as one blob: it may hold anything, valid or not). Only its author sees it; it is gone once the case is
    registered or the draft is discarded."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    data = EncryptedTextField("内容", purpose="cases.draft.data", kind="text")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = "登记草稿"
        verbose_name_plural = "登记草稿"
        indexes = [models.Index(fields=["user", "-updated_at"], name="intakedraft_user_recent")]

    def __str__(self) -> str:
        return f"草稿 {self.pk}"


class CaseViewQuerySet(ScopedQuerySet):
    scope_path_field = "case__org_unit__path"

    def update(self, **kwargs):
        raise AppendOnlyError("查看记录只能追加,不能修改")

    def delete(self):
        raise AppendOnlyError("查看记录只能追加,不能删除")


class CaseView(models.Model):
    """Someone revealed the identities of a case's parties, with a reason (leaders see who looked)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("查看时间", auto_now_add=True)
    reason = models.CharField("查看原因", max_length=200)

    objects = CaseViewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "身份信息查看记录"
        verbose_name_plural = "身份信息查看记录"

    def __str__(self) -> str:
        return f"{self.case_id} {self.user_id} {self.created_at}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("查看记录只能追加,不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("查看记录只能追加,不能删除")


class CaseDocumentQuerySet(ScopedQuerySet):
    scope_path_field = "case__org_unit__path"

    def update(self, **kwargs):
        raise AppendOnlyError("案件文书只能追加,不能修改")

    def delete(self):
        raise AppendOnlyError("案件文书不能删除")


class CaseDocument(models.Model):
    """A document or picture of a case (调解协议, 验伤照片, 保护令裁定 …). The file is a checked upload stored
    encrypted with the data key (fulian.files, ``encrypted=True``): the bytes on disk, its name and this row's
    description disclose nothing without the key. Served only through the case's access check, each download
    audited; listed in the timeline. Never deleted through the product."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    file = models.OneToOneField(StoredFile, on_delete=models.PROTECT, related_name="+")
    note = EncryptedTextField("说明", purpose="cases.document.note", kind="text", blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name="上传人"
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)

    objects = CaseDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "案件文书"
        verbose_name_plural = "案件文书"

    def __str__(self) -> str:
        return f"{self.case_id} 文书 {self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("案件文书只能追加,不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("案件文书不能删除")
