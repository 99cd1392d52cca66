"""Rectification (整改台账): problems found (查摆问题), the measures taken against each (整改措施) with an owner
unit, a person and a deadline, progress reports with evidence, and acceptance (验收) by the problem's unit or a
unit above it. Nothing here is deleted: every row is protected, every step of a measure is a MeasureEvent.

States of a measure: 整改中 → 已整改(待验收) → 已验收. 退回 is an *event*, not a state: a returned measure goes
back to 整改中 (with the reason kept on the measure and on its timeline) and the owner works on it again."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from fulian.orgs.models import OrgUnit, ScopedQuerySet


class Source(models.TextChoices):
    SURVEY = "survey", "问卷调查"
    SUGGESTION = "suggestion", "意见箱"
    FORUM = "forum", "座谈会"
    INSPECTION = "inspection", "上级督查"
    SELF = "self", "自查"
    COMPLAINT = "complaint", "投诉电话"
    OTHER = "other", "其他"


class Category(models.TextChoices):
    CONDUCT = "conduct", "思想作风"
    ORGANISATION = "organisation", "组织建设"
    SERVICE = "service", "服务群众"
    DELIVERY = "delivery", "工作落实"
    OTHER = "other", "其他"


class State(models.TextChoices):
    IN_PROGRESS = "in_progress", "整改中"
    DONE = "done", "已整改(待验收)"
    ACCEPTED = "accepted", "已验收"


class ProblemQuerySet(ScopedQuerySet):
    scope_path_field = "unit__path"


class Problem(models.Model):
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="rectify_problems", verbose_name="查摆单位"
    )
    source = models.CharField("问题来源", max_length=16, choices=Source.choices)
    title = models.CharField("问题", max_length=200)
    description = models.TextField("问题描述")
    category = models.CharField("问题类别", max_length=16, choices=Category.choices, blank=True)
    found_on = models.DateField("查摆日期")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = ProblemQuerySet.as_manager()

    class Meta:
        ordering = ["-found_on", "-id"]
        verbose_name = "查摆问题"
        verbose_name_plural = "查摆问题"
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=Source.values), name="rectify_problem_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(category__in=[*Category.values, ""]), name="rectify_problem_category_valid"
            ),
            models.CheckConstraint(condition=~Q(title=""), name="rectify_problem_title_nonempty"),
        ]
        indexes = [models.Index(fields=["unit", "found_on"], name="rectify_problem_unit_found")]

    def __str__(self) -> str:
        return self.title


class MeasureQuerySet(ScopedQuerySet):
    """Scoped by the problem's unit (the owner unit is always inside that unit's subtree)."""

    scope_path_field = "problem__unit__path"


class Measure(models.Model):
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="measures")
    text = models.TextField("整改措施")
    owner_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="rectify_measures", verbose_name="责任单位"
    )
    owner_person = models.CharField("责任人", max_length=50)
    deadline = models.DateField("整改时限")
    expected_result = models.TextField("预期效果", blank=True)
    disclose = models.BooleanField("整改结果需公开", default=False)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    result = models.TextField("整改完成情况", blank=True)  # written by the owner when marking it done
    done_at = models.DateTimeField("整改完成时间", null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField("验收时间", null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    return_reason = models.TextField("退回原因", blank=True)  # the last return, while it is being reworked
    returned_count = models.PositiveIntegerField("退回次数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = MeasureQuerySet.as_manager()

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = "整改措施"
        verbose_name_plural = "整改措施"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=State.values), name="rectify_measure_state_valid"),
            # done and accepted measures carry their completion; only an accepted one carries an acceptance
            # time (accepted_by may be empty: the system, e.g. demo data or an import of a paper ledger)
            models.CheckConstraint(
                condition=Q(state=State.IN_PROGRESS) | Q(done_at__isnull=False),
                name="rectify_measure_done_has_time",
            ),
            models.CheckConstraint(
                condition=Q(state=State.ACCEPTED, accepted_at__isnull=False)
                | Q(~Q(state=State.ACCEPTED), accepted_at__isnull=True),
                name="rectify_measure_accepted_iff_time",
            ),
            models.CheckConstraint(condition=~Q(owner_person=""), name="rectify_measure_owner_nonempty"),
            models.CheckConstraint(condition=~Q(text=""), name="rectify_measure_text_nonempty"),
        ]
        indexes = [
            models.Index(fields=["state", "deadline"], name="rectify_measure_state_dl"),
            models.Index(fields=["owner_unit", "state"], name="rectify_measure_owner_state"),
        ]

    def __str__(self) -> str:
        return self.text[:50]

    @property
    def was_returned(self) -> bool:
        return self.state == State.IN_PROGRESS and self.returned_count > 0

    @property
    def status_label(self) -> str:
        return "整改中(退回重改)" if self.was_returned else self.get_state_display()


class EventKind(models.TextChoices):
    CREATE = "create", "制定措施"
    EDIT = "edit", "修改措施"
    PROGRESS = "progress", "报告进展"
    DONE = "done", "报告整改完成"
    ACCEPT = "accept", "验收通过"
    RETURN = "return", "退回重改"


class MeasureEvent(models.Model):
    """One step of a measure's timeline: who, when, what, why (the audit log has the same, chained)."""

    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    text = models.TextField(blank=True)
    version = models.PositiveIntegerField()
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="rectify_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.measure_id} {self.kind}"


class Progress(models.Model):
    """A progress report (进展) of the owner, with evidence files."""

    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="progress")
    text = models.TextField("进展情况")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField("报告时间", auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "整改进展"
        verbose_name_plural = "整改进展"
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="rectify_progress_text_nonempty")]

    def __str__(self) -> str:
        return self.text[:50]


class Evidence(models.Model):
    """A checked file (fulian.files) attached to a progress report."""

    progress = models.ForeignKey(Progress, on_delete=models.PROTECT, related_name="evidence")
    file = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["file"], name="rectify_evidence_file_once")]

    def __str__(self) -> str:
        return f"{self.progress_id}/{self.file_id}"
