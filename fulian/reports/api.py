"""REST endpoints of the statistics service: the indicator registry and any indicator set for a unit and a
period, by child unit or by month. Same scoping and numbers as the pages (fulian.reports.queries)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from fulian.accounts.roles import Cap
from fulian.accounts.scope import home_unit
from fulian.api.permissions import HasScope

from . import queries, registry
from .periods import parse_period


def _indicator(ind: registry.Indicator) -> dict:
    return {
        "code": ind.code,
        "name": ind.name,
        "unit": ind.unit,
        "module": ind.module,
        "rollup": ind.rollup,
        "description": ind.description,
    }


def _values(values: dict) -> dict:
    return {code: queries.plain(v) for code, v in values.items()}


class IndicatorListView(APIView):
    permission_classes = [HasScope]
    cap = Cap.VIEW_ORG

    @extend_schema(summary="统计指标目录(各模块登记的指标)", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"results": [_indicator(i) for i in registry.all_indicators()]})


class StatsView(APIView):
    permission_classes = [HasScope]
    cap = Cap.VIEW_ORG

    @extend_schema(
        summary="统计数据:某单位(含下级)某时段的指标,按下级单位或按月分列",
        parameters=[
            OpenApiParameter("unit", OpenApiTypes.INT, description="统计单位,默认为本人所在的最高单位"),
            OpenApiParameter("start", OpenApiTypes.DATE, description="开始日期,默认为当年1月1日"),
            OpenApiParameter("end", OpenApiTypes.DATE, description="结束日期,默认为今天"),
            OpenApiParameter("codes", OpenApiTypes.STR, description="指标代码,逗号分隔;默认为全部可见指标"),
            OpenApiParameter("by", OpenApiTypes.STR, enum=["child", "month"], description="分列方式"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        p = request.query_params
        unit_id = p.get("unit")
        unit = queries.access_stats_unit(request.user, unit_id) if unit_id else home_unit(request.user)
        try:
            start, end = parse_period(p, timezone.localdate())
        except DjangoValidationError as e:
            raise ValidationError(e.message_dict) from None
        try:
            codes = queries.parse_codes(p.get("codes"))
        except DjangoValidationError as e:
            raise ValidationError(e.message_dict) from None
        by = p.get("by") or "child"
        if by not in ("child", "month"):
            raise serializers.ValidationError({"by": ["分列方式应为 child 或 month。"]})
        body: dict = {
            "unit_id": unit.pk,
            "unit_name": unit.name,
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        if by == "month":
            indicators = queries.visible_indicators(request.user, unit, codes)
            months = queries.by_month(request.user, unit, start, end, codes)
            body["indicators"] = [_indicator(i) for i in indicators]
            body["months"] = [{"month": m.strftime("%Y-%m"), "values": _values(v)} for m, v in months]
            return Response(body)
        table = queries.indicator_table(request.user, unit, start, end, codes)
        body["indicators"] = [_indicator(i) for i in table.indicators]
        body["rows"] = [
            {"unit_id": r.unit.pk, "label": r.label, "values": _values(r.values)} for r in table.rows
        ]
        body["total"] = {"unit_id": None, "label": table.total.label, "values": _values(table.total.values)}
        return Response(body)
