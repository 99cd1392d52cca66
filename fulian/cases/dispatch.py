"""One dispatcher from a verb and its posted values to the action: shared by the pages and the API."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError

from . import actions, queries
from .forms import PARTY_TEXT_FIELDS, ActionForm, CaseEditForm, ReferForm, ReplyForm
from .models import Case, Referral

VERBS = (
    "submit_draft",
    "accept",
    "reject",
    "assign",
    "start",
    "request_closure",
    "approve_closure",
    "return_closure",
    "follow_up",
    "archive",
    "reopen",
    "mandatory_report",
    "risk",
    "pause",
    "resume",
    "action",
    "refer",
    "reply",
    "transfer",
    "transfer_accept",
    "transfer_reject",
    "transfer_revoke",
    "merge",
    "update",
    "party",
    "public_reply",
    "family_tag",
)
INTAKE_VERBS = {"submit_draft"}
# the receiving unit decides on a transfer: it sees the case through the pending transfer, not by owning it
RECEIVER_VERBS = {"transfer_accept", "transfer_reject"}


def _form_data(form_class, post: Mapping):
    form = form_class({k: post.get(k) for k in form_class.base_fields})
    if not form.is_valid():
        raise ValidationError({k: list(v) for k, v in form.errors.items()})
    return form.cleaned_data


def _referral(case: Case, post: Mapping, **filters) -> Referral:
    referral = (
        Referral.objects.filter(case=case, pk=_int(post.get("referral")), **filters)
        .select_related("case", "case__org_unit", "case__category", "to_unit", "from_unit")
        .first()
    )
    if referral is None:
        raise ValidationError("该转办/转介不存在或已处理。")
    return referral


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def run(user, case: Case, verb: str, post: Mapping):
    """Parse the posted values of one verb and call its action (ValidationError / ConflictError pass through)."""
    version = _int(post.get("version"))
    if verb == "submit_draft":
        return actions.submit_draft(user, case, expected_version=version)
    if verb == "accept":
        return actions.accept(user, case, expected_version=version)
    if verb == "reject":
        return actions.reject(user, case, reason=post.get("reason", ""), expected_version=version)
    if verb == "start":
        return actions.start(user, case, expected_version=version)
    if verb == "assign":
        unit = queries.assignable_units(user, case).filter(pk=_int(post.get("unit"))).first()
        assignee = None
        if post.get("user"):
            assignee = next(
                (h for h in queries.handlers_for(user, unit or case.org_unit) if h.pk == _int(post["user"])),
                None,
            )
            if assignee is None:
                raise ValidationError({"user": ["请选择该单位或其上级的维权专干。"]})
        return actions.assign(user, case, unit=unit, user=assignee, expected_version=version)
    if verb == "request_closure":
        return actions.request_closure(
            user,
            case,
            outcome=post.get("outcome", ""),
            written_reply=bool(post.get("written_reply")),
            expected_version=version,
        )
    if verb == "approve_closure":
        return actions.approve_closure(user, case, expected_version=version)
    if verb == "return_closure":
        return actions.return_closure(user, case, reason=post.get("reason", ""), expected_version=version)
    if verb == "follow_up":
        return actions.follow_up(
            user,
            case,
            satisfaction=post.get("satisfaction", ""),
            comment=post.get("comment", ""),
            expected_version=version,
        )
    if verb == "archive":
        return actions.archive(user, case, expected_version=version)
    if verb == "reopen":
        return actions.reopen(user, case, reason=post.get("reason", ""), expected_version=version)
    if verb == "mandatory_report":
        return actions.answer_mandatory_report(
            user, case, answer=post.get("answer", ""), note=post.get("note", ""), expected_version=version
        )
    if verb == "risk":
        return actions.set_risk(
            user, case, risk=_int(post.get("risk")), reason=post.get("reason", ""), expected_version=version
        )
    if verb == "pause":
        return actions.pause_clock(user, case, reason=post.get("reason", ""), expected_version=version)
    if verb == "resume":
        return actions.resume_clock(user, case, expected_version=version)
    if verb == "action":
        d = _form_data(ActionForm, post)
        return actions.record_action(
            user, case, kind=d["kind"], text=d["text"], occurred_on=d["occurred_on"], result=d["result"]
        )
    if verb == "refer":
        d = _form_data(ReferForm, post)
        return actions.refer_external(user, case, **d)
    if verb == "reply":
        d = _form_data(ReplyForm, post)
        referral = _referral(case, post, to_unit__isnull=True)
        return actions.record_reply(user, referral, replied_on=d["replied_on"], reply=d["reply"])
    if verb == "transfer":
        to_unit = queries.transfer_targets(case).filter(pk=_int(post.get("to_unit"))).first()
        if to_unit is None:
            raise ValidationError({"to_unit": ["请选择接收单位。"]})
        return actions.transfer(
            user,
            case,
            to_unit=to_unit,
            note=post.get("note", ""),
            override_reason=post.get("override_reason", ""),
        )
    if verb == "transfer_accept":
        return actions.accept_transfer(user, _referral(case, post, to_unit__isnull=False))
    if verb == "transfer_reject":
        referral = _referral(case, post, to_unit__isnull=False)
        return actions.reject_transfer(user, referral, reason=post.get("reason", ""))
    if verb == "transfer_revoke":
        return actions.revoke_transfer(user, _referral(case, post, to_unit__isnull=False))
    if verb == "update":
        return actions.update_case(user, case, expected_version=version, **_form_data(CaseEditForm, post))
    if verb == "party":
        party = case.parties.filter(pk=_int(post.get("party"))).first()
        if party is None:
            raise ValidationError("当事人不存在。")
        party.case = case
        changes = {k: str(post.get(k) or "").strip() for k in PARTY_TEXT_FIELDS}
        changes["may_leave_message"] = bool(post.get("may_leave_message"))
        return actions.update_party(user, party, expected_version=version, **changes)
    if verb == "public_reply":
        return actions.set_public_reply(user, case, reply=post.get("reply", ""), expected_version=version)
    if verb == "family_tag":
        return actions.set_family_tag(user, case, tag=post.get("tag", ""), expected_version=version)
    if verb == "merge":
        duplicate = queries.related_cases(user, case).filter(pk=_int(post.get("duplicate"))).first()
        if duplicate is None:
            raise ValidationError("请选择同一当事人的另一件案件。")
        return actions.merge_cases(user, keep=case, duplicate=duplicate, reason=post.get("reason", ""))
    raise PermissionDenied("不支持的操作。")
