from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import NotFound
from kedun.core.pagination import Pagination
from kedun.org.access import acting_user
from kedun.org.models import User
from kedun.org.selectors import user_directory
from kedun.org.services import user_deactivate, user_end_sessions


class UserOutput(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name")
    manager = serializers.CharField(source="manager.username", allow_null=True, default=None)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "role", "department", "manager", "is_active"]


class MeOutput(UserOutput):
    class Meta(UserOutput.Meta):
        fields = [*UserOutput.Meta.fields, "data_scope"]


class MeApi(APIView):
    @extend_schema(responses=MeOutput, summary="The logged-in user")
    def get(self, request: Request) -> Response:
        return Response(MeOutput(request.user).data)


class UserListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(responses=UserOutput(many=True), summary="The staff directory")
    def get(self, request: Request) -> Response:

        paginator = Pagination()
        page = paginator.paginate_queryset(
            user_directory(viewer=acting_user(request)), request, view=self
        )
        return paginator.get_paginated_response(UserOutput(page, many=True).data)


class UserDeactivateApi(APIView):
    @extend_schema(
        request=None,
        responses=UserOutput,
        summary="Deactivate a user (boss only); sessions and token end at once",
    )
    def post(self, request: Request, user_id: int) -> Response:
        user = user_directory(viewer=acting_user(request)).filter(pk=user_id).first()
        if user is None:
            raise NotFound()
        user = user_deactivate(actor=acting_user(request), user=user)
        return Response(UserOutput(user).data)


class MySessionsLogoutAllApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None},
        summary="Log out everywhere: end every session of the caller, this one included",
    )
    def post(self, request: Request) -> Response:
        user = acting_user(request)
        user_end_sessions(actor=user, user=user)
        return Response(status=204)


class UserSessionsLogoutAllApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None},
        summary="End every session of a user (the boss, or a manager the user reports to)",
    )
    def post(self, request: Request, user_id: int) -> Response:
        actor = acting_user(request)
        user = user_directory(viewer=actor).filter(pk=user_id).first()
        if user is None:
            raise NotFound()
        user_end_sessions(actor=actor, user=user)
        return Response(status=204)
