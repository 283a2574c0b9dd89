"""Forms of the field pages: what people send, checked for shape only; the services decide.

The check-in form works without JavaScript as far as a browser allows: a file input that opens
the camera (capture="environment"), the note, the need or quote; the phone's script fills the
hidden position, accuracy, time and mock fields (ids and data attributes are a contract with
it: see README "Field work"). Without a position the server says so instead of guessing one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from django import forms
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from kedun.core.geo import BD09, GCJ02, WGS84
from kedun.customers.models import Customer, Need, NeedStatus
from kedun.sales.models import Quote

from .models import Review
from .settings_services import RULE_LIMITS, rule_label

_NO_POSITION = _(
    "Your position is missing: allow this site to use your location, wait for a fix and try again."
)


class PhoneTimeField(forms.CharField):
    """The phone's clock as ISO 8601 (filled by the script); empty: the server's now."""

    widget = forms.HiddenInput

    def to_python(self, value: Any) -> dt.datetime | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        moment = parse_datetime(text)
        if moment is None:
            raise forms.ValidationError(_("The phone sent a time Kedun cannot read."))
        return moment


class CheckInForm(forms.Form):
    lat = forms.FloatField(
        widget=forms.HiddenInput(attrs={"data-geo": "lat"}),
        error_messages={"required": _NO_POSITION},
    )
    lng = forms.FloatField(
        widget=forms.HiddenInput(attrs={"data-geo": "lng"}),
        error_messages={"required": _NO_POSITION},
    )
    accuracy = forms.FloatField(
        widget=forms.HiddenInput(attrs={"data-geo": "accuracy"}),
        error_messages={"required": _NO_POSITION},
    )
    captured_at = PhoneTimeField(
        required=False, widget=forms.HiddenInput(attrs={"data-captured-at": ""})
    )
    mock = forms.BooleanField(required=False, widget=forms.HiddenInput(attrs={"data-geo": "mock"}))
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    photo = forms.FileField(
        label=_("Photo at the customer's"),
        widget=forms.FileInput(
            attrs={"accept": "image/*", "capture": "environment", "data-check-in-photo": ""}
        ),
        error_messages={"required": _("Take a photo at the customer's.")},
    )
    audio = forms.FileField(
        label=_("Voice report"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "audio/*", "data-check-in-audio": ""}),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    need = forms.TypedChoiceField(label=_("Need"), required=False, coerce=int, empty_value=None)
    quote = forms.TypedChoiceField(label=_("Quote"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any):
        kwargs.setdefault("auto_id", "check-in-%s")
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4().hex
        needs = Need.objects.filter(customer=customer).exclude(status=NeedStatus.LOST)
        quotes = Quote.objects.filter(customer=customer).order_by("-created_at")[:50]
        need = cast(forms.ChoiceField, self.fields["need"])
        need.choices = [("", "—")] + [
            (n.pk, f"{n.what} {n.quantity}".strip()) for n in needs.order_by("-pk")[:50]
        ]
        quote = cast(forms.ChoiceField, self.fields["quote"])
        quote.choices = [("", "—")] + [(q.pk, f"{q.number} v{q.version}") for q in quotes]


class LocationForm(forms.Form):
    """The customer's location: the phone's own position ("use my position here", filled by the
    script with its accuracy), or coordinates typed from a map in the map's own system."""

    lat = forms.FloatField(label=_("Latitude"))
    lng = forms.FloatField(label=_("Longitude"))
    coord_system = forms.ChoiceField(
        label=_("From"),
        choices=[
            (WGS84, _("GPS / WGS-84")),
            (GCJ02, _("AMap (高德) or Tencent map: GCJ-02")),
            (BD09, _("Baidu map: BD-09")),
        ],
        initial=WGS84,
    )
    accuracy = forms.FloatField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("auto_id", "location-%s")
        super().__init__(*args, **kwargs)


class CheckOutForm(forms.Form):
    captured_at = PhoneTimeField(
        required=False, widget=forms.HiddenInput(attrs={"data-captured-at": ""})
    )
    lat = forms.FloatField(required=False, widget=forms.HiddenInput(attrs={"data-geo": "lat"}))
    lng = forms.FloatField(required=False, widget=forms.HiddenInput(attrs={"data-geo": "lng"}))
    accuracy = forms.FloatField(
        required=False, widget=forms.HiddenInput(attrs={"data-geo": "accuracy"})
    )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(Review.ACCEPTED, _("Accept")), (Review.QUESTIONED, _("Question"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note (needed to question)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _bounded(name: str) -> forms.IntegerField:
    low, high = RULE_LIMITS[name]
    return forms.IntegerField(label=rule_label(name), min_value=low, max_value=high)


class FieldRuleForm(forms.Form):
    """One level's field rule. At a department, `inherit` drops its own rule."""

    inherit = forms.BooleanField(
        label=_("Use the rules of the level above (no rule of its own)"), required=False
    )
    radius_m = _bounded("radius_m")
    max_speed_kmh = _bounded("max_speed_kmh")
    photo_max_age_minutes = _bounded("photo_max_age_minutes")

    def __init__(self, *args: Any, company: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if company:
            del self.fields["inherit"]
        elif self.data and self.data.get(self.add_prefix("inherit")):
            for name, field in self.fields.items():
                if name != "inherit":
                    field.required = False

    def values(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if data.get("inherit"):
            return None
        return {name: data[name] for name in ("radius_m", "max_speed_kmh", "photo_max_age_minutes")}
