"""The back office of 民意 (/voice/): the suggestion inbox, the survey builder, results and export.
Thin views: parse → access helper → action/query → render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from fulian.accounts.roles import Cap
from fulian.accounts.scope import home_unit, scope_for
from fulian.audit.actions import Where, record
from fulian.lib.forms import add_errors
from fulian.lib.xlsx import workbook_bytes
from fulian.orgs.models import OrgUnit
from fulian.orgs.queries import access_unit
from fulian.orgs.views import xlsx_response

from . import actions, queries
from .forms import ForwardForm, ProblemForm, QuestionForm, ReplyForm, SurveyForm
from .models import END, Category, QuestionKind, State


def _require_work(user) -> None:
    if not scope_for(user, Cap.VIEW_WORK):
        raise PermissionDenied("您无权查看民意。")


def _filter_units(user) -> list[OrgUnit]:
    """The scope roots and their children, for the inbox's unit filter (one query)."""
    scope = scope_for(user, Cap.VIEW_WORK)
    roots = OrgUnit.objects.within(scope)
    depth = min((p.count(".") + 2 for p in scope.paths), default=1)
    return list(roots.filter(depth__lte=depth).order_by("path").only("id", "name", "path", "depth"))


# --- the suggestion inbox ------------------------------------------------------------------------------------------


@login_required
def home(request):
    _require_work(request.user)
    f = queries.InboxFilter.from_query(request.user, request.GET)
    page = Paginator(queries.inbox(request.user, f), 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filter": f,
        "counts": queries.inbox_counts(request.user),
        "units": _filter_units(request.user),
        "states": State.choices,
        "categories": Category.choices,
        "query": query.urlencode(),
    }
    return render(request, "voice/inbox.html", context)


def _detail(request, s, *, status=200, forms=None, revealed=None):
    can_edit = queries.can_edit(request.user, s.unit)
    forms = forms or {}
    context = {
        "s": s,
        "can_edit": can_edit,
        "forwards": list(s.forwards.select_related("from_unit", "to_unit", "actor")),
        "revealed": revealed,
        "same_phone": queries.same_phone_count(request.user, s),
    }
    if can_edit:
        context.update(
            reply_form=forms.get("reply") or ReplyForm(initial={"reply": s.reply}),
            forward_form=forms.get("forward") or ForwardForm(targets=actions.forward_targets(s)),
            problem_form=forms.get("problem")
            or ProblemForm(initial={"title": s.text[:60].replace("\n", " "), "description": s.text}),
        )
    return render(request, "voice/suggestion.html", context, status=status)


@login_required
def suggestion_detail(request, suggestion_id: int):
    s = queries.access_suggestion(request.user, suggestion_id)
    return _detail(request, s)


VERBS = {
    "reply": "已保存答复,群众凭回执码可见。",
    "forward": "已转交。",
    "release": "已审核通过,进入待处理。",
    "spam": "已标记为垃圾信息(保留记录)。",
    "close": "已办结。",
    "problem": "已转为整改问题。",
    "reveal": "",
}


@login_required
@require_POST
def suggestion_do(request, suggestion_id: int, verb: str):
    if verb not in VERBS:
        raise Http404("未知操作。")
    s = queries.access_suggestion(request.user, suggestion_id)
    if not queries.can_edit(request.user, s.unit):
        raise PermissionDenied("您无权处理该单位的意见建议。")
    user = request.user
    forms: dict = {}
    try:
        if verb == "reveal":
            revealed = {
                "name": s.contact_name.reveal() if s.contact_name else "",
                "phone": s.contact_phone.reveal() if s.contact_phone else "",
            }
            record(user, "voice.suggestion.reveal", obj=s, where=Where.of(s.unit))
            return _detail(request, s, revealed=revealed)
        if verb == "reply":
            form = forms["reply"] = ReplyForm(request.POST)
            form.is_valid()
            actions.reply_suggestion(user, s, reply=form.cleaned_data.get("reply", ""))
        elif verb == "forward":
            form = forms["forward"] = ForwardForm(request.POST, targets=actions.forward_targets(s))
            if not form.is_valid():
                raise ValidationError({"to_unit": ["请选择要转交的单位。"]})
            d = form.cleaned_data
            s = actions.forward_suggestion(user, s, to_unit=d["to_unit"], note=d["note"])
        elif verb == "problem":
            form = forms["problem"] = ProblemForm(request.POST)
            form.is_valid()
            d = form.cleaned_data
            actions.suggestion_to_problem(
                user,
                s,
                title=d.get("title", ""),
                description=d.get("description", ""),
                category=d.get("category", ""),
            )
        elif verb == "release":
            actions.release_suggestion(user, s)
        elif verb == "spam":
            actions.mark_spam(user, s)
        elif verb == "close":
            actions.close_suggestion(user, s)
    except ValidationError as exc:
        form = forms.get(verb)
        if form is not None and hasattr(exc, "error_dict"):
            add_errors(form, exc)
        else:
            messages.error(request, " ".join(exc.messages))
        s = queries.access_suggestion(user, suggestion_id)
        return _detail(request, s, status=400, forms=forms)
    messages.success(request, VERBS[verb])
    if verb == "forward" and not scope_for(user, Cap.VIEW_WORK).contains(s.unit):
        return redirect("voice:home")  # forwarded up, out of sight
    return redirect("voice:suggestion", s.pk)


# --- surveys: list and builder ------------------------------------------------------------------------------------


@login_required
def survey_list(request):
    _require_work(request.user)
    page = Paginator(queries.survey_list(request.user), 30).get_page(request.GET.get("page"))
    unit = home_unit(request.user)
    can_create = unit is not None and scope_for(request.user, Cap.EDIT_WORK).contains(unit)
    context = {"page": page, "can_create": can_create, "now": timezone.now()}
    return render(request, "voice/survey_list.html", context)


def _survey_kwargs(d) -> dict:
    return dict(
        title=d.get("title", ""),
        intro=d.get("intro", ""),
        audience=d.get("audience", ""),
        opens_at=d.get("opens_at"),
        closes_at=d.get("closes_at"),
    )


@login_required
def survey_create(request):
    unit_id = request.GET.get("unit") or getattr(home_unit(request.user), "pk", None)
    if unit_id is None:
        raise PermissionDenied("您无权发起问卷。")
    unit = access_unit(request.user, unit_id, Cap.EDIT_WORK)
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time(8, 0)))
    initial = {"audience": "public", "opens_at": start, "closes_at": start + dt.timedelta(days=14)}
    form = SurveyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            survey = actions.create_survey(request.user, unit=unit, **_survey_kwargs(form.cleaned_data))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "问卷已创建,请添加题目。")
            return redirect("voice:survey", survey.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "voice/survey_form.html", {"form": form, "unit": unit}, status=status)


@login_required
def survey_edit(request, survey_id: int):
    survey = queries.access_survey(request.user, survey_id, write=True)
    form = SurveyForm(
        request.POST or None,
        initial={
            "title": survey.title,
            "intro": survey.intro,
            "audience": survey.audience,
            "opens_at": timezone.localtime(survey.opens_at),
            "closes_at": timezone.localtime(survey.closes_at),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_survey(request.user, survey, **_survey_kwargs(form.cleaned_data))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("voice:survey", survey.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "unit": survey.unit, "survey": survey}
    return render(request, "voice/survey_form.html", context, status=status)


def _numbered(survey):
    questions = list(survey.questions.all())
    numbers = {q.pk: i for i, q in enumerate(questions, start=1)}
    for q in questions:
        q.number = numbers[q.pk]
        q.option_rows = [(label, _jump_label(q.skip_target(i), numbers)) for i, label in enumerate(q.options)]
    return questions


def _jump_label(target, numbers) -> str:
    if target is None:
        return ""
    if target == END:
        return "选此项结束问卷"
    return f"选此项跳到第{numbers.get(target, '?')}题"


@login_required
def survey_detail(request, survey_id: int):
    survey = queries.access_survey(request.user, survey_id)
    can_edit = queries.can_edit(request.user, survey.unit)
    questions = _numbered(survey)
    form = None
    status = 200
    if can_edit and survey.is_draft:
        form = QuestionForm(request.POST or None, initial={"kind": QuestionKind.SINGLE, "required": True})
        if request.method == "POST":
            status = 400
            if form.is_valid():
                d = form.cleaned_data
                try:
                    actions.add_question(
                        request.user,
                        survey,
                        kind=d["kind"],
                        text=d["text"],
                        required=d["required"],
                        options=form.options(),
                        min_value=d["min_value"],
                        max_value=d["max_value"],
                    )
                except ValidationError as exc:
                    add_errors(form, exc, {"options": "options_text"})
                else:
                    messages.success(request, "已添加题目。")
                    return redirect(reverse("voice:survey", args=[survey.pk]) + "#add")
    elif request.method == "POST":
        raise PermissionDenied("问卷已发布或您无权编辑。")
    labels = {q.pk: q.number for q in questions}
    context = {
        "survey": survey,
        "questions": questions,
        "labels": labels,
        "form": form,
        "can_edit": can_edit,
        "phase": survey.phase(),
        "link": request.build_absolute_uri(reverse("voice_public:survey", args=[survey.token])),
    }
    return render(request, "voice/survey_detail.html", context, status=status)


@login_required
def question_edit(request, question_id: int):
    q = queries.access_question(request.user, question_id)
    survey = q.survey
    if not survey.is_draft:
        messages.error(request, "问卷已发布,题目不能再修改。")
        return redirect("voice:survey", survey.pk)
    questions = _numbered(survey)
    q = next(x for x in questions if x.pk == q.pk)
    later = [x for x in questions if x.position > q.position]
    initial = {
        "kind": q.kind,
        "text": q.text,
        "required": q.required,
        "options_text": "\n".join(q.options),
        "min_value": q.min_value.normalize() if q.min_value is not None else "",
        "max_value": q.max_value.normalize() if q.max_value is not None else "",
    }
    form = QuestionForm(request.POST or None, initial=initial, question=q, later=later)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.update_question(
                request.user,
                q,
                kind=d["kind"],
                text=d["text"],
                required=d["required"],
                options=form.options(),
                min_value=d["min_value"],
                max_value=d["max_value"],
                skip=form.skip() if d["kind"] == QuestionKind.SINGLE else {},
            )
        except ValidationError as exc:
            add_errors(form, exc, {"options": "options_text"})
        else:
            messages.success(request, "已保存题目。")
            return redirect("voice:survey", survey.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "q": q, "survey": survey}
    return render(request, "voice/question_form.html", context, status=status)


@login_required
@require_POST
def question_do(request, question_id: int, verb: str):
    q = queries.access_question(request.user, question_id)
    try:
        if verb in ("up", "down"):
            actions.move_question(request.user, q, up=verb == "up")
        elif verb == "delete":
            actions.delete_question(request.user, q)
            messages.success(request, "已删除题目。")
        else:
            raise Http404("未知操作。")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("voice:survey", q.survey_id)


@login_required
@require_POST
def survey_do(request, survey_id: int, verb: str):
    survey = queries.access_survey(request.user, survey_id, write=True)
    try:
        if verb == "publish":
            actions.publish_survey(request.user, survey)
            messages.success(request, "问卷已发布,题目不能再修改。")
        elif verb == "close":
            actions.close_survey(request.user, survey)
            messages.success(request, "问卷已结束。")
        else:
            raise Http404("未知操作。")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("voice:survey", survey.pk)


# --- results and export ---------------------------------------------------------------------------------------------


@login_required
def survey_results(request, survey_id: int):
    survey = queries.access_survey(request.user, survey_id)
    res = queries.results(survey)
    for i, r in enumerate(res.questions, start=1):
        r.question.number = i
    word_view = None
    qid, word = request.GET.get("q"), (request.GET.get("word") or "").strip()[:20]
    if qid and word:
        target = next((r for r in res.questions if str(r.question.pk) == qid), None)
        if target is not None and target.question.kind == QuestionKind.TEXT:
            texts, total = queries.answers_with_word(survey, target.question, word)
            word_view = {"question": target.question, "word": word, "texts": texts, "total": total}
    charts = {
        str(r.question.pk): {
            "labels": [o.label for o in r.options],
            "counts": [o.count for o in r.options],
            "pie": r.question.kind == QuestionKind.SINGLE,
        }
        for r in res.questions
        if r.options and r.answered
    }
    context = {"survey": survey, "res": res, "charts": charts, "word_view": word_view}
    return render(request, "voice/survey_results.html", context)


@login_required
def survey_export(request, survey_id: int):
    survey = queries.access_survey(request.user, survey_id)
    headers, rows = queries.export_rows(survey)
    content = workbook_bytes("问卷答卷", headers, rows, title=survey.title)
    record(
        request.user,
        "voice.survey.export",
        obj=survey,
        where=Where.of(survey.unit),
        detail={"rows": len(rows)},
    )
    return xlsx_response(content, f"问卷答卷-{survey.title[:40]}.xlsx")
