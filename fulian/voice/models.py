"""民意: the suggestion box (意见箱) and surveys (问卷).

A suggestion belongs to the unit it was addressed to (and moves when forwarded); a survey belongs to the unit
that runs it. Everything a member of the public sends is kept: a burst from one address is held for review
(``held``), spam is marked, never deleted."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from fulian.lib.sensitive import BlindIndexField, EncryptedTextField
from fulian.orgs.models import OrgUnit, ScopedQuerySet

MAX_TEXT = 5000
MAX_REPLY = 2000
MAX_NOTE = 500


class Category(models.TextChoices):
    OPINION = "opinion", "意见"
    SUGGESTION = "suggestion", "建议"
    COMPLAINT = "complaint", "投诉"
    HELP = "help", "求助"
    PRAISE = "praise", "表扬"
    OTHER = "other", "其他"


class State(models.TextChoices):
    NEW = "new", "待处理"
    REPLIED = "replied", "已回复"
    FORWARDED = "forwarded", "已转交"
    PROBLEM = "problem", "已转为整改问题"
    CLOSED = "closed", "已办结"


class SuggestionQuerySet(ScopedQuerySet):
    scope_path_field = "unit__path"


class Suggestion(models.Model):
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="suggestions", verbose_name="受理单位"
    )
    category = models.CharField("类别", max_length=16, choices=Category.choices)
    text = models.TextField("内容")
    contact_name = EncryptedTextField("联系人", purpose="voice.suggestion.name", kind="name", blank=True)
    contact_phone = EncryptedTextField("联系电话", purpose="voice.suggestion.phone", kind="phone", blank=True)
    phone_index = BlindIndexField(source="contact_phone")
    # hmac-sha256 (SECRET_KEY) of the normalised receipt code: a lookup is one unique-index hit
    receipt_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.NEW)
    held = models.BooleanField("待审核", default=False)
    held_reason = models.CharField("待审核原因", max_length=200, blank=True)
    spam = models.BooleanField("垃圾信息", default=False)
    reply = models.TextField("公开答复", blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    replied_at = models.DateTimeField("答复时间", null=True, blank=True)
    problem = models.ForeignKey(
        "rectify.Problem", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField("提交时间", default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "意见建议"
        verbose_name_plural = "意见建议"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=State.values), name="suggestion_state_valid"),
            models.CheckConstraint(
                condition=Q(category__in=Category.values), name="suggestion_category_valid"
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), MAX_TEXT), name="suggestion_text_max_length"
            ),
            models.CheckConstraint(
                condition=~Q(state=State.PROBLEM) | Q(problem__isnull=False), name="suggestion_problem_linked"
            ),
            models.CheckConstraint(
                condition=Q(reply="") | Q(replied_at__isnull=False), name="suggestion_reply_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "held", "state", "created_at"], name="suggestion_unit_inbox"),
            models.Index(fields=["created_at"], name="suggestion_created"),
        ]

    def __str__(self) -> str:
        return f"意见建议 {self.pk}"

    @property
    def public_state(self) -> str:
        if self.held:
            return "提交已收到,将在审核后处理"
        return self.get_state_display()


class Forward(models.Model):
    """One step of the forwarding chain: the suggestion moved from ``from_unit`` to ``to_unit``."""

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="forwards")
    from_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    note = models.TextField("转交说明", blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(from_unit=models.F("to_unit")), name="forward_moves"),
        ]

    def __str__(self) -> str:
        return f"{self.suggestion_id}: {self.from_unit_id} → {self.to_unit_id}"


# --- surveys ---------------------------------------------------------------------------------------------------


class Audience(models.TextChoices):
    PUBLIC = "public", "公众(无需登录)"
    CADRES = "cadres", "本辖区妇联干部(需登录)"


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"


class SurveyQuerySet(ScopedQuerySet):
    scope_path_field = "unit__path"

    def open_at(self, when) -> SurveyQuerySet:
        return self.filter(status=SurveyStatus.PUBLISHED, opens_at__lte=when, closes_at__gt=when)


class Survey(models.Model):
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="surveys", verbose_name="发起单位"
    )
    title = models.CharField("问卷标题", max_length=200)
    intro = models.TextField("说明", blank=True)
    audience = models.CharField("调查对象", max_length=16, choices=Audience.choices, default=Audience.PUBLIC)
    opens_at = models.DateTimeField("开始时间")
    closes_at = models.DateTimeField("截止时间")
    status = models.CharField("状态", max_length=16, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    token = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "问卷"
        verbose_name_plural = "问卷"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="survey_dates_ordered"
            ),
            models.CheckConstraint(condition=Q(audience__in=Audience.values), name="survey_audience_valid"),
            models.CheckConstraint(condition=Q(status__in=SurveyStatus.values), name="survey_status_valid"),
            models.CheckConstraint(
                condition=Q(status=SurveyStatus.DRAFT) | Q(published_at__isnull=False),
                name="survey_published_has_time",
            ),
        ]
        indexes = [models.Index(fields=["unit", "status", "closes_at"], name="survey_unit_open")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_draft(self) -> bool:
        return self.status == SurveyStatus.DRAFT

    def phase(self, now=None) -> str:
        """draft / pending (not yet open) / open / closed."""
        now = now or timezone.now()
        if self.is_draft:
            return "draft"
        if now < self.opens_at:
            return "pending"
        if now >= self.closes_at:
            return "closed"
        return "open"


class QuestionKind(models.TextChoices):
    SINGLE = "single", "单选"
    MULTI = "multi", "多选"
    RATING = "rating", "评分(1–5分)"
    NUMBER = "number", "数字"
    TEXT = "text", "文字"


CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTI)
END = "end"  # a skip target: the end of the survey


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField()
    kind = models.CharField("题型", max_length=16, choices=QuestionKind.choices)
    text = models.CharField("题目", max_length=500)
    required = models.BooleanField("必答", default=True)
    options = models.JSONField("选项", default=list, blank=True)  # ["是", "否", …] for single/multi
    min_value = models.DecimalField("最小值", max_digits=12, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField("最大值", max_digits=12, decimal_places=2, null=True, blank=True)
    # single choice only: {"<option index>": <question id> | "end"}; targets lie after this question
    skip = models.JSONField("跳题规则", default=dict, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "position"], name="question_position_unique"),
            models.CheckConstraint(condition=Q(kind__in=QuestionKind.values), name="question_kind_valid"),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(max_value__gte=models.F("min_value")),
                name="question_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def numbered_options(self) -> list[tuple[int, str]]:
        if self.kind == QuestionKind.RATING:
            return [(i, f"{i}分") for i in range(1, 6)]
        return list(enumerate(self.options))

    def skip_target(self, option: int):
        return self.skip.get(str(option))


class Response(models.Model):
    """One person's (cadre surveys: user) or one device's (public surveys: cookie) answers."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    device_hash = models.CharField(max_length=64, null=True, blank=True)
    # the respondent's unit (cadre surveys), for the per-child-unit breakdown
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "user"], condition=Q(user__isnull=False), name="response_once_per_user"
            ),
            models.UniqueConstraint(
                fields=["survey", "device_hash"],
                condition=Q(device_hash__isnull=False),
                name="response_once_per_device",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(device_hash__isnull=False), name="response_has_respondent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}/{self.pk}"


class Answer(models.Model):
    """One answer: ``option`` for single choice (index), rating (1–5) and multiple choice (one row per ticked
    option); ``number``; ``text``."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    option = models.PositiveSmallIntegerField(null=True, blank=True)
    number = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["response", "question", "option"], name="answer_option_once"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), MAX_TEXT), name="answer_text_max_length"
            ),
        ]
        indexes = [models.Index(fields=["question", "option"], name="answer_question_option")]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id}"
