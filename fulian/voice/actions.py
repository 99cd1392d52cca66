"""Every write of 民意. Each takes the acting user first (None = a member of the public or the system).

The public's writes never lose what was sent: a suggestion over a rate limit is saved and held for review."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from fulian.accounts.models import User
from fulian.accounts.roles import ROLE_CAPS, Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.audit.actions import Where, record
from fulian.lib.idcard import InvalidNumber, validate_phone
from fulian.notify.actions import notify
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import is_within
from fulian.throttle.limits import RateLimited, hit, key_hash

from .models import (
    CHOICE_KINDS,
    END,
    MAX_NOTE,
    MAX_REPLY,
    MAX_TEXT,
    Answer,
    Audience,
    Category,
    Forward,
    Question,
    QuestionKind,
    Response,
    State,
    Suggestion,
    Survey,
    SurveyStatus,
)

__all__ = [
    "RateLimited",
    "SurveyClosed",
    "AlreadyAnswered",
    "submit_suggestion",
    "receipt_lookup",
    "reply_suggestion",
    "forward_suggestion",
    "release_suggestion",
    "mark_spam",
    "close_suggestion",
    "suggestion_to_problem",
    "create_survey",
    "update_survey",
    "add_question",
    "update_question",
    "move_question",
    "delete_question",
    "publish_survey",
    "close_survey",
    "submit_response",
]

EDITOR_ROLES = [role for role, caps in ROLE_CAPS.items() if Cap.EDIT_WORK in caps]

# --- limits (public) ---------------------------------------------------------------------------------------------

SUGGEST_PER_IP = 5  # per 10 minutes; beyond: saved and held
SUGGEST_IP_WINDOW = dt.timedelta(minutes=10)
SUGGEST_PER_PHONE = 3  # per day; beyond: saved and held
SUGGEST_PHONE_WINDOW = dt.timedelta(days=1)
RECEIPT_PER_IP = 20  # lookups per 10 minutes; beyond: refused (429)
RECEIPT_WINDOW = dt.timedelta(minutes=10)
SURVEY_PER_IP = 60  # public survey submissions per 10 minutes (a village meeting on one Wi-Fi); beyond: 429
SURVEY_WINDOW = dt.timedelta(minutes=10)

MAX_NAME = 50

# --- receipt codes ----------------------------------------------------------------------------------------------

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: unambiguous when read aloud or typed
RECEIPT_LENGTH = 16  # 31**16 ≈ 7·10^23 codes (79 bits)


def new_receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def format_receipt(code: str) -> str:
    """ABCD-EFGH-JKMN-PQRS: four groups of four, for reading and copying."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_receipt(text: str | None) -> str:
    s = unicodedata.normalize("NFKC", text or "").upper()
    return re.sub(r"[^0-9A-Z]", "", s)[:32]


def receipt_hash(code: str) -> str:
    return salted_hmac("fulian.voice.receipt", normalize_receipt(code), algorithm="sha256").hexdigest()


# --- helpers ----------------------------------------------------------------------------------------------------


def _clean(value, limit: int, key: str, label: str, errors: dict, *, required: str | None = None) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).replace("\r\n", "\n").strip()
    if required and not text:
        errors.setdefault(key, []).append(required)
    elif len(text) > limit:
        errors.setdefault(key, []).append(f"{label}不能超过{limit}字(现在{len(text)}字)。")
    return text


def _require_edit(actor, unit: OrgUnit, message: str = "您无权处理该单位的意见建议。") -> None:
    if actor is not None and not scope_for(actor, Cap.EDIT_WORK).contains(unit):
        raise PermissionDenied(message)


def unit_editors(unit: OrgUnit) -> list[User]:
    """Active users with EDIT_WORK on exactly ``unit`` (who receive its suggestions): one query."""
    return list(
        User.objects.filter(
            is_active=True, memberships__org_unit=unit, memberships__role__in=EDITOR_ROLES
        ).distinct()
    )


# --- suggestions: the public side --------------------------------------------------------------------------------


@transaction.atomic
def submit_suggestion(
    actor,
    *,
    unit: OrgUnit,
    category: str,
    text: str,
    contact_name: str = "",
    contact_phone: str = "",
    ip: str | None = None,
) -> tuple[Suggestion, str]:
    """A suggestion from the public site (``actor`` None). Returns (suggestion, receipt code): the code is shown
    once; only its keyed hash is stored. Over the per-IP or per-phone limit the suggestion is still saved, held
    for review (``held``) — never refused, never dropped. ValidationError (Chinese) on bad input, nothing saved."""
    errors: dict[str, list[str]] = {}
    if category not in Category.values:
        errors["category"] = ["请选择类别。"]
    text = _clean(text, MAX_TEXT, "text", "内容", errors, required="请填写您的意见或建议。")
    contact_name = _clean(contact_name, MAX_NAME, "contact_name", "联系人", errors)
    phone = ""
    raw_phone = str(contact_phone or "").strip()
    if raw_phone:
        try:
            phone = validate_phone(raw_phone)
        except InvalidNumber as exc:
            errors["contact_phone"] = [exc.message]
    if unit.closed_on is not None and unit.closed_on <= timezone.localdate():
        errors["unit"] = ["该单位已撤销,请向上级妇联反映。"]
    if errors:
        raise ValidationError(errors)

    reasons = []
    if hit("voice.suggest.ip", ip, limit=SUGGEST_PER_IP, window=SUGGEST_IP_WINDOW):
        reasons.append(f"同一网络地址10分钟内提交超过{SUGGEST_PER_IP}条")
    if phone and hit("voice.suggest.phone", phone, limit=SUGGEST_PER_PHONE, window=SUGGEST_PHONE_WINDOW):
        reasons.append(f"同一手机号24小时内提交超过{SUGGEST_PER_PHONE}条")
    code = new_receipt_code()
    s = Suggestion.objects.create(
        unit=unit,
        category=category,
        text=text,
        contact_name=contact_name,
        contact_phone=phone,
        receipt_hash=receipt_hash(code),
        held=bool(reasons),
        held_reason=";".join(reasons),
        ip_hash=key_hash("voice.ip", ip) if ip else "",
    )
    if not s.held:
        notify(
            unit_editors(unit),
            kind="voice.new",
            title=f"收到一条群众{s.get_category_display()}",
            body=text[:100],
            url=reverse("voice:suggestion", args=[s.pk]),
        )
    record(
        actor,
        "voice.suggestion.submit",
        obj=s,
        where=Where.of(unit),
        detail={
            "category": category,
            "held": s.held,
            "chars": len(text),
            "contact": bool(contact_name or phone),
        },
    )
    return s, code


def receipt_lookup(code: str, *, ip: str | None) -> Suggestion | None:
    """The suggestion of a receipt code (None when no such code). Every lookup counts against the IP's limit:
    RateLimited beyond ``RECEIPT_PER_IP`` in 10 minutes, whatever the codes tried."""
    if hit("voice.receipt.ip", ip, limit=RECEIPT_PER_IP, window=RECEIPT_WINDOW):
        raise RateLimited("查询过于频繁,请10分钟后再试。", code="rate_limited")
    normalized = normalize_receipt(code)
    if len(normalized) != RECEIPT_LENGTH:
        return None
    return Suggestion.objects.select_related("unit").filter(receipt_hash=receipt_hash(normalized)).first()


# --- suggestions: the back office -------------------------------------------------------------------------------


def _locked(s: Suggestion) -> Suggestion:
    fresh = Suggestion.objects.select_for_update().select_related("unit").get(pk=s.pk)
    return fresh


def _require_active(s: Suggestion) -> None:
    if s.spam:
        raise ValidationError("该条已标记为垃圾信息,不能再处理。")
    if s.held:
        raise ValidationError("该条尚待审核,请先审核通过再处理。")


@transaction.atomic
def reply_suggestion(actor, s: Suggestion, *, reply: str) -> Suggestion:
    """The public reply, shown on the receipt page (write it for anyone holding the code: no names)."""
    _require_edit(actor, s.unit)
    s = _locked(s)
    _require_edit(actor, s.unit)
    _require_active(s)
    errors: dict[str, list[str]] = {}
    reply = _clean(reply, MAX_REPLY, "reply", "答复", errors, required="请填写答复内容。")
    if errors:
        raise ValidationError(errors)
    s.reply = reply
    s.replied_by = actor
    s.replied_at = timezone.now()
    if s.state in (State.NEW, State.FORWARDED):
        s.state = State.REPLIED
    s.save(update_fields=["reply", "replied_by", "replied_at", "state", "updated_at"])
    record(actor, "voice.suggestion.reply", obj=s, where=Where.of(s.unit), detail={"chars": len(reply)})
    return s


def forward_targets(s: Suggestion) -> list[OrgUnit]:
    """The parent and the open children of the suggestion's unit."""
    today = timezone.localdate()
    units = list(OrgUnit.objects.filter(parent=s.unit_id).active_on(today).order_by("sort_order", "path"))
    if s.unit.parent_id:
        units.insert(0, OrgUnit.objects.get(pk=s.unit.parent_id))
    return units


@transaction.atomic
def forward_suggestion(actor, s: Suggestion, *, to_unit: OrgUnit, note: str = "") -> Suggestion:
    """Move the suggestion to the parent or a child unit (with a note); the receiving unit is notified."""
    _require_edit(actor, s.unit)
    s = _locked(s)
    _require_edit(actor, s.unit)
    _require_active(s)
    errors: dict[str, list[str]] = {}
    note = _clean(note, MAX_NOTE, "note", "转交说明", errors)
    if to_unit.pk != s.unit.parent_id and to_unit.parent_id != s.unit_id:
        errors["to_unit"] = ["只能转交给上级单位或直属下级单位。"]
    elif to_unit.closed_on is not None and to_unit.closed_on <= timezone.localdate():
        errors["to_unit"] = ["该单位已撤销,不能转交。"]
    if s.state in (State.PROBLEM, State.CLOSED):
        errors.setdefault("to_unit", []).append(f"当前状态为“{s.get_state_display()}”,不能再转交。")
    if errors:
        raise ValidationError(errors)
    from_unit = s.unit
    Forward.objects.create(suggestion=s, from_unit=from_unit, to_unit=to_unit, note=note, actor=actor)
    s.unit = to_unit
    s.state = State.FORWARDED
    s.save(update_fields=["unit", "state", "updated_at"])
    notify(
        unit_editors(to_unit),
        kind="voice.forwarded",
        title=f"{from_unit.name}转来一条群众意见建议",
        body=note,
        url=reverse("voice:suggestion", args=[s.pk]),
    )
    record(
        actor,
        "voice.suggestion.forward",
        obj=s,
        where=Where.of(to_unit),
        detail={"from": from_unit.pk, "to": to_unit.pk, "note": note[:200]},
    )
    return s


@transaction.atomic
def release_suggestion(actor, s: Suggestion) -> Suggestion:
    """A held suggestion passes review: it joins the inbox."""
    _require_edit(actor, s.unit)
    s = _locked(s)
    if not s.held:
        raise ValidationError("该条不在待审核状态。")
    s.held = False
    s.spam = False
    s.save(update_fields=["held", "spam", "updated_at"])
    record(actor, "voice.suggestion.release", obj=s, where=Where.of(s.unit), detail={"reason": s.held_reason})
    return s


@transaction.atomic
def mark_spam(actor, s: Suggestion) -> Suggestion:
    """Spam is kept (held, flagged), never deleted; it can still be released later."""
    _require_edit(actor, s.unit)
    s = _locked(s)
    if s.state in (State.PROBLEM,):
        raise ValidationError("已转为整改问题的意见不能标记为垃圾信息。")
    s.spam = True
    s.held = True
    s.held_reason = s.held_reason or "标记为垃圾信息"
    s.save(update_fields=["spam", "held", "held_reason", "updated_at"])
    record(actor, "voice.suggestion.spam", obj=s, where=Where.of(s.unit))
    return s


@transaction.atomic
def close_suggestion(actor, s: Suggestion) -> Suggestion:
    _require_edit(actor, s.unit)
    s = _locked(s)
    _require_active(s)
    if s.state == State.CLOSED:
        raise ValidationError("该条已办结。")
    s.state = State.CLOSED
    s.save(update_fields=["state", "updated_at"])
    record(actor, "voice.suggestion.close", obj=s, where=Where.of(s.unit))
    return s


@transaction.atomic
def suggestion_to_problem(
    actor, s: Suggestion, *, title: str, description: str, category: str = ""
) -> Suggestion:
    """Turn the suggestion into a problem of the rectification ledger (整改台账) of its unit."""
    from fulian.rectify.actions import create_problem

    _require_edit(actor, s.unit)
    s = _locked(s)
    _require_active(s)
    if s.problem_id is not None:
        raise ValidationError("该条已转为整改问题。")
    if s.state == State.CLOSED:
        raise ValidationError("该条已办结。")
    problem = create_problem(
        actor,
        unit=s.unit,
        source="suggestion",
        title=title,
        description=description,
        category=category,
        found_on=timezone.localdate(s.created_at),
    )
    s.problem = problem
    s.state = State.PROBLEM
    s.save(update_fields=["problem", "state", "updated_at"])
    record(actor, "voice.suggestion.problem", obj=s, where=Where.of(s.unit), detail={"problem": problem.pk})
    return s


# --- surveys: the builder ---------------------------------------------------------------------------------------


def _survey_fields(errors: dict, *, title, intro, audience, opens_at, closes_at) -> dict:
    title = _clean(title, 200, "title", "问卷标题", errors, required="请填写问卷标题。")
    intro = _clean(intro, MAX_TEXT, "intro", "说明", errors)
    if audience not in Audience.values:
        errors["audience"] = ["请选择调查对象。"]
    if opens_at is None:
        errors["opens_at"] = ["请填写开始时间。"]
    if closes_at is None:
        errors["closes_at"] = ["请填写截止时间。"]
    elif opens_at is not None and closes_at <= opens_at:
        errors["closes_at"] = ["截止时间应晚于开始时间。"]
    return dict(title=title, intro=intro, audience=audience, opens_at=opens_at, closes_at=closes_at)


def _require_survey_edit(actor, survey: Survey) -> None:
    _require_edit(actor, survey.unit, "您无权编辑该单位的问卷。")


def _require_draft(survey: Survey) -> None:
    if not survey.is_draft:
        raise ValidationError("问卷已发布,题目不能再修改。")


@transaction.atomic
def create_survey(
    actor, *, unit: OrgUnit, title: str, intro: str = "", audience: str, opens_at, closes_at
) -> Survey:
    _require_edit(actor, unit, "您无权以该单位名义发起问卷。")
    errors: dict[str, list[str]] = {}
    fields = _survey_fields(
        errors, title=title, intro=intro, audience=audience, opens_at=opens_at, closes_at=closes_at
    )
    if errors:
        raise ValidationError(errors)
    survey = Survey.objects.create(unit=unit, token=secrets.token_urlsafe(18), created_by=actor, **fields)
    record(actor, "voice.survey.create", obj=survey, where=Where.of(unit), detail={"title": survey.title})
    return survey


@transaction.atomic
def update_survey(actor, survey: Survey, *, title, intro, audience, opens_at, closes_at) -> Survey:
    """Title, intro and dates may change after publishing (e.g. extend the deadline); the audience may not."""
    _require_survey_edit(actor, survey)
    errors: dict[str, list[str]] = {}
    fields = _survey_fields(
        errors, title=title, intro=intro, audience=audience, opens_at=opens_at, closes_at=closes_at
    )
    if not survey.is_draft and audience != survey.audience:
        errors["audience"] = ["问卷已发布,调查对象不能再修改。"]
    if errors:
        raise ValidationError(errors)
    for name, value in fields.items():
        setattr(survey, name, value)
    survey.save(update_fields=list(fields))
    record(
        actor, "voice.survey.update", obj=survey, where=Where.of(survey.unit), detail={"title": survey.title}
    )
    return survey


def _number(value, key: str, label: str, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[key] = [f"{label}应为数字。"]
        return None
    if not number.is_finite() or abs(number) >= Decimal("1e10"):
        errors[key] = [f"{label}超出范围。"]
        return None
    return number.quantize(Decimal("0.01"))


def _question_fields(errors: dict, *, kind, text, required, options, min_value, max_value) -> dict:
    if kind not in QuestionKind.values:
        errors["kind"] = ["请选择题型。"]
    text = _clean(text, 500, "text", "题目", errors, required="请填写题目。")
    cleaned_options: list[str] = []
    if kind in CHOICE_KINDS:
        seen = set()
        for raw in options or []:
            option = unicodedata.normalize("NFC", str(raw)).strip()
            if option and option not in seen:
                seen.add(option)
                cleaned_options.append(option)
        if len(cleaned_options) < 2:
            errors["options"] = ["选择题至少需要两个选项(每行一个)。"]
        elif len(cleaned_options) > 30:
            errors["options"] = ["选项不能超过30个。"]
        elif any(len(o) > 200 for o in cleaned_options):
            errors["options"] = ["每个选项不能超过200字。"]
    low = high = None
    if kind == QuestionKind.NUMBER:
        low = _number(min_value, "min_value", "最小值", errors)
        high = _number(max_value, "max_value", "最大值", errors)
        if low is not None and high is not None and high < low:
            errors["max_value"] = ["最大值不能小于最小值。"]
    return dict(
        kind=kind, text=text, required=bool(required), options=cleaned_options, min_value=low, max_value=high
    )


def _clean_skip(question: Question, skip: dict | None, later: list[Question], errors: dict) -> dict:
    """{"option index": question id | "end"}; only single choice, only to a later question."""
    if not skip:
        return {}
    if question.kind != QuestionKind.SINGLE:
        errors["skip"] = ["只有单选题可以设置跳题。"]
        return {}
    later_ids = {q.pk for q in later}
    clean: dict[str, int | str] = {}
    for key, target in skip.items():
        try:
            option = int(key)
        except (TypeError, ValueError):
            errors["skip"] = ["跳题规则有误。"]
            continue
        if not 0 <= option < len(question.options) or target in (None, ""):
            continue
        if target == END:
            clean[str(option)] = END
            continue
        try:
            target_id = int(target)
        except (TypeError, ValueError):
            errors["skip"] = ["跳题规则有误。"]
            continue
        if target_id not in later_ids:
            errors["skip"] = ["只能跳到本题之后的题目。"]
            continue
        if later and target_id == later[0].pk:
            continue  # the next question anyway: no rule needed
        clean[str(option)] = target_id
    return clean


@transaction.atomic
def add_question(
    actor,
    survey: Survey,
    *,
    kind: str,
    text: str,
    required: bool = True,
    options: list[str] | None = None,
    min_value=None,
    max_value=None,
) -> Question:
    _require_survey_edit(actor, survey)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _require_draft(survey)
    errors: dict[str, list[str]] = {}
    fields = _question_fields(
        errors,
        kind=kind,
        text=text,
        required=required,
        options=options,
        min_value=min_value,
        max_value=max_value,
    )
    if survey.questions.count() >= 100:
        errors.setdefault("text", []).append("一份问卷最多100道题。")
    if errors:
        raise ValidationError(errors)
    last = survey.questions.aggregate(m=Max("position"))["m"] or 0
    q = Question.objects.create(survey=survey, position=last + 1, **fields)
    record(actor, "voice.question.add", obj=q, where=Where.of(survey.unit), detail={"survey": survey.pk})
    return q


@transaction.atomic
def update_question(
    actor,
    q: Question,
    *,
    kind: str,
    text: str,
    required: bool,
    options: list[str] | None = None,
    min_value=None,
    max_value=None,
    skip: dict | None = None,
) -> Question:
    survey = q.survey
    _require_survey_edit(actor, survey)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _require_draft(survey)
    errors: dict[str, list[str]] = {}
    fields = _question_fields(
        errors,
        kind=kind,
        text=text,
        required=required,
        options=options,
        min_value=min_value,
        max_value=max_value,
    )
    for name, value in fields.items():
        setattr(q, name, value)
    later = list(survey.questions.filter(position__gt=q.position))
    q.skip = _clean_skip(q, skip, later, errors) if not errors else {}
    if errors:
        raise ValidationError(errors)
    q.save(update_fields=[*fields, "skip"])
    record(actor, "voice.question.update", obj=q, where=Where.of(survey.unit), detail={"survey": survey.pk})
    return q


def _drop_bad_rules(survey: Survey) -> None:
    """After a reorder or a delete, a skip rule must still point forward to an existing question."""
    questions = list(survey.questions.all())
    for i, q in enumerate(questions):
        if not q.skip:
            continue
        later = {x.pk for x in questions[i + 1 :]}
        kept = {k: v for k, v in q.skip.items() if v == END or v in later}
        if kept != q.skip:
            q.skip = kept
            q.save(update_fields=["skip"])


@transaction.atomic
def move_question(actor, q: Question, *, up: bool) -> Question:
    survey = q.survey
    _require_survey_edit(actor, survey)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _require_draft(survey)
    siblings = survey.questions.filter(position__lt=q.position).order_by("-position")
    if not up:
        siblings = survey.questions.filter(position__gt=q.position).order_by("position")
    other = siblings.first()
    if other is None:
        return q
    mine, theirs = q.position, other.position
    Question.objects.filter(pk=q.pk).update(position=0)  # 0 is never used: a free slot for the swap
    Question.objects.filter(pk=other.pk).update(position=mine)
    Question.objects.filter(pk=q.pk).update(position=theirs)
    q.position = theirs
    _drop_bad_rules(survey)
    record(actor, "voice.question.move", obj=q, where=Where.of(survey.unit), detail={"up": up})
    return q


@transaction.atomic
def delete_question(actor, q: Question) -> None:
    survey = q.survey
    _require_survey_edit(actor, survey)
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    _require_draft(survey)
    pk = q.pk
    q.delete()
    _drop_bad_rules(survey)
    record(
        actor,
        "voice.question.delete",
        object_type="voice.question",
        object_id=pk,
        where=Where.of(survey.unit),
        detail={"survey": survey.pk},
    )


@transaction.atomic
def publish_survey(actor, survey: Survey) -> Survey:
    """Freeze the questions; the link starts to work at ``opens_at``."""
    _require_survey_edit(actor, survey)
    survey = Survey.objects.select_for_update().select_related("unit").get(pk=survey.pk)
    _require_draft(survey)
    if not survey.questions.exists():
        raise ValidationError("请至少添加一道题目再发布。")
    if survey.closes_at <= timezone.now():
        raise ValidationError({"closes_at": ["截止时间已过,请先修改截止时间。"]})
    survey.status = SurveyStatus.PUBLISHED
    survey.published_at = timezone.now()
    survey.save(update_fields=["status", "published_at"])
    record(actor, "voice.survey.publish", obj=survey, where=Where.of(survey.unit))
    return survey


@transaction.atomic
def close_survey(actor, survey: Survey) -> Survey:
    """Close a published survey now (no more answers)."""
    _require_survey_edit(actor, survey)
    survey = Survey.objects.select_for_update().select_related("unit").get(pk=survey.pk)
    now = timezone.now()
    if survey.is_draft or survey.closes_at <= now:
        raise ValidationError("只能结束正在进行或尚未开始的问卷。")
    survey.closes_at = max(now, survey.opens_at + dt.timedelta(seconds=1))
    survey.save(update_fields=["closes_at"])
    record(actor, "voice.survey.close", obj=survey, where=Where.of(survey.unit))
    return survey


# --- surveys: answering -----------------------------------------------------------------------------------------


class SurveyClosed(ValidationError):
    pass


class AlreadyAnswered(ValidationError):
    pass


ALREADY = "您已提交过本问卷,感谢参与。"


def phase_message(survey: Survey, now=None) -> str | None:
    """Why the survey cannot be answered now (Chinese), or None."""
    phase = survey.phase(now)
    if phase in ("draft",):
        return "该问卷尚未发布。"
    if phase == "pending":
        return f"该问卷尚未开始,将于{timezone.localtime(survey.opens_at):%Y年%m月%d日 %H:%M}开放。"
    if phase == "closed":
        return f"该问卷已于{timezone.localtime(survey.closes_at):%Y年%m月%d日 %H:%M}截止,感谢关注。"
    return None


def respondent_unit(user, survey: Survey) -> OrgUnit | None:
    """A cadre survey's respondent: the highest unit of the user's memberships inside the survey's subtree."""
    units = [m.org_unit for m in memberships_of(user) if is_within(m.org_unit.path, survey.unit.path)]
    return min(units, key=lambda u: (u.depth, u.path)) if units else None


def evaluate(
    questions: list[Question], raw: dict
) -> tuple[dict[int, object], set[int], dict[str, list[str]]]:
    """Apply skip logic and check the answers. ``raw``: {question id: str | list[str]} as posted.

    Returns (answers {question id: int | list[int] | Decimal | str}, skipped question ids, errors keyed
    ``q<id>``). Answers to skipped questions are discarded; required only when not skipped."""
    answers: dict[int, object] = {}
    skipped: set[int] = set()
    errors: dict[str, list[str]] = {}
    jump_to = None
    ended = False
    for q in questions:
        if ended or (jump_to is not None and q.pk != jump_to):
            skipped.add(q.pk)
            continue
        jump_to = None
        key = f"q{q.pk}"
        value = raw.get(q.pk)
        values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        values = [str(v).strip() for v in values if str(v).strip()]
        if not values:
            if q.required:
                errors[key] = ["此题为必答题。"]
            continue
        if q.kind in (QuestionKind.SINGLE, QuestionKind.RATING):
            valid = {str(i) for i, _ in q.numbered_options}
            if len(values) != 1 or values[0] not in valid:
                errors[key] = ["请选择一个有效的选项。"]
                continue
            option = int(values[0])
            answers[q.pk] = option
            target = q.skip_target(option) if q.kind == QuestionKind.SINGLE else None
            if target == END:
                ended = True
            elif target is not None:
                jump_to = target
        elif q.kind == QuestionKind.MULTI:
            valid = {str(i) for i, _ in q.numbered_options}
            if any(v not in valid for v in values):
                errors[key] = ["请选择有效的选项。"]
                continue
            answers[q.pk] = sorted({int(v) for v in values})
        elif q.kind == QuestionKind.NUMBER:
            try:
                number = Decimal(unicodedata.normalize("NFKC", values[0]))
            except InvalidOperation:
                errors[key] = ["请填写数字。"]
                continue
            if not number.is_finite() or abs(number) >= Decimal("1e10"):
                errors[key] = ["请填写数字。"]
                continue
            if q.min_value is not None and number < q.min_value:
                errors[key] = [f"不能小于{q.min_value.normalize():f}。"]
                continue
            if q.max_value is not None and number > q.max_value:
                errors[key] = [f"不能大于{q.max_value.normalize():f}。"]
                continue
            answers[q.pk] = number.quantize(Decimal("0.01"))
        else:
            text = unicodedata.normalize("NFC", values[0]).replace("\r\n", "\n")
            if len(text) > MAX_TEXT:
                errors[key] = [f"回答不能超过{MAX_TEXT}字(现在{len(text)}字)。"]
                continue
            answers[q.pk] = text
    return answers, skipped, errors


def submit_response(
    actor,
    survey: Survey,
    raw: dict,
    *,
    device: str | None = None,
    ip: str | None = None,
) -> Response:
    """Store one response. Public surveys: one per device (``device``: the long random cookie), per-IP rate
    limit; cadre surveys: one per signed-in user with a membership in the survey unit's subtree.
    Raises SurveyClosed, AlreadyAnswered, RateLimited, PermissionDenied, ValidationError (per question)."""
    message = phase_message(survey)
    if message:
        raise SurveyClosed(message, code="closed")
    unit = None
    device_hash = None
    if survey.audience == Audience.CADRES:
        unit = respondent_unit(actor, survey)
        if unit is None:
            raise PermissionDenied("本问卷仅面向本辖区妇联干部。")
        if Response.objects.filter(survey=survey, user=actor).exists():
            raise AlreadyAnswered(ALREADY, code="already")
    else:
        if not device or len(device) < 32:
            raise ValidationError("请允许浏览器保存 Cookie 后再提交。", code="no_device")
        device_hash = key_hash("voice.survey.device", device)
        if Response.objects.filter(survey=survey, device_hash=device_hash).exists():
            raise AlreadyAnswered(ALREADY, code="already")
    questions = list(survey.questions.all())
    answers, _skipped, errors = evaluate(questions, raw)
    if errors:
        raise ValidationError(errors)
    if survey.audience == Audience.PUBLIC and hit(
        "voice.survey.ip", ip, limit=SURVEY_PER_IP, window=SURVEY_WINDOW
    ):
        raise RateLimited("提交过于频繁,请稍后再试。", code="rate_limited")
    try:
        return _store_response(actor, survey, answers, unit=unit, device_hash=device_hash, ip=ip)
    except IntegrityError:  # the same person/device in a race: the first one counts
        raise AlreadyAnswered(ALREADY, code="already") from None


@transaction.atomic
def _store_response(actor, survey, answers, *, unit, device_hash, ip) -> Response:
    response = Response.objects.create(
        survey=survey,
        user=actor if survey.audience == Audience.CADRES else None,
        device_hash=device_hash,
        unit=unit,
        ip_hash=key_hash("voice.ip", ip) if ip else "",
    )
    rows = []
    for qid, value in answers.items():
        if isinstance(value, list):
            rows.extend(Answer(response=response, question_id=qid, option=v) for v in value)
        elif isinstance(value, int):
            rows.append(Answer(response=response, question_id=qid, option=value))
        elif isinstance(value, Decimal):
            rows.append(Answer(response=response, question_id=qid, number=value))
        else:
            rows.append(Answer(response=response, question_id=qid, text=value))
    Answer.objects.bulk_create(rows, batch_size=500)
    record(
        actor if survey.audience == Audience.CADRES else None,
        "voice.survey.respond",
        obj=response,
        where=Where.of(survey.unit),
        detail={"survey": survey.pk, "answers": len(rows)},
    )
    return response
