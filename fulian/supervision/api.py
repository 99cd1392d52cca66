"""REST endpoints for tasks and assignments. Same scoping and actions as the pages."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from fulian.accounts.roles import Cap
from fulian.api.idempotency import idempotent_create
from fulian.api.permissions import HasScope

from . import actions, queries
from .models import Assignment, Status, Task


class TaskSerializer(serializers.ModelSerializer):
    issuer_unit_id = serializers.IntegerField()
    issuer_unit_name = serializers.CharField(source="issuer_unit.name")
    form_fields = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "issuer_unit_id",
            "issuer_unit_name",
            "title",
            "instructions",
            "deadline",
            "target_label",
            "require_text",
            "form_fields",
            "ledger_keys",
            "period_start",
            "period_end",
            "expected",
            "created_at",
        ]
        read_only_fields = fields

    def get_form_fields(self, task) -> list[dict]:
        return task.form_fields()


class AssignmentSerializer(serializers.ModelSerializer):
    task_id = serializers.IntegerField()
    task_title = serializers.CharField(source="task.title")
    deadline = serializers.DateField(source="task.deadline")
    org_unit_id = serializers.IntegerField()
    org_unit_name = serializers.CharField(source="org_unit.name")
    status_display = serializers.CharField(source="get_status_display")

    class Meta:
        model = Assignment
        fields = [
            "id",
            "task_id",
            "task_title",
            "deadline",
            "org_unit_id",
            "org_unit_name",
            "status",
            "status_display",
            "text",
            "values",
            "ledger_values",
            "corrections",
            "first_submitted_at",
            "submitted_at",
            "is_late",
            "return_reason",
            "version",
        ]
        read_only_fields = fields


class SubmitSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="读取时的版本号,防止覆盖他人修改")
    text = serializers.CharField(required=False, allow_blank=True, default="")
    values = serializers.DictField(required=False, default=dict, help_text="报送数据:{项目代码: 值}")
    reasons = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text="与台账不一致的项目的更正原因:{项目代码: 原因}",
    )
    draft = serializers.BooleanField(required=False, default=False, help_text="true 为存草稿")


class ReviewSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(summary="督办任务列表(本单位下发的,以及下发给本单位及下级的)")
class TaskListView(generics.ListAPIView):
    serializer_class = TaskSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_WORK

    def get_queryset(self):
        return (
            queries.tasks_visible(self.request.user)
            .select_related("issuer_unit")
            .order_by("-deadline", "-id")
        )


@extend_schema(summary="督办任务详情(含报送率)")
class TaskDetailView(APIView):
    permission_classes = [HasScope]
    cap = Cap.VIEW_WORK

    @extend_schema(
        parameters=[
            OpenApiParameter("unit", OpenApiTypes.INT, description="按该单位的下级分组,默认为下发单位")
        ],
        responses=TaskSerializer,
    )
    def get(self, request, pk):
        task = queries.access_task(request.user, pk)
        parent = queries.rates_parent(request.user, task, request.query_params.get("unit"))
        table = queries.reporting_rates(task, parent)

        def row(r):
            return {
                "unit_id": r.unit.pk if r.unit else None,
                "label": r.label,
                **{k: getattr(r, k) for k in queries.COUNT_KEYS},
                "reported_pct": r.reported_pct,
                "on_time_pct": r.on_time_pct,
            }

        data = TaskSerializer(task).data
        data["rates"] = {
            "unit_id": parent.pk,
            "rows": [row(r) for r in table.rows],
            "total": row(table.total),
        }
        return Response(data)


ASSIGNMENT_PARAMS = [
    OpenApiParameter("task", OpenApiTypes.INT),
    OpenApiParameter("status", OpenApiTypes.STR, enum=Status.values),
    OpenApiParameter("mine", OpenApiTypes.BOOL, description="只列本人所在单位需报送的"),
]


@extend_schema(parameters=ASSIGNMENT_PARAMS, summary="报送任务列表")
class AssignmentListView(generics.ListAPIView):
    serializer_class = AssignmentSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_WORK

    def get_queryset(self):
        p = self.request.query_params
        mine = p.get("mine", "").lower() in ("1", "true", "yes")
        qs = (
            queries.my_assignments(self.request.user)
            if mine
            else queries.assignments_in_scope(self.request.user)
        )
        if p.get("task"):
            qs = qs.filter(task=queries.access_task(self.request.user, p["task"]))
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        return qs


@extend_schema(summary="报送任务详情")
class AssignmentDetailView(generics.RetrieveAPIView):
    serializer_class = AssignmentSerializer
    permission_classes = [HasScope]
    cap = Cap.VIEW_WORK

    def get_object(self):
        return queries.access_assignment(self.request.user, self.kwargs["pk"])


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="重试时不会重复报送"
)


@extend_schema(
    parameters=[IDEMPOTENCY],
    request=SubmitSerializer,
    responses=AssignmentSerializer,
    summary="报送(或存草稿)",
)
class AssignmentSubmitView(APIView):
    permission_classes = [HasScope]
    cap = Cap.EDIT_WORK

    def post(self, request, pk):
        # access and validation before the idempotent transaction: a refusal's audit event is not rolled back
        a = queries.access_assignment(request.user, pk)
        s = SubmitSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data

        def submit():
            action = actions.save_draft if d["draft"] else actions.submit_assignment
            done = action(
                request.user,
                a,
                expected_version=d["version"],
                text=d["text"],
                values=d["values"],
                reasons=d["reasons"],
            )
            return Response(AssignmentSerializer(done).data, status=status.HTTP_201_CREATED)

        return idempotent_create(request, f"assignments/{a.pk}/submit", submit)


class _ReviewView(APIView):
    permission_classes = [HasScope]
    cap = Cap.ASSIGN_WORK
    accept = True

    def post(self, request, pk):
        a = queries.access_assignment(request.user, pk)
        s = ReviewSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        if self.accept:
            a = actions.accept_assignment(request.user, a, expected_version=s.validated_data["version"])
        else:
            a = actions.return_assignment(
                request.user,
                a,
                expected_version=s.validated_data["version"],
                reason=s.validated_data["reason"],
            )
        return Response(AssignmentSerializer(a).data)


@extend_schema(request=ReviewSerializer, responses=AssignmentSerializer, summary="采纳报送")
class AssignmentAcceptView(_ReviewView):
    accept = True


@extend_schema(request=ReviewSerializer, responses=AssignmentSerializer, summary="退回报送(须填写原因)")
class AssignmentReturnView(_ReviewView):
    accept = False
