from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

from .paths import depth_of, minimal_roots, subtree_q

# `division_code__length` in the check constraint below.
models.CharField.register_lookup(Length)


class ScopedQuerySet(models.QuerySet):
    """The one scoping mechanism (DESIGN.md §3): every domain queryset filters by org path through here.

    ``scope_path_field`` names the path of the unit a row belongs to (``path`` on OrgUnit itself,
    ``org_unit__path`` on records that belong to a unit).
    """

    scope_path_field = "org_unit__path"

    def within(self, scope) -> ScopedQuerySet:
        """Rows inside the scope: a ``Scope`` (fulian.accounts.scope) or an iterable of paths."""
        paths = getattr(scope, "paths", scope)
        paths = minimal_roots(paths)
        if not paths:
            return self.none()
        return self.filter(subtree_q(paths, self.scope_path_field))

    def under(self, unit: OrgUnit, include_self: bool = True) -> ScopedQuerySet:
        qs = self.filter(subtree_q([unit.path], self.scope_path_field))
        if not include_self and self.scope_path_field == "path":
            qs = qs.exclude(pk=unit.pk)
        return qs


class Kind(models.TextChoices):
    PROVINCE = "province", "省级妇联"
    CITY = "city", "市级妇联"
    COUNTY = "county", "县(区)妇联"
    TOWNSHIP = "township", "乡镇妇联"
    STREET = "street", "街道妇联"
    VILLAGE = "village", "村妇联"
    COMMUNITY = "community", "社区妇联"
    AGENCY = "agency", "机关事业单位妇委会"
    ENTERPRISE = "enterprise", "企业妇委会"
    NEW_ORG = "new_org", "新经济组织和新社会组织妇委会"


# Which kinds may sit under which (the import and the move both check this).
ALLOWED_PARENT_KINDS: dict[str, set[str]] = {
    Kind.PROVINCE: set(),
    Kind.CITY: {Kind.PROVINCE},
    Kind.COUNTY: {Kind.CITY, Kind.PROVINCE},
    Kind.TOWNSHIP: {Kind.COUNTY},
    Kind.STREET: {Kind.COUNTY},
    Kind.VILLAGE: {Kind.TOWNSHIP, Kind.STREET},
    Kind.COMMUNITY: {Kind.TOWNSHIP, Kind.STREET},
    Kind.AGENCY: {Kind.PROVINCE, Kind.CITY, Kind.COUNTY, Kind.TOWNSHIP, Kind.STREET},
    Kind.ENTERPRISE: {Kind.PROVINCE, Kind.CITY, Kind.COUNTY, Kind.TOWNSHIP, Kind.STREET},
    Kind.NEW_ORG: {Kind.PROVINCE, Kind.CITY, Kind.COUNTY, Kind.TOWNSHIP, Kind.STREET},
}


class OrgUnitQuerySet(ScopedQuerySet):
    scope_path_field = "path"

    def active_on(self, day: dt.date) -> OrgUnitQuerySet:
        """Units that existed on ``day`` (opened on or before, not yet closed)."""
        return self.filter(Q(opened_on__isnull=True) | Q(opened_on__lte=day)).filter(
            Q(closed_on__isnull=True) | Q(closed_on__gt=day)
        )

    def active_during(self, start: dt.date, end: dt.date) -> OrgUnitQuerySet:
        """Units that existed at some point in [start, end]: a unit closed in a merger still counts in the
        periods when it existed and never in later ones."""
        return self.filter(Q(opened_on__isnull=True) | Q(opened_on__lte=end)).filter(
            Q(closed_on__isnull=True) | Q(closed_on__gt=start)
        )


class OrgUnit(models.Model):
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(max_length=255, unique=True)
    depth = models.PositiveSmallIntegerField()
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    name = models.CharField("名称", max_length=100)
    code = models.CharField("单位编码", max_length=32, unique=True, null=True, blank=True)
    division_code = models.CharField("统计用区划代码", max_length=12, null=True, blank=True, db_index=True)
    established = models.BooleanField("已建立妇联组织", default=True)
    sort_order = models.PositiveIntegerField("排序", default=0)
    opened_on = models.DateField("成立日期", null=True, blank=True)
    closed_on = models.DateField("撤销日期", null=True, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=32, blank=True)
    # the last number used for a child's path segment (children keep their segment when siblings go)
    last_child_number = models.PositiveIntegerField(default=0)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = "组织单位"
        verbose_name_plural = "组织单位"
        constraints = [
            models.CheckConstraint(
                condition=Q(division_code__isnull=True) | Q(division_code__length=12),
                name="orgunit_division_code_12_digits",
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True)
                | Q(opened_on__isnull=True)
                | Q(closed_on__gt=models.F("opened_on")),
                name="orgunit_closed_after_opened",
            ),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="orgunit_kind_valid"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="orgunit_not_own_parent"),
            models.UniqueConstraint(fields=["parent", "name"], name="orgunit_unique_name_per_parent"),
        ]
        indexes = [models.Index(fields=["parent", "sort_order"], name="orgunit_parent_sort")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.depth = depth_of(self.path)
        super().save(*args, **kwargs)

    @property
    def is_closed(self) -> bool:
        return self.closed_on is not None and self.closed_on <= dt.date.today()

    def ancestor_paths(self) -> list[str]:
        parts = self.path.split(".")
        return [".".join(parts[:i]) for i in range(1, len(parts))]


class Gender(models.TextChoices):
    FEMALE = "F", "女"
    MALE = "M", "男"


class Education(models.TextChoices):
    POSTGRADUATE = "postgraduate", "研究生"
    BACHELOR = "bachelor", "本科"
    COLLEGE = "college", "大专"
    HIGH_SCHOOL = "high_school", "高中或中专"
    BELOW = "below", "初中及以下"


class Position(models.TextChoices):
    CHAIR = "chair", "主席"
    VICE_CHAIR = "vice_chair", "副主席"
    EXECUTIVE = "executive", "执委"
    MEMBER = "member", "委员"
    STAFF = "staff", "专干"


class CadreQuerySet(ScopedQuerySet):
    scope_path_field = "org_unit__path"


class Cadre(models.Model):
    """A federation cadre or executive committee member (妇联干部/执委)."""

    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="cadres", verbose_name="所在单位"
    )
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices, default=Gender.FEMALE)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    education = models.CharField("文化程度", max_length=16, choices=Education.choices)
    position = models.CharField("职务", max_length=16, choices=Position.choices)
    full_time = models.BooleanField("专职", default=False)
    party_member = models.BooleanField("中共党员", default=False)
    in_two_committees = models.BooleanField("进村(社区)两委", default=False)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    term_start = models.DateField("任期开始", null=True, blank=True)
    term_end = models.DateField("任期结束", null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CadreQuerySet.as_manager()

    class Meta:
        ordering = ["org_unit__path", "position", "name", "id"]
        verbose_name = "妇联干部"
        verbose_name_plural = "妇联干部"
        constraints = [
            models.CheckConstraint(condition=Q(education__in=Education.values), name="cadre_education_valid"),
            models.CheckConstraint(condition=Q(position__in=Position.values), name="cadre_position_valid"),
            models.CheckConstraint(condition=Q(gender__in=Gender.values), name="cadre_gender_valid"),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True)
                | Q(term_start__isnull=True)
                | Q(term_end__gte=models.F("term_start")),
                name="cadre_term_ordered",
            ),
        ]
        indexes = [models.Index(fields=["org_unit", "position"], name="cadre_unit_position")]

    def __str__(self) -> str:
        return self.name


class HomeKind(models.TextChoices):
    WOMEN = "women", "妇女之家"
    CHILDREN = "children", "儿童之家"
    BOTH = "both", "妇女儿童之家"


class WomensHomeQuerySet(ScopedQuerySet):
    scope_path_field = "org_unit__path"


class WomensHome(models.Model):
    """A 妇女之家 / 儿童之家 site."""

    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="homes", verbose_name="所在单位"
    )
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=16, choices=HomeKind.choices, default=HomeKind.WOMEN)
    address = models.CharField("地址", max_length=200, blank=True)
    opened_on = models.DateField("建成日期", null=True, blank=True)
    area_sqm = models.PositiveIntegerField("面积(平方米)", null=True, blank=True)
    facilities = models.TextField("设施", blank=True)

    objects = WomensHomeQuerySet.as_manager()

    class Meta:
        ordering = ["org_unit__path", "name"]
        verbose_name = "妇女之家"
        verbose_name_plural = "妇女之家"
        constraints = [models.CheckConstraint(condition=Q(kind__in=HomeKind.values), name="home_kind_valid")]

    def __str__(self) -> str:
        return self.name
