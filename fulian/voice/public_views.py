"""The public pages (no sign-in), phone first: the suggestion box, the receipt lookup, survey taking."""

from __future__ import annotations

import secrets

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from fulian.audit.context import client_ip
from fulian.lib.forms import add_errors

from . import actions, queries
from .actions import format_receipt
from .forms import ReceiptForm, SuggestionForm
from .models import MAX_TEXT, Audience

MAX_BODY = 64 * 1024  # bytes: a 5,000-character suggestion is ~15 KB in UTF-8, form-encoded ~45 KB
TOO_LARGE = f"提交的内容过长,请精简到{MAX_TEXT}字以内后再提交。"
DEVICE_COOKIE = "fl_device"
DEVICE_MAX_AGE = 2 * 365 * 24 * 3600


def _too_large(request) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY
    except ValueError:
        return True


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


@never_cache
def suggest(request, unit_id: int):
    unit = queries.public_unit(unit_id)
    if request.method == "POST" and _too_large(request):
        context = {"form": SuggestionForm(), "unit": unit, "error": TOO_LARGE}
        return _no_store(render(request, "voice/public_suggest.html", context, status=413))
    form = SuggestionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                s, code = actions.submit_suggestion(
                    None,
                    unit=unit,
                    category=d["category"],
                    text=d["text"],
                    contact_name=d["contact_name"],
                    contact_phone=d["contact_phone"],
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                context = {"unit": unit, "code": format_receipt(code), "suggestion": s}
                return _no_store(render(request, "voice/public_suggest_done.html", context))
    return _no_store(
        render(request, "voice/public_suggest.html", {"form": form, "unit": unit}, status=status)
    )


@never_cache
def receipt(request):
    form = ReceiptForm(request.POST or None)
    found, status, searched = None, 200, False
    if request.method == "POST" and form.is_valid():
        searched = True
        try:
            found = actions.receipt_lookup(form.cleaned_data["code"], ip=client_ip(request))
        except actions.RateLimited as exc:
            form.add_error(None, exc.messages)
            status = 429
        else:
            if found is None:
                form.add_error("code", "未找到该回执码,请核对后再试(回执码为16位字母和数字)。")
                status = 404
    rectification = queries.public_rectification(found) if found is not None else None
    context = {"form": form, "found": found, "searched": searched, "rectification": rectification}
    return _no_store(render(request, "voice/public_receipt.html", context, status=status))


def _device(request) -> tuple[str, bool]:
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    if len(value) >= 32 and len(value) <= 100:
        return value, False
    return secrets.token_urlsafe(32), True


def _raw_answers(post, questions) -> dict:
    raw = {}
    for q in questions:
        values = post.getlist(f"q{q.pk}")
        raw[q.pk] = values if q.kind == "multi" else (values[0] if values else "")
    return raw


@never_cache
def survey(request, token: str):
    survey = queries.survey_by_token(token)
    if survey.audience == Audience.CADRES:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if actions.respondent_unit(request.user, survey) is None:
            raise Http404("未找到该问卷。")
    device, new_device = _device(request)
    questions = list(survey.questions.all())
    for i, q in enumerate(questions, start=1):
        q.number = i
    context = {
        "survey": survey,
        "questions": questions,
        "now": timezone.now(),
        "skip_rules": {str(q.pk): {k: str(v) for k, v in q.skip.items()} for q in questions if q.skip},
    }
    message = actions.phase_message(survey)
    status = 200
    if message:
        context["closed"] = message
    elif _already(request, survey, device):
        context["already"] = actions.ALREADY
    elif request.method == "POST":
        if _too_large(request):
            context["error"] = TOO_LARGE
            status = 413
        else:
            raw = _raw_answers(request.POST, questions)
            context["posted"] = raw
            try:
                actions.submit_response(
                    request.user if request.user.is_authenticated else None,
                    survey,
                    raw,
                    device=None if new_device else device,
                    ip=client_ip(request),
                )
            except actions.AlreadyAnswered as exc:
                context["already"] = exc.messages[0]
            except actions.SurveyClosed as exc:
                context["closed"] = exc.messages[0]
            except actions.RateLimited as exc:
                context["error"] = exc.messages[0]
                status = 429
            except PermissionDenied:
                raise Http404("未找到该问卷。") from None
            except ValidationError as exc:
                context["errors"] = exc.message_dict if hasattr(exc, "error_dict") else {}
                context["error"] = "请检查标红的题目。" if hasattr(exc, "error_dict") else exc.messages[0]
                status = 400
            else:
                context["done"] = True
    if not any(k in context for k in ("closed", "already", "done")):
        context["rows"] = _rows(questions, context.get("posted", {}), context.get("errors", {}))
    response = render(request, "voice/public_survey.html", context, status=status)
    if new_device and survey.audience == Audience.PUBLIC:
        response.set_cookie(
            DEVICE_COOKIE,
            device,
            max_age=DEVICE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return _no_store(response)


def _already(request, survey, device) -> bool:
    from fulian.throttle.limits import key_hash

    from .models import Response

    if survey.audience == Audience.CADRES:
        return Response.objects.filter(survey=survey, user=request.user).exists()
    return Response.objects.filter(
        survey=survey, device_hash=key_hash("voice.survey.device", device)
    ).exists()


def _rows(questions, posted: dict, errors: dict) -> list[dict]:
    rows = []
    for q in questions:
        value = posted.get(q.pk, [] if q.kind == "multi" else "")
        chosen = {str(v) for v in value} if isinstance(value, list) else {str(value)}
        rows.append(
            {
                "q": q,
                "value": value if not isinstance(value, list) else "",
                "chosen": chosen,
                "error": " ".join(errors.get(f"q{q.pk}", [])),
                "skip": {str(k): str(v) for k, v in q.skip.items()},
            }
        )
    return rows
