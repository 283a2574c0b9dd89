"""The field API's shapes: what a phone sends with a check-in, and a check-in as the API
answers it (flags with their reasons in the request's language)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kedun.core.geo import COORD_SYSTEMS

from .models import CheckIn, Review
from .presentation import Reasons, is_late, remarks_of, time_spent


class CheckInInput(serializers.Serializer):
    customer = serializers.CharField(
        max_length=40, help_text="the customer's id or its customer number (客户编号)"
    )
    lat = serializers.FloatField(help_text="WGS-84, as the phone's GPS gives it")
    lng = serializers.FloatField(help_text="WGS-84, as the phone's GPS gives it")
    accuracy = serializers.FloatField(help_text="the position's accuracy in metres")
    captured_at = serializers.DateTimeField(
        help_text="the phone's clock when the rep pressed the button (ISO 8601 with offset)"
    )
    mock = serializers.BooleanField(
        required=False, default=False, help_text="the phone says the position is mocked"
    )
    photo = serializers.FileField(help_text="JPEG, HEIC, PNG or WebP, at most 20 MB")
    audio = serializers.FileField(
        required=False,
        allow_null=True,
        default=None,
        help_text="a voice report: WebM, Ogg, M4A, MP3 or WAV, at most 20 MB",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    need = serializers.IntegerField(required=False, allow_null=True, default=None)
    quote = serializers.IntegerField(required=False, allow_null=True, default=None)
    idempotency_key = serializers.CharField(
        max_length=100, help_text="chosen by the phone per check-in; a retry sends the same"
    )


class CheckOutInput(serializers.Serializer):
    captured_at = serializers.DateTimeField(help_text="the phone's clock at check-out")
    lat = serializers.FloatField(required=False, allow_null=True, default=None)
    lng = serializers.FloatField(required=False, allow_null=True, default=None)
    accuracy = serializers.FloatField(required=False, allow_null=True, default=None)


class ReviewInput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=["accept", "question", Review.ACCEPTED.value, Review.QUESTIONED.value]
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def validated_decision(self) -> str:
        decision = self.validated_data["decision"]
        return {"accept": Review.ACCEPTED, "question": Review.QUESTIONED}.get(decision, decision)


class LocationInput(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    coord_system = serializers.ChoiceField(
        choices=list(COORD_SYSTEMS),
        required=False,
        default="wgs84",
        help_text="wgs84 (GPS), gcj02 (AMap/高德, Tencent/腾讯) or bd09 (Baidu/百度)",
    )
    accuracy = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        help_text="the phone's accuracy in metres, when it is the phone's own position",
    )


class PositionOutput(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class CustomerLocationOutput(serializers.Serializer):
    location = PositionOutput(allow_null=True)
    location_source = serializers.CharField()
    located_at = serializers.DateTimeField(allow_null=True)


def location_of(customer: Any) -> dict[str, float] | None:
    if customer.lat is None or customer.lng is None:
        return None
    return {"lat": customer.lat, "lng": customer.lng}


class FlagOutput(serializers.Serializer):
    kind = serializers.CharField()
    reason = serializers.CharField(help_text="in the request's language")
    detail = serializers.JSONField(help_text="the measured figures the reason is built from")


class RemarkOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="customer_not_located, photo_without_time or late")
    text = serializers.CharField()


class ReviewOutput(serializers.Serializer):
    decision = serializers.CharField()
    note = serializers.CharField()
    by = serializers.CharField()
    at = serializers.DateTimeField()


class CheckInOutput(serializers.Serializer):
    """A check-in as its rep and their managers read it. Context: `reasons` (presentation.
    Reasons over the check-ins' flags)."""

    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    customer_code = serializers.CharField(source="customer.code")
    customer_name = serializers.CharField(source="customer.name")
    rep = serializers.CharField(source="rep.username")
    captured_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    late = serializers.SerializerMethodField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    accuracy = serializers.FloatField(source="accuracy_m")
    mock = serializers.BooleanField()
    note = serializers.CharField()
    need = serializers.IntegerField(source="need_id", allow_null=True)
    quote = serializers.IntegerField(source="quote_id", allow_null=True)
    distance_m = serializers.FloatField(allow_null=True)
    photo_url = serializers.SerializerMethodField()
    photo_taken_at = serializers.DateTimeField(allow_null=True)
    audio_url = serializers.SerializerMethodField()
    audio_content_type = serializers.CharField()
    checked_out_at = serializers.DateTimeField(allow_null=True)
    seconds_spent = serializers.SerializerMethodField()
    flags = serializers.SerializerMethodField()
    remarks = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()
    idempotency_key = serializers.CharField()

    def get_late(self, check_in: CheckIn) -> bool:
        return is_late(check_in)

    def get_photo_url(self, check_in: CheckIn) -> str | None:
        if not check_in.photo:
            return None
        return reverse("api-check-in-photo", args=[check_in.pk])

    def get_audio_url(self, check_in: CheckIn) -> str | None:
        if not check_in.audio:
            return None
        return reverse("api-check-in-audio", args=[check_in.pk])

    def get_seconds_spent(self, check_in: CheckIn) -> int | None:
        spent = time_spent(check_in)
        return round(spent.total_seconds()) if spent is not None else None

    @extend_schema_field(FlagOutput(many=True))
    def get_flags(self, check_in: CheckIn) -> list[dict[str, Any]]:
        flags = list(check_in.flags.all())
        reasons: Reasons = self.context.get("reasons") or Reasons(flags)
        return [{"kind": f.kind, "reason": reasons.of(f), "detail": f.detail} for f in flags]

    @extend_schema_field(RemarkOutput(many=True))
    def get_remarks(self, check_in: CheckIn) -> list[dict[str, str]]:
        return [{"kind": r.kind, "text": r.text} for r in remarks_of(check_in)]

    @extend_schema_field(ReviewOutput(allow_null=True))
    def get_review(self, check_in: CheckIn) -> dict[str, Any] | None:
        if not check_in.review:
            return None
        return {
            "decision": check_in.review,
            "note": check_in.review_note,
            "by": check_in.reviewed_by.username if check_in.reviewed_by else "",
            "at": serializers.DateTimeField().to_representation(check_in.reviewed_at)
            if check_in.reviewed_at
            else None,
        }


def check_in_output(check_in: CheckIn) -> dict[str, Any]:
    return CheckInOutput(check_in).data


def check_ins_output(check_ins: list[CheckIn]) -> Any:
    """Many check-ins, their reasons' references read in one query."""
    reasons = Reasons(flag for check_in in check_ins for flag in check_in.flags.all())
    return CheckInOutput(check_ins, many=True, context={"reasons": reasons}).data
