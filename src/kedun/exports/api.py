"""The export API: ask, list one's own, approve or reject as a manager, take the file, and (the
boss, the auditor) find whose export a canary came from."""

from __future__ import annotations

from urllib.parse import quote

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import NotFound
from kedun.core.pagination import Pagination
from kedun.customers.models import Stage
from kedun.org.access import acting_user

from .models import Canary, ExportFormat, ExportKind, ExportRequest
from .selectors import canary_find_for, exports_awaiting, exports_of
from .services import export_approve, export_file_open, export_reject, export_request


class ExportOutput(serializers.ModelSerializer):
    requester = serializers.CharField(source="requester.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True, default=None
    )
    filters = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = ExportRequest
        fields = [
            "id",
            "requester",
            "kind",
            "format",
            "filters",
            "reason",
            "rows",
            "status",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "generated_at",
        ]


class ExportInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportKind.choices)
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    q = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    stage = serializers.ChoiceField(
        choices=Stage.choices, required=False, default="", allow_blank=True
    )
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class DecisionInput(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class ExportListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(responses=ExportOutput(many=True), summary="Your exports, newest first")
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        paginator = Pagination()
        page = paginator.paginate_queryset(exports_of(viewer=viewer), request, view=self)
        return paginator.get_paginated_response(ExportOutput(page, many=True).data)

    @extend_schema(
        request=ExportInput,
        responses={201: ExportOutput},
        summary="Ask for an export: made at once up to the threshold (status ready), "
        "otherwise waiting for a manager's approval (status pending)",
    )
    def post(self, request: Request) -> Response:
        viewer = acting_user(request)
        data = ExportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        export = export_request(
            actor=viewer,
            kind=values["kind"],
            format=values["format"],
            filters={"q": values["q"], "stage": values["stage"]},
            reason=values["reason"],
        )
        return Response(ExportOutput(export).data, status=status.HTTP_201_CREATED)


class ExportApprovalListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        responses=ExportOutput(many=True),
        summary="Exports waiting for your approval (asked by people under you)",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        paginator = Pagination()
        page = paginator.paginate_queryset(exports_awaiting(viewer=viewer), request, view=self)
        return paginator.get_paginated_response(ExportOutput(page, many=True).data)


class ExportApproveApi(APIView):
    @extend_schema(
        request=DecisionInput,
        responses=ExportOutput,
        summary="Approve an export of someone under you (never your own); 409 once decided",
    )
    def post(self, request: Request, export_id: int) -> Response:
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        export = export_approve(
            actor=acting_user(request), export_id=export_id, note=data.validated_data["note"]
        )
        return Response(ExportOutput(export).data)


class ExportRejectApi(APIView):
    @extend_schema(
        request=DecisionInput,
        responses=ExportOutput,
        summary="Reject an export of someone under you; 409 once decided",
    )
    def post(self, request: Request, export_id: int) -> Response:
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        export = export_reject(
            actor=acting_user(request), export_id=export_id, note=data.validated_data["note"]
        )
        return Response(ExportOutput(export).data)


class ExportFileApi(APIView):
    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="the file"),
            (
                200,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ): OpenApiResponse(OpenApiTypes.BINARY, description="the file"),
        },
        summary="The file of one of your ready exports (the download is audited)",
    )
    def get(self, request: Request, export_id: int) -> FileResponse:
        handle, filename, content_type = export_file_open(
            viewer=acting_user(request), export_id=export_id
        )
        response = FileResponse(handle, content_type=content_type)
        response["Content-Disposition"] = (
            f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
        )
        return response


class CanaryOutput(serializers.ModelSerializer):
    export = ExportOutput()

    class Meta:
        model = Canary
        fields = ["code", "name", "phone", "email", "created_at", "export"]


class CanaryFindApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "value", str, required=True, description="a phone, email, number or name"
            )
        ],
        responses=CanaryOutput,
        summary="The boss and the auditor: whose export a canary value came from (404: none)",
    )
    def get(self, request: Request) -> Response:
        value = request.query_params.get("value", "")[:200]
        canary = canary_find_for(viewer=acting_user(request), value=value)
        if canary is None:
            raise NotFound()
        return Response(CanaryOutput(canary).data)
