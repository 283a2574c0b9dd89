from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.pagination import Pagination

from .models import AuditEvent
from .selectors import audit_events_visible_to


class AuditEventOutput(serializers.ModelSerializer):
    changes = serializers.JSONField(source="changes_data")

    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "occurred_at",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "changes",
            "ip",
            "prev_hash",
            "hash",
        ]


class AuditEventListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[
            OpenApiParameter("action", str),
            OpenApiParameter("object_type", str),
            OpenApiParameter("object_id", str),
            OpenApiParameter("page", int),
        ],
        responses=AuditEventOutput(many=True),
        summary="The audit trail, newest first (boss and auditor)",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        events = audit_events_visible_to(
            viewer=request.user,
            action=params.get("action", ""),
            object_type=params.get("object_type", ""),
            object_id=params.get("object_id", ""),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventOutput(page, many=True).data)
