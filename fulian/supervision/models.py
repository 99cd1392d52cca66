"""Task supervision (任务督办): a task sent down the tree, one assignment per target unit, and the timeline of
every step. Submissions keep their own numbers (a snapshot), whatever happens to the ledger later."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from fulian.orgs.models import OrgUnit, ScopedQuerySet


class FieldType(models.TextChoices):
    NUMBER = "number", "数字"
    CHOICE = "choice", "选项"
    TEXT = "text", "文字"


class TaskQuerySet(ScopedQuerySet):
    scope_path_field = "issuer_unit__path"


class Task(models.Model):
    issuer_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="issued_tasks", verbose_name="下发单位"
    )
    title = models.CharField("任务名称", max_length=200)
    instructions = models.TextField("任务要求", blank=True)
    deadline = models.DateField("报送截止日期")
    target_label = models.CharField("报送对象", max_length=200, blank=True)
    require_text = models.BooleanField("需要填写情况说明", default=True)
    require_files = models.BooleanField("需要上传附件", default=False)
    # [{"key", "label", "type": number|choice|text, "required": bool, "choices": [...]}]
    fields = models.JSONField("报送表单", default=list, blank=True)
    # keys of fulian.ledger.queries.INDICATORS, pre-filled from the target's subtree for the period
    ledger_keys = models.JSONField("台账指标", default=list, blank=True)
    period_start = models.DateField("统计期起", null=True, blank=True)
    period_end = models.DateField("统计期止", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expected = models.PositiveIntegerField("应报单位数", default=0)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "督办任务"
        verbose_name_plural = "督办任务"
        constraints = [
            models.CheckConstraint(
                condition=Q(period_start__isnull=True, period_end__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="task_period_ordered",
            ),
        ]
        indexes = [models.Index(fields=["deadline"], name="task_deadline")]

    def __str__(self) -> str:
        return self.title

    def form_fields(self) -> list[dict]:
        """The submission form: ledger indicators first (pre-filled), then the task's own fields."""
        from fulian.ledger.queries import INDICATOR_LABELS

        ledger = [
            {
                "key": k,
                "label": INDICATOR_LABELS.get(k, k),
                "type": FieldType.NUMBER,
                "required": True,
                "ledger": True,
            }
            for k in self.ledger_keys
        ]
        return ledger + [dict(f, ledger=False) for f in self.fields]

    def number_keys(self) -> list[str]:
        return [f["key"] for f in self.form_fields() if f["type"] == FieldType.NUMBER]


class Status(models.TextChoices):
    PENDING = "pending", "待报送"
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已报送"
    ACCEPTED = "accepted", "已采纳"
    RETURNED = "returned", "已退回"


OPEN_STATUSES = (Status.PENDING, Status.DRAFT, Status.RETURNED)  # the target still owes a submission
REPORTED_STATUSES = (Status.SUBMITTED, Status.ACCEPTED)


class AssignmentQuerySet(ScopedQuerySet):
    scope_path_field = "org_unit__path"

    def open(self) -> AssignmentQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class Assignment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="assignments", verbose_name="报送单位"
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    text = models.TextField("情况说明", blank=True)
    values = models.JSONField("报送数据", default=dict, blank=True, encoder=DjangoJSONEncoder)
    # the ledger totals at the moment of submission, next to what the unit submitted
    ledger_values = models.JSONField("台账数据", default=dict, blank=True, encoder=DjangoJSONEncoder)
    corrections = models.JSONField("更正原因", default=dict, blank=True)
    first_submitted_at = models.DateTimeField("首次报送时间", null=True, blank=True)
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    is_late = models.BooleanField("逾期报送", default=False)
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    return_reason = models.TextField("退回原因", blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["org_unit__path"]
        verbose_name = "报送任务"
        verbose_name_plural = "报送任务"
        constraints = [
            models.UniqueConstraint(fields=["task", "org_unit"], name="assignment_unique_unit"),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="assignment_status_valid"),
            models.CheckConstraint(
                condition=Q(status__in=[Status.PENDING, Status.DRAFT]) | Q(first_submitted_at__isnull=False),
                name="assignment_reported_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["org_unit", "status"], name="assignment_unit_status"),
            models.Index(fields=["task", "status"], name="assignment_task_status"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}/{self.org_unit_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EventKind(models.TextChoices):
    DRAFT = "draft", "保存草稿"
    SUBMIT = "submit", "报送"
    RESUBMIT = "resubmit", "再次报送"
    ACCEPT = "accept", "采纳"
    RETURN = "return", "退回"


class AssignmentEvent(models.Model):
    """One step of the timeline: who, when, what, why (the audit log has the same, chained)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    reason = models.TextField(blank=True)
    late = models.BooleanField(default=False)
    version = models.PositiveIntegerField()
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EventKind.values), name="assignment_event_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.kind}"


class Attachment(models.Model):
    """A checked file (fulian.files): the issuer's document on a task (no assignment), or a file a target
    returns with its submission."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attachments")
    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["file"], name="supervision_attachment_file_once")]

    def __str__(self) -> str:
        return f"{self.task_id}/{self.assignment_id}/{self.file_id}"
