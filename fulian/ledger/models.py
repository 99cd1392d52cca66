"""The work ledger (工作台账): one record per training, activity, job fair, home-work point or service,
typed once by the unit where it happened and summed up the tree by path prefix."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from fulian.lib.sensitive import BlindIndexField, EncryptedTextField
from fulian.orgs.models import OrgUnit, ScopedQuerySet


class RecordKind(models.TextChoices):
    TRAINING = "training", "培训"
    ACTIVITY = "activity", "活动"
    JOB_FAIR = "job_fair", "招聘会/洽谈会"
    WORKPOINT = "workpoint", "来料加工点"
    SERVICE = "service", "服务"


# Categories per kind (an editable list would be a table; these are the seeds' words and stay stable).
CATEGORIES: dict[str, list[str]] = {
    RecordKind.TRAINING: ["实用技术", "职业技能", "创业就业", "家庭教育", "法治宣传", "干部培训", "其他"],
    RecordKind.ACTIVITY: ["宣传", "文体", "慰问", "座谈", "志愿服务", "评选表彰", "其他"],
    RecordKind.JOB_FAIR: ["招聘会", "洽谈会"],
    RecordKind.WORKPOINT: ["来料加工"],
    RecordKind.SERVICE: ["咨询", "帮扶", "讲座", "其他"],
}

# The count columns each kind uses, in the order a form shows them (labels are the fields' verbose names).
KIND_FIELDS: dict[str, list[str]] = {
    RecordKind.TRAINING: [
        "sessions",
        "participants",
        "person_times",
        "recommended_jobs",
        "employed",
        "partner",
    ],
    RecordKind.ACTIVITY: ["participants", "beneficiaries", "partner"],
    RecordKind.JOB_FAIR: ["employers", "jobs_offered", "job_seekers", "agreements"],
    RecordKind.WORKPOINT: ["products", "workers", "avg_income"],
    RecordKind.SERVICE: ["beneficiaries", "amount", "fund_source"],
}

COUNT_FIELDS = [
    "sessions",
    "participants",
    "person_times",
    "beneficiaries",
    "recommended_jobs",
    "employed",
    "employers",
    "jobs_offered",
    "job_seekers",
    "agreements",
    "workers",
]


class BrandTag(models.Model):
    """Brand tags (双学双比, 巾帼建功, 美在农家 …): an editable list."""

    name = models.CharField("名称", max_length=30, unique=True)
    active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = "品牌标签"
        verbose_name_plural = "品牌标签"

    def __str__(self) -> str:
        return self.name


class LedgerRecordQuerySet(ScopedQuerySet):
    scope_path_field = "org_unit__path"

    def in_period(self, start, end):
        """Records whose date falls in [start, end] (a record belongs to the period of its start date)."""
        return self.filter(date__gte=start, date__lte=end)


class LedgerRecord(models.Model):
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="ledger_records", verbose_name="单位"
    )
    kind = models.CharField("类别", max_length=16, choices=RecordKind.choices)
    category = models.CharField("类型", max_length=20)
    title = models.CharField("主题", max_length=200)
    date = models.DateField("日期", db_index=True)
    end_date = models.DateField("结束日期", null=True, blank=True)
    location = models.CharField("地点", max_length=200, blank=True)
    sessions = models.PositiveIntegerField("期数", default=0)
    participants = models.PositiveIntegerField("参加人数", default=0)
    person_times = models.PositiveIntegerField("人次", default=0)
    beneficiaries = models.PositiveIntegerField("受益人数", default=0)
    recommended_jobs = models.PositiveIntegerField("推荐就业", default=0)
    employed = models.PositiveIntegerField("实现就业", default=0)
    employers = models.PositiveIntegerField("参会企业", default=0)
    jobs_offered = models.PositiveIntegerField("提供岗位", default=0)
    job_seekers = models.PositiveIntegerField("求职人数", default=0)
    agreements = models.PositiveIntegerField("达成意向", default=0)
    workers = models.PositiveIntegerField("加工人数", default=0)
    avg_income = models.DecimalField("人均增收(元)", max_digits=10, decimal_places=2, default=0)
    products = models.CharField("加工产品", max_length=100, blank=True)
    amount = models.DecimalField("金额(元)", max_digits=12, decimal_places=2, default=0)
    fund_source = models.CharField("资金来源", max_length=100, blank=True)
    partner = models.CharField("合作部门", max_length=100, blank=True)
    description = models.TextField("情况说明", blank=True)
    tags = models.ManyToManyField(BrandTag, blank=True, related_name="records", verbose_name="品牌标签")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = LedgerRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = "台账记录"
        verbose_name_plural = "台账记录"
        indexes = [
            models.Index(fields=["org_unit", "date"], name="ledger_unit_date"),
            models.Index(fields=["kind", "date"], name="ledger_kind_date"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RecordKind.values), name="ledger_kind_valid"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("date")),
                name="ledger_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(avg_income__gte=0) & Q(amount__gte=0), name="ledger_money_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(person_times__gte=models.F("participants")) | Q(person_times=0),
                name="ledger_person_times_ge_participants",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.title}"


class PeriodException(models.Model):
    """The level above lets one unit edit a locked month (补录) until a date."""

    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    month = models.DateField("月份")  # first day of the month
    until = models.DateField("补录截止")
    reason = models.CharField("原因", max_length=200)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "month"], name="period_exception_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit} {self.month:%Y-%m} → {self.until}"


# --- photos and event sign-in (活动签到) ----------------------------------------------------------------------

MAX_PHOTOS_PER_RECORD = 9
SIGNIN_KINDS = (RecordKind.ACTIVITY, RecordKind.TRAINING)


class LedgerPhotoQuerySet(ScopedQuerySet):
    scope_path_field = "record__org_unit__path"


class LedgerPhoto(models.Model):
    """A photo of a record; the image itself is a checked, EXIF-free ``files.StoredFile``."""

    record = models.ForeignKey(LedgerRecord, on_delete=models.CASCADE, related_name="photos")
    file = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT, related_name="+")
    caption = models.CharField("说明", max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LedgerPhotoQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "台账照片"
        verbose_name_plural = "台账照片"
        constraints = [models.UniqueConstraint(fields=["file"], name="ledger_photo_file_unique")]

    def __str__(self) -> str:
        return self.caption or f"照片 {self.pk}"


class SignInSheet(models.Model):
    """The sign-in sheet of one activity or training: participants open /s/<code> on their phones."""

    record = models.OneToOneField(LedgerRecord, on_delete=models.CASCADE, related_name="signin_sheet")
    code = models.CharField("签到码", max_length=43, unique=True)
    opens_at = models.DateTimeField("开始时间")
    closes_at = models.DateTimeField("截止时间")
    active = models.BooleanField("开放", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "签到表"
        verbose_name_plural = "签到表"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="signin_window_valid"
            ),
            models.CheckConstraint(condition=Q(code__length__gte=16), name="signin_code_long"),
        ]

    def __str__(self) -> str:
        return f"签到:{self.record}"

    def is_open(self, now) -> bool:
        return self.active and self.opens_at <= now < self.closes_at


class Attendance(models.Model):
    """One participant signed in, once per phone number and sheet."""

    sheet = models.ForeignKey(SignInSheet, on_delete=models.CASCADE, related_name="attendances")
    # Personal information of members of the public: encrypted at rest, masked on the page (DESIGN.md §3).
    name = EncryptedTextField("姓名", purpose="ledger.attendance.name", kind="name")
    phone = EncryptedTextField("手机号", purpose="ledger.attendance.phone", kind="phone")  # 11 digits
    phone_index = BlindIndexField(source="phone")  # one sign-in per phone and sheet, without plaintext
    created_at = models.DateTimeField("签到时间", auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "签到记录"
        verbose_name_plural = "签到记录"
        constraints = [
            models.UniqueConstraint(fields=["sheet", "phone_index"], name="attendance_once_per_phone_index"),
        ]

    def __str__(self) -> str:
        return self.name


# --- the maintained monthly figures (fulian/ledger/totals.py) ------------------------------------------------


class MonthFigures(models.Model):
    """The columns of a maintained monthly roll-up: one unit, one month, how many records, then one column per
    key of ``queries.INDICATORS`` (``fulian.ledger.totals.COLUMNS``)."""

    org_unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    month = models.DateField("月份")  # first day of the month
    records = models.IntegerField("记录数", default=0)  # of any kind: "本级" shows when a unit has any
    training_sessions = models.IntegerField(default=0)
    training_people = models.IntegerField(default=0)
    training_person_times = models.IntegerField(default=0)
    training_recommended = models.IntegerField(default=0)
    training_employed = models.IntegerField(default=0)
    activity_count = models.IntegerField(default=0)
    activity_people = models.IntegerField(default=0)
    activity_beneficiaries = models.IntegerField(default=0)
    fair_count = models.IntegerField(default=0)
    fair_employers = models.IntegerField(default=0)
    fair_jobs = models.IntegerField(default=0)
    fair_seekers = models.IntegerField(default=0)
    fair_agreements = models.IntegerField(default=0)
    workpoint_count = models.IntegerField(default=0)
    workpoint_workers = models.IntegerField(default=0)
    service_count = models.IntegerField(default=0)
    service_beneficiaries = models.IntegerField(default=0)
    service_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        abstract = True


class LedgerMonthTotal(MonthFigures):
    """The roll-up indicators of one unit's own records in one month, kept equal to the records by the actions
    in the same transaction as every record write (never a nightly job): the roll-up reads whole months here and
    only a period's partial edge months from the records. One column per key of ``queries.INDICATORS``; keyed
    by unit id, not path, so moving a unit changes nothing here. Rows that fall back to all zero stay."""

    class Meta:
        verbose_name = "台账月度合计"
        verbose_name_plural = "台账月度合计"
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "month"], name="ledger_month_total_unique"),
        ]
        # (org_unit, month) is the unique constraint's index: a subtree probes it per unit; the whole tree
        # reads a range of months through this one.
        indexes = [models.Index(fields=["month", "org_unit"], name="ledger_month_total_month")]

    def __str__(self) -> str:
        return f"{self.org_unit_id} {self.month:%Y-%m}"


class LedgerBranchMonth(MonthFigures):
    """The roll-up indicators of all the records *below* one unit (its strict descendants, not its own) in one
    month: the sum of ``LedgerMonthTotal`` over the unit's subtree without the unit. Kept for every unit below
    the root (depth ≥ 2; the root has no row, so no single row is written by every record of the tree) by the
    same additive upsert as ``LedgerMonthTotal``, in the same transaction as every record write
    (``fulian.ledger.totals``). With it a subtree's figures are own(unit) + Σ over its children of (own + below):
    a province's year is ~14 × 12 rows instead of ~300,000 unit-months.

    Keyed by the ancestor: moving a unit (``orgs.actions.move_unit``) moves its subtree's figures from the old
    ancestors' rows to the new ancestors' in the move's own transaction (the hook ``totals.moved``, registered
    through ``fulian.orgs.hooks``), so the rows are always valid and the readers always use them."""

    class Meta:
        verbose_name = "台账下级月度合计"
        verbose_name_plural = "台账下级月度合计"
        constraints = [
            models.UniqueConstraint(fields=["org_unit", "month"], name="ledger_branch_month_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit_id} {self.month:%Y-%m} (下级)"
