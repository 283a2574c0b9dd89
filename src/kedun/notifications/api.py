from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.pagination import Pagination
from kedun.org.access import acting_user

from .models import Notification
from .selectors import notifications_for, unread_count
from .services import notifications_mark_read


class NotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at"]


class NotificationListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        responses=NotificationOutput(many=True),
        summary="Your notifications, newest first (with the unread count)",
    )
    def get(self, request: Request) -> Response:
        user = acting_user(request)
        paginator = Pagination()
        page = paginator.paginate_queryset(notifications_for(user=user), request, view=self)
        response = paginator.get_paginated_response(NotificationOutput(page, many=True).data)
        response.data["unread"] = unread_count(user=user)
        return response

    @extend_schema(request=None, responses=None, summary="Mark all your notifications read")
    def post(self, request: Request) -> Response:
        return Response({"marked_read": notifications_mark_read(user=acting_user(request))})
