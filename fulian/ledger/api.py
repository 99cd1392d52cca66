"""REST endpoints for the work ledger: records (list/filter/create/update/delete), the roll-up table and the
brand tags. Same scoping as the pages, through the same helpers; every write is an action."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from fulian.accounts.roles import Cap
from fulian.accounts.scope import memberships_of, scope_for
from fulian.api.idempotency import idempotent_create
from fulian.api.permissions import HasScope
from fulian.orgs.queries import access_unit

from . import actions, queries
from .actions import RECORD_FIELDS
from .models import BrandTag, LedgerRecord, RecordKind


class BrandTagSerializer(serializers.ModelSerializer):
    class Meta:
        model = BrandTag
        fields = ["id", "name", "sort_order"]
        read_only_fields = fields


class LedgerRecordSerializer(serializers.ModelSerializer):
    org_unit_id = serializers.IntegerField(help_text="填报单位(只能是本人所在单位)")
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    tags = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=BrandTag.objects.filter(active=True), help_text="品牌标签 id"
    )
    version = serializers.IntegerField(
        required=False, help_text="修改时必须带上读取时的版本号,防止覆盖他人修改"
    )

    class Meta:
        model = LedgerRecord
        fields = [
            "id",
            "org_unit_id",
            "org_unit_name",
            "kind_display",
            *RECORD_FIELDS,
            "tags",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["id", "org_unit_name", "kind_display", "created_at", "updated_at"]


def _date_param(params, name: str, label: str) -> dt.date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError({name: [f"{label}格式应为 YYYY-MM-DD。"]}) from None


def _int_param(params, name: str, label: str) -> int | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise serializers.ValidationError({name: [f"{label}应为整数 id。"]}) from None


IDEMPOTENCY_PARAM = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="重试时不会重复创建"
)
RECORD_PARAMS = [
    OpenApiParameter("unit", OpenApiTypes.INT, description="该单位(含下级)的台账"),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=RecordKind.values, description="台账类别"),
    OpenApiParameter("category", OpenApiTypes.STR, description="类型,如 实用技术、宣传"),
    OpenApiParameter("tag", OpenApiTypes.INT, description="带有该品牌标签"),
    OpenApiParameter("start", OpenApiTypes.DATE, description="日期不早于"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="日期不晚于"),
    OpenApiParameter("q", OpenApiTypes.STR, description="主题或情况说明包含"),
]


class RecordListCreateView(generics.ListCreateAPIView):
    serializer_class = LedgerRecordSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_WORK

    def get_queryset(self):
        p = self.request.query_params
        unit_id = _int_param(p, "unit", "单位")
        f = queries.RecordFilter(
            unit=access_unit(self.request.user, unit_id, Cap.VIEW_WORK) if unit_id is not None else None,
            kind=p.get("kind", ""),
            category=p.get("category", ""),
            tag=_int_param(p, "tag", "品牌标签"),
            start=_date_param(p, "start", "开始日期"),
            end=_date_param(p, "end", "结束日期"),
            q=p.get("q", ""),
        )
        return queries.records_of(self.request.user, f).prefetch_related("tags")

    @extend_schema(parameters=RECORD_PARAMS, summary="台账记录列表(限于本人权限范围)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(parameters=[IDEMPOTENCY_PARAM], summary="新增台账记录(本单位)")
    def post(self, request, *args, **kwargs):
        # Validate and check access before the idempotent transaction: a refusal's audit event must not be
        # rolled back with it.
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        unit = access_unit(request.user, data.pop("org_unit_id"), Cap.VIEW_WORK)
        tags = data.pop("tags", [])

        def create():
            rec = actions.create_record(request.user, org_unit=unit, tags=tags, **data)
            return Response(self.get_serializer(rec).data, status=status.HTTP_201_CREATED)

        return idempotent_create(request, "ledger.records", create)


@extend_schema(summary="台账记录详情、修改与删除")
class RecordDetailView(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = LedgerRecordSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_WORK

    def get_object(self):
        return queries.access_record(self.request.user, self.kwargs["pk"])

    def update(self, request, *args, **kwargs):
        rec = self.get_object()
        serializer = self.get_serializer(rec, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "version" not in data:
            raise serializers.ValidationError({"version": ["修改时必须提供版本号 version。"]})
        version = data.pop("version")
        if data.pop("org_unit_id", rec.org_unit_id) != rec.org_unit_id:
            raise serializers.ValidationError(
                {"org_unit_id": ["台账记录不能改到其他单位,请删除后重新填报。"]}
            )
        tags = data.pop("tags", None)
        rec = actions.update_record(request.user, rec, expected_version=version, tags=tags, **data)
        return Response(self.get_serializer(rec).data)

    def perform_destroy(self, instance):
        actions.delete_record(self.request.user, instance)


# --- roll-up --------------------------------------------------------------------------------------------------


class RollupColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class RollupRowSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField(allow_null=True, help_text="合计行为 null")
    label = serializers.CharField()
    values = serializers.DictField(help_text="指标 → 数值(金额为字符串,两位小数)")


class RollupSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField()
    unit_name = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    tag = serializers.IntegerField(allow_null=True)
    columns = RollupColumnSerializer(many=True)
    rows = RollupRowSerializer(many=True)
    total = RollupRowSerializer()


def _values(values: dict) -> dict:
    return {k: (f"{v:.2f}" if isinstance(v, Decimal) else v) for k, v in values.items()}


def _top_unit(user):
    """The highest unit of the user's ledger scope (the default of the roll-up)."""
    paths = scope_for(user, Cap.VIEW_WORK).paths
    return next(m.org_unit for m in memberships_of(user) if m.org_unit.path == paths[0])


@extend_schema(
    parameters=[
        OpenApiParameter("unit", OpenApiTypes.INT, description="汇总单位,默认为本人所在的最高单位"),
        OpenApiParameter("start", OpenApiTypes.DATE, description="开始日期,默认为今年1月1日"),
        OpenApiParameter("end", OpenApiTypes.DATE, description="结束日期,默认为今天"),
        OpenApiParameter("tag", OpenApiTypes.INT, description="只统计带有该品牌标签的记录"),
    ],
    responses=RollupSerializer,
    summary="台账汇总表:按下级单位分行,含合计行",
)
class RollupView(APIView):
    permission_classes = [HasScope]
    cap = Cap.VIEW_WORK

    def get(self, request):
        p = request.query_params
        unit_id = _int_param(p, "unit", "单位")
        unit = (
            access_unit(request.user, unit_id, Cap.VIEW_WORK)
            if unit_id is not None
            else _top_unit(request.user)
        )
        today = timezone.localdate()
        end = _date_param(p, "end", "结束日期") or today
        start = _date_param(p, "start", "开始日期") or end.replace(month=1, day=1)
        if start > end:
            raise ValidationError({"start": ["开始日期不能晚于结束日期。"]})
        tag = None
        tag_id = _int_param(p, "tag", "品牌标签")
        if tag_id is not None:
            tag = BrandTag.objects.filter(pk=tag_id).first()
            if tag is None:
                raise ValidationError({"tag": ["品牌标签不存在。"]})
        rows, total = queries.rollup(unit, start, end, tag=tag)
        keys = list(total.values)
        body = {
            "unit_id": unit.pk,
            "unit_name": unit.name,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "tag": tag.pk if tag else None,
            "columns": [{"key": k, "label": queries.INDICATOR_LABELS[k]} for k in keys],
            "rows": [
                {"unit_id": r.unit.pk if r.unit else None, "label": r.label, "values": _values(r.values)}
                for r in rows
            ],
            "total": {"unit_id": None, "label": total.label, "values": _values(total.values)},
        }
        return Response(body)


@extend_schema(summary="品牌标签(启用中的)")
class TagListView(generics.ListAPIView):
    serializer_class = BrandTagSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_WORK
    queryset = BrandTag.objects.filter(active=True)
