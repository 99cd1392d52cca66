"""Scoped reads of ledger photos and sign-in sheets (the record's own access rules apply: VIEW_WORK scope)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from fulian.accounts.access import get_in_scope
from fulian.accounts.roles import Cap

from .actions import can_record_for
from .models import MAX_PHOTOS_PER_RECORD, SIGNIN_KINDS, Attendance, LedgerPhoto, LedgerRecord, SignInSheet


def access_photo(actor, photo_id) -> LedgerPhoto:
    """A photo of a record inside the actor's VIEW_WORK scope (404 otherwise)."""
    return get_in_scope(
        actor, LedgerPhoto.objects.select_related("file", "record__org_unit"), photo_id, Cap.VIEW_WORK
    )


def sheet_of(record: LedgerRecord) -> SignInSheet | None:
    """The record's sign-in sheet with its attendance count (one query), or None."""
    return SignInSheet.objects.filter(record=record).annotate(signed_in=Count("attendances")).first()


def attendances_of(sheet: SignInSheet) -> QuerySet[Attendance]:
    return Attendance.objects.filter(sheet=sheet).order_by("created_at", "id")


@dataclass
class RecordMedia:
    """Everything the record page's photo and sign-in block shows: two queries."""

    record: LedgerRecord
    photos: list[LedgerPhoto]
    sheet: SignInSheet | None
    can_edit: bool
    max_photos: int = MAX_PHOTOS_PER_RECORD

    @property
    def room_for_photos(self) -> bool:
        return self.can_edit and len(self.photos) < self.max_photos

    @property
    def signin_allowed(self) -> bool:
        return self.record.kind in SIGNIN_KINDS


def media_of(actor, record: LedgerRecord) -> RecordMedia:
    """``record`` must come from ``access_record`` (the caller has checked the scope)."""
    photos = list(LedgerPhoto.objects.filter(record=record).select_related("file"))
    sheet = sheet_of(record) if record.kind in SIGNIN_KINDS else None
    return RecordMedia(
        record=record, photos=photos, sheet=sheet, can_edit=can_record_for(actor, record.org_unit)
    )
