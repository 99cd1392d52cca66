"""Every write to the ledger. Each takes the acting user first (None = the system, e.g. demo data)."""

from __future__ import annotations

import datetime as dt
import secrets
import time
import unicodedata
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from fulian.accounts.roles import Cap, Role
from fulian.accounts.scope import memberships_of, scope_for
from fulian.audit.actions import Where, record
from fulian.files.actions import delete_stored, prepare_upload, save_prepared
from fulian.lib.idcard import InvalidNumber, validate_mobile
from fulian.lib.sensitive import index_lookup
from fulian.orgs.actions import BulkItemError, ConflictError
from fulian.orgs.models import OrgUnit
from fulian.orgs.paths import is_within
from fulian.throttle.limits import RateLimited, hit

from . import periods, totals
from .models import (
    CATEGORIES,
    KIND_FIELDS,
    MAX_PHOTOS_PER_RECORD,
    SIGNIN_KINDS,
    Attendance,
    BrandTag,
    LedgerPhoto,
    LedgerRecord,
    PeriodException,
    RecordKind,
    SignInSheet,
)

RECORD_FIELDS = (
    "kind",
    "category",
    "title",
    "date",
    "end_date",
    "location",
    "sessions",
    "participants",
    "person_times",
    "beneficiaries",
    "recommended_jobs",
    "employed",
    "employers",
    "jobs_offered",
    "job_seekers",
    "agreements",
    "workers",
    "avg_income",
    "products",
    "amount",
    "fund_source",
    "partner",
    "description",
)


def can_record_for(actor, unit: OrgUnit) -> bool:
    """Only the unit's own people type its ledger: a membership on exactly that unit with EDIT_WORK."""
    if actor is None:
        return True
    from fulian.accounts.roles import ROLE_CAPS

    return any(m.org_unit_id == unit.pk and Cap.EDIT_WORK in ROLE_CAPS[m.role] for m in memberships_of(actor))


def is_leader_over(actor, unit: OrgUnit) -> bool:
    return actor is not None and any(
        m.role == Role.LEADER and is_within(unit.path, m.org_unit.path) for m in memberships_of(actor)
    )


def has_exception(unit: OrgUnit, day: dt.date, today: dt.date) -> bool:
    return PeriodException.objects.filter(
        org_unit=unit, month=periods.month_start(day), until__gte=today
    ).exists()


def check_period_open(actor, unit: OrgUnit, day: dt.date) -> None:
    """A locked month takes changes only from a leader of the unit or above, or under a 补录 exception."""
    if actor is None:
        return
    today = timezone.localdate()
    if not periods.is_locked(day, today) or is_leader_over(actor, unit) or has_exception(unit, day, today):
        return
    raise PermissionDenied(periods.lock_message(day) + "如需补录或修改,请联系上级妇联开通补录,或由主席修改。")


def validate_record(record: LedgerRecord) -> None:
    """The rules every record passes, whether typed, imported or sent through the API (ValidationError)."""
    errors: dict[str, list[str]] = {}
    if record.kind not in RecordKind.values:
        errors.setdefault("kind", []).append("请选择台账类别。")
    elif record.category not in CATEGORIES[record.kind]:
        errors.setdefault("category", []).append(f"类型必须是:{'、'.join(CATEGORIES[record.kind])}。")
    if record.date and record.date > timezone.localdate():
        errors.setdefault("date", []).append("日期不能晚于今天:台账记录已经开展的工作。")
    if record.end_date and record.date and record.end_date < record.date:
        errors.setdefault("end_date", []).append("结束日期不能早于开始日期。")
    if record.person_times and record.person_times < record.participants:
        errors.setdefault("person_times", []).append("人次不能少于参加人数。")
    if (
        record.employed
        and record.recommended_jobs
        and record.employed > record.recommended_jobs + record.participants
    ):
        errors.setdefault("employed", []).append("实现就业人数不能多于参训人数与推荐就业人数之和。")
    for name, label in (("amount", "金额"), ("avg_income", "人均增收")):
        value = getattr(record, name)
        if value is not None and value < 0:
            errors.setdefault(name, []).append(f"{label}不能为负数。")
    unit = record.org_unit if record.org_unit_id else None
    if unit is not None and unit.closed_on is not None and record.date and record.date >= unit.closed_on:
        errors.setdefault("date", []).append(
            f"“{unit.name}”已于{unit.closed_on:%Y年%m月%d日}撤销,不能记录撤销之后的工作。"
        )
    # a kind's irrelevant columns stay zero/blank, so the roll-up never counts them by accident
    if record.kind in KIND_FIELDS:
        for name in set(RECORD_FIELDS) - set(KIND_FIELDS[record.kind]) - COMMON_FIELDS:
            default = LedgerRecord._meta.get_field(name).get_default()
            if getattr(record, name) not in (default, None, ""):
                setattr(record, name, default)
    try:
        record.full_clean(exclude=["org_unit", "created_by", "version", "tags"], validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


# the fields every kind has; the others are the figures and details of some kinds (KIND_FIELDS)
COMMON_FIELDS = {"kind", "category", "title", "date", "end_date", "location", "description"}


def _check_unknown(fields: Iterable[str]) -> None:
    unknown = set(fields) - set(RECORD_FIELDS)
    if unknown:
        raise ValueError(f"unknown ledger fields: {sorted(unknown)}")


def _require_record(actor, unit: OrgUnit) -> None:
    if not can_record_for(actor, unit):
        raise PermissionDenied("只能由本单位的工作人员填报本单位的台账。")


@transaction.atomic
def create_record(actor, *, org_unit: OrgUnit, tags: Iterable[BrandTag] = (), **fields) -> LedgerRecord:
    _require_record(actor, org_unit)
    _check_unknown(fields)
    rec = LedgerRecord(org_unit=org_unit, created_by=actor if actor is not None else None, **fields)
    validate_record(rec)
    check_period_open(actor, org_unit, rec.date)
    rec.save()
    totals.Deltas().add(totals.record_values(rec)).apply()
    tags = list(tags)
    if tags:
        rec.tags.set(tags)
    record(actor, "ledger.record.create", obj=rec, where=Where.of(org_unit), detail={"kind": rec.kind})
    return rec


@transaction.atomic
def update_record(actor, rec: LedgerRecord, *, expected_version: int, tags=None, **changes) -> LedgerRecord:
    """Save only if nobody saved since ``expected_version`` was read (else ConflictError)."""
    _require_record(actor, rec.org_unit)
    _check_unknown(changes)
    check_period_open(actor, rec.org_unit, rec.date)
    before = {k: str(getattr(rec, k)) for k in changes}
    for k, v in changes.items():
        setattr(rec, k, v)
    validate_record(rec)
    check_period_open(actor, rec.org_unit, rec.date)  # moving a record into a locked month counts too
    stored = totals.stored_values(rec.pk)  # what the monthly totals hold for it (locked until commit)
    updated = LedgerRecord.objects.filter(pk=rec.pk, version=expected_version).update(
        **{k: getattr(rec, k) for k in RECORD_FIELDS}, version=F("version") + 1, updated_at=timezone.now()
    )
    if not updated or stored is None:
        raise ConflictError()
    totals.Deltas().add(stored, -1).add(totals.record_values(rec)).apply()
    if tags is not None:
        rec.tags.set(list(tags))
    rec.refresh_from_db()
    record(
        actor,
        "ledger.record.update",
        obj=rec,
        where=Where.of(rec.org_unit),
        detail={"before": before, "after": {k: str(getattr(rec, k)) for k in changes}},
    )
    return rec


@transaction.atomic
def delete_record(actor, rec: LedgerRecord) -> None:
    _require_record(actor, rec.org_unit)
    check_period_open(actor, rec.org_unit, rec.date)
    # the monthly totals before the audit event, as in every ledger write: one lock order (the month row,
    # then the audit chain head), so two writers cannot deadlock on them
    stored = totals.stored_values(rec.pk)  # the saved figures, not the caller's copy
    if stored is not None:
        totals.Deltas().add(stored, -1).apply()
    record(
        actor,
        "ledger.record.delete",
        obj=rec,
        where=Where.of(rec.org_unit),
        detail={"title": rec.title, "date": rec.date.isoformat(), "kind": rec.kind},
    )
    rec.delete()


@transaction.atomic
def create_records(
    actor, items: list[tuple[OrgUnit, dict, list[BrandTag]]], *, source: str = ""
) -> list[LedgerRecord]:
    """Bulk create (Excel import): the same checks per item, one audit event per unit."""
    recs = []
    for index, (unit, fields, _tags) in enumerate(items):
        try:
            _require_record(actor, unit)
            _check_unknown(fields)
            rec = LedgerRecord(org_unit=unit, created_by=actor, **fields)
            validate_record(rec)
            check_period_open(actor, unit, rec.date)
        except (ValidationError, PermissionDenied) as exc:
            raise BulkItemError(index, exc) from exc
        recs.append(rec)
    LedgerRecord.objects.bulk_create(recs, batch_size=500)
    totals.deltas_for(totals.record_values(rec) for rec in recs).apply()  # one upsert per 500 unit-months
    through = LedgerRecord.tags.through
    through.objects.bulk_create(
        [
            through(ledgerrecord_id=rec.pk, brandtag_id=tag.pk)
            for rec, (_, _, tags) in zip(recs, items, strict=True)
            for tag in tags
        ],
        batch_size=1000,
    )
    by_unit: dict[int, list[int]] = {}
    for rec in recs:
        by_unit.setdefault(rec.org_unit_id, []).append(rec.pk)
    units = {unit.pk: unit for unit, _, _ in items}
    for unit_id, ids in by_unit.items():
        record(
            actor,
            "ledger.record.bulk_create",
            object_type="ledger.ledgerrecord",
            where=Where.of(units[unit_id]),
            detail={"count": len(ids), "ids": ids, "source": source},
        )
    return recs


def rebuild_month_totals(actor, unit: OrgUnit) -> dict:
    """Recompute the monthly totals of ``unit``'s subtree from the records (``fulian ledger_rebuild_totals``).
    Idempotent. Not one transaction: the unit's own rows, then one transaction per child branch, each holding
    off the actions' upserts only while its branch is recomputed (fulian/ledger/totals.py)."""
    if actor is not None and not scope_for(actor, Cap.MANAGE_ORG).is_root:
        raise PermissionDenied("只有最上级单位可以重算台账月度合计。")
    started = time.perf_counter()
    figures = totals.rebuild(unit)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    record(actor, "ledger.month_totals.rebuild", obj=unit, where=Where.of(unit), detail=figures)
    return figures


@transaction.atomic
def grant_exception(actor, unit: OrgUnit, month: dt.date, until: dt.date, reason: str) -> PeriodException:
    """The level above opens a locked month of ``unit`` for 补录 until ``until``."""
    if unit.parent_id is None or not scope_for(actor, Cap.ASSIGN_WORK).contains(unit.parent):
        raise PermissionDenied("只有上级妇联可以为本单位开通补录。")
    if not reason.strip():
        raise ValidationError({"reason": "请填写开通补录的原因。"})
    exc, _ = PeriodException.objects.update_or_create(
        org_unit=unit,
        month=periods.month_start(month),
        defaults={"until": until, "reason": reason.strip(), "granted_by": actor},
    )
    record(
        actor,
        "ledger.period.exception",
        obj=exc,
        where=Where.of(unit),
        detail={"month": exc.month.isoformat(), "until": until.isoformat(), "reason": reason},
    )
    return exc


@transaction.atomic
def create_tag(actor, name: str, sort_order: int = 0) -> BrandTag:
    require_tag_admin(actor)
    tag = BrandTag(name=name.strip(), sort_order=sort_order)
    _clean_tag(tag)
    tag.save()
    record(actor, "ledger.tag.create", obj=tag, detail={"name": tag.name})
    return tag


def can_manage_tags(actor) -> bool:
    """Brand tags are one list for the whole tree: kept by the top unit's managers."""
    return actor is None or scope_for(actor, Cap.MANAGE_ORG).is_root


def require_tag_admin(actor) -> None:
    if not can_manage_tags(actor):
        raise PermissionDenied("品牌标签由最上级单位维护。")


def _clean_tag(tag: BrandTag) -> None:
    if not tag.name:
        raise ValidationError({"name": ["请填写标签名称。"]})
    if BrandTag.objects.filter(name=tag.name).exclude(pk=tag.pk).exists():
        raise ValidationError({"name": [f"品牌标签“{tag.name}”已存在。"]})
    tag.full_clean(validate_unique=False)


@transaction.atomic
def update_tag(
    actor,
    tag: BrandTag,
    *,
    name: str | None = None,
    sort_order: int | None = None,
    active: bool | None = None,
) -> BrandTag:
    """Rename, reorder, or retire a tag. A retired tag is no longer offered, and records keep it."""
    require_tag_admin(actor)
    before = {"name": tag.name, "sort_order": tag.sort_order, "active": tag.active}
    if name is not None:
        tag.name = name.strip()
    if sort_order is not None:
        tag.sort_order = sort_order
    if active is not None:
        tag.active = active
    _clean_tag(tag)
    tag.save(update_fields=["name", "sort_order", "active"])
    after = {"name": tag.name, "sort_order": tag.sort_order, "active": tag.active}
    record(actor, "ledger.tag.update", obj=tag, detail={"before": before, "after": after})
    return tag


# --- photos and event sign-in (活动签到) ------------------------------------------------------------------------


def add_photo(actor, rec: LedgerRecord, uploaded, caption: str = "") -> LedgerPhoto:
    """Attach a photo (same rights as editing the record). The upload is checked before the transaction opens,
    so a refused file leaves its audit event even though nothing is saved."""
    _require_record(actor, rec.org_unit)
    check_period_open(actor, rec.org_unit, rec.date)
    caption = (caption or "").strip()
    if len(caption) > 100:
        raise ValidationError({"caption": "照片说明不能超过100个字。"})
    _check_photo_room(rec)
    prepared = prepare_upload(actor, uploaded, unit=rec.org_unit, allowed=("image",))
    return _save_photo(actor, rec, prepared, caption)


def _check_photo_room(rec: LedgerRecord) -> None:
    if LedgerPhoto.objects.filter(record=rec).count() >= MAX_PHOTOS_PER_RECORD:
        raise ValidationError(f"每条台账最多上传 {MAX_PHOTOS_PER_RECORD} 张照片,请先删除不需要的照片。")


@transaction.atomic
def _save_photo(actor, rec: LedgerRecord, prepared, caption: str) -> LedgerPhoto:
    LedgerRecord.objects.select_for_update().filter(pk=rec.pk).values_list(
        "pk"
    ).first()  # one upload at a time
    _check_photo_room(rec)
    stored = save_prepared(actor, prepared, unit=rec.org_unit)
    photo = LedgerPhoto.objects.create(record=rec, file=stored, caption=caption)
    record(
        actor,
        "ledger.photo.add",
        obj=photo,
        where=Where.of(rec.org_unit),
        detail={"record": rec.pk, "file": stored.pk, "sha256": stored.sha256},
    )
    return photo


@transaction.atomic
def remove_photo(actor, photo: LedgerPhoto) -> None:
    rec = photo.record
    _require_record(actor, rec.org_unit)
    check_period_open(actor, rec.org_unit, rec.date)
    record(
        actor,
        "ledger.photo.remove",
        obj=photo,
        where=Where.of(rec.org_unit),
        detail={"record": rec.pk, "file": photo.file_id, "caption": photo.caption},
    )
    stored = photo.file
    photo.delete()
    delete_stored(actor, stored)


SIGNIN_HOURS = (2, 4, 8, 24, 72)


@transaction.atomic
def open_signin(actor, rec: LedgerRecord, *, hours: int = 4) -> SignInSheet:
    """Open (or reopen) the record's sign-in sheet for ``hours`` from now. The code stays the same on reopening,
    so a printed QR code keeps working."""
    _require_record(actor, rec.org_unit)
    check_period_open(actor, rec.org_unit, rec.date)
    if rec.kind not in SIGNIN_KINDS:
        raise ValidationError("只有活动和培训可以开启签到。")
    if hours not in SIGNIN_HOURS:
        raise ValidationError({"hours": f"签到时长只能选择:{'、'.join(f'{h}小时' for h in SIGNIN_HOURS)}。"})
    now = timezone.now()
    sheet = SignInSheet.objects.select_for_update().filter(record=rec).first()
    if sheet is None:
        sheet = SignInSheet(record=rec, code=secrets.token_urlsafe(24), created_by=actor)
    sheet.opens_at = now
    sheet.closes_at = now + dt.timedelta(hours=hours)
    sheet.active = True
    sheet.save()
    record(
        actor,
        "ledger.signin.open",
        obj=sheet,
        where=Where.of(rec.org_unit),
        detail={"record": rec.pk, "closes_at": sheet.closes_at.isoformat()},
    )
    return sheet


@transaction.atomic
def close_signin(actor, sheet: SignInSheet) -> SignInSheet:
    rec = sheet.record
    _require_record(actor, rec.org_unit)
    sheet.active = False
    sheet.save(update_fields=["active"])
    record(actor, "ledger.signin.close", obj=sheet, where=Where.of(rec.org_unit), detail={"record": rec.pk})
    return sheet


def _signin_rate() -> int:
    from django.conf import settings

    return getattr(settings, "LEDGER_SIGNIN_RATE_PER_MINUTE", 20)


SIGNIN_WINDOW = dt.timedelta(seconds=60)


def note_signin_attempt(sheet: SignInSheet, ip: str | None) -> None:
    """Count this POST against (sheet, IP) over the last minute; RateLimited beyond the limit. The attempt is
    stored in the database (fulian.throttle), so every app process sees it."""
    if hit("ledger.signin", f"{sheet.pk}:{ip or ''}", limit=_signin_rate(), window=SIGNIN_WINDOW):
        raise RateLimited("签到过于频繁,请稍候一分钟再试。", code="rate_limited")


def sign_in(sheet: SignInSheet, *, name: str, phone: str, ip: str | None) -> tuple[Attendance, bool]:
    """A participant signs in without an account (actor None). Returns (attendance, created); the same phone a
    second time returns the first attendance and created=False. Raises RateLimited / ValidationError."""
    note_signin_attempt(sheet, ip)
    now = timezone.now()
    if not sheet.is_open(now):
        if sheet.active and now < sheet.opens_at:
            raise ValidationError("签到尚未开始。", code="closed")
        raise ValidationError("本次活动的签到已经结束。", code="closed")
    name = unicodedata.normalize("NFKC", name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["请填写姓名。"]
    elif len(name) > 30:
        errors["name"] = ["姓名不能超过30个字。"]
    elif any(unicodedata.category(ch).startswith("C") for ch in name):
        errors["name"] = ["姓名中含有不可见字符,请重新填写。"]
    # the mobile number as every other form reads it (fulian.lib.idcard): full-width digits, spaces, dashes,
    # +86 / 0086 / 86 prefixes; the stored form is its 11 digits
    try:
        phone = validate_mobile(phone)
    except InvalidNumber:
        errors["phone"] = [
            "请填写手机号。" if not (phone or "").strip() else "请填写正确的11位手机号,例如 13800001234。"
        ]
    if errors:
        raise ValidationError(errors)
    return _record_attendance(sheet, name, phone, ip)


@transaction.atomic
def _record_attendance(sheet: SignInSheet, name: str, phone: str, ip: str | None) -> tuple[Attendance, bool]:
    same_phone = Attendance.objects.filter(index_lookup(Attendance, "phone_index", phone), sheet=sheet)
    existing = same_phone.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            attendance = Attendance.objects.create(sheet=sheet, name=name, phone=phone, ip=ip)
    except IntegrityError:  # the same phone, submitted twice at once
        return same_phone.get(), False
    record(
        None,
        "ledger.signin.attend",
        obj=attendance,
        where=Where.of(sheet.record.org_unit),
        ip=ip,
        detail={"sheet": sheet.pk, "record": sheet.record_id},
    )
    return attendance, True
