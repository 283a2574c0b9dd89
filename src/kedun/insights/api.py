"""The insights API: the ranking, a rep's signals, dismissals and case files. Salespeople get
403 on every endpoint; a manager asking for a rep outside their scope gets 404."""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import NotFound
from kedun.core.pagination import Pagination
from kedun.core.schema import ErrorOutput
from kedun.org.access import acting_user
from kedun.org.models import User

from .models import CaseFile, Finding, RiskRun
from .pdf import case_pdf
from .selectors import (
    RepView,
    case_get_for_viewer,
    case_list_visible_to,
    evidence_snapshot,
    may_see_risk,
    risk_report,
    risk_run_latest,
)
from .services import case_close, case_exported, case_note_add, case_open, finding_dismiss


def _viewer(request: Request) -> User:
    viewer = acting_user(request)
    if not may_see_risk(viewer):
        raise PermissionDenied()
    return viewer


def _run(request: Request) -> RiskRun:
    raw = request.query_params.get("as_of", "")
    day = None
    if raw:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise NotFound() from None
    run = risk_run_latest(as_of=day)
    if run is None:
        raise NotFound()
    return run


class FindingOutput(serializers.Serializer):
    id = serializers.IntegerField(source="finding.pk")
    kind = serializers.CharField(source="finding.kind")
    label = serializers.CharField()  # type: ignore[assignment]
    family = serializers.CharField(source="finding.family")
    customer = serializers.CharField(source="customer_code", help_text="customer number")
    customer_id = serializers.IntegerField(source="finding.customer_id", allow_null=True)
    started_on = serializers.DateField(source="finding.started_on")
    ended_on = serializers.DateField(source="finding.ended_on")
    strength = serializers.FloatField(source="finding.strength")
    corroborated = serializers.BooleanField(source="finding.corroborated")
    dismissed = serializers.BooleanField(source="finding.dismissed")
    evidence = serializers.CharField(source="sentence")
    facts = serializers.JSONField(source="finding.facts")


class SignalOutput(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    customers = serializers.ListField(child=serializers.CharField())
    evidence = serializers.CharField()


class RepRiskOutput(serializers.Serializer):
    id = serializers.IntegerField(source="rep.pk")
    username = serializers.CharField(source="rep.username")
    name = serializers.CharField(source="rep.display_name")
    active = serializers.BooleanField(source="rep.is_active")
    score = serializers.FloatField()
    rank = serializers.IntegerField()
    customers = serializers.IntegerField(help_text="customers with agreeing evidence")
    signals = SignalOutput(many=True)


class RiskOutput(serializers.Serializer):
    as_of = serializers.DateField()
    reps = RepRiskOutput(many=True)


class RiskApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE, description="default: latest")],
        responses={
            200: RiskOutput,
            404: OpenApiResponse(ErrorOutput, description="no risk run yet (or none that day)"),
        },
        summary="Reps ranked by diversion risk (managers: their scope; the boss: everyone)",
    )
    def get(self, request: Request) -> Response:
        viewer = _viewer(request)
        run = _run(request)
        reps = risk_report(run=run, viewer=viewer)
        return Response(RiskOutput({"as_of": run.as_of, "reps": reps}).data)


class RepFindingsOutput(RepRiskOutput):
    findings = serializers.SerializerMethodField()

    def get_findings(self, view: RepView) -> list[dict]:
        everything = [w for s in view.signals for w in s.findings] + view.single + view.dismissed
        return list(FindingOutput(everything, many=True).data)


class RepRiskApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE, description="default: latest")],
        responses=RepFindingsOutput,
        summary="One rep's signals and every finding with its evidence",
    )
    def get(self, request: Request, rep_id: int) -> Response:
        viewer = _viewer(request)
        run = _run(request)
        rep = User.objects.filter(pk=rep_id).first()
        if rep is None:
            raise NotFound()
        view = risk_report(run=run, viewer=viewer, rep=rep)[0]
        return Response(RepFindingsOutput(view).data)


class FindingDismissInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class DismissApi(APIView):
    @extend_schema(
        request=FindingDismissInput,
        responses={204: None},
        summary="Dismiss a finding with a reason (audited; it stops counting for this episode)",
    )
    def post(self, request: Request, finding_id: int) -> Response:
        viewer = _viewer(request)
        finding = Finding.objects.filter(pk=finding_id).first()
        if finding is None:
            raise NotFound()
        data = FindingDismissInput(data=request.data)
        data.is_valid(raise_exception=True)
        finding_dismiss(actor=viewer, finding=finding, reason=data.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaseNoteOutput(serializers.Serializer):
    author = serializers.CharField(source="author.username")
    text = serializers.CharField()
    written_at = serializers.DateTimeField()


class CaseOutput(serializers.ModelSerializer):
    rep = serializers.CharField(source="rep.username")
    opened_by = serializers.CharField(source="opened_by.username")
    notes = CaseNoteOutput(many=True, read_only=True)

    class Meta:
        model = CaseFile
        fields = [
            "id",
            "rep",
            "title",
            "opened_by",
            "opened_at",
            "status",
            "outcome",
            "outcome_note",
            "closed_at",
            "evidence",
            "notes",
        ]


class CaseInput(serializers.Serializer):
    rep = serializers.CharField(help_text="username")
    title = serializers.CharField(max_length=200)


class CaseListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(responses=CaseOutput(many=True), summary="Case files in your scope")
    def get(self, request: Request) -> Response:
        viewer = _viewer(request)
        paginator = Pagination()
        page = paginator.paginate_queryset(
            case_list_visible_to(viewer=viewer).prefetch_related("notes__author"),
            request,
            view=self,
        )
        return paginator.get_paginated_response(CaseOutput(page, many=True).data)

    @extend_schema(
        request=CaseInput,
        responses={201: CaseOutput},
        summary="Open a case file on a rep with the latest evidence, frozen",
    )
    def post(self, request: Request) -> Response:
        viewer = _viewer(request)
        data = CaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        rep = User.objects.filter(username__iexact=data.validated_data["rep"]).first()
        run = risk_run_latest()
        if rep is None or run is None:
            raise NotFound()
        risk_report(run=run, viewer=viewer, rep=rep)  # NotFound outside the viewer's scope
        case = case_open(
            actor=viewer,
            rep=rep,
            title=data.validated_data["title"],
            evidence=evidence_snapshot(run=run, rep=rep),
        )
        return Response(CaseOutput(case).data, status=status.HTTP_201_CREATED)


class CaseDetailApi(APIView):
    @extend_schema(responses=CaseOutput, summary="One case file")
    def get(self, request: Request, case_id: int) -> Response:
        viewer = _viewer(request)
        return Response(CaseOutput(case_get_for_viewer(viewer=viewer, case_id=case_id)).data)


class CaseNoteInput(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class CaseNoteApi(APIView):
    @extend_schema(request=CaseNoteInput, responses={201: CaseOutput}, summary="Add a note")
    def post(self, request: Request, case_id: int) -> Response:
        viewer = _viewer(request)
        case = case_get_for_viewer(viewer=viewer, case_id=case_id)
        data = CaseNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        case_note_add(actor=viewer, case=case, text=data.validated_data["text"])
        return Response(CaseOutput(case).data, status=status.HTTP_201_CREATED)


class CaseCloseInput(serializers.Serializer):
    outcome = serializers.CharField()
    note = serializers.CharField(max_length=4000)


class CaseCloseApi(APIView):
    @extend_schema(request=CaseCloseInput, responses=CaseOutput, summary="Close with an outcome")
    def post(self, request: Request, case_id: int) -> Response:
        viewer = _viewer(request)
        case = case_get_for_viewer(viewer=viewer, case_id=case_id)
        data = CaseCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_close(
            actor=viewer,
            case=case,
            outcome=data.validated_data["outcome"],
            note=data.validated_data["note"],
        )
        return Response(CaseOutput(case).data)


class CasePdfApi(APIView):
    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="The case file as a PDF for HR (the export is audited)",
    )
    def get(self, request: Request, case_id: int) -> HttpResponse:
        viewer = _viewer(request)
        case = case_get_for_viewer(viewer=viewer, case_id=case_id)
        case_exported(actor=viewer, case=case)
        response = HttpResponse(
            case_pdf(case, exported_by=viewer.display_name), content_type="application/pdf"
        )
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="kedun-case-{case.pk}-{stamp}.pdf"'
        return response
