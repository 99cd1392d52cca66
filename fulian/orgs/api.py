"""REST endpoints for org units and cadres. Same scoping as the pages, through the same helpers."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from fulian.accounts.roles import Cap
from fulian.api.idempotency import idempotent_create
from fulian.api.permissions import HasScope

from . import actions, queries
from .actions import CADRE_FIELDS
from .models import Cadre, Kind, OrgUnit


class OrgUnitSerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(allow_null=True)
    kind_display = serializers.CharField(source="get_kind_display")

    class Meta:
        model = OrgUnit
        fields = [
            "id",
            "parent_id",
            "path",
            "depth",
            "kind",
            "kind_display",
            "name",
            "code",
            "division_code",
            "established",
            "sort_order",
            "opened_on",
            "closed_on",
            "address",
            "phone",
        ]
        read_only_fields = fields


class CadreSerializer(serializers.ModelSerializer):
    org_unit_id = serializers.IntegerField()
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    version = serializers.IntegerField(
        required=False, help_text="修改时必须带上读取时的版本号,防止覆盖他人修改"
    )

    class Meta:
        model = Cadre
        fields = ["id", "org_unit_id", "org_unit_name", *CADRE_FIELDS, "version"]
        read_only_fields = ["id", "org_unit_name"]


UNIT_PARAMS = [
    OpenApiParameter("under", OpenApiTypes.INT, description="只列出该单位(含)之下的单位"),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Kind.values),
    OpenApiParameter("q", OpenApiTypes.STR, description="名称包含"),
]


@extend_schema(parameters=UNIT_PARAMS, summary="组织单位列表(限于本人权限范围)")
class UnitListView(generics.ListAPIView):
    serializer_class = OrgUnitSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_ORG

    def get_queryset(self):
        params = self.request.query_params
        qs = queries.units_in_scope(self.request.user)
        if params.get("under"):
            qs = qs.under(queries.access_unit(self.request.user, params["under"]))
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        if params.get("q"):
            qs = qs.filter(name__contains=params["q"])
        return qs.order_by("path")


@extend_schema(summary="组织单位详情")
class UnitDetailView(generics.RetrieveAPIView):
    serializer_class = OrgUnitSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_ORG

    def get_object(self):
        return queries.access_unit(self.request.user, self.kwargs["pk"])


@extend_schema(summary="下级单位")
class UnitChildrenView(generics.ListAPIView):
    serializer_class = OrgUnitSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_ORG

    def get_queryset(self):
        return queries.children_of(queries.access_unit(self.request.user, self.kwargs["pk"]))


CADRE_PARAMS = [
    OpenApiParameter("unit", OpenApiTypes.INT, description="该单位(含下级)的干部"),
    OpenApiParameter("q", OpenApiTypes.STR, description="姓名或电话包含"),
    OpenApiParameter("education", OpenApiTypes.STR),
    OpenApiParameter("position", OpenApiTypes.STR),
    OpenApiParameter("full_time", OpenApiTypes.BOOL),
    OpenApiParameter("party_member", OpenApiTypes.BOOL),
    OpenApiParameter("in_two_committees", OpenApiTypes.BOOL),
    OpenApiParameter(
        "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="重试时不会重复创建"
    ),
]


def _tri(value: str | None) -> bool | None:
    if value in (None, ""):
        return None
    return value.lower() in ("1", "true", "yes", "是")


class CadreListCreateView(generics.ListCreateAPIView):
    serializer_class = CadreSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_CADRES

    def get_queryset(self):
        p = self.request.query_params
        unit = queries.access_unit(self.request.user, p["unit"], Cap.VIEW_CADRES) if p.get("unit") else None
        f = queries.CadreFilter(
            q=p.get("q", ""),
            unit=unit,
            education=p.get("education", ""),
            position=p.get("position", ""),
            full_time=_tri(p.get("full_time")),
            party_member=_tri(p.get("party_member")),
            in_two_committees=_tri(p.get("in_two_committees")),
        )
        return queries.cadres_of(self.request.user, f)

    @extend_schema(parameters=CADRE_PARAMS, summary="干部列表")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(parameters=CADRE_PARAMS[-1:], summary="新增干部")
    def post(self, request, *args, **kwargs):
        # Validate and check access before the idempotent transaction: a refusal's audit event must not be
        # rolled back with it.
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        unit = queries.access_unit(request.user, data.pop("org_unit_id"), Cap.EDIT_CADRES)

        def create():
            cadre = actions.create_cadre(request.user, org_unit=unit, **data)
            return Response(self.get_serializer(cadre).data, status=status.HTTP_201_CREATED)

        return idempotent_create(request, "cadres", create)


@extend_schema(summary="干部详情与修改")
class CadreDetailView(generics.RetrieveUpdateAPIView):
    serializer_class = CadreSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_CADRES

    def get_object(self):
        write = self.request.method not in ("GET", "HEAD", "OPTIONS")
        return queries.access_cadre(self.request.user, self.kwargs["pk"], write=write)

    def update(self, request, *args, **kwargs):
        cadre = self.get_object()
        serializer = self.get_serializer(cadre, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "version" not in data:
            raise serializers.ValidationError({"version": ["修改时必须提供版本号 version。"]})
        version = data.pop("version")
        new_unit = None
        if "org_unit_id" in data:
            unit_id = data.pop("org_unit_id")
            if unit_id != cadre.org_unit_id:
                new_unit = queries.access_unit(request.user, unit_id, Cap.EDIT_CADRES)
        cadre = actions.update_cadre(request.user, cadre, expected_version=version, org_unit=new_unit, **data)
        return Response(self.get_serializer(cadre).data)
