"""REST endpoints of cases: a switchboard pushes intakes (token auth, ``Idempotency-Key``); lists, detail and
transitions within scope. Same access helper as the pages; identities are masked everywhere except in the answer
of ``POST cases/<id>/reveal/`` (a reason, the reveal capability, audited — the page's action)."""

from __future__ import annotations

import threading

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from fulian.accounts.roles import Cap
from fulian.accounts.scope import scope_for
from fulian.api.idempotency import idempotent_create
from fulian.api.permissions import HasScope

from . import actions, dispatch, queries
from .models import AgeGroup, Agency, Case, Channel, PartyRole, Risk, State
from .triage import RISK_KEYS


class PartyOutSerializer(serializers.Serializer):
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    name = serializers.CharField(help_text="脱敏显示,如 张*梅")
    phone = serializers.CharField(help_text="脱敏显示,如 138****5678")
    relation = serializers.CharField()


class CaseSerializer(serializers.ModelSerializer):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    risk_display = serializers.CharField(source="get_risk_display", read_only=True)
    channel_display = serializers.CharField(source="get_channel_display", read_only=True)
    category = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    subcategory = serializers.CharField(source="subcategory.code", read_only=True, allow_null=True)
    org_unit_id = serializers.IntegerField(read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)
    parties = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "state",
            "state_display",
            "risk",
            "risk_display",
            "channel",
            "channel_display",
            "category",
            "category_name",
            "subcategory",
            "org_unit_id",
            "org_unit_name",
            "involves_minor",
            "mandatory_report_required",
            "mandatory_report",
            "first_contact_due",
            "first_contact_at",
            "handling_due",
            "created_at",
            "version",
            "parties",
        ]
        read_only_fields = fields

    @extend_schema_field(PartyOutSerializer(many=True))
    def get_parties(self, case) -> list[dict]:
        parties = getattr(case, "party_list", None)
        if parties is None:
            parties = list(case.parties.all())
        return PartyOutSerializer(parties, many=True).data


_DATETIME = serializers.DateTimeField()


def case_payload(case: Case) -> dict:
    """``CaseSerializer(case).data`` without building a ModelSerializer (≈10× cheaper: the intake answers with it
    under load); the test ``test_case_payload_equals_the_serializer`` keeps the two identical."""

    def when(value):
        return _DATETIME.to_representation(value) if value is not None else None

    parties = getattr(case, "party_list", None)
    if parties is None:
        parties = list(case.parties.all())
    return {
        "id": case.pk,
        "number": case.number,
        "state": case.state,
        "state_display": case.get_state_display(),
        "risk": case.risk,
        "risk_display": case.get_risk_display(),
        "channel": case.channel,
        "channel_display": case.get_channel_display(),
        "category": case.category.code,
        "category_name": case.category.name,
        "subcategory": case.subcategory.code if case.subcategory is not None else None,
        "org_unit_id": case.org_unit_id,
        "org_unit_name": case.org_unit.name,
        "involves_minor": case.involves_minor,
        "mandatory_report_required": case.mandatory_report_required,
        "mandatory_report": case.mandatory_report,
        "first_contact_due": when(case.first_contact_due),
        "first_contact_at": when(case.first_contact_at),
        "handling_due": when(case.handling_due),
        "created_at": when(case.created_at),
        "version": case.version,
        "parties": [
            {
                "role": p.role,
                "role_display": p.get_role_display(),
                "name": str(p.name),
                "phone": str(p.phone),
                "relation": p.relation,
            }
            for p in parties
        ],
    }


class PartyInSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=PartyRole.choices)
    anonymous = serializers.BooleanField(required=False, default=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=30)
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=30)
    address = serializers.CharField(required=False, allow_blank=True, max_length=200)
    gender = serializers.ChoiceField(choices=[("", "不详"), ("F", "女"), ("M", "男")], required=False)
    age_group = serializers.ChoiceField(choices=AgeGroup.choices, required=False)
    relation = serializers.CharField(required=False, allow_blank=True, max_length=20)
    has_disability = serializers.BooleanField(required=False, default=False)
    safe_phone = serializers.CharField(required=False, allow_blank=True, max_length=30)
    safe_time = serializers.CharField(required=False, allow_blank=True, max_length=50)
    may_leave_message = serializers.BooleanField(required=False, default=False)


class IntakeSerializer(serializers.Serializer):
    org_unit_id = serializers.IntegerField(help_text="所在地(承办单位)id,须在本人权限范围内")
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.CharField(max_length=40, help_text="类别代码(一级),如 marriage_family")
    subcategory = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="子类别代码,如 domestic_violence",
    )
    parties = PartyInSerializer(many=True)
    account = serializers.CharField(required=False, allow_blank=True, help_text="情况陈述(加密保存)")
    request = serializers.CharField(required=False, allow_blank=True)
    risk_checklist = serializers.ListField(
        child=serializers.ChoiceField(choices=RISK_KEYS), required=False, default=list
    )
    risk = serializers.ChoiceField(choices=Risk.choices, required=False, allow_null=True)
    involves_minor = serializers.BooleanField(required=False, default=False)
    lacks_capacity = serializers.BooleanField(required=False, default=False)
    consent_store = serializers.BooleanField(required=False, default=False)
    consent_refer = serializers.BooleanField(required=False, default=False)
    consent_contact = serializers.BooleanField(required=False, default=False)
    draft = serializers.BooleanField(
        required=False, default=False, help_text="通话开始时先推送草稿(不编号),结束时用 submit_draft 提交登记"
    )

    def validate(self, attrs):
        """Both category codes resolved in one query (active ones only; whether the sub-category belongs to the
        category is the action's rule)."""
        code, sub_code = attrs["category"], attrs.get("subcategory") or None
        found = queries.categories_by_code([code, *([sub_code] if sub_code else [])])
        errors = {}
        top = found.get(code)
        if top is None or top.parent_id is not None or not top.active:
            errors["category"] = [f"类别“{code}”不存在或已停用。"]
        sub = found.get(sub_code) if sub_code else None
        if sub_code and (sub is None or sub.parent_id is None or not sub.active):
            errors["subcategory"] = [f"子类别“{sub_code}”不存在或已停用。"]
        if errors:
            raise serializers.ValidationError(errors)
        return {**attrs, "category": top, "subcategory": sub}


_intake_validators = threading.local()


def validate_intake_body(data) -> dict:
    """``IntakeSerializer(data=data)`` + ``is_valid(raise_exception=True)`` + ``validated_data``, the same rules,
    messages and result, on one serializer per thread: DRF deep-copies every declared field (here 30, with the
    parties' 13) for each new serializer instance, a fifth of the intake's Python before this. Validation keeps
    no state on the serializer or its fields (``run_validation`` returns the data or raises), but its fields
    cache a few things lazily on first use; one instance per thread (gthread workers serve requests from several
    threads) keeps even that unshared. Its nested fields are bound eagerly, before its first request."""
    validator = getattr(_intake_validators, "serializer", None)
    if validator is None:
        validator = IntakeSerializer()
        validator.fields["parties"].child.fields  # noqa: B018 (bind the nested fields now)
        _intake_validators.serializer = validator
    try:
        return validator.run_validation(data)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError(exc.detail) from None


class RevealSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=200, allow_blank=True, help_text="查看身份信息的原因(必填,写入审计日志和案件查看记录)"
    )


class RevealedPartySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    role = serializers.CharField()
    role_display = serializers.CharField(source="role_label")
    name = serializers.CharField(help_text="明文")
    phone = serializers.CharField(help_text="明文")
    id_number = serializers.CharField(help_text="明文")
    address = serializers.CharField(help_text="明文")
    safe_phone = serializers.CharField(help_text="明文(安全联系电话)")


class RevealResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True)
    parties = RevealedPartySerializer(many=True)


class TransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[(v, v) for v in dispatch.VERBS])
    version = serializers.IntegerField(required=False, help_text="读取时的版本号(记录办理措施时可省略)")
    reason = serializers.CharField(required=False, allow_blank=True)
    outcome = serializers.CharField(required=False, allow_blank=True)
    written_reply = serializers.BooleanField(required=False)
    satisfaction = serializers.CharField(required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True)
    answer = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)
    risk = serializers.IntegerField(required=False)
    unit = serializers.IntegerField(required=False)
    user = serializers.IntegerField(required=False)
    kind = serializers.CharField(required=False, allow_blank=True)
    occurred_on = serializers.DateField(required=False, allow_null=True)
    result = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField(required=False, allow_blank=True)
    agency = serializers.ChoiceField(choices=Agency.choices, required=False, help_text="refer:外部单位类别")
    agency_name = serializers.CharField(required=False, allow_blank=True)
    sent_on = serializers.DateField(required=False, allow_null=True)
    expected_reply_on = serializers.DateField(required=False, allow_null=True)
    override_reason = serializers.CharField(
        required=False, allow_blank=True, help_text="未经同意转介的理由(仅主席)"
    )
    to_unit = serializers.IntegerField(required=False, help_text="transfer:接收单位 id")
    referral = serializers.IntegerField(required=False, help_text="reply / transfer_*:转办或转介的 id")
    replied_on = serializers.DateField(required=False, allow_null=True)
    reply = serializers.CharField(required=False, allow_blank=True)
    duplicate = serializers.IntegerField(required=False, help_text="merge:并入本案的重复案件 id")


IDEMPOTENCY_PARAM = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="重试时不会重复登记"
)
STATE_DOC = "、".join(f"{v}={label}" for v, label in State.choices)


class CaseListCreateView(generics.ListCreateAPIView):
    serializer_class = CaseSerializer
    permission_classes = [HasScope]

    def get_permissions(self):
        # listing needs VIEW_CASES or INTAKE_CASES (the hotline lists its own open intakes); creating INTAKE_CASES
        self.cap = Cap.INTAKE_CASES if self.request.method == "POST" else None
        return super().get_permissions()

    def get_queryset(self):
        p = self.request.query_params
        state = p.get("state") or "open"
        risk = p.get("risk")
        f = queries.CaseFilter(
            state=state, risk=int(risk) if risk and risk.isdigit() else None, channel=p.get("channel", "")
        )
        return queries.cases_of(self.request.user, f)

    def list(self, request, *args, **kwargs):
        if not (scope_for(request.user, Cap.VIEW_CASES) or scope_for(request.user, Cap.INTAKE_CASES)):
            raise exceptions.PermissionDenied("您没有查看维权案件的权限。")
        # the page's ids from the ordering over the case table alone, then those rows with their relations
        ids = self.paginate_queryset(self.get_queryset().values_list("pk", flat=True))
        rows = queries.load_page(list(ids))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @extend_schema(
        summary="维权案件列表(高危在前,其次超期,再按登记时间;身份信息脱敏)",
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, description=f"open(默认,未结)、all,或:{STATE_DOC}"),
            OpenApiParameter(
                "risk", OpenApiTypes.INT, enum=Risk.values, description="1 一般、2 较高、3 高危"
            ),
            OpenApiParameter("channel", OpenApiTypes.STR, enum=Channel.values),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="登记维权案件(热线交换机推送)",
        request=IntakeSerializer,
        parameters=[IDEMPOTENCY_PARAM],
        responses={
            201: CaseSerializer,
            400: OpenApiResponse(description="字段错误(中文),如身份证号校验位不正确"),
        },
    )
    def post(self, request, *args, **kwargs):
        data = dict(validate_intake_body(request.data))
        unit = queries.access_intake_unit(request.user, data.pop("org_unit_id"))
        data["parties"] = [dict(p) for p in data["parties"]]

        def create():
            case = actions.intake_case(request.user, unit=unit, **data)
            return Response(case_payload(case), status=status.HTTP_201_CREATED)

        return idempotent_create(request, "cases.intake", create)


@extend_schema(summary="维权案件详情(身份信息脱敏)")
class CaseDetailView(generics.RetrieveAPIView):
    serializer_class = CaseSerializer
    permission_classes = [HasScope]

    def get_object(self):
        return queries.access_case(self.request.user, self.kwargs["pk"])


class CaseTransitionView(APIView):
    # no blanket capability: the hotline submits its own drafts; everything else is checked on the case itself
    # (access_case: 404 outside the scope, audited) and by the action (the capability for that step)
    permission_classes = [HasScope]

    @extend_schema(
        summary="案件办理:受理、不予受理、分派、办结申请与审批、回访、重新打开、记录办理措施等",
        description=(
            "action 取值:" + "、".join(dispatch.VERBS) + "。状态:" + STATE_DOC + "。"
            "不允许的状态变更返回 400(中文说明);版本号过期返回 409。"
        ),
        request=TransitionSerializer,
        responses={
            200: CaseSerializer,
            400: OpenApiResponse(description="不允许的操作或缺少原因等"),
            404: OpenApiResponse(description="不存在或无权访问"),
            409: OpenApiResponse(description="案件已被他人修改"),
        },
    )
    def post(self, request, pk: int):
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        verb = data.pop("action")
        case = queries.access_case(request.user, pk, write=verb not in dispatch.INTAKE_VERBS)
        dispatch.run(request.user, case, verb, data)
        case = queries.access_case(request.user, pk)
        return Response(CaseSerializer(case).data)


class CaseRevealView(APIView):
    """The plaintext identities of a case's parties, for a leader or caseworker holding REVEAL_CASE_IDENTITY over
    the case, with a reason: the same action as the page (the case's view history, an audit event)."""

    permission_classes = [HasScope]

    @extend_schema(
        summary="查看当事人身份信息(明文;须填写原因,记入审计日志和案件查看记录)",
        request=RevealSerializer,
        responses={
            200: RevealResponseSerializer,
            400: OpenApiResponse(description="未填写原因或原因超过200字"),
            403: OpenApiResponse(description="没有查看当事人身份信息的权限(如热线登记员)"),
            404: OpenApiResponse(description="不存在或无权访问(工作人员、系统管理员、审计管理员、其他单位)"),
        },
    )
    def post(self, request, pk: int):
        serializer = RevealSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = queries.access_case(request.user, pk)
        parties = actions.reveal_identity(request.user, case, reason=serializer.validated_data["reason"])
        body = RevealResponseSerializer({"id": case.pk, "number": case.number, "parties": parties}).data
        response = Response(body)
        response["Cache-Control"] = "no-store"
        return response
