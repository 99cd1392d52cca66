"""Thin views of case handling: parse → access (one helper) → action → render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fulian.accounts.access import deny
from fulian.accounts.roles import Cap
from fulian.accounts.scope import home_unit, memberships_of, scope_for
from fulian.audit.actions import record
from fulian.audit.context import client_ip
from fulian.files.actions import file_response, prepare_upload
from fulian.lib.forms import add_errors
from fulian.lib.xlsx import encrypt_workbook, workbook_bytes
from fulian.orgs.actions import ConflictError
from fulian.orgs.queries import access_unit
from fulian.orgs.views import xlsx_response

from . import actions, dispatch, queries
from .forms import (
    MANDATORY_CHOICES,
    ActionForm,
    CaseEditForm,
    CaseFilterForm,
    FollowUpForm,
    IntakeForm,
    PublicHelpForm,
    ReferForm,
    StatsForm,
    TrackForm,
)
from .models import (
    ACTION_KINDS,
    FINISHED_STATES,
    Case,
    CaseExport,
    EntryKind,
    FamilyTag,
    Party,
    Risk,
    Satisfaction,
    State,
)
from .triage import RISK_LABELS

NO_CASES = "您的账号没有查看维权案件的权限。"


@login_required
def case_list(request):
    user = request.user
    if not scope_for(user, Cap.VIEW_CASES):
        if scope_for(user, Cap.INTAKE_CASES):
            return redirect("cases:intake")
        raise PermissionDenied(NO_CASES)
    form = CaseFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    f = queries.CaseFilter(
        state=data.get("state") or "open",
        risk=data.get("risk"),
        channel=data.get("channel") or "",
        overdue=bool(data.get("overdue")),
        escalated=bool(data.get("escalated")),
        visit_due=bool(data.get("visit_due")),
        mine=bool(data.get("mine")),
    )
    page = queries.case_page(user, f, request.GET.get("page"))
    rows = page.object_list
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "HIGH": Risk.HIGH,
        "can_export": bool(scope_for(user, Cap.APPROVE_CASES)),
    }
    template = "cases/_rows.html" if request.headers.get("HX-Request") else "cases/case_list.html"
    return render(request, template, context)


DRAFT_SKIP = {"csrfmiddlewaretoken", "draft"}


def _initial_from_draft(values: dict[str, list[str]]) -> dict:
    multi = {"risk_checklist"}
    return {k: (v if k in multi else (v[0] if v else "")) for k, v in values.items() if k not in DRAFT_SKIP}


@login_required
def intake(request):
    user = request.user
    if not scope_for(user, Cap.INTAKE_CASES):
        raise PermissionDenied("您的账号没有登记维权案件的权限。")
    units = queries.intake_units(user)
    home = home_unit(user)
    draft_id = request.POST.get("draft") or request.GET.get("draft")
    draft = queries.access_draft(user, draft_id) if draft_id else None
    initial = {"unit": home.pk if home else None}
    if draft is not None and request.method != "POST":
        initial.update(_initial_from_draft(actions.draft_values(draft)))
    form = IntakeForm(units, request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                case = actions.intake_case(user, **form.intake_values())
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error("unit", str(exc))
                status = 403
            else:
                if draft is not None:
                    actions.discard_intake_draft(user, draft, registered=case)
                messages.success(request, f"已登记:{case.number}(风险等级:{case.get_risk_display()})。")
                return redirect("cases:detail", case.pk)
        if status == 200:
            status = 400
    mine = list(queries.cases_of(user, queries.CaseFilter(mine=True, state="open"))[:20])
    context = {
        "form": form,
        "mine": mine,
        "draft": draft,
        "drafts": [d for d in queries.own_drafts(user)[:10] if draft is None or d.pk != draft.pk],
        "can_view": bool(scope_for(user, Cap.VIEW_CASES)),
    }
    return render(request, "cases/intake.html", context, status=status)


@login_required
@require_POST
def autosave(request):
    """htmx: keep what is typed so far as the user's draft; answers with the draft id and the time."""
    draft_id = request.POST.get("draft")
    draft = queries.access_draft(request.user, draft_id) if draft_id else None
    values = {k: request.POST.getlist(k) for k in request.POST if k not in DRAFT_SKIP}
    try:
        draft = actions.save_intake_draft(request.user, draft=draft, data=values)
    except ValidationError as exc:
        return render(request, "cases/_autosave.html", {"error": " ".join(exc.messages)})
    return render(request, "cases/_autosave.html", {"draft": draft})


@login_required
@require_POST
def discard_draft(request, draft_id: int):
    draft = queries.access_draft(request.user, draft_id)
    actions.discard_intake_draft(request.user, draft)
    messages.success(request, "草稿已删除。")
    return redirect("cases:intake")


@login_required
def statistics(request):
    """Counts over a subtree and period; cells of 1–2 below county level shown as "<3"."""
    user = request.user
    scope = scope_for(user, Cap.VIEW_CASES)
    if not scope:
        raise PermissionDenied(NO_CASES)
    unit_id = request.GET.get("unit")
    if unit_id:
        unit = access_unit(user, unit_id, Cap.VIEW_CASES)
    else:
        unit = min(
            (m.org_unit for m in memberships_of(user) if scope.contains_path(m.org_unit.path)),
            key=lambda u: (u.depth, u.path),
        )
    today = timezone.localdate()
    form = StatsForm(request.GET or None, initial={"start": today.replace(month=1, day=1), "end": today})
    start, end = today.replace(month=1, day=1), today
    if form.is_bound and form.is_valid():
        start = form.cleaned_data["start"] or start
        end = form.cleaned_data["end"] or end
    stats = queries.case_statistics(user, unit, start, end)
    context = {"unit": unit, "form": form, "start": start, "end": end, **stats}
    return render(request, "cases/statistics.html", context)


@login_required
def lookup(request):
    """Earlier cases of the number being typed (htmx), inside the user's scope, through the blind index."""
    phone = (request.GET.get("caller_phone") or request.GET.get("affected_phone") or "").strip()
    id_number = (request.GET.get("affected_id_number") or "").strip()
    found = []
    if len(phone) >= 7 or len(id_number) >= 15:
        found = list(queries.earlier_cases(request.user, phone=phone, id_number=id_number)[:10])
        record(
            request.user,
            "cases.lookup",
            object_type="cases.case",
            detail={"by_phone": bool(phone), "by_id": bool(id_number), "found": len(found)},
        )
    return render(request, "cases/_lookup.html", {"found": found})


# --- detail and transitions ---------------------------------------------------------------------------------------

# verb → (label, what the form asks for, the capability)
BUTTONS: dict[str, tuple[str, str, Cap]] = {
    "submit_draft": ("提交登记", "", Cap.INTAKE_CASES),
    "accept": ("受理", "", Cap.HANDLE_CASES),
    "reject": ("不予受理", "reason", Cap.HANDLE_CASES),
    "start": ("开始办理", "", Cap.HANDLE_CASES),
    "request_closure": ("申请办结", "outcome", Cap.HANDLE_CASES),
    "approve_closure": ("批准办结", "", Cap.APPROVE_CASES),
    "return_closure": ("退回办结申请", "reason", Cap.APPROVE_CASES),
    "follow_up": ("记录回访", "follow_up", Cap.HANDLE_CASES),
    "archive": ("归档", "", Cap.HANDLE_CASES),
    "reopen": ("重新打开", "reason", Cap.APPROVE_CASES),
}
VERB_TARGET = {
    "submit_draft": State.REGISTERED,
    "accept": State.ACCEPTED,
    "reject": State.REJECTED,
    "start": State.IN_PROGRESS,
    "request_closure": State.CLOSURE_REQUESTED,
    "approve_closure": State.CLOSED,
    "follow_up": State.FOLLOWED_UP,
    "archive": State.ARCHIVED,
}


def buttons_for(user, case) -> list[tuple[str, str, str]]:
    out = []
    for verb, (label, needs, cap) in BUTTONS.items():
        if not actions.can(user, cap, case):
            continue
        if verb == "return_closure":
            ok = case.state == State.CLOSURE_REQUESTED
        elif verb == "reopen":
            ok = case.state in actions.REOPEN_FROM
        elif verb == "submit_draft":
            ok = case.state == State.DRAFT
        else:
            ok = VERB_TARGET[verb] in actions.allowed_transitions(case)
        if ok:
            out.append((verb, label, needs))
    return out


def _detail(request, case, *, revealed=None, status=200, error="", posted=None):
    user = request.user
    content = queries.sees_content(user, case)
    parties = list(case.parties.all())
    if revealed:
        by_pk = {r.pk: r for r in revealed}
        for p in parties:
            p.revealed = by_pk.get(p.pk)
    handle = actions.can(user, Cap.HANDLE_CASES, case)
    timeline = list(queries.timeline_of(case)) if content else []
    documents = queries.documents_of(case) if any(e.kind == EntryKind.DOCUMENT for e in timeline) else {}
    referrals = queries.referrals_of(case) if content else []
    for r in referrals:
        r.overdue = r.reply_overdue(timezone.localdate())
    for e in timeline:
        e.from_label = _label(State, e.data.get("from"))
        e.to_label = _label(State, e.data.get("to"))
        e.satisfaction_label = _label(Satisfaction, e.data.get("satisfaction"))
        e.document = documents.get(e.data.get("document")) if e.kind == EntryKind.DOCUMENT else None
        model = Party if "party" in e.data else Case
        e.change_list = [
            (_field_label(model, name), pair[0], pair[1])
            for name, pair in (e.data.get("changes") or {}).items()
        ]
    context = {
        "case": case,
        "parties": parties,
        "content": content,
        "account": case.account.reveal() if content and case.account else "",
        "request_text": case.request.reveal() if content and case.request else "",
        "outcome": case.outcome.reveal() if content and case.outcome else "",
        "public_reply": case.public_reply.reveal() if content and case.public_reply else "",
        "timeline": timeline,
        "risk_items": [RISK_LABELS[k] for k in case.risk_checklist],
        "buttons": buttons_for(user, case),
        "handle": handle,
        "can_reveal": actions.can(user, Cap.REVEAL_CASE_IDENTITY, case),
        "can_approve": actions.can(user, Cap.APPROVE_CASES, case),
        "views": list(queries.views_of(case)[:50]) if actions.can(user, Cap.APPROVE_CASES, case) else [],
        "related": list(queries.related_cases(user, case)[:20]) if content else [],
        "action_form": ActionForm(posted if posted and posted.get("verb") == "action" else None),
        "action_kinds": ACTION_KINDS,
        "follow_form": FollowUpForm(),
        "mandatory_choices": MANDATORY_CHOICES,
        "units": list(queries.assignable_units(user, case))
        if handle and "assign" in _assignable(case)
        else [],
        "handlers": queries.handlers_for(user, case.org_unit)
        if handle and "assign" in _assignable(case)
        else [],
        "risks": Risk.choices,
        "can_attach": handle and content and case.state in actions.DOCUMENT_STATES,
        "family_tags": FamilyTag.choices,
        "referrals": referrals,
        "incoming": queries.incoming_referral(user, case) if not handle else None,
        "edit_form": CaseEditForm.for_case(case) if handle and case.state not in FINISHED_STATES else None,
        "refer_form": ReferForm(initial={"sent_on": timezone.localdate()}),
        "transfer_targets": list(queries.transfer_targets(case)) if handle and content else [],
        "today": timezone.localdate(),
        "error": error,
        "posted": posted or {},
        "HIGH": Risk.HIGH,
        "EntryKind": EntryKind,
    }
    response = render(request, "cases/case_detail.html", context, status=status)
    response["Cache-Control"] = "no-store"  # identities and accounts stay out of shared caches and history
    return response


def _field_label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - an old entry naming a field that is gone
        return name


def _label(choices, value) -> str:
    try:
        return choices(value).label if value else ""
    except ValueError:
        return str(value)


def _assignable(case) -> set[str]:
    return {"assign"} if State.ASSIGNED in actions.allowed_transitions(case) else set()


@login_required
def case_detail(request, case_id: int):
    case = queries.access_case(request.user, case_id)
    return _detail(request, case)


@login_required
@require_POST
def reveal(request, case_id: int):
    case = queries.access_case(request.user, case_id)
    try:
        revealed = actions.reveal_identity(request.user, case, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        return _detail(request, case, status=400, error=" ".join(exc.messages), posted=request.POST)
    return _detail(request, case, revealed=revealed)


VERB_DONE = {
    "action": "已记录办理措施。",
    "mandatory_report": "已记录强制报告情况。",
    "risk": "已调整风险等级。",
    "pause": "已暂停计时。",
    "resume": "已恢复计时。",
    "assign": "已分派。",
    "refer": "已记录转介。",
    "reply": "已记录答复。",
    "transfer": "已转办,等待对方接收。",
    "transfer_accept": "已接收转办的案件。",
    "transfer_reject": "已拒收。",
    "transfer_revoke": "已撤回转办。",
    "merge": "已合并重复案件。",
    "update": "已更正案件信息。",
    "party": "已更正当事人信息。",
    "public_reply": "已保存公开答复。",
    "family_tag": "已设置家庭风险标识。",
}


@login_required
@require_POST
def transition(request, case_id: int, verb: str):
    case = queries.access_case(
        request.user, case_id, write=verb not in dispatch.INTAKE_VERBS | dispatch.RECEIVER_VERBS
    )
    try:
        dispatch.run(request.user, case, verb, request.POST)
    except ConflictError as exc:
        case = queries.access_case(request.user, case_id)
        return _detail(request, case, status=409, error=exc.message, posted=request.POST)
    except ValidationError as exc:
        case = queries.access_case(request.user, case_id)  # the action may have changed the object in memory
        return _detail(request, case, status=400, error=" ".join(exc.messages), posted=request.POST)
    label = BUTTONS.get(verb, ("",))[0]
    messages.success(request, VERB_DONE.get(verb) or f"已{label}。")
    return redirect("cases:detail", case.pk)


@login_required
@require_POST
def upload_document(request, case_id: int):
    """A caseworker keeps a document of the case: checked (type sniffed, images re-encoded), then stored
    encrypted. Refusals are shown in Chinese on the case page; nothing is saved."""
    case = queries.access_case(request.user, case_id, write=True)
    uploaded = request.FILES.get("file")
    note = request.POST.get("note", "")
    try:
        if uploaded is None:
            raise ValidationError("请选择要上传的文件。")
        prepared = prepare_upload(
            request.user, uploaded, unit=case.org_unit, allowed=actions.DOCUMENT_KINDS, encrypted=True
        )
        actions.attach_document(request.user, case, prepared=prepared, note=note)
    except ValidationError as exc:
        return _detail(
            request, case, status=400, error=" ".join(exc.messages), posted={"verb": "document", "note": note}
        )
    messages.success(request, "已上传文书(加密保存)。")
    return redirect("cases:detail", case.pk)


@login_required
def document_download(request, case_id: int, document_id: int):
    """One document, decrypted, through the case's access check (404 for anyone who may not read the case's
    content); every download is audited."""
    document = queries.access_document(request.user, case_id, document_id)
    actions.record_document_download(request.user, document)
    response = file_response(document.file, as_attachment=True)
    response["Cache-Control"] = "no-store"
    return response


# --- public: help request and tracking (no account) ---------------------------------------------------------------


def _public_units():
    from fulian.orgs.models import Kind, OrgUnit

    return (
        OrgUnit.objects.filter(kind__in=[Kind.COUNTY, Kind.TOWNSHIP, Kind.STREET], closed_on__isnull=True)
        .order_by("path")
        .only("id", "name", "path", "depth")
    )


def public_help(request):
    form = PublicHelpForm(_public_units(), request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                case, code, pin = actions.public_help_request(
                    unit=d["unit"],
                    ip=client_ip(request),
                    name=d["affected_name"],
                    phone=d["affected_phone"],
                    safe_time=d["affected_safe_time"],
                    may_leave_message=d["affected_may_leave_message"],
                    category=d["category"],
                    account=d["account"],
                    request=d["request"],
                    consent_store=d["consent_store"],
                    consent_refer=d["consent_refer"],
                    consent_contact=d["consent_contact"],
                )
            except actions.RateLimited as exc:
                form.add_error(None, exc.messages)
                status = 429
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                response = render(request, "cases/public_done.html", {"code": code, "pin": pin})
                response["Cache-Control"] = "no-store"
                return response
        if status == 200:
            status = 400
    return render(request, "cases/public_help.html", {"form": form}, status=status)


def public_track(request):
    form = TrackForm(request.POST or None)
    result, status = None, 200
    if request.method == "POST" and form.is_valid():
        try:
            result = actions.track(form.cleaned_data["code"], form.cleaned_data["pin"], ip=client_ip(request))
        except actions.RateLimited as exc:
            form.add_error(None, exc.messages)
            status = 429
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            status = 400
    response = render(request, "cases/public_track.html", {"form": form, "result": result}, status=status)
    response["Cache-Control"] = "no-store"
    return response


# --- export ---------------------------------------------------------------------------------------------------

EXPORT_HEADERS = [
    "案件编号",
    "登记时间",
    "渠道",
    "类别",
    "子类别",
    "风险等级",
    "状态",
    "承办单位",
    "当事人(脱敏)",
    "电话(脱敏)",
    "涉未成年人",
    "首次联系时限",
    "首次联系时间",
    "办理时限",
    "办结时间",
    "回访满意度",
]


def _filter_from(data: dict) -> queries.CaseFilter:
    return queries.CaseFilter(
        state=data.get("state") or "all",
        risk=data.get("risk"),
        channel=data.get("channel") or "",
        overdue=bool(data.get("overdue")),
    )


@login_required
def export_request(request):
    """A leader asks for an export with a reason; she gets a one-time link valid for a few minutes and, once, the
    password of the file."""
    user = request.user
    if not scope_for(user, Cap.APPROVE_CASES):
        raise PermissionDenied("只有主席(分管领导)可以导出维权案件。")
    form = CaseFilterForm(request.POST or request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = {k: data.get(k) for k in ("state", "risk", "channel", "overdue")}
    can_reveal = bool(scope_for(user, Cap.REVEAL_CASE_IDENTITY))
    export, password, error, status = None, "", "", 200
    if request.method == "POST":
        try:
            export = actions.request_export(
                user,
                reason=request.POST.get("reason", ""),
                filters=filters,
                reveal=request.POST.get("reveal") == "1",
                reveal_reason=request.POST.get("reveal_reason", ""),
            )
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
        else:
            password = actions.export_password(export)
    context = {
        "form": form,
        "export": export,
        "password": password,
        "revealed": export is not None and actions.export_reveals(export),
        "can_reveal": can_reveal,
        "posted": request.POST if status == 400 else {},
        "error": error,
        "minutes": actions.EXPORT_LINK_MINUTES,
    }
    response = render(request, "cases/export.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the password is on this page: never from a cache or history
    return response


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def _party_cells(case, revealed: bool) -> list[str]:
    party = case.display_party
    if party is None:
        return ["匿名", ""]
    if revealed:
        return [party.name.reveal() if party.name else "匿名", party.phone.reveal() if party.phone else ""]
    return [str(party.name or "匿名"), str(party.phone or "")]


@login_required
def export_download(request, token: str):
    user = request.user
    export = CaseExport.objects.filter(token=token, user=user).first()
    if export is None:
        raise deny(user, "cases.caseexport", token[:16], Cap.APPROVE_CASES)
    cases = list(queries.cases_of(user, _filter_from(export.filters)))
    try:
        revealed = actions.mark_exported(user, export, cases=cases)
    except ValidationError as exc:
        return render(request, "cases/export.html", {"error": " ".join(exc.messages)}, status=410)
    queries.attach_parties(cases)
    rows = (
        [
            c.number,
            _local(c.created_at),
            c.get_channel_display(),
            c.category.name,
            c.subcategory.name if c.subcategory else "",
            c.get_risk_display(),
            c.get_state_display(),
            c.org_unit.name,
            *_party_cells(c, c.pk in revealed),
            "是" if c.involves_minor else "否",
            _local(c.first_contact_due),
            _local(c.first_contact_at),
            _local(c.handling_due),
            _local(c.closed_at),
            c.get_satisfaction_display() if c.satisfaction else "",
        ]
        for c in cases
    )
    headers = EXPORT_HEADERS
    title = f"维权案件(导出原因:{export.reason})"
    if revealed:
        headers = [{"当事人(脱敏)": "当事人", "电话(脱敏)": "电话"}.get(h, h) for h in EXPORT_HEADERS]
        title = f"维权案件(导出原因:{export.reason};含身份信息,仅限工作使用)"
    content = workbook_bytes("维权案件", headers, rows, title=title)
    content = encrypt_workbook(content, actions.export_password(export))
    response = xlsx_response(content, f"维权案件-{timezone.localdate():%Y%m%d}.xlsx")
    response["Cache-Control"] = "no-store"
    return response
