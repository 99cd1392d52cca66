"""Every write to cases. Each takes the acting user first (None = the system) and runs in a transaction; each
step is a timeline entry (who, when, what) and an audit event. Audit events and timeline ``data`` never carry a
name, number, address or account text: those stay encrypted in their columns.

Transitions follow ``TRANSITIONS``; anything else is a ValidationError in Chinese. Every change of a case's
row checks the version the actor read (``expected_version``) under a row lock: a second worker acting on a
stale page gets ConflictError instead of overwriting the first.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fulian.accounts.models import User
from fulian.accounts.roles import Cap, Role
from fulian.accounts.scope import home_unit, scope_for
from fulian.audit.actions import Where, pin_lane, record
from fulian.files.actions import PreparedUpload, save_prepared
from fulian.lib import lean
from fulian.lib.crypto import mask
from fulian.lib.idcard import InvalidNumber, parse_id_number, validate_phone
from fulian.lib.sensitive import blind_index
from fulian.notify.actions import notify
from fulian.orgs.actions import ConflictError
from fulian.orgs.models import OrgUnit
from fulian.throttle.limits import RateLimited, hit, over

from . import triage
from .models import (
    ACTION_KINDS,
    FINISHED_STATES,
    Agency,
    Case,
    CaseCategory,
    CaseCounter,
    CaseDocument,
    CaseExport,
    CaseView,
    Channel,
    EntryKind,
    FamilyTag,
    Holiday,
    IntakeDraft,
    MandatoryReport,
    Party,
    PartyRole,
    Referral,
    ReferralState,
    Risk,
    Satisfaction,
    State,
    TimelineEntry,
    overdue_condition,
)

MAX_ACCOUNT_CHARS = 20000
MAX_SHORT_TEXT = 2000
HARASSMENT_CODE = "sexual_harassment"

# from → the states a plain transition may reach. Reopening (from a finished state back to work) is not in
# here: only ``reopen`` with a reason does it.
TRANSITIONS: dict[str, frozenset[str]] = {
    State.DRAFT: frozenset({State.REGISTERED}),
    State.REGISTERED: frozenset({State.ACCEPTED, State.REJECTED}),
    State.ACCEPTED: frozenset({State.ASSIGNED, State.IN_PROGRESS}),
    State.ASSIGNED: frozenset({State.ASSIGNED, State.IN_PROGRESS}),
    State.IN_PROGRESS: frozenset({State.ASSIGNED, State.CLOSURE_REQUESTED}),
    State.CLOSURE_REQUESTED: frozenset({State.CLOSED, State.IN_PROGRESS}),
    State.CLOSED: frozenset({State.FOLLOWED_UP, State.REVIEW, State.ARCHIVED}),
    State.FOLLOWED_UP: frozenset({State.ARCHIVED}),
    State.REVIEW: frozenset({State.ARCHIVED}),
    State.REJECTED: frozenset({State.ARCHIVED}),
    State.ARCHIVED: frozenset(),
}
REOPEN_FROM = frozenset({State.REJECTED, State.CLOSED, State.FOLLOWED_UP, State.REVIEW, State.ARCHIVED})
# Actions of the handling work can be recorded while the case is being worked on.
ACTION_STATES = frozenset(
    {State.ACCEPTED, State.ASSIGNED, State.IN_PROGRESS, State.CLOSURE_REQUESTED, State.REVIEW}
)
# recorded actions that hand the woman's story to someone else: only with her consent to refer
REFERRAL_ACTION_KINDS = frozenset({EntryKind.LEGAL_AID, EntryKind.SHELTER})
NOTE_STATES = ACTION_STATES | {State.REGISTERED, State.CLOSED, State.FOLLOWED_UP}

# the result choices of an action, per kind (kept in the timeline entry's data)
ACTION_RESULTS: dict[str, list[str]] = {
    EntryKind.CONTACT: ["已联系上", "未接通", "不便通话,另约时间"],
    EntryKind.CONSULTATION: ["已解答", "需进一步跟进"],
    EntryKind.MEDIATION: ["调解成功,达成协议", "部分达成", "调解未成功"],
    EntryKind.LEGAL_AID: ["已转介,待回复", "已受理", "不予受理"],
    EntryKind.SHELTER: ["已安置", "当事人拒绝", "暂无床位"],
    EntryKind.PROTECTION_ORDER: ["已提交申请", "法院已签发", "法院驳回"],
    EntryKind.POLICE_WARNING: ["已报警", "公安已出具告诫书", "公安未出具"],
    EntryKind.VISIT: ["已走访", "未见到当事人"],
    EntryKind.NOTE: [],
}


def transition_error(case: Case, to: str) -> ValidationError:
    current, target = State(case.state).label, State(to).label
    hint = "如需继续办理,请由主席填写原因后重新打开。" if case.state in REOPEN_FROM else ""
    return ValidationError(f"案件当前状态为“{current}”,不能变更为“{target}”。{hint}", code="transition")


def allowed_transitions(case: Case) -> frozenset[str]:
    return TRANSITIONS.get(case.state, frozenset())


# --- permission helpers ------------------------------------------------------------------------------------------


def can(actor, cap: Cap, case_or_unit) -> bool:
    if actor is None:
        return True
    unit = case_or_unit.org_unit if isinstance(case_or_unit, Case) else case_or_unit
    return scope_for(actor, cap).contains(unit)


def _require(actor, cap: Cap, case_or_unit, message: str) -> None:
    if not can(actor, cap, case_or_unit):
        raise PermissionDenied(message)


# --- the calendar -------------------------------------------------------------------------------------------------


def calendar_between(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    """{date: is a working day} for the calendar's exceptions from ``start`` to ``end`` (inclusive): one lean
    statement (read by every intake for its deadlines)."""
    with lean.cursor() as cursor:
        adapt = connection.ops.adapt_datefield_value
        cursor.execute(_CALENDAR_SQL, [adapt(start), adapt(end)])
        rows = cursor.fetchall()
    return _calendar_of(rows)


def _calendar_of(rows, start: int = 0) -> dict[dt.date, bool]:
    """{date: is a working day} from rows holding the calendar's columns (``_CALENDAR_COLUMNS``) at ``start``;
    a row whose holiday is NULL (the missing side of a LEFT JOIN) adds nothing."""
    holidays = (lean.build(Holiday, row, start)[0] for row in rows)
    return {h.date: h.is_workday for h in holidays if h is not None}


# the calendar's columns and the condition of a window, on the alias h (identifiers from the metadata only)
_CALENDAR_COLUMNS = lean.columns(Holiday, "h")
_CALENDAR_TABLE = f'"{Holiday._meta.db_table}" h'
_CALENDAR_WINDOW = 'h."date" >= %s AND h."date" <= %s'
_CALENDAR_SQL = f"SELECT {_CALENDAR_COLUMNS} FROM {_CALENDAR_TABLE} WHERE {_CALENDAR_WINDOW}"  # noqa: S608


CALENDAR_DAYS = 60  # the calendar's exceptions read for a deadline: far beyond the longest working-day count


def deadlines(
    received: dt.datetime, risk: int, calendar: Mapping[dt.date, bool] | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """(first-contact due, handling due) for a case received at ``received`` with ``risk``; ``calendar``: the
    calendar's exceptions from that day on, when the caller has read them already (``calendar_between``)."""
    local = timezone.localtime(received)
    if calendar is None:
        calendar = calendar_between(local.date(), local.date() + dt.timedelta(days=CALENDAR_DAYS))
    first = triage.first_contact_due(
        local,
        risk,
        calendar,
        high_hours=getattr(settings, "CASES_FIRST_CONTACT_HOURS_HIGH", 24),
        working_days=getattr(settings, "CASES_FIRST_CONTACT_WORKING_DAYS", 3),
    )
    return first, triage.handling_due(local, days=getattr(settings, "CASES_HANDLING_DAYS", 30))


# --- validation of an intake ---------------------------------------------------------------------------------------

PARTY_FIELDS = (
    "role",
    "anonymous",
    "name",
    "phone",
    "id_number",
    "address",
    "gender",
    "age_group",
    "relation",
    "has_disability",
    "safe_phone",
    "safe_time",
    "may_leave_message",
)


def _clean_text(value, limit: int, label: str, key: str, errors: dict) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if len(text) > limit:
        errors.setdefault(key, []).append(f"{label}不能超过{limit}字(现在{len(text)}字)。")
    elif any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
        errors.setdefault(key, []).append(f"{label}中含有不可见的控制字符,请重新填写。")
    return text


def clean_party(index: int, raw: Mapping, errors: dict, today: dt.date) -> dict:
    """One party's values, validated and normalised; errors keyed ``<role>_<field>`` (the intake form's names)."""
    unknown = set(raw) - set(PARTY_FIELDS)
    if unknown:
        raise ValueError(f"unknown party fields: {sorted(unknown)}")
    role = raw.get("role", "")
    if role not in PartyRole.values:
        errors.setdefault(f"parties_{index}", []).append("当事人身份无效。")
        role = PartyRole.AFFECTED
    prefix = role
    out = {"role": role}
    out["anonymous"] = bool(raw.get("anonymous"))
    out["name"] = _clean_text(raw.get("name"), 50, "姓名", f"{prefix}_name", errors)
    for key, label in (("phone", "电话"), ("safe_phone", "安全联系电话")):
        value = (raw.get(key) or "").strip()
        if value:
            try:
                value = validate_phone(value)
            except InvalidNumber as exc:
                errors.setdefault(f"{prefix}_{key}", []).append(f"{label}:{exc.message}")
        out[key] = value
    id_number = (raw.get("id_number") or "").strip()
    out["age"] = None
    if id_number:
        try:
            parsed = parse_id_number(id_number, today=today)
        except InvalidNumber as exc:
            errors.setdefault(f"{prefix}_id_number", []).append(exc.message)
        else:
            id_number = parsed.number
            out["age"] = parsed.age_on(today)
            out.setdefault("gender_from_id", parsed.gender)
    out["id_number"] = id_number
    out["address"] = _clean_text(raw.get("address"), 200, "住址", f"{prefix}_address", errors)
    out["gender"] = raw.get("gender") or out.pop("gender_from_id", "")
    out.pop("gender_from_id", None)
    if out["gender"] not in ("", "F", "M"):
        errors.setdefault(f"{prefix}_gender", []).append("性别无效。")
    out["age_group"] = raw.get("age_group") or ""
    if out["age"] is not None and not out["age_group"]:
        age = out["age"]
        out["age_group"] = (
            "child" if age < 18 else "young" if age <= 35 else "middle" if age < 60 else "senior"
        )
    if out["age_group"] not in ("", "child", "young", "middle", "senior"):
        errors.setdefault(f"{prefix}_age_group", []).append("年龄段无效。")
    out["relation"] = _clean_text(raw.get("relation"), 20, "与当事人关系", f"{prefix}_relation", errors)
    out["has_disability"] = bool(raw.get("has_disability"))
    out["safe_time"] = _clean_text(raw.get("safe_time"), 50, "方便联系的时间", f"{prefix}_safe_time", errors)
    out["may_leave_message"] = bool(raw.get("may_leave_message"))
    if out["anonymous"]:
        out["name"] = ""
    return out


def _is_violence(category: CaseCategory, subcategory: CaseCategory | None, checklist: Iterable[str]) -> bool:
    return (
        category.is_violence
        or (subcategory is not None and subcategory.is_violence)
        or bool(set(checklist) & {"threat_to_kill", "strangulation", "weapon", "injury"})
    )


@dataclass
class IntakeData:
    unit: OrgUnit
    channel: str
    category: CaseCategory
    subcategory: CaseCategory | None
    parties: list[dict]
    account: str
    request: str
    risk_checklist: list[str]
    risk: int
    risk_suggested: int
    involves_minor: bool
    involves_disability: bool
    lacks_capacity: bool
    consent_store: bool
    consent_refer: bool
    consent_contact: bool
    danger_words: int = 0  # how many distinct danger words the account holds
    extra: dict = field(default_factory=dict)


def validate_intake(
    actor,
    *,
    unit: OrgUnit,
    channel: str,
    category: CaseCategory | None,
    subcategory: CaseCategory | None = None,
    parties: Iterable[Mapping] = (),
    account: str = "",
    request: str = "",
    risk_checklist: Iterable[str] = (),
    risk: int | None = None,
    involves_minor: bool = False,
    involves_disability: bool = False,
    lacks_capacity: bool = False,
    consent_store: bool = False,
    consent_refer: bool = False,
    consent_contact: bool = False,
) -> IntakeData:
    """All the rules of an intake, whether typed, pushed through the API or imported (ValidationError)."""
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if channel not in Channel.values:
        errors.setdefault("channel", []).append("请选择来源渠道。")
    if category is None or category.parent_id is not None or not category.active:
        errors.setdefault("category", []).append("请选择案件类别。")
    elif subcategory is not None and (subcategory.parent_id != category.pk or not subcategory.active):
        errors.setdefault("subcategory", []).append(f"子类别必须属于“{category.name}”。")
    if unit.closed_on is not None and unit.closed_on <= today:
        errors.setdefault("unit", []).append(f"“{unit.name}”已撤销,请选择现在的单位。")
    cleaned = [clean_party(i, p, errors, today) for i, p in enumerate(parties)]
    cleaned = [
        p
        for p in cleaned
        if p["role"] == PartyRole.CALLER
        or p["anonymous"]
        or any(p[k] for k in ("name", "phone", "id_number", "address", "relation", "safe_phone"))
    ]
    if not any(p["role"] in (PartyRole.CALLER, PartyRole.AFFECTED) for p in cleaned):
        errors.setdefault("caller_name", []).append("请至少登记来电人或当事人(可以匿名)。")
    account = _clean_text(account, MAX_ACCOUNT_CHARS, "情况陈述", "account", errors)
    request = _clean_text(request, MAX_SHORT_TEXT, "诉求", "request", errors)
    try:
        checklist = triage.check_risk_items(risk_checklist)
    except ValueError:
        errors.setdefault("risk_checklist", []).append("风险评估项无效。")
        checklist = []
    if risk is not None and risk not in Risk.values:
        errors.setdefault("risk", []).append("风险等级无效。")
        risk = None
    if errors:
        raise ValidationError(errors)
    affected = [p for p in cleaned if p["role"] == PartyRole.AFFECTED] or [
        p for p in cleaned if p["role"] == PartyRole.CALLER
    ]
    involves_minor = involves_minor or any(p["age_group"] == "child" for p in affected)
    involves_disability = involves_disability or any(p["has_disability"] for p in affected)
    found = triage.danger_words(account)  # segmenting the account is the costly part: once per intake
    suggested = triage.suggest_risk(checklist, account, found=found)
    return IntakeData(
        unit=unit,
        channel=channel,
        category=category,
        subcategory=subcategory,
        parties=cleaned,
        account=account,
        request=request,
        risk_checklist=checklist,
        risk=risk if risk is not None else suggested,
        risk_suggested=suggested,
        involves_minor=involves_minor,
        involves_disability=involves_disability,
        lacks_capacity=bool(lacks_capacity),
        consent_store=bool(consent_store),
        consent_refer=bool(consent_refer),
        consent_contact=bool(consent_contact),
        danger_words=len(found),
    )


# --- numbering -------------------------------------------------------------------------------------------------


def unit_number_code(unit: OrgUnit) -> str:
    return unit.code or f"U{unit.pk}"


COUNTER_SQL = (
    "UPDATE cases_casecounter SET last = last + 1 WHERE org_unit_id = %s AND year = %s RETURNING last"
)


def _number_text(unit: OrgUnit, year: int, sequence: int) -> str:
    return f"WQ-{unit_number_code(unit)}-{year}-{sequence:06d}"


# PostgreSQL: the counter's increment and the calendar's exceptions of the deadlines in one statement (one round
# trip per intake less); no row when the unit has no counter for the year yet
_COUNTER_CALENDAR_SQL = (
    f'WITH c AS ({COUNTER_SQL}) SELECT c."last", {_CALENDAR_COLUMNS} '  # noqa: S608 (metadata only)
    f"FROM c LEFT JOIN {_CALENDAR_TABLE} ON {_CALENDAR_WINDOW}"
)


def _counter_and_calendar(
    unit: OrgUnit, year: int, start: dt.date, end: dt.date
) -> tuple[int, dict[dt.date, bool]] | None:
    """``next_number``'s increment and ``calendar_between(start, end)`` in one statement (PostgreSQL): the new
    sequence number and the calendar, or None when the unit has no counter row for ``year``."""
    with lean.cursor() as cursor:
        cursor.execute(_COUNTER_CALENDAR_SQL, [unit.pk, year, start, end])
        rows = cursor.fetchall()
    if not rows:
        return None
    return rows[0][0], _calendar_of(rows, 1)


def next_number(unit: OrgUnit, year: int) -> tuple[int, str]:
    """The next sequence number of ``unit`` in ``year``. Must run inside the intake's transaction: the counter row
    stays locked until it commits, so concurrent intakes queue here, and a failed intake gives its number back."""
    with lean.cursor() as cursor:  # one statement: increment and read under the row lock it takes
        cursor.execute(COUNTER_SQL, [unit.pk, year])
        row = cursor.fetchone()
    if row is not None:
        last = row[0]
    else:  # the unit's first case of the year
        counter, _ = CaseCounter.objects.select_for_update().get_or_create(org_unit=unit, year=year)
        counter.last += 1
        counter.save(update_fields=["last"])
        last = counter.last
    return last, _number_text(unit, year, last)


# --- intake ------------------------------------------------------------------------------------------------------


def _entry_row(actor, case: Case, kind: str, *, text: str = "", data: dict | None = None, occurred_on=None):
    return TimelineEntry(
        case=case,
        actor=actor if actor is not None and actor.is_authenticated else None,
        kind=kind,
        text=text,
        data=data or {},
        occurred_on=occurred_on,
    )


def _entry(actor, case: Case, kind: str, *, text: str = "", data: dict | None = None, occurred_on=None):
    entry = _entry_row(actor, case, kind, text=text, data=data, occurred_on=occurred_on)
    lean.insert(entry)  # append-only: one plain INSERT (every action writes one)
    return entry


def _audit(actor, verb: str, case: Case, detail: dict | None = None) -> None:
    record(
        actor,
        f"cases.case.{verb}",
        obj=case,
        where=Where.of(case.org_unit),
        detail={"number": case.number or "", "state": case.state, **(detail or {})},
    )


def _handlers(unit: OrgUnit, *, levels: int = 2, roles=(Role.CASEWORKER, Role.LEADER)) -> list[User]:
    """Caseworkers and leaders of ``unit`` and the ``levels - 1`` levels above (who must know of 高危)."""
    units = [unit.path, *reversed(unit.ancestor_paths())][:levels]
    return list(
        User.objects.filter(
            is_active=True, memberships__org_unit__path__in=units, memberships__role__in=list(roles)
        ).distinct()
    )


def _notify_high_risk(case: Case) -> None:
    if case.risk < Risk.HIGH:
        return
    pin_lane(Where.of(case.org_unit))  # notify's own event: in this case's lane
    notify(
        _handlers(case.org_unit),
        kind="cases.high_risk",
        title=f"高危维权案件 {case.number} 需在24小时内联系",
        body=f"{case.org_unit.name}登记了一件高危案件({case.category.name}),请尽快处理。",
        url=f"/cases/{case.pk}/",
        dedupe_key=f"cases.high_risk.{case.pk}",
    )


def intake_case(actor, *, unit: OrgUnit, draft: bool = False, **values) -> Case:
    """Register a case (or save a draft) at ``unit``; the actor needs INTAKE_CASES over the unit.

    ``values``: the keyword arguments of ``validate_intake`` (channel, category, subcategory, parties — a list
    of dicts with ``PARTY_FIELDS`` —, account, request, risk_checklist, risk, involves_minor …, consent_*).
    The returned case carries ``party_list`` (its parties, as created).

    The permission and the validation (which raise) run before the transaction; the writes run in one with no
    savepoint of its own inside a caller's (the API's idempotency transaction): a failed write fails the
    caller's transaction too, and two round trips per intake are saved.
    """
    _require(actor, Cap.INTAKE_CASES, unit, "您没有在该单位登记维权案件的权限。")
    data = validate_intake(actor, unit=unit, **values)
    with transaction.atomic(savepoint=False):
        return _intake(actor, unit=unit, draft=draft, values=values, data=data)


def _intake(
    actor,
    *,
    unit: OrgUnit,
    draft: bool,
    values: Mapping,
    tracking: tuple[str, str] | None = None,
    data: IntakeData | None = None,
):
    """The intake (inside the caller's transaction). The audit event is its last statement: ``record`` locks the
    audit chain until the transaction commits, so nothing may run after it that need not. ``data``: the
    intake already checked and validated by the caller."""
    if data is None:
        _require(actor, Cap.INTAKE_CASES, unit, "您没有在该单位登记维权案件的权限。")
        data = validate_intake(actor, unit=unit, **values)
    now = timezone.now()
    case = Case(
        registered_unit=unit,
        org_unit=unit,
        channel=data.channel,
        category=data.category,
        subcategory=data.subcategory,
        state=State.DRAFT if draft else State.REGISTERED,
        risk=data.risk,
        risk_suggested=data.risk_suggested,
        risk_checklist=data.risk_checklist,
        involves_minor=data.involves_minor,
        involves_disability=data.involves_disability,
        lacks_capacity=data.lacks_capacity,
        consent_store=data.consent_store,
        consent_refer=data.consent_refer,
        consent_contact=data.consent_contact,
        account=data.account,
        request=data.request,
        mandatory_report_required=(data.involves_minor or data.lacks_capacity)
        and _is_violence(data.category, data.subcategory, data.risk_checklist),
        created_by=actor if actor is not None else None,
    )
    if tracking is not None:
        case.tracking_code, case.tracking_pin_hash = tracking
    if not draft:
        _number(case, now)
    # the case, its parties and its first timeline entry as plain INSERTs, in one statement on PostgreSQL (no ORM
    # compilation; the same prepared values, encryption and blind indexes included — Case has no save() override
    # nor signal receivers, and bulk_create sends none)
    case.party_list = [
        Party(case=case, **{k: v for k, v in p.items() if k in PARTY_FIELDS}) for p in data.parties
    ]
    entry = _entry_row(
        actor,
        case,
        EntryKind.INTAKE,
        data={
            "channel": case.channel,
            "risk": case.risk,
            "risk_suggested": case.risk_suggested,
            "draft": draft,
            "danger_words": data.danger_words,
        },
    )
    lean.insert_family(case, case.party_list, [entry])
    if not draft:
        _notify_high_risk(case)
    _audit(actor, "draft" if draft else "intake", case, {"risk": case.risk, "channel": case.channel})
    return case


def _number(case: Case, now: dt.datetime) -> None:
    local = timezone.localtime(now)
    case.year = year = local.year
    unit, calendar = case.registered_unit, None
    if connection.vendor == "postgresql":
        found = _counter_and_calendar(
            unit, year, local.date(), local.date() + dt.timedelta(days=CALENDAR_DAYS)
        )
        if found is not None:
            case.sequence, calendar = found
            case.number = _number_text(unit, year, case.sequence)
    if calendar is None:
        case.sequence, case.number = next_number(unit, year)
    case.first_contact_due, case.handling_due = deadlines(now, case.risk, calendar)


# --- the state machine --------------------------------------------------------------------------------------------


def _lock(case: Case, expected_version: int) -> None:
    """Lock the row and check nobody saved since ``expected_version`` was read (ConflictError otherwise)."""
    current = Case.objects.select_for_update().filter(pk=case.pk).values_list("version", flat=True).first()
    if current is None or current != expected_version or case.version != expected_version:
        raise ConflictError()


def _save(case: Case, fields: Iterable[str]) -> None:
    case.version += 1
    case.save(update_fields=[*fields, "version", "updated_at"])


def _move(actor, case: Case, to: str, *, fields=(), text: str = "", data=None, verb="", then=None):
    """Change the state (the caller has locked the row and checked the version with ``_lock``); ``then``: more
    work of the action (a notification) before its audit event, which comes last."""
    if to not in allowed_transitions(case):
        raise transition_error(case, to)
    before = case.state
    case.state = to
    _save(case, ["state", *fields])
    _entry(actor, case, EntryKind.TRANSITION, text=text, data={"from": before, "to": to, **(data or {})})
    if then is not None:
        then()
    _audit(actor, verb or to, case, {"from": before, **(data or {})})
    return case


def _required_text(value: str, key: str, message: str, limit: int = MAX_SHORT_TEXT) -> str:
    errors: dict = {}
    text = _clean_text(value, limit, "内容", key, errors)
    if not text:
        errors.setdefault(key, []).append(message)
    if errors:
        raise ValidationError(errors)
    return text


@transaction.atomic
def submit_draft(actor, case: Case, *, expected_version: int) -> Case:
    """A draft becomes a registered case: numbered now, deadlines from now."""
    _require(actor, Cap.INTAKE_CASES, case, "您没有登记维权案件的权限。")
    _lock(case, expected_version)
    if case.state != State.DRAFT:
        raise transition_error(case, State.REGISTERED)
    _number(case, timezone.now())
    case.state = State.REGISTERED
    _save(case, ["state", "year", "sequence", "number", "first_contact_due", "handling_due"])
    _entry(actor, case, EntryKind.TRANSITION, data={"from": State.DRAFT, "to": State.REGISTERED})
    _notify_high_risk(case)
    _audit(actor, "intake", case, {"risk": case.risk, "channel": case.channel, "from_draft": True})
    return case


@transaction.atomic
def accept(actor, case: Case, *, expected_version: int) -> Case:
    _require(actor, Cap.HANDLE_CASES, case, "您没有受理维权案件的权限。")
    _lock(case, expected_version)
    return _move(actor, case, State.ACCEPTED, verb="accept")


@transaction.atomic
def reject(actor, case: Case, *, reason: str, expected_version: int) -> Case:
    _require(actor, Cap.HANDLE_CASES, case, "您没有受理维权案件的权限。")
    _lock(case, expected_version)
    reason = _required_text(reason, "reason", "请填写不予受理的原因。")
    return _move(actor, case, State.REJECTED, text=reason, verb="reject")


@transaction.atomic
def assign(
    actor, case: Case, *, expected_version: int, unit: OrgUnit | None = None, user: User | None = None
) -> Case:
    """Dispatch (派单) to a unit of the actor's subtree and/or a caseworker who may handle cases there."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有分派维权案件的权限。")
    _lock(case, expected_version)
    target = unit or case.org_unit
    if unit is None and user is None:
        raise ValidationError({"unit": ["请选择承办单位或承办人。"]})
    if not can(actor, Cap.HANDLE_CASES, target):
        raise ValidationError({"unit": ["只能分派给本单位或下级单位。"]})
    if target.closed_on is not None and target.closed_on <= timezone.localdate():
        raise ValidationError({"unit": [f"“{target.name}”已撤销。"]})
    if user is not None and not scope_for(user, Cap.HANDLE_CASES).contains(target):
        raise ValidationError({"user": [f"“{user}”不是{target.name}或其上级的维权专干,不能承办。"]})
    before_unit = case.org_unit
    case.org_unit = target
    case.assignee = user

    def tell() -> None:
        recipients = [user] if user is not None else _handlers(target, levels=1, roles=(Role.CASEWORKER,))
        pin_lane(Where.of(case.org_unit))  # notify's own event: in this case's lane
        notify(
            recipients,
            kind="cases.assigned",
            title=f"维权案件 {case.number} 已分派给您",
            body=f"{before_unit.name}分派:{case.category.name},风险等级{case.get_risk_display()}。",
            url=f"/cases/{case.pk}/",
        )

    return _move(
        actor,
        case,
        State.ASSIGNED,
        fields=["org_unit", "assignee"],
        data={"unit": target.pk, "unit_name": target.name, "user": user.pk if user else None},
        verb="assign",
        then=tell,
    )


@transaction.atomic
def start(actor, case: Case, *, expected_version: int) -> Case:
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    return _move(actor, case, State.IN_PROGRESS, verb="start")


def _check_mandatory_report(case: Case) -> None:
    if case.mandatory_report_required and case.mandatory_report == MandatoryReport.UNANSWERED:
        raise ValidationError(
            {
                "mandatory_report": [
                    "本案涉及未成年人或无民事行为能力人遭受暴力,须先回答强制报告事项(《反家庭暴力法》第十四条),"
                    "才能办结。"
                ]
            }
        )


def is_harassment(case: Case) -> bool:
    return HARASSMENT_CODE in (case.category.code, case.subcategory.code if case.subcategory else "")


@transaction.atomic
def request_closure(
    actor, case: Case, *, outcome: str, expected_version: int, written_reply: bool = False
) -> Case:
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    outcome = _required_text(outcome, "outcome", "请填写办理结果。", limit=MAX_ACCOUNT_CHARS)
    if case.state != State.IN_PROGRESS:
        raise transition_error(case, State.CLOSURE_REQUESTED)
    _check_mandatory_report(case)
    if is_harassment(case) and not written_reply:
        raise ValidationError(
            {"written_reply": ["性骚扰投诉办结前须书面答复投诉人(《妇女权益保障法》第二十三条)。"]}
        )
    case.outcome = outcome
    return _move(
        actor,
        case,
        State.CLOSURE_REQUESTED,
        fields=["outcome"],
        data={"written_reply": bool(written_reply)},
        verb="request_closure",
    )


@transaction.atomic
def approve_closure(actor, case: Case, *, expected_version: int) -> Case:
    _require(actor, Cap.APPROVE_CASES, case, "只有主席(分管领导)可以批准办结。")
    _lock(case, expected_version)
    _check_mandatory_report(case)
    case.closed_at = timezone.now()
    return _move(actor, case, State.CLOSED, fields=["closed_at"], verb="approve_closure")


@transaction.atomic
def return_closure(actor, case: Case, *, reason: str, expected_version: int) -> Case:
    _require(actor, Cap.APPROVE_CASES, case, "只有主席(分管领导)可以退回办结申请。")
    _lock(case, expected_version)
    reason = _required_text(reason, "reason", "请填写退回的原因。")
    if case.state != State.CLOSURE_REQUESTED:
        raise transition_error(case, State.IN_PROGRESS)
    return _move(actor, case, State.IN_PROGRESS, text=reason, verb="return_closure")


@transaction.atomic
def follow_up(actor, case: Case, *, satisfaction: str, comment: str = "", expected_version: int) -> Case:
    """The follow-up visit (回访). 不满意 puts the case before the leader for review (reopen or archive)."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    if satisfaction not in Satisfaction.values:
        raise ValidationError({"satisfaction": ["请选择回访满意度。"]})
    comment = _clean_text(comment, MAX_SHORT_TEXT, "回访意见", "comment", errors := {})
    if errors:
        raise ValidationError(errors)
    unsatisfied = satisfaction == Satisfaction.UNSATISFIED
    case.satisfaction = satisfaction
    to = State.REVIEW if unsatisfied else State.FOLLOWED_UP
    if to not in allowed_transitions(case):
        raise transition_error(case, to)
    before = case.state
    case.state = to
    _save(case, ["state", "satisfaction"])
    _entry(
        actor, case, EntryKind.FOLLOW_UP, text=comment, data={"satisfaction": satisfaction, "from": before}
    )
    if unsatisfied:
        pin_lane(Where.of(case.org_unit))  # notify's own event: in this case's lane
        notify(
            _handlers(case.org_unit, levels=2, roles=(Role.LEADER,)),
            kind="cases.review",
            title=f"维权案件 {case.number} 回访不满意,请复核",
            body="当事人对办理结果不满意,请决定重新办理或归档。",
            url=f"/cases/{case.pk}/",
        )
    _audit(actor, "follow_up", case, {"satisfaction": satisfaction})
    return case


@transaction.atomic
def reopen(actor, case: Case, *, reason: str, expected_version: int) -> Case:
    _require(actor, Cap.APPROVE_CASES, case, "只有主席(分管领导)可以重新打开案件。")
    _lock(case, expected_version)
    reason = _required_text(reason, "reason", "请填写重新打开的原因。")
    if case.state not in REOPEN_FROM:
        raise ValidationError(f"案件当前状态为“{case.get_state_display()}”,无需重新打开。", code="transition")
    before = case.state
    case.state = State.REGISTERED if before == State.REJECTED else State.IN_PROGRESS
    case.closed_at = None
    case.satisfaction = ""
    _save(case, ["state", "closed_at", "satisfaction"])
    _entry(
        actor,
        case,
        EntryKind.TRANSITION,
        text=reason,
        data={"from": before, "to": case.state, "reopen": True},
    )
    _audit(actor, "reopen", case, {"from": before})
    return case


@transaction.atomic
def archive(actor, case: Case, *, expected_version: int) -> Case:
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    if case.state == State.REVIEW:
        _require(actor, Cap.APPROVE_CASES, case, "回访不满意的案件须由主席(分管领导)复核后归档。")
    return _move(actor, case, State.ARCHIVED, verb="archive")


# --- handling actions, risk and the mandatory report --------------------------------------------------------------


@transaction.atomic
def record_action(
    actor, case: Case, *, kind: str, text: str = "", occurred_on: dt.date | None = None, result: str = ""
) -> TimelineEntry:
    """A step of the handling work (consultation, mediation, legal-aid referral, shelter, protection order,
    告诫书, visit, note). Appending needs no version: nothing is overwritten. The first one sets the case's
    first contact."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    if kind not in ACTION_KINDS:
        raise ValidationError({"kind": ["请选择办理措施的类型。"]})
    states = NOTE_STATES if kind == EntryKind.NOTE else ACTION_STATES
    if case.state not in states:
        raise ValidationError(
            f"案件当前状态为“{case.get_state_display()}”,不能记录“{EntryKind(kind).label}”。"
        )
    if kind in REFERRAL_ACTION_KINDS and not case.consent_refer:
        raise ValidationError(
            {"kind": ["当事人未同意转介。确需转介的,请用“转介外部单位”,由主席(分管领导)填写理由。"]}
        )
    errors: dict = {}
    text = _clean_text(text, MAX_ACCOUNT_CHARS, "内容", "text", errors)
    if kind == EntryKind.NOTE and not text:
        errors.setdefault("text", []).append("请填写备注内容。")
    choices = ACTION_RESULTS.get(kind, [])
    if result and result not in choices:
        errors.setdefault("result", []).append(f"结果只能是:{'、'.join(choices)}。")
    today = timezone.localdate()
    if occurred_on is not None and occurred_on > today:
        errors.setdefault("occurred_on", []).append("日期不能晚于今天。")
    if errors:
        raise ValidationError(errors)
    entry = _entry(actor, case, kind, text=text, data={"result": result}, occurred_on=occurred_on or today)
    if kind == EntryKind.VISIT and case.family_tag == FamilyTag.RED:
        next_due = (occurred_on or today) + dt.timedelta(days=red_visit_days())
        Case.objects.filter(pk=case.pk).update(next_visit_due=next_due)
        case.next_visit_due = next_due
    if kind != EntryKind.NOTE and case.first_contact_at is None:
        now = timezone.now()
        Case.objects.filter(pk=case.pk, first_contact_at__isnull=True).update(first_contact_at=now)
        case.first_contact_at = now
    _audit(actor, "action", case, {"kind": kind, "entry": entry.pk, "result": result})
    return entry


@transaction.atomic
def answer_mandatory_report(actor, case: Case, *, answer: str, note: str = "", expected_version: int) -> Case:
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    if answer not in MandatoryReport.values or answer == MandatoryReport.UNANSWERED:
        raise ValidationError({"mandatory_report": ["请选择强制报告的情况。"]})
    if answer == MandatoryReport.NOT_APPLICABLE:
        note = _required_text(note, "note", "选择“不属于强制报告情形”时须说明核实情况。")
    before = case.mandatory_report
    case.mandatory_report = answer
    _save(case, ["mandatory_report"])
    _entry(actor, case, EntryKind.MANDATORY_REPORT, text=note, data={"from": before, "answer": answer})
    _audit(actor, "mandatory_report", case, {"answer": answer})
    return case


@transaction.atomic
def set_risk(actor, case: Case, *, risk: int, reason: str = "", expected_version: int) -> Case:
    """The worker confirms or changes the level; 高危 moves the first-contact deadline forward."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    if risk not in Risk.values:
        raise ValidationError({"risk": ["风险等级无效。"]})
    if case.state in FINISHED_STATES:
        raise ValidationError("已结束的案件不能调整风险等级。")
    before = case.risk
    case.risk = risk
    fields = ["risk"]
    if risk == Risk.HIGH and case.first_contact_at is None and case.state != State.DRAFT:
        first, _ = deadlines(case.created_at, risk)
        if case.first_contact_due is None or first < case.first_contact_due:
            case.first_contact_due = first
            fields.append("first_contact_due")
    _save(case, fields)
    _entry(actor, case, EntryKind.CHANGE, text=reason, data={"field": "risk", "from": before, "to": risk})
    if risk == Risk.HIGH and before < Risk.HIGH:
        _notify_high_risk(case)
    _audit(actor, "risk", case, {"from": before, "to": risk})
    return case


@transaction.atomic
def pause_clock(actor, case: Case, *, reason: str, expected_version: int) -> Case:
    """Waiting for an external agency's reply: the handling clock stops until ``resume_clock``."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    reason = _required_text(reason, "reason", "请填写暂停计时的原因(等待哪个部门的答复)。")
    if case.paused_since is not None:
        raise ValidationError("计时已经暂停。")
    if case.state not in ACTION_STATES:
        raise ValidationError(f"案件当前状态为“{case.get_state_display()}”,不能暂停计时。")
    case.paused_since = timezone.now()
    _save(case, ["paused_since"])
    _entry(actor, case, EntryKind.CLOCK, text=reason, data={"paused": True})
    _audit(actor, "pause", case)
    return case


@transaction.atomic
def resume_clock(actor, case: Case, *, expected_version: int) -> Case:
    """The reply came: the handling deadline moves by the time spent waiting."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    if case.paused_since is None:
        raise ValidationError("计时没有暂停。")
    waited = timezone.now() - case.paused_since
    case.handling_due = case.handling_due + waited
    case.paused_since = None
    _save(case, ["paused_since", "handling_due"])
    _entry(
        actor, case, EntryKind.CLOCK, data={"paused": False, "waited_seconds": int(waited.total_seconds())}
    )
    _audit(actor, "resume", case, {"waited_seconds": int(waited.total_seconds())})
    return case


# --- documents (文书/附件, encrypted at rest) ---------------------------------------------------------------------

DOCUMENT_KINDS = ("image", "document")
DOCUMENT_STATES = NOTE_STATES | {State.REJECTED, State.REVIEW}


@transaction.atomic
def attach_document(actor, case: Case, *, prepared: PreparedUpload, note: str = "") -> CaseDocument:
    """Keep a document of the case (an upload checked by ``fulian.files.actions.prepare_upload(...,
    encrypted=True)`` before this transaction: its refusal stays audited). The bytes are sealed with the data key
    before they reach the disk; the name and the note are encrypted columns; the timeline lists it."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    if case.state not in DOCUMENT_STATES:
        raise ValidationError(f"案件当前状态为“{case.get_state_display()}”,不能上传文书。")
    errors: dict = {}
    note = _clean_text(note, 200, "说明", "note", errors)
    if errors:
        raise ValidationError(errors)
    stored = save_prepared(actor, prepared, unit=case.org_unit, encrypted=True, audit=False)
    document = CaseDocument.objects.create(case=case, file=stored, note=note, uploaded_by=actor)
    _entry(
        actor,
        case,
        EntryKind.DOCUMENT,
        text=note,
        data={"document": document.pk, "kind": stored.kind, "size": stored.size},
    )
    _audit(
        actor,
        "document",
        case,
        {
            "document": document.pk,
            "file": stored.pk,
            "content_type": stored.content_type,
            "size": stored.size,
            "sha256": stored.sha256,  # of the sealed blob: proves which blob, discloses nothing
        },
    )
    return document


def record_document_download(actor, document: CaseDocument) -> None:
    """Every download of a case document is on record (who, which case, which document)."""
    case = document.case
    record(
        actor,
        "cases.document.download",
        obj=document,
        where=Where.of(case.org_unit),
        detail={"case": case.pk, "number": case.number or "", "file": document.file_id},
    )


# --- reveal ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevealedParty:
    pk: int
    role: str
    role_label: str
    name: str
    phone: str
    id_number: str
    address: str
    safe_phone: str


@transaction.atomic
def reveal_identity(actor, case: Case, *, reason: str) -> list[RevealedParty]:
    """The plaintext identities of the case's parties, for someone with a need and a reason. Written to the case's
    view history (leaders see who looked) and to the audit log."""
    _require(actor, Cap.REVEAL_CASE_IDENTITY, case, "您没有查看当事人身份信息的权限。")
    reason = _required_text(reason, "reason", "请填写查看身份信息的原因。", limit=200)
    CaseView.objects.create(case=case, user=actor, reason=reason)
    parties = list(case.parties.all())

    def plain(value) -> str:
        return value.reveal() if value else ""

    revealed = [
        RevealedParty(
            pk=p.pk,
            role=p.role,
            role_label=p.get_role_display(),
            name=plain(p.name),
            phone=plain(p.phone),
            id_number=plain(p.id_number),
            address=plain(p.address),
            safe_phone=plain(p.safe_phone),
        )
        for p in parties
    ]
    record(
        actor,
        "cases.identity.reveal",
        obj=case,
        where=Where.of(case.org_unit),
        detail={"number": case.number or "", "reason": reason, "parties": [p.pk for p in parties]},
    )
    return revealed


# --- escalation ---------------------------------------------------------------------------------------------------


@transaction.atomic
def escalate_overdue(now: dt.datetime | None = None) -> int:
    """Overdue open cases go up one level (``fulian escalate_cases``, run by cron): the caseworkers and leaders
    of the parent unit are notified, the case is marked and shows under 「超期上报」 in their list. Each case is
    escalated once; running it again notifies nobody twice. Returns the number of cases escalated."""
    now = now or timezone.now()
    overdue = list(
        Case.objects.filter(overdue_condition(now), escalated_at__isnull=True)
        .select_related("org_unit", "category")
        .select_for_update(of=("self",))
    )
    for case in overdue:
        parent_paths = case.org_unit.ancestor_paths()
        above = _handlers_at(parent_paths[-1]) if parent_paths else []
        targets = above or _handlers(case.org_unit, levels=1, roles=(Role.LEADER,))
        first = case.first_contact_at is None and case.first_contact_due and case.first_contact_due < now
        what = "首次联系" if first else "办理"
        pin_lane(Where.of(case.org_unit))  # notify's own event: in this case's lane
        notify(
            targets,
            kind="cases.overdue",
            title=f"维权案件 {case.number} {what}已超期,请督办",
            body=f"{case.org_unit.name} · {case.category.name} · 风险等级{case.get_risk_display()}。",
            url=f"/cases/{case.pk}/",
            dedupe_key=f"cases.overdue.{case.pk}",
        )
        Case.objects.filter(pk=case.pk).update(escalated_at=now)  # no encrypted column touched
        case.escalated_at = now
        _entry(None, case, EntryKind.ESCALATION, data={"overdue": "first_contact" if first else "handling"})
        case.overdue_kind = "first_contact" if first else "handling"
    for case in overdue:  # the audit events last (the chain lock is held from the first until the commit)
        _audit(None, "escalate", case, {"overdue": case.overdue_kind})
    return len(overdue)


def _handlers_at(path: str) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__org_unit__path=path,
            memberships__role__in=[Role.CASEWORKER, Role.LEADER],
        ).distinct()
    )


# --- referrals (转办/转介) ------------------------------------------------------------------------------------------


def _check_consent(actor, case: Case, override_reason: str) -> str:
    """Referring needs the consent to refer; a leader may override it with a reason (audited)."""
    if case.consent_refer:
        return ""
    override_reason = (override_reason or "").strip()
    if not override_reason:
        raise ValidationError({"override_reason": ["当事人未同意转介。确需转介的,须由主席填写理由。"]})
    if not can(actor, Cap.APPROVE_CASES, case):
        raise PermissionDenied("当事人未同意转介,只有主席(分管领导)可以说明理由后转介。")
    if len(override_reason) > 200:
        raise ValidationError({"override_reason": ["理由不能超过200字。"]})
    return override_reason


def _referral_dates(sent_on, expected_reply_on, errors: dict) -> None:
    today = timezone.localdate()
    if sent_on is None:
        errors.setdefault("sent_on", []).append("请填写转出日期。")
    elif sent_on > today:
        errors.setdefault("sent_on", []).append("转出日期不能晚于今天。")
    if expected_reply_on is not None and sent_on is not None and expected_reply_on < sent_on:
        errors.setdefault("expected_reply_on", []).append("应答复日期不能早于转出日期。")


@transaction.atomic
def refer_external(
    actor,
    case: Case,
    *,
    agency: str,
    agency_name: str = "",
    sent_on: dt.date | None = None,
    expected_reply_on: dt.date | None = None,
    note: str = "",
    override_reason: str = "",
) -> Referral:
    """Refer to an external agency (公安/法院/司法所/法律援助中心 …); the reply is recorded later."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    if case.state not in ACTION_STATES:
        raise ValidationError(f"案件当前状态为“{case.get_state_display()}”,不能转介。")
    override = _check_consent(actor, case, override_reason)
    errors: dict = {}
    if agency not in Agency.values:
        errors.setdefault("agency", []).append("请选择接收单位类别。")
    agency_name = _clean_text(agency_name, 100, "单位名称", "agency_name", errors)
    note = _clean_text(note, MAX_SHORT_TEXT, "转介说明", "note", errors)
    sent_on = sent_on or timezone.localdate()
    _referral_dates(sent_on, expected_reply_on, errors)
    if errors:
        raise ValidationError(errors)
    referral = Referral.objects.create(
        case=case,
        from_unit=case.org_unit,
        agency=agency,
        agency_name=agency_name,
        sent_on=sent_on,
        expected_reply_on=expected_reply_on,
        note=note,
        consent_override_reason=override,
        created_by=actor,
    )
    _entry(
        actor,
        case,
        EntryKind.REFERRAL,
        text=note,
        occurred_on=sent_on,
        data={
            "referral": referral.pk,
            "agency": agency,
            "agency_name": agency_name,
            "override": bool(override),
        },
    )
    _audit(actor, "refer", case, {"referral": referral.pk, "agency": agency, "consent_override": override})
    return referral


@transaction.atomic
def record_reply(
    actor, referral: Referral, *, replied_on: dt.date | None = None, reply: str = ""
) -> Referral:
    case = referral.case
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    if referral.is_internal or referral.state != ReferralState.SENT:
        raise ValidationError("该转介不在待答复状态。")
    errors: dict = {}
    reply = _clean_text(reply, MAX_SHORT_TEXT, "答复内容", "reply", errors)
    replied_on = replied_on or timezone.localdate()
    if replied_on < referral.sent_on or replied_on > timezone.localdate():
        errors.setdefault("replied_on", []).append("答复日期应在转出日期和今天之间。")
    if errors:
        raise ValidationError(errors)
    referral.state = ReferralState.REPLIED
    referral.replied_on = replied_on
    referral.reply = reply
    referral.decided_by = actor
    referral.decided_at = timezone.now()
    referral.save(update_fields=["state", "replied_on", "reply", "decided_by", "decided_at"])
    _entry(
        actor,
        case,
        EntryKind.REFERRAL,
        text=reply,
        occurred_on=replied_on,
        data={"referral": referral.pk, "reply": True},
    )
    _audit(actor, "referral_reply", case, {"referral": referral.pk})
    return referral


@transaction.atomic
def transfer(actor, case: Case, *, to_unit: OrgUnit, note: str = "", override_reason: str = "") -> Referral:
    """Transfer to another unit of the tree (up, down or sideways); it accepts or rejects, the sender may revoke
    until then. One pending transfer per case."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    if case.state in FINISHED_STATES or case.state == State.DRAFT:
        raise ValidationError(f"案件当前状态为“{case.get_state_display()}”,不能转办。")
    override = _check_consent(actor, case, override_reason)
    errors: dict = {}
    if to_unit.pk == case.org_unit_id:
        errors.setdefault("to_unit", []).append("不能转办给本单位。")
    if to_unit.closed_on is not None and to_unit.closed_on <= timezone.localdate():
        errors.setdefault("to_unit", []).append(f"“{to_unit.name}”已撤销。")
    note = _clean_text(note, MAX_SHORT_TEXT, "转办说明", "note", errors)
    if errors:
        raise ValidationError(errors)
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk").first()
    if Referral.objects.filter(case=case, state=ReferralState.SENT, to_unit__isnull=False).exists():
        raise ValidationError("该案件已有一个待接收的转办,请等待对方处理或先撤回。")
    referral = Referral.objects.create(
        case=case,
        from_unit=case.org_unit,
        to_unit=to_unit,
        sent_on=timezone.localdate(),
        note=note,
        consent_override_reason=override,
        created_by=actor,
    )
    _entry(
        actor, case, EntryKind.REFERRAL, text=note, data={"referral": referral.pk, "to_unit": to_unit.name}
    )
    pin_lane(Where.of(case.org_unit))  # notify's own event: in this case's lane
    notify(
        _handlers(to_unit, levels=1),
        kind="cases.transfer",
        title=f"{case.org_unit.name}转来维权案件 {case.number},请接收或拒收",
        body=f"{case.category.name} · 风险等级{case.get_risk_display()}。",
        url=f"/cases/{case.pk}/",
    )
    _audit(
        actor,
        "transfer",
        case,
        {"referral": referral.pk, "to_unit": to_unit.pk, "consent_override": override},
    )
    return referral


def _pending_transfer(referral: Referral) -> None:
    if not referral.is_internal or referral.state != ReferralState.SENT:
        raise ValidationError("该转办已处理,不能再操作。")


@transaction.atomic
def accept_transfer(actor, referral: Referral) -> Case:
    """The receiving unit takes the case over: it now belongs to that unit (and is assigned there)."""
    _require(actor, Cap.HANDLE_CASES, referral.to_unit, "只有接收单位的维权专干或主席可以接收转办。")
    Referral.objects.select_for_update().filter(pk=referral.pk).values_list("pk").first()
    referral.refresh_from_db(fields=["state"])
    _pending_transfer(referral)
    case = Case.objects.select_for_update().select_related("org_unit", "category").get(pk=referral.case_id)
    before = case.org_unit
    case.org_unit = referral.to_unit
    case.assignee = None
    fields = ["org_unit", "assignee"]
    if case.state in (State.ACCEPTED, State.IN_PROGRESS):
        case.state = State.ASSIGNED
        fields.append("state")
    _save(case, fields)
    referral.state = ReferralState.ACCEPTED
    referral.decided_by = actor
    referral.decided_at = timezone.now()
    referral.save(update_fields=["state", "decided_by", "decided_at"])
    _entry(
        actor,
        case,
        EntryKind.REFERRAL,
        data={
            "referral": referral.pk,
            "accepted": True,
            "from_unit": before.name,
            "to_unit": case.org_unit.name,
        },
    )
    _audit(actor, "transfer_accept", case, {"referral": referral.pk, "from_unit": before.pk})
    return case


@transaction.atomic
def reject_transfer(actor, referral: Referral, *, reason: str) -> Referral:
    _require(actor, Cap.HANDLE_CASES, referral.to_unit, "只有接收单位的维权专干或主席可以拒收转办。")
    reason = _required_text(reason, "reason", "请填写拒收的理由。")
    Referral.objects.select_for_update().filter(pk=referral.pk).values_list("pk").first()
    referral.refresh_from_db(fields=["state"])
    _pending_transfer(referral)
    referral.state = ReferralState.REJECTED
    referral.reply = reason
    referral.decided_by = actor
    referral.decided_at = timezone.now()
    referral.save(update_fields=["state", "reply", "decided_by", "decided_at"])
    _entry(
        actor,
        referral.case,
        EntryKind.REFERRAL,
        text=reason,
        data={"referral": referral.pk, "rejected": True},
    )
    pin_lane(Where.of(referral.case.org_unit))  # notify's own event: in this case's lane
    notify(
        _handlers(referral.from_unit, levels=1),
        kind="cases.transfer_rejected",
        title=f"{referral.to_unit.name}拒收了维权案件 {referral.case.number}",
        url=f"/cases/{referral.case_id}/",
    )
    _audit(actor, "transfer_reject", referral.case, {"referral": referral.pk})
    return referral


@transaction.atomic
def revoke_transfer(actor, referral: Referral) -> Referral:
    _require(actor, Cap.HANDLE_CASES, referral.case, "只有转出单位可以撤回转办。")
    Referral.objects.select_for_update().filter(pk=referral.pk).values_list("pk").first()
    referral.refresh_from_db(fields=["state"])
    _pending_transfer(referral)
    referral.state = ReferralState.REVOKED
    referral.decided_by = actor
    referral.decided_at = timezone.now()
    referral.save(update_fields=["state", "decided_by", "decided_at"])
    _entry(actor, referral.case, EntryKind.REFERRAL, data={"referral": referral.pk, "revoked": True})
    _audit(actor, "transfer_revoke", referral.case, {"referral": referral.pk})
    return referral


# --- intake drafts (autosave) ------------------------------------------------------------------------------------

MAX_DRAFT_CHARS = 60000
DRAFT_FIELDS_LIMIT = 60


@transaction.atomic
def save_intake_draft(actor, *, draft: IntakeDraft | None, data: Mapping[str, list[str]]) -> IntakeDraft:
    """Keep what is typed so far (called every few seconds while typing). The first save and the discard are
    audited; the autosaves in between are not (they would flood the log and say nothing new)."""
    if not scope_for(actor, Cap.INTAKE_CASES):
        raise PermissionDenied("您的账号没有登记维权案件的权限。")
    clean = {str(k)[:50]: [str(v) for v in vs][:20] for k, vs in list(data.items())[:DRAFT_FIELDS_LIMIT]}
    text = json.dumps(clean, ensure_ascii=False)
    if len(text) > MAX_DRAFT_CHARS:
        raise ValidationError("草稿内容过长,未能自动保存。")
    if draft is not None:
        if draft.user_id != actor.pk:
            raise PermissionDenied("只能保存自己的草稿。")
        draft.data = text
        draft.save(update_fields=["data", "updated_at"])
        return draft
    draft = IntakeDraft.objects.create(user=actor, data=text)
    record(actor, "cases.draft.create", obj=draft)
    return draft


def draft_values(draft: IntakeDraft) -> dict[str, list[str]]:
    return json.loads(draft.data.reveal()) if draft.data else {}


@transaction.atomic
def discard_intake_draft(actor, draft: IntakeDraft, *, registered: Case | None = None) -> None:
    if draft.user_id != actor.pk:
        raise PermissionDenied("只能删除自己的草稿。")
    draft_pk = draft.pk
    draft.delete()
    record(
        actor,
        "cases.draft.discard",
        object_type=IntakeDraft._meta.label_lower,
        object_id=draft_pk,
        detail={"registered": registered.pk if registered is not None else None},
    )


# --- duplicates ---------------------------------------------------------------------------------------------------


@transaction.atomic
def merge_cases(actor, *, keep: Case, duplicate: Case, reason: str) -> Case:
    """Two registrations of the same matter: the duplicate is archived and linked to the case kept; both
    timelines stay as they are (nothing is moved or deleted)."""
    _require(actor, Cap.HANDLE_CASES, keep, "您没有办理维权案件的权限。")
    _require(actor, Cap.HANDLE_CASES, duplicate, "您没有办理维权案件的权限。")
    reason = _required_text(reason, "reason", "请填写合并的原因。")
    if keep.pk == duplicate.pk:
        raise ValidationError("不能把案件合并到它自己。")
    locked = {
        c.pk: c
        for c in Case.objects.select_for_update().filter(pk__in=[keep.pk, duplicate.pk]).order_by("pk")
    }
    keep_row, dup_row = locked[keep.pk], locked[duplicate.pk]
    if dup_row.merged_into_id is not None or keep_row.merged_into_id is not None:
        raise ValidationError("已合并过的案件不能再合并。")
    if dup_row.state == State.DRAFT or keep_row.state == State.DRAFT:
        raise ValidationError("草稿不能合并。")
    before = dup_row.state
    dup_row.state = State.ARCHIVED
    dup_row.merged_into = keep_row
    _save(dup_row, ["state", "merged_into"])
    _entry(
        actor,
        dup_row,
        EntryKind.MERGE,
        text=reason,
        data={"into": keep_row.pk, "into_number": keep_row.number, "from": before},
    )
    _entry(
        actor,
        keep_row,
        EntryKind.MERGE,
        text=reason,
        data={"merged": dup_row.pk, "merged_number": dup_row.number},
    )
    _audit(actor, "merge", keep_row, {"merged": dup_row.pk, "merged_number": dup_row.number})
    return keep_row


# --- corrections with history (old → new, sensitive values masked) -------------------------------------------------

CASE_EDITABLE = (
    "channel",
    "category",
    "subcategory",
    "involves_minor",
    "involves_disability",
    "lacks_capacity",
    "consent_store",
    "consent_refer",
    "consent_contact",
)
PARTY_EDITABLE = tuple(f for f in PARTY_FIELDS if f != "role")  # a party's role is fixed at intake
SENSITIVE_PARTY_FIELDS = {
    "name": "name",
    "phone": "phone",
    "id_number": "idcard",
    "address": "address",
    "safe_phone": "phone",
}


def _shown(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, CaseCategory):
        return value.name
    return "" if value is None else str(value)


@transaction.atomic
def update_case(actor, case: Case, *, expected_version: int, **changes) -> Case:
    """Correct the facts of a case (channel, category, flags, consents); each change is in its history."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    unknown = set(changes) - set(CASE_EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if case.state in FINISHED_STATES:
        raise ValidationError("已结束的案件不能修改,如需更正请先重新打开。")
    category = changes.get("category", case.category)
    subcategory = changes.get("subcategory", case.subcategory)
    errors: dict = {}
    if changes.get("channel", case.channel) not in Channel.values:
        errors.setdefault("channel", []).append("请选择来源渠道。")
    if category is None or category.parent_id is not None:
        errors.setdefault("category", []).append("请选择案件类别。")
    elif subcategory is not None and subcategory.parent_id != category.pk:
        errors.setdefault("subcategory", []).append(f"子类别必须属于“{category.name}”。")
    if errors:
        raise ValidationError(errors)
    diff = {}
    for name, value in changes.items():
        old = getattr(case, name)
        if old != value:
            diff[name] = [_shown(old), _shown(value)]
            setattr(case, name, value)
    if not diff:
        return case
    required = (case.involves_minor or case.lacks_capacity) and _is_violence(
        case.category, case.subcategory, case.risk_checklist
    )
    fields = list(diff)
    if required != case.mandatory_report_required:
        case.mandatory_report_required = required
        fields.append("mandatory_report_required")
    _save(case, fields)
    _entry(actor, case, EntryKind.CHANGE, data={"changes": diff})
    _audit(actor, "update", case, {"changes": diff})
    return case


@transaction.atomic
def update_party(actor, party: Party, *, expected_version: int, **changes) -> Party:
    """Correct a party's details (after an audited reveal). The history shows old → new masked (张*梅 → 张*兰)."""
    case = party.case
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    unknown = set(changes) - set(PARTY_EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    errors: dict = {}
    cleaned = clean_party(0, {"role": party.role, **changes}, errors, timezone.localdate())
    if errors:
        raise ValidationError(errors)
    diff = {}
    for name in changes:
        new = cleaned[name]
        old = getattr(party, name)
        old_plain = old.reveal() if hasattr(old, "reveal") else old
        same = old_plain == new if isinstance(new, bool) else (old_plain or "") == (new or "")
        if same:
            continue
        kind = SENSITIVE_PARTY_FIELDS.get(name)
        if kind is not None:
            diff[name] = [mask(old_plain or "", kind), mask(new or "", kind)]
        else:
            diff[name] = [_shown(old_plain), _shown(new)]
        setattr(party, name, new)
    if not diff:
        return party
    party.save()
    _save(case, [])
    _entry(actor, case, EntryKind.CHANGE, data={"party": party.pk, "role": party.role, "changes": diff})
    _audit(actor, "party_update", case, {"party": party.pk, "changes": diff})
    return party


# --- retention --------------------------------------------------------------------------------------------------


@transaction.atomic
def archive_finished(now: dt.datetime | None = None, *, days: int | None = None) -> int:
    """Retention (``fulian archive_cases``): cases closed, followed up or refused more than ``days`` ago
    (``CASES_ARCHIVE_AFTER_DAYS``, default 180) are archived. Nothing is ever deleted."""
    now = now or timezone.now()
    days = days if days is not None else getattr(settings, "CASES_ARCHIVE_AFTER_DAYS", 180)
    cutoff = now - dt.timedelta(days=days)
    due = list(
        Case.objects.filter(
            Q(state__in=(State.CLOSED, State.FOLLOWED_UP), closed_at__lt=cutoff)
            | Q(state=State.REJECTED, updated_at__lt=cutoff)
        )
        .select_related("org_unit")
        .select_for_update(of=("self",))
    )
    for case in due:
        before = case.state
        case.state = State.ARCHIVED
        _save(case, ["state"])
        _entry(
            None, case, EntryKind.TRANSITION, data={"from": before, "to": State.ARCHIVED, "retention": days}
        )
        case.archived_from = before
    for case in due:  # the audit events last (the chain lock is held from the first until the commit)
        _audit(None, "archive", case, {"from": case.archived_from, "retention_days": days})
    return len(due)


# --- public help requests (portal) and tracking -----------------------------------------------------------------

TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
PUBLIC_STATUS = {
    State.REGISTERED: "已收到",
    State.ACCEPTED: "已受理",
    State.ASSIGNED: "处理中",
    State.IN_PROGRESS: "处理中",
    State.CLOSURE_REQUESTED: "处理中",
    State.REVIEW: "处理中",
    State.CLOSED: "已办结",
    State.FOLLOWED_UP: "已办结",
    State.ARCHIVED: "已办结",
    State.REJECTED: "不予受理",
}
HELP_PER_IP_PER_HOUR = 5
TRACK_PER_IP_PER_10_MIN = 20
TRACK_FAILURES_PER_CODE_PER_HOUR = 5


HELP_WINDOW = dt.timedelta(hours=1)
TRACK_WINDOW = dt.timedelta(minutes=10)
TRACK_FAILURE_WINDOW = dt.timedelta(hours=1)


def public_help_request(
    *,
    unit: OrgUnit,
    ip: str | None,
    name: str = "",
    phone: str = "",
    safe_time: str = "",
    may_leave_message: bool = False,
    category: CaseCategory | None = None,
    account: str = "",
    request: str = "",
    consent_store: bool = False,
    consent_refer: bool = False,
    consent_contact: bool = False,
) -> tuple[Case, str, str]:
    """A help request from the public site (no account; anonymous allowed) becomes an intake at ``unit`` with
    channel 网络. Returns (case, tracking code, PIN): shown once, only the PIN's hash is kept."""
    if over("cases.help.ip", ip, limit=HELP_PER_IP_PER_HOUR, window=HELP_WINDOW):
        raise RateLimited("提交过于频繁,请稍后再试;紧急情况请拨打110或12338。", code="rate_limited")
    hit("cases.help.ip", ip, limit=HELP_PER_IP_PER_HOUR, window=HELP_WINDOW)
    if not consent_store:
        raise ValidationError({"consent_store": ["请同意我们保存您填写的信息,否则无法为您办理。"]})
    if not (account or "").strip():
        raise ValidationError({"account": ["请简单说明您遇到的情况。"]})
    party = {"role": PartyRole.AFFECTED, "name": name, "phone": phone, "safe_time": safe_time}
    party["may_leave_message"] = may_leave_message
    party["anonymous"] = not (name or "").strip()
    code, pin = _tracking()  # before the transaction: hashing the PIN is slow
    case = _public_intake(
        unit,
        party,
        category or CaseCategory.objects.get(code="other"),
        account,
        request,
        consent_store,
        consent_refer,
        consent_contact,
        tracking=(code, make_password(pin)),
    )
    return case, code, pin


@transaction.atomic
def _public_intake(
    unit, party, category, account, request, consent_store, consent_refer, consent_contact, *, tracking
) -> Case:
    """The case and its tracking code together, or neither."""
    values = dict(
        channel=Channel.ONLINE,
        category=category.parent or category,
        subcategory=category if category.parent_id else None,
        parties=[party],
        account=account,
        request=request,
        consent_store=consent_store,
        consent_refer=consent_refer,
        consent_contact=consent_contact,
    )
    return _intake(None, unit=unit, draft=False, values=values, tracking=tracking)


def _tracking() -> tuple[str, str]:
    """A new tracking code (10 characters of 32: a collision is checked and, in the one-in-10^15 case that one
    slips through between the check and the insert, refused by the unique constraint) and a PIN."""
    for _ in range(10):
        code = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))
        if not Case.objects.filter(tracking_code=code).exists():
            break
    return code, f"{secrets.randbelow(10**6):06d}"


@dataclass(frozen=True)
class PublicStatus:
    code: str
    status: str
    received_on: dt.date
    reply: str


def track(code: str, pin: str, *, ip: str | None) -> PublicStatus:
    """The coarse status and the public reply of a help request, for its code and PIN. Wrong PINs and many
    tries from one address are rate-limited; a wrong code and a wrong PIN give the same answer."""
    code = (code or "").strip().upper().replace(" ", "")[:12]
    if over("cases.track.ip", ip, limit=TRACK_PER_IP_PER_10_MIN, window=TRACK_WINDOW):
        raise RateLimited("查询过于频繁,请10分钟后再试。", code="rate_limited")
    hit("cases.track.ip", ip, limit=TRACK_PER_IP_PER_10_MIN, window=TRACK_WINDOW)
    failure = dict(limit=TRACK_FAILURES_PER_CODE_PER_HOUR, window=TRACK_FAILURE_WINDOW)
    if over("cases.track.fail", code, **failure):
        hit("cases.track.fail", code, **failure)
        raise RateLimited("该查询码输错次数过多,请1小时后再试。", code="rate_limited")
    case = Case.objects.filter(tracking_code=code).first() if code else None
    ok = case is not None and check_password((pin or "").strip(), case.tracking_pin_hash)
    if not ok:
        hit("cases.track.fail", code, **failure)
        raise ValidationError("查询码或查询密码不正确。")
    return PublicStatus(
        code=case.tracking_code,
        status=PUBLIC_STATUS.get(case.state, "处理中"),
        received_on=timezone.localtime(case.created_at).date(),
        reply=case.public_reply.reveal() if case.public_reply else "",
    )


@transaction.atomic
def set_public_reply(actor, case: Case, *, reply: str, expected_version: int) -> Case:
    """The answer the person sees with her tracking code (no names: she may not be the only one reading)."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    if not case.tracking_code:
        raise ValidationError("该案件不是网上求助,没有公开答复。")
    reply = _required_text(reply, "reply", "请填写答复内容。")
    case.public_reply = reply
    _save(case, ["public_reply"])
    _entry(actor, case, EntryKind.NOTE, text=reply, data={"public_reply": True})
    _audit(actor, "public_reply", case)
    return case


# --- export (leaders only, with a reason, one download through an expiring link, password-protected file) -------

EXPORT_LINK_MINUTES = 15
# No 0/O/o, 1/I/l: read off a screen and typed into Excel's password box without guessing.
EXPORT_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
EXPORT_PASSWORD_LENGTH = 12
_EXPORT_PASSWORD_PURPOSE = "cases.export.password"


def export_password(export: CaseExport) -> str:
    """The password of the export's file: 12 characters from the unambiguous alphabet (≈69 bits), derived with
    the data key's keyed hash from the export's random token. It is stored nowhere (not in the row, not in the
    audit log): the request page shows it once and the download encrypts the file with the same value. Without
    the data key, the token alone does not give it."""
    digest = blind_index(export.token, _EXPORT_PASSWORD_PURPOSE, kind="text")
    if not digest:  # the token is never empty (database constraint)
        raise ValueError("export without a token")
    number = int(digest, 16)
    chars = []
    for _ in range(EXPORT_PASSWORD_LENGTH):
        number, index = divmod(number, len(EXPORT_PASSWORD_ALPHABET))
        chars.append(EXPORT_PASSWORD_ALPHABET[index])
    return "".join(chars)


@transaction.atomic
def request_export(
    actor, *, reason: str, filters: dict, reveal: bool = False, reveal_reason: str = ""
) -> CaseExport:
    """A leader asks for an export with a reason. Identities are masked unless she asks to reveal them, which
    needs the reveal capability and a reason of its own (both kept with the export and in the audit log)."""
    if not scope_for(actor, Cap.APPROVE_CASES):
        raise PermissionDenied("只有主席(分管领导)可以导出维权案件。")
    errors: dict = {}
    reason = _clean_text(reason, 200, "导出原因", "reason", errors)
    if not reason:
        errors.setdefault("reason", []).append("请填写导出的原因。")
    filters = {k: v for k, v in filters.items() if k not in ("reveal", "reveal_reason")}
    if reveal:
        if not scope_for(actor, Cap.REVEAL_CASE_IDENTITY):
            raise PermissionDenied("您没有查看当事人身份信息的权限。")
        reveal_reason = _clean_text(reveal_reason, 200, "查看身份信息的原因", "reveal_reason", errors)
        if not reveal_reason:
            errors.setdefault("reveal_reason", []).append("导出身份信息,请填写查看身份信息的原因。")
        filters.update(reveal=True, reveal_reason=reveal_reason)
    if errors:
        raise ValidationError(errors)
    export = CaseExport.objects.create(
        user=actor,
        token=secrets.token_urlsafe(32),
        reason=reason,
        filters=filters,
        expires_at=timezone.now() + dt.timedelta(minutes=EXPORT_LINK_MINUTES),
    )
    record(actor, "cases.export.request", obj=export, detail={"reason": reason, "filters": filters})
    return export


def export_reveals(export: CaseExport) -> bool:
    return bool(export.filters.get("reveal"))


@transaction.atomic
def mark_exported(actor, export: CaseExport, *, cases: list[Case]) -> set[int]:
    """Consume the link (once); raises ValidationError if it was used or has expired. Returns the ids of the
    cases whose identities go into the file unmasked: none for a masked export; for a revealing one, those the
    actor may reveal, each written to the case's view history and all listed in one reveal audit event."""
    locked = CaseExport.objects.select_for_update().get(pk=export.pk)
    if locked.user_id != actor.pk:
        raise PermissionDenied("只能下载自己申请的导出。")
    if locked.downloaded_at is not None:
        raise ValidationError("该下载链接已经使用过,请重新申请导出。")
    if locked.expires_at < timezone.now():
        raise ValidationError("该下载链接已过期,请重新申请导出。")
    locked.downloaded_at = timezone.now()
    locked.rows = len(cases)
    locked.save(update_fields=["downloaded_at", "rows"])
    revealed: set[int] = set()
    if export_reveals(locked):
        scope = scope_for(actor, Cap.REVEAL_CASE_IDENTITY)
        shown = [c for c in cases if scope.contains(c.org_unit)]
        reveal_reason = locked.filters.get("reveal_reason") or locked.reason
        revealed = {c.pk for c in shown}
        if shown:
            CaseView.objects.bulk_create([CaseView(case=c, user=actor, reason=reveal_reason) for c in shown])
            record(
                actor,
                "cases.export.reveal",
                obj=locked,
                where=Where.of(home_unit(actor)),
                detail={"reason": reveal_reason, "cases": sorted(revealed)},
            )
    record(
        actor,
        "cases.export.download",
        obj=locked,
        detail={"rows": len(cases), "reason": locked.reason, "revealed": len(revealed)},
    )
    return revealed


# --- family risk tags ----------------------------------------------------------------------------------------------


def red_visit_days() -> int:
    return getattr(settings, "CASES_RED_FAMILY_VISIT_DAYS", 30)


@transaction.atomic
def set_family_tag(actor, case: Case, *, tag: str, expected_version: int) -> Case:
    """Yellow (hardship), orange (marital conflict), red (domestic violence): a red family gets a visit every
    ``CASES_RED_FAMILY_VISIT_DAYS`` (30) days; each recorded visit schedules the next."""
    _require(actor, Cap.HANDLE_CASES, case, "您没有办理维权案件的权限。")
    _lock(case, expected_version)
    if tag not in FamilyTag.values:
        raise ValidationError({"family_tag": ["家庭风险标识无效。"]})
    before = case.family_tag
    case.family_tag = tag
    if tag == FamilyTag.RED and case.next_visit_due is None:
        case.next_visit_due = timezone.localdate() + dt.timedelta(days=red_visit_days())
    elif tag != FamilyTag.RED:
        case.next_visit_due = None
    _save(case, ["family_tag", "next_visit_due"])
    _entry(actor, case, EntryKind.CHANGE, data={"changes": {"family_tag": [before, tag]}})
    _audit(actor, "family_tag", case, {"from": before, "to": tag})
    return case
