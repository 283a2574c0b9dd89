"""The field API (MISSION §6, issue 10 item 7): check-ins from the phone (multipart, with an
idempotency key the phone chose), check-out, a manager's review, the check-ins of a rep's day,
a check-in's photo and voice report, and the customer's location.

Thin views: reads through the selectors (scoped to the viewer), writes through the services,
refusals as DomainErrors in the shared error shape (kedun.core.api).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from typing import Any

from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import Forbidden, Invalid, NotFound
from kedun.core.pagination import Pagination
from kedun.core.schema import ErrorOutput
from kedun.customers.selectors import customer_get_for_viewer
from kedun.lifecycle.services import MANAGING_ROLES
from kedun.org.access import acting_user
from kedun.org.models import Department
from kedun.org.selectors import department_list, user_directory

from .models import CheckInSource
from .photos import photo_as_jpeg
from .rules import FieldRuleBook
from .selectors import check_in_get_for_viewer, check_in_list, customer_for_check_in
from .serializers import (
    CheckInInput,
    CheckInOutput,
    CheckOutInput,
    CustomerLocationOutput,
    LocationInput,
    ReviewInput,
    check_in_output,
    check_ins_output,
    location_of,
)
from .services import check_in_record, check_in_review, check_out, customer_locate
from .settings_services import RULE_FIELDS, field_rule_set

REFUSED = {
    400: OpenApiResponse(ErrorOutput, description="invalid (the message says why)"),
    403: OpenApiResponse(ErrorOutput, description="forbidden"),
    404: OpenApiResponse(ErrorOutput, description="not found, or not yours to see"),
}


def _read(upload: Any) -> bytes | None:
    if upload is None:
        return None
    return upload.read()


class CheckInListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)
    # A photo and a voice report of up to 20 MB each (core.middleware lets this route take
    # them; every other route keeps the general limit).
    max_request_setting = "KEDUN_FIELD_MAX_REQUEST_BYTES"
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("user", str, description="a username (or user id): one rep's"),
            OpenApiParameter("date", dt.date, description="a local day, YYYY-MM-DD"),
            OpenApiParameter("customer", int, description="one customer's"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: CheckInOutput(many=True), 400: REFUSED[400]},
        summary="Check-ins you may see: your own; a manager's reps'; the boss all",
        description="With `date`, in visit order (a rep's day); otherwise newest first.",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        params = request.query_params
        rep = None
        if params.get("user", "").strip():
            wanted = params["user"].strip()
            people = user_directory(viewer=viewer)
            rep = (
                people.filter(pk=int(wanted)).first()
                if wanted.isdigit()
                else people.filter(username__iexact=wanted).first()
            )
            if rep is None:
                raise Invalid(
                    _("There is no user %(name)s.") % {"name": wanted}, detail={"user": [wanted]}
                )
        day = None
        if params.get("date", "").strip():
            try:
                day = dt.date.fromisoformat(params["date"].strip())
            except ValueError:
                raise Invalid(
                    _("The date must read YYYY-MM-DD."), detail={"date": [params["date"]]}
                ) from None
        check_ins = check_in_list(viewer=viewer, rep=rep, day=day)
        customer = params.get("customer", "")
        if customer.isdigit():
            check_ins = check_ins.filter(customer_id=int(customer))
        paginator = Pagination()
        page = list(paginator.paginate_queryset(check_ins, request, view=self) or [])
        return paginator.get_paginated_response(check_ins_output(page))

    @extend_schema(
        request={"multipart/form-data": CheckInInput},
        responses={
            201: CheckInOutput,
            200: OpenApiResponse(CheckInOutput, description="the same upload again: stored once"),
            **REFUSED,
            409: OpenApiResponse(
                ErrorOutput, description="code `replayed`: the key was used with other content"
            ),
            413: OpenApiResponse(ErrorOutput, description="the request is too large"),
        },
        summary="Check in at a customer (the owner, a write collaborator or their manager)",
        description=(
            "Multipart. The server checks the visit and answers its flags (`far_from_customer`, "
            "`impossible_speed`, `photo_reuse`, `photo_stale`, `mock_location`), each with a "
            "reason in the request's language. An upload long after `captured_at` (an offline "
            "backlog) is marked `late`, not flagged. Send the same `idempotency_key` when "
            "retrying: the check-in is stored once and answered with 200."
        ),
    )
    def post(self, request: Request) -> Response:
        data = CheckInInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        viewer = acting_user(request)
        recorded = check_in_record(
            actor=viewer,
            customer=customer_for_check_in(reference=values["customer"]),
            captured_at=values["captured_at"],
            lat=values["lat"],
            lng=values["lng"],
            accuracy_m=values["accuracy"],
            mock=values["mock"],
            photo=_read(values["photo"]) or b"",
            audio=_read(values["audio"]),
            note=values["note"],
            need_id=values["need"],
            quote_id=values["quote"],
            idempotency_key=values["idempotency_key"],
            # The app's pages upload with the rep's session; integrations with a token.
            source=CheckInSource.APP
            if isinstance(request.successful_authenticator, SessionAuthentication)
            else CheckInSource.API,
        )
        check_in = check_in_get_for_viewer(viewer=viewer, check_in_id=recorded.check_in.pk)
        return Response(
            check_in_output(check_in),
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )


class CheckInDetailApi(APIView):
    @extend_schema(
        responses={200: CheckInOutput, 404: REFUSED[404]},
        summary="One check-in with its flags, remarks and review",
    )
    def get(self, request: Request, check_in_id: int) -> Response:
        check_in = check_in_get_for_viewer(viewer=acting_user(request), check_in_id=check_in_id)
        return Response(check_in_output(check_in))


class CheckOutApi(APIView):
    @extend_schema(
        request=CheckOutInput,
        responses={
            200: CheckInOutput,
            **REFUSED,
            409: OpenApiResponse(
                ErrorOutput, description="code `already_checked_out` (at another time)"
            ),
        },
        summary="Check out of a visit (the rep who checked in; once — a repeat changes nothing)",
    )
    def post(self, request: Request, check_in_id: int) -> Response:
        data = CheckOutInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        viewer = acting_user(request)
        check_out(
            actor=viewer,
            check_in_id=check_in_id,
            captured_at=values["captured_at"],
            lat=values["lat"],
            lng=values["lng"],
            accuracy_m=values["accuracy"],
        )
        check_in = check_in_get_for_viewer(viewer=viewer, check_in_id=check_in_id)
        return Response(check_in_output(check_in))


class CheckInReviewApi(APIView):
    @extend_schema(
        request=ReviewInput,
        responses={200: CheckInOutput, **REFUSED},
        summary="Accept or question a check-in, with a note (the rep's manager; audited)",
        description="Accepting a check-in at a customer without a location sets the "
        "customer's location from it (unless the position was mocked or rougher than ±100 m).",
    )
    def post(self, request: Request, check_in_id: int) -> Response:
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        check_in_review(
            actor=viewer,
            check_in_id=check_in_id,
            decision=data.validated_decision(),
            note=data.validated_data["note"],
        )
        check_in = check_in_get_for_viewer(viewer=viewer, check_in_id=check_in_id)
        return Response(check_in_output(check_in))


def _opened(field_file: Any) -> Any:
    if not field_file:
        raise NotFound()
    try:
        return field_file.open("rb")
    except (FileNotFoundError, OSError):  # storage lost it (a restore without the media)
        raise NotFound(_("The file of this check-in is missing from storage.")) from None


def _file_response(field_file: Any, content_type: str) -> FileResponse:
    response = FileResponse(_opened(field_file), content_type=content_type)
    # Private evidence: never cached by a shared proxy.
    response["Cache-Control"] = "private, max-age=3600"
    return response


class CheckInPhotoApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("original", bool, description="HEIC as sent (default: a JPEG of it)")
        ],
        responses={(200, "image/*"): OpenApiResponse(description="the photo"), 404: REFUSED[404]},
        summary="A check-in's photo",
    )
    def get(self, request: Request, check_in_id: int) -> HttpResponseBase:
        check_in = check_in_get_for_viewer(viewer=acting_user(request), check_in_id=check_in_id)
        name = check_in.photo.name or ""
        if name.endswith(".heic") and request.query_params.get("original") != "1":
            # Browsers other than Safari cannot draw HEIC: show a JPEG of it (?original=1
            # gives the file as the phone sent it).
            with _opened(check_in.photo) as stored:
                data = stored.read()
            shown = HttpResponse(photo_as_jpeg(data), content_type="image/jpeg")
            shown["Cache-Control"] = "private, max-age=3600"
            return shown
        guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.endswith(".heic"):
            guessed = "image/heic"
        return _file_response(check_in.photo, guessed)


class CheckInAudioApi(APIView):
    @extend_schema(
        responses={
            (200, "audio/*"): OpenApiResponse(description="the voice report"),
            404: REFUSED[404],
        },
        summary="A check-in's voice report",
    )
    def get(self, request: Request, check_in_id: int) -> FileResponse:
        check_in = check_in_get_for_viewer(viewer=acting_user(request), check_in_id=check_in_id)
        return _file_response(check_in.audio, check_in.audio_content_type or "audio/webm")


class CustomerLocationApi(APIView):
    @extend_schema(
        responses={200: CustomerLocationOutput, 404: REFUSED[404]},
        summary="Where the customer's premises are (WGS-84), null when nobody located it",
    )
    def get(self, request: Request, customer_id: int) -> Response:
        customer = customer_get_for_viewer(viewer=acting_user(request), customer_id=customer_id)
        return Response(_location_body(customer))

    @extend_schema(
        request=LocationInput,
        responses={200: CustomerLocationOutput, **REFUSED},
        summary="Set the customer's location (the owner or their manager)",
        description="Give `coord_system` gcj02 for positions from AMap (高德) or Tencent, bd09 "
        "for Baidu: they are converted and stored as WGS-84. With `accuracy` (the phone's own "
        "position) it must be ±100 m or better.",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = LocationInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        customer = customer_locate(
            actor=viewer,
            customer_id=customer.pk,
            lat=values["lat"],
            lng=values["lng"],
            coord_system=values["coord_system"],
            accuracy_m=values["accuracy"],
        )
        return Response(_location_body(customer))


def _location_body(customer: Any) -> dict[str, Any]:
    return {
        "location": location_of(customer),
        "location_source": customer.location_source,
        "located_at": CustomerLocationOutput()
        .fields["located_at"]
        .to_representation(customer.located_at)
        if customer.located_at
        else None,
    }


class FieldRuleOutput(serializers.Serializer):
    department = serializers.IntegerField(allow_null=True, help_text="null: the company")
    department_name = serializers.CharField(allow_null=True)
    radius_m = serializers.IntegerField()
    max_speed_kmh = serializers.IntegerField()
    photo_max_age_minutes = serializers.IntegerField()
    level = serializers.CharField(help_text="department, company or default: where it comes from")


class FieldRuleInput(serializers.Serializer):
    department = serializers.IntegerField(allow_null=True, help_text="null: the company's rule")
    inherit = serializers.BooleanField(
        required=False, default=False, help_text="drop this level's own rule"
    )
    radius_m = serializers.IntegerField(required=False)
    max_speed_kmh = serializers.IntegerField(required=False)
    photo_max_age_minutes = serializers.IntegerField(required=False)


def _rule_body(book: FieldRuleBook, department: Department | None) -> dict[str, Any]:
    level_id = department.pk if department else None
    level = "default"
    for candidate in book.chain(level_id):
        if candidate in book.rules:
            level = "department" if candidate is not None else "company"
            break
    rule = book.for_department(level_id)
    return {
        "department": level_id,
        "department_name": department.name if department else None,
        "radius_m": rule.radius_m,
        "max_speed_kmh": rule.max_speed_kmh,
        "photo_max_age_minutes": rule.photo_max_age_minutes,
        "level": level,
    }


class FieldRulesApi(APIView):
    @extend_schema(
        responses={200: FieldRuleOutput(many=True), 403: REFUSED[403]},
        summary="The field rules in force for the company and every department (managers)",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        if not viewer.has_role(*MANAGING_ROLES):
            raise Forbidden(_("Only managers can see this."))
        book = FieldRuleBook.load()
        rows = [_rule_body(book, None)] + [_rule_body(book, d) for d in department_list()]
        return Response(FieldRuleOutput(rows, many=True).data)

    @extend_schema(
        request=FieldRuleInput,
        responses={200: FieldRuleOutput, **REFUSED},
        summary="Set (or drop, with inherit) the field rule of the company or a department",
    )
    def post(self, request: Request) -> Response:
        data = FieldRuleInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        viewer = acting_user(request)
        department = None
        if values["department"] is not None:
            department = department_list().filter(pk=values["department"]).first()
            if department is None:
                raise NotFound()
        field_rule_set(
            actor=viewer,
            department=department,
            values=None if values["inherit"] else {n: values.get(n) for n in RULE_FIELDS},
        )
        return Response(FieldRuleOutput(_rule_body(FieldRuleBook.load(), department)).data)
