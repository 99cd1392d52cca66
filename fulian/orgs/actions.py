"""Every write to the org tree, cadres and sites. Each takes the acting user first (None = the system)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.audit.actions import Where, record

from . import hooks
from .models import ALLOWED_PARENT_KINDS, Cadre, Kind, OrgUnit, WomensHome
from .paths import child_path, depth_of, is_within, segment, subtree_q


class ConflictError(Exception):
    """Someone else saved the record since it was read (optimistic version check)."""

    message = "该记录已被其他人修改,请刷新后重新编辑。您填写的内容没有丢失。"

    def __str__(self) -> str:
        return self.message


def save_versioned(obj, expected_version: int, **changes):
    """Optimistic update of ``obj`` (a model with ``version`` and ``updated_at``): apply ``changes`` only if
    nobody saved it since ``expected_version`` was read, else ConflictError; returns it reloaded."""
    updated = (
        type(obj)
        ._default_manager.filter(pk=obj.pk, version=expected_version)
        .update(**changes, version=F("version") + 1, updated_at=timezone.now())
    )
    if not updated:
        raise ConflictError()
    obj.refresh_from_db()
    return obj


def _require(actor, cap: Cap, unit: OrgUnit) -> None:
    if actor is None:  # the system itself (seed, migrations of data)
        return
    if not scope_for(actor, cap).contains(unit):
        raise PermissionDenied("您无权在该单位进行此操作。")


def check_parent_kind(kind: str, parent: OrgUnit | None) -> None:
    if parent is None:  # a deployment's root may be of any level (a county installs its own)
        return
    allowed = ALLOWED_PARENT_KINDS[kind]
    if parent.kind not in allowed:
        raise ValidationError(f"{Kind(kind).label}不能设在{Kind(parent.kind).label}之下。")


def _allocate_path(parent: OrgUnit | None) -> str:
    """Next free path under ``parent`` (locked by the caller's transaction)."""
    if parent is None:
        top = OrgUnit.objects.filter(parent__isnull=True).aggregate(m=Max("path"))["m"]
        return segment(int(top) + 1 if top else 1)
    parent = OrgUnit.objects.select_for_update().get(pk=parent.pk)
    number = parent.last_child_number + 1
    OrgUnit.objects.filter(pk=parent.pk).update(last_child_number=number)
    return child_path(parent.path, number)


@transaction.atomic
def create_unit(
    actor,
    *,
    parent: OrgUnit | None,
    kind: str,
    name: str,
    code: str | None = None,
    division_code: str | None = None,
    established: bool = True,
    sort_order: int = 0,
    opened_on: dt.date | None = None,
    address: str = "",
    phone: str = "",
) -> OrgUnit:
    if parent is not None:
        _require(actor, Cap.MANAGE_ORG, parent)
    elif actor is not None:
        raise PermissionDenied("只有系统初始化可以创建顶级单位。")
    check_parent_kind(kind, parent)
    unit = OrgUnit(
        parent=parent,
        path=_allocate_path(parent),
        kind=kind,
        name=name,
        code=code or None,
        division_code=division_code or None,
        established=established,
        sort_order=sort_order,
        opened_on=opened_on,
        address=address,
        phone=phone,
    )
    unit.full_clean(exclude=["path", "depth", "parent"])
    unit.save()
    record(actor, "orgs.unit.create", obj=unit, where=Where.of(unit), detail={"name": name, "kind": kind})
    return unit


UNIT_EDITABLE = (
    "name",
    "code",
    "division_code",
    "established",
    "sort_order",
    "opened_on",
    "closed_on",
    "address",
    "phone",
)


@transaction.atomic
def update_unit(actor, unit: OrgUnit, **changes) -> OrgUnit:
    _require(actor, Cap.MANAGE_ORG, unit)
    unknown = set(changes) - set(UNIT_EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    before = {k: str(getattr(unit, k)) for k in changes}
    for k, v in changes.items():
        setattr(unit, k, v)
    unit.full_clean(exclude=["path", "depth", "parent"])
    unit.save(update_fields=[*changes, "depth"])
    record(
        actor,
        "orgs.unit.update",
        obj=unit,
        where=Where.of(unit),
        detail={"before": before, "after": {k: str(v) for k, v in changes.items()}},
    )
    return unit


@transaction.atomic
def move_unit(actor, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Move ``unit`` and its whole subtree under ``new_parent`` (乡镇合并, 撤村并居), in one transaction.

    Records keep their foreign keys to units, so their history moves with the unit; only paths change. Then
    every hook of ``fulian.orgs.hooks.unit_moved`` runs in this same transaction (the ledger moves the
    subtree's figures from the old ancestors' rows to the new ones'); a hook that raises rolls the move back.
    The hooks of ``unit_moving`` run first, before any unit row is locked (their table locks come first).
    """
    hooks.run_unit_moving(unit, new_parent)
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    _require(actor, Cap.MANAGE_ORG, unit)
    _require(actor, Cap.MANAGE_ORG, new_parent)
    if unit.parent_id is None:
        raise ValidationError("顶级单位不能移动。")
    if is_within(new_parent.path, unit.path):
        raise ValidationError(f"不能把“{unit.name}”移到它自己或它的下级单位“{new_parent.name}”之下。")
    if new_parent.pk == unit.parent_id:
        raise ValidationError(f"“{unit.name}”已经在“{new_parent.name}”之下。")
    check_parent_kind(unit.kind, new_parent)
    old_path, old_parent_id = unit.path, unit.parent_id
    old_ancestor_ids = list(
        OrgUnit.objects.filter(path__in=unit.ancestor_paths()).order_by("path").values_list("pk", flat=True)
    )
    new_path = _allocate_path(new_parent)
    delta = depth_of(new_path) - depth_of(old_path)
    OrgUnit.objects.filter(subtree_q([old_path])).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + delta,
    )
    OrgUnit.objects.filter(pk=unit.pk).update(parent=new_parent)
    unit.refresh_from_db()
    new_ancestor_ids = list(
        OrgUnit.objects.filter(path__in=unit.ancestor_paths()).order_by("path").values_list("pk", flat=True)
    )
    hooks.run_unit_moved(unit, old_ancestor_ids, new_ancestor_ids)
    record(
        actor,
        "orgs.unit.move",
        obj=unit,
        where=Where.of(new_parent),
        detail={
            "from_parent": old_parent_id,
            "to_parent": new_parent.pk,
            "old_path": old_path,
            "new_path": new_path,
        },
    )
    return unit


# --- cadres ---------------------------------------------------------------------------------------------------

CADRE_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "education",
    "position",
    "full_time",
    "party_member",
    "in_two_committees",
    "phone",
    "term_start",
    "term_end",
)


def _validate_cadre(cadre: Cadre) -> None:
    """Field validation in Python; the check constraints are the database's to enforce (Django's
    validate_constraints would cost one query per constraint per row), their rules are restated here in Chinese."""
    if cadre.birth_date and cadre.birth_date > dt.date.today():
        raise ValidationError({"birth_date": "出生日期不能晚于今天。"})
    if cadre.term_start and cadre.term_end and cadre.term_end < cadre.term_start:
        raise ValidationError({"term_end": "任期结束日期不能早于任期开始日期。"})
    cadre.full_clean(exclude=["org_unit", "version"], validate_constraints=False)


@transaction.atomic
def create_cadre(actor, *, org_unit: OrgUnit, **fields) -> Cadre:
    _require(actor, Cap.EDIT_CADRES, org_unit)
    unknown = set(fields) - set(CADRE_FIELDS)
    if unknown:
        raise ValueError(f"unknown cadre fields: {sorted(unknown)}")
    cadre = Cadre(org_unit=org_unit, **fields)
    _validate_cadre(cadre)
    cadre.save()
    record(actor, "orgs.cadre.create", obj=cadre, where=Where.of(org_unit))
    return cadre


class BulkItemError(Exception):
    """Item ``index`` of a bulk write is invalid; nothing was written."""

    def __init__(self, index: int, error: Exception):
        super().__init__(str(error))
        self.index = index
        self.error = error


@transaction.atomic
def create_cadres(actor, items: list[tuple[OrgUnit, dict]], *, source: str = "") -> list[Cadre]:
    """Create many cadres at once (Excel import): same checks as create_cadre, one INSERT per batch, and one
    audit event per unit listing the new ids (so each unit's auditor sees what was added to it)."""
    units = {unit.pk: unit for unit, _ in items}
    for unit in units.values():
        _require(actor, Cap.EDIT_CADRES, unit)
    cadres = []
    for index, (unit, fields) in enumerate(items):
        unknown = set(fields) - set(CADRE_FIELDS)
        if unknown:
            raise ValueError(f"unknown cadre fields: {sorted(unknown)}")
        cadre = Cadre(org_unit=unit, **fields)
        try:
            _validate_cadre(cadre)
        except ValidationError as exc:
            raise BulkItemError(index, exc) from exc
        cadres.append(cadre)
    Cadre.objects.bulk_create(cadres, batch_size=500)
    by_unit: dict[int, list[int]] = {}
    for cadre in cadres:
        by_unit.setdefault(cadre.org_unit_id, []).append(cadre.pk)
    for unit_id, ids in by_unit.items():
        record(
            actor,
            "orgs.cadre.bulk_create",
            object_type="orgs.cadre",
            where=Where.of(units[unit_id]),
            detail={"count": len(ids), "ids": ids, "source": source},
        )
    return cadres


@transaction.atomic
def update_cadre(
    actor, cadre: Cadre, *, expected_version: int, org_unit: OrgUnit | None = None, **changes
) -> Cadre:
    """Save changes only if nobody saved since ``expected_version`` was read; else ConflictError."""
    _require(actor, Cap.EDIT_CADRES, cadre.org_unit)
    if org_unit is not None and org_unit.pk != cadre.org_unit_id:
        _require(actor, Cap.EDIT_CADRES, org_unit)
        changes["org_unit"] = org_unit
    unknown = set(changes) - set(CADRE_FIELDS) - {"org_unit"}
    if unknown:
        raise ValueError(f"unknown cadre fields: {sorted(unknown)}")
    before = {k: str(getattr(cadre, k)) for k in changes}
    for k, v in changes.items():
        setattr(cadre, k, v)
    _validate_cadre(cadre)
    updated = Cadre.objects.filter(pk=cadre.pk, version=expected_version).update(
        **{k: getattr(cadre, k) for k in changes}, version=F("version") + 1, updated_at=timezone.now()
    )
    if not updated:
        raise ConflictError()
    cadre.refresh_from_db()
    record(
        actor,
        "orgs.cadre.update",
        obj=cadre,
        where=Where.of(cadre.org_unit),
        detail={"before": before, "after": {k: str(getattr(cadre, k)) for k in changes}},
    )
    return cadre


@transaction.atomic
def create_home(actor, *, org_unit: OrgUnit, **fields) -> WomensHome:
    _require(actor, Cap.MANAGE_ORG, org_unit)
    home = WomensHome(org_unit=org_unit, **fields)
    home.full_clean(exclude=["org_unit"])
    home.save()
    record(actor, "orgs.home.create", obj=home, where=Where.of(org_unit))
    return home
