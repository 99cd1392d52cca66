"""Scoped reads of 民意: suggestions and surveys of the actor's subtree, survey results, and the public reads
(receipt lookups live in actions: they count against a rate limit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Count, Max, Min, Q, QuerySet
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone

from fulian.accounts.access import deny, get_in_scope
from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import prefix_length
from fulian.rectify.models import Measure
from fulian.rectify.models import State as MeasureState

from .models import (
    Answer,
    Audience,
    Category,
    Question,
    QuestionKind,
    Response,
    State,
    Suggestion,
    Survey,
    SurveyStatus,
)
from .words import top_words

# --- the public side ------------------------------------------------------------------------------------------


def open_public_surveys(unit: OrgUnit) -> QuerySet[Survey]:
    """Published public surveys of ``unit`` open now (for the unit's public page)."""
    return (
        Survey.objects.open_at(timezone.now())
        .filter(unit=unit, audience=Audience.PUBLIC)
        .order_by("closes_at", "id")
    )


def public_unit(unit_id) -> OrgUnit:
    """A unit that takes suggestions from the public: exists and is not closed; 404 otherwise."""
    try:
        pk = int(unit_id)
    except (TypeError, ValueError):
        raise Http404("未找到该单位。") from None
    unit = OrgUnit.objects.filter(pk=pk).first()
    if unit is None or unit.is_closed:
        raise Http404("未找到该单位。")
    return unit


def survey_by_token(token: str) -> Survey:
    """A published survey by its link token (drafts are not reachable); 404 otherwise."""
    survey = (
        Survey.objects.select_related("unit")
        .filter(token=str(token)[:32], status=SurveyStatus.PUBLISHED)
        .first()
    )
    if survey is None:
        raise Http404("未找到该问卷。")
    return survey


# --- suggestions ------------------------------------------------------------------------------------------------


def suggestions_visible(actor) -> QuerySet[Suggestion]:
    return Suggestion.objects.within(scope_for(actor, Cap.VIEW_WORK))


@dataclass
class InboxFilter:
    state: str = ""
    held: str = "0"  # "0": the inbox; "1": held for review (incl. spam); "all"
    unit: OrgUnit | None = None
    category: str = ""

    @classmethod
    def from_query(cls, actor, params) -> InboxFilter:
        state = params.get("state", "")
        held = params.get("held", "0")
        category = params.get("category", "")
        unit = None
        if params.get("unit"):
            unit = get_in_scope(actor, OrgUnit.objects.all(), params.get("unit"), Cap.VIEW_WORK)
        return cls(
            state=state if state in State.values else "",
            held=held if held in ("0", "1", "all") else "0",
            unit=unit,
            category=category if category in Category.values else "",
        )


def inbox(actor, f: InboxFilter) -> QuerySet[Suggestion]:
    qs = suggestions_visible(actor).select_related("unit")
    if f.unit is not None:
        qs = qs.under(f.unit)
    if f.held == "0":
        qs = qs.filter(held=False)
    elif f.held == "1":
        qs = qs.filter(held=True)
    if f.state:
        qs = qs.filter(state=f.state)
    if f.category:
        qs = qs.filter(category=f.category)
    return qs.order_by("-created_at", "-id")


def inbox_counts(actor) -> dict[str, int]:
    """Open (待处理) and held counts of the actor's scope: one query."""
    return suggestions_visible(actor).aggregate(
        new=Count("id", filter=Q(held=False, state=State.NEW)),
        held=Count("id", filter=Q(held=True, spam=False)),
    )


def access_suggestion(actor, suggestion_id) -> Suggestion:
    return get_in_scope(
        actor,
        Suggestion.objects.select_related("unit", "replied_by", "problem"),
        suggestion_id,
        Cap.VIEW_WORK,
    )


def same_phone_count(actor, s: Suggestion) -> int:
    """Other suggestions in the actor's scope left with the same phone number (blind index; one query)."""
    if not s.phone_index:
        return 0
    return suggestions_visible(actor).filter(phone_index=s.phone_index).exclude(pk=s.pk).count()


def can_edit(actor, unit: OrgUnit) -> bool:
    return scope_for(actor, Cap.EDIT_WORK).contains(unit)


# --- surveys -----------------------------------------------------------------------------------------------------


def surveys_visible(actor) -> QuerySet[Survey]:
    return Survey.objects.within(scope_for(actor, Cap.VIEW_WORK))


def survey_list(actor) -> QuerySet[Survey]:
    return (
        surveys_visible(actor)
        .select_related("unit")
        .annotate(
            n_responses=Count("responses", distinct=True), n_questions=Count("questions", distinct=True)
        )
        .order_by("-created_at", "-id")
    )


def access_survey(actor, survey_id, write: bool = False) -> Survey:
    cap = Cap.EDIT_WORK if write else Cap.VIEW_WORK
    return get_in_scope(actor, Survey.objects.select_related("unit", "created_by"), survey_id, cap)


def access_question(actor, question_id, write: bool = True) -> Question:
    cap = Cap.EDIT_WORK if write else Cap.VIEW_WORK
    try:
        pk = int(question_id)
    except (TypeError, ValueError):
        raise deny(actor, "voice.question", question_id, cap) from None
    q = (
        Question.objects.select_related("survey", "survey__unit")
        .filter(pk=pk, survey__in=Survey.objects.within(scope_for(actor, cap)))
        .first()
    )
    if q is None:
        raise deny(actor, "voice.question", question_id, cap)
    return q


# --- results ------------------------------------------------------------------------------------------------------


def pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d else None


@dataclass
class OptionRow:
    index: int
    label: str
    count: int
    pct: float | None


@dataclass
class QuestionResult:
    question: Question
    answered: int = 0
    options: list[OptionRow] = field(default_factory=list)
    number_count: int = 0
    number_avg: Decimal | None = None
    number_min: Decimal | None = None
    number_max: Decimal | None = None
    texts: list[str] = field(default_factory=list)
    words: list[tuple[str, int]] = field(default_factory=list)

    @property
    def has_chart(self) -> bool:
        return bool(self.options)


@dataclass
class BranchRow:
    unit: OrgUnit
    responses: int
    # {question id: [count per option index]}
    options: dict[int, list[int]]


@dataclass
class Results:
    survey: Survey
    total: int
    questions: list[QuestionResult]
    branches: list[BranchRow] = field(default_factory=list)


def results(survey: Survey, *, with_words: bool = True) -> Results:
    """Counts and percentages per question, number statistics, free-text answers and their top words; for cadre
    surveys the per-child-unit breakdown. A fixed number of queries whatever the number of responses."""
    questions = list(survey.questions.all())
    total = survey.responses.count()
    answers = Answer.objects.filter(question__survey=survey)
    option_counts: dict[tuple[int, int], int] = {
        (r["question_id"], r["option"]): r["n"]
        for r in answers.filter(option__isnull=False)
        .values("question_id", "option")
        .annotate(n=Count("id"))
        .order_by()
    }
    answered = {
        r["question_id"]: r["n"]
        for r in answers.values("question_id").annotate(n=Count("response_id", distinct=True)).order_by()
    }
    numbers = {
        r["question_id"]: r
        for r in answers.filter(number__isnull=False)
        .values("question_id")
        .annotate(n=Count("id"), avg=Avg("number"), lo=Min("number"), hi=Max("number"))
        .order_by()
    }
    text_ids = [q.pk for q in questions if q.kind == QuestionKind.TEXT]
    texts: dict[int, list[str]] = {pk: [] for pk in text_ids}
    if text_ids:
        for qid, text in (
            answers.filter(question_id__in=text_ids).exclude(text="").values_list("question_id", "text")
        ):
            texts[qid].append(text)
    out = []
    for q in questions:
        r = QuestionResult(q, answered=answered.get(q.pk, 0))
        if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTI, QuestionKind.RATING):
            r.options = [
                OptionRow(
                    i,
                    label,
                    option_counts.get((q.pk, i), 0),
                    pct(option_counts.get((q.pk, i), 0), r.answered),
                )
                for i, label in q.numbered_options
            ]
            if q.kind == QuestionKind.RATING and r.answered:
                r.number_avg = Decimal(sum(o.index * o.count for o in r.options) / r.answered).quantize(
                    Decimal("0.01")
                )
        elif q.kind == QuestionKind.NUMBER and q.pk in numbers:
            n = numbers[q.pk]
            r.number_count = n["n"]
            r.number_avg = Decimal(n["avg"]).quantize(Decimal("0.01")) if n["avg"] is not None else None
            r.number_min, r.number_max = n["lo"], n["hi"]
        elif q.kind == QuestionKind.TEXT:
            r.texts = texts.get(q.pk, [])
            if with_words:
                r.words = top_words(r.texts)
        out.append(r)
    res = Results(survey=survey, total=total, questions=out)
    if survey.audience == Audience.CADRES:
        res.branches = branches(survey, questions)
    return res


def branches(survey: Survey, questions: list[Question]) -> list[BranchRow]:
    """Responses per child unit of the survey unit (the respondent's unit rolled up by path prefix), and the
    option counts of each choice/rating question per child. Three queries."""
    unit = survey.unit
    length = prefix_length(unit.depth + 1)
    per_branch = {
        r["branch"]: r["n"]
        for r in Response.objects.filter(survey=survey, unit__isnull=False)
        .annotate(branch=Substr("unit__path", 1, length))
        .values("branch")
        .annotate(n=Count("id"))
        .order_by()
    }
    per_option: dict[str, dict[int, dict[int, int]]] = {}
    for r in (
        Answer.objects.filter(question__survey=survey, option__isnull=False, response__unit__isnull=False)
        .annotate(branch=Substr("response__unit__path", 1, length))
        .values("branch", "question_id", "option")
        .annotate(n=Count("id"))
        .order_by()
    ):
        per_option.setdefault(r["branch"], {}).setdefault(r["question_id"], {})[r["option"]] = r["n"]
    rows = []
    units = [unit, *OrgUnit.objects.filter(parent=unit).order_by("sort_order", "path")]
    choice_qs = [q for q in questions if q.kind != QuestionKind.NUMBER and q.kind != QuestionKind.TEXT]
    for u in units:
        # the survey unit's own people: exactly its path (a child's prefix never equals the parent's path)
        key = u.path
        n = per_branch.get(key, 0)
        if u.pk == unit.pk and not n:
            continue
        counts = per_option.get(key, {})
        rows.append(
            BranchRow(
                unit=u,
                responses=n,
                options={
                    q.pk: [counts.get(q.pk, {}).get(i, 0) for i, _ in q.numbered_options] for q in choice_qs
                },
            )
        )
    return rows


def answers_with_word(
    survey: Survey, question: Question, word: str, limit: int = 500
) -> tuple[list[str], int]:
    """The free-text answers of ``question`` containing ``word`` (at most ``limit``) and their total number."""
    qs = Answer.objects.filter(question=question, text__contains=word).exclude(text="").order_by("id")
    texts = list(qs.values_list("text", flat=True)[:limit])
    total = len(texts) if len(texts) < limit else qs.count()
    return texts, total


def export_rows(survey: Survey) -> tuple[list[str], list[list]]:
    """Every response as one row: time, (cadre surveys: unit), then one column per question. Three queries."""
    questions = list(survey.questions.all())
    cadres = survey.audience == Audience.CADRES
    headers = (
        ["序号", "提交时间"]
        + (["所在单位"] if cadres else [])
        + [f"{i}. {q.text}" for i, q in enumerate(questions, start=1)]
    )
    by_response: dict[int, dict[int, list]] = {}
    for a in (
        Answer.objects.filter(question__survey=survey)
        .order_by("id")
        .only("response_id", "question_id", "option", "number", "text")
    ):
        by_response.setdefault(a.response_id, {}).setdefault(a.question_id, []).append(a)
    qmap = {q.pk: q for q in questions}
    rows = []
    responses = Response.objects.filter(survey=survey).select_related("unit").order_by("created_at", "id")
    for n, resp in enumerate(responses, start=1):
        answers = by_response.get(resp.pk, {})
        row: list = [n, timezone.localtime(resp.created_at).strftime("%Y-%m-%d %H:%M")]
        if cadres:
            row.append(resp.unit.name if resp.unit else "")
        for q in questions:
            row.append(_cell(qmap[q.pk], answers.get(q.pk, [])))
        rows.append(row)
    return headers, rows


def _cell(q: Question, answers: list[Answer]):
    if not answers:
        return ""
    if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
        labels = dict(q.numbered_options)
        return "、".join(labels.get(a.option, str(a.option)) for a in answers)
    if q.kind == QuestionKind.RATING:
        return answers[0].option
    if q.kind == QuestionKind.NUMBER:
        return answers[0].number
    return answers[0].text


@dataclass(frozen=True)
class PublicRectification:
    """What the receipt page may tell the public about the problem its suggestion became: counts only (the
    measures themselves are internal; the published 整改情况 disclosure is the public account)."""

    measures: int
    accepted: int

    @property
    def finished(self) -> bool:
        return self.measures > 0 and self.accepted == self.measures


def public_rectification(suggestion: Suggestion) -> PublicRectification | None:
    """None unless the suggestion was turned into a problem; otherwise one aggregate query."""
    if suggestion.problem_id is None:
        return None
    row = Measure.objects.filter(problem_id=suggestion.problem_id).aggregate(
        measures=Count("id"), accepted=Count("id", filter=Q(state=MeasureState.ACCEPTED))
    )
    return PublicRectification(**row)
