from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .scope import memberships_of


class MembershipSerializer(serializers.Serializer):
    org_unit_id = serializers.IntegerField()
    org_unit_name = serializers.CharField(source="org_unit.name")
    org_unit_kind = serializers.CharField(source="org_unit.kind")
    org_unit_path = serializers.CharField(source="org_unit.path")
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    mobile = serializers.CharField(allow_null=True)
    memberships = MembershipSerializer(many=True)


class MeView(APIView):
    @extend_schema(responses=MeSerializer, summary="当前用户及其任职")
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.username,
            "display_name": user.display_name,
            "mobile": user.mobile,
            "memberships": memberships_of(user),
        }
        return Response(MeSerializer(data).data)
