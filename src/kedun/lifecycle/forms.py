"""Forms of the lifecycle pages: what people type, checked for shape only. Whether they may do
it, and the business rules, are the services' answer."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kedun.customers.models import FollowUpKind, Stage, TeamAccess
from kedun.org.models import User

from .rules import grades
from .settings_services import NO_DEAL_DAYS, NO_FOLLOW_UP_DAYS, POLICY_LIMITS, policy_label

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} · {obj.department.name}"


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} · {obj.department.name}"


def _people(field: forms.Field, queryset: QuerySet[User]) -> None:
    cast(forms.ModelChoiceField, field).queryset = queryset


class FollowUpForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=FollowUpKind.choices)
    content = forms.CharField(
        label=_("What was said or done"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_follow_up_on = forms.DateField(label=_("Next follow-up"), required=False, widget=DATE)

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The browser offers no past date; the service refuses one anyway.
        self.fields["next_follow_up_on"].widget.attrs["min"] = today.isoformat()


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        min_length=5,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReleaseForm(ReasonForm):
    pass


class HoldForm(ReasonForm):
    hold = forms.BooleanField(required=False, widget=forms.HiddenInput)


class TransferForm(ReasonForm):
    to = PersonChoiceField(label=_("To"), queryset=User.objects.none())
    field_order = ["to", "reason"]

    def __init__(self, *args: Any, reps: QuerySet[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        _people(self.fields["to"], reps)


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=Stage.choices)


class GradeForm(forms.Form):
    grade = forms.ChoiceField(label=_("Grade"), choices=[], required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *((grade, grade) for grade in grades())]
        cast(forms.ChoiceField, self.fields["grade"]).choices = choices


class TeamMemberForm(forms.Form):
    user = PersonChoiceField(label=_("Colleague"), queryset=User.objects.none())
    access = forms.ChoiceField(
        label=_("Access"), choices=TeamAccess.choices, initial=TeamAccess.READ
    )
    until = forms.DateField(label=_("Until (optional)"), required=False, widget=DATE)

    def __init__(self, *args: Any, people: QuerySet[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        _people(self.fields["user"], people)


class TeamRemoveForm(forms.Form):
    user = forms.IntegerField(widget=forms.HiddenInput)


class AssignForm(forms.Form):
    to = PersonChoiceField(label=_("Assign to"), queryset=User.objects.none())

    def __init__(self, *args: Any, reps: QuerySet[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        _people(self.fields["to"], reps)


def _bounded(name: str) -> forms.IntegerField:
    low, high = POLICY_LIMITS[name]
    return forms.IntegerField(label=policy_label(name), min_value=low, max_value=high)


class PoolPolicyForm(forms.Form):
    """One level's policy. At a department, `inherit` drops its own policy."""

    inherit = forms.BooleanField(
        label=_("Use the rules of the level above (no policy of its own)"), required=False
    )
    warn_days = _bounded("warn_days")
    max_held = _bounded("max_held")
    exclude_won_from_limit = forms.BooleanField(
        label=policy_label("exclude_won_from_limit"), required=False
    )
    daily_claims = _bounded("daily_claims")
    cooldown_days = _bounded("cooldown_days")
    embargo_hours = _bounded("embargo_hours")
    order_exempt_days = _bounded("order_exempt_days")
    qualifying_kinds = forms.MultipleChoiceField(
        label=policy_label("qualifying_kinds"),
        choices=FollowUpKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    min_note_length = _bounded("min_note_length")

    def __init__(self, *args: Any, company: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if company:
            del self.fields["inherit"]
        elif self.data and self.data.get(self.add_prefix("inherit")):
            # Inheriting: the numbers below are not used, so they are not required either.
            for name, field in self.fields.items():
                if name != "inherit":
                    field.required = False

    def values(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if data.get("inherit"):
            return None
        return {name: data[name] for name in self.fields if name != "inherit"}


class ReleaseRulesForm(forms.Form):
    """The release terms per grade at one level; an empty row falls back to the level above."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for grade in ["", *grades()]:
            key = grade or "any"
            self.fields[f"{key}_no_follow_up_days"] = forms.IntegerField(
                label=_("Days without a qualifying follow-up"),
                min_value=NO_FOLLOW_UP_DAYS[0],
                max_value=NO_FOLLOW_UP_DAYS[1],
                required=False,
            )
            self.fields[f"{key}_no_deal_days"] = forms.IntegerField(
                label=_("Days owned without a deal (0: no limit)"),
                min_value=NO_DEAL_DAYS[0],
                max_value=NO_DEAL_DAYS[1],
                required=False,
            )

    def rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [
            (
                grade,
                self[f"{grade or 'any'}_no_follow_up_days"],
                self[f"{grade or 'any'}_no_deal_days"],
            )
            for grade in ["", *grades()]
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for grade in ["", *grades()]:
            key = grade or "any"
            days, deal = data.get(f"{key}_no_follow_up_days"), data.get(f"{key}_no_deal_days")
            if (days is None) != (deal is None):
                self.add_error(
                    f"{key}_no_follow_up_days" if days is None else f"{key}_no_deal_days",
                    _("Fill in both numbers of the row, or leave both empty."),
                )
        return data

    def terms(self) -> dict[str, tuple[int, int] | None]:
        data = self.cleaned_data
        found: dict[str, tuple[int, int] | None] = {}
        for grade in ["", *grades()]:
            key = grade or "any"
            days = data.get(f"{key}_no_follow_up_days")
            deal = data.get(f"{key}_no_deal_days")
            found[grade] = None if days is None or deal is None else (days, deal)
        return found


class HandoverForm(forms.Form):
    user = PersonChoiceField(label=_("Who is leaving"), queryset=User.objects.none())
    to = PeopleChoiceField(
        label=_("Hand the customers over to (in turn)"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    to_pool = forms.BooleanField(label=_("Release them all to the pool instead"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)

    def __init__(self, *args: Any, reps: QuerySet[User], leavers: QuerySet[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        _people(self.fields["user"], leavers)
        _people(self.fields["to"], reps)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        to, to_pool = data.get("to"), data.get("to_pool")
        if to and to_pool:
            raise forms.ValidationError(_("Choose reps or the pool, not both."))
        if not to and not to_pool:
            raise forms.ValidationError(_("Choose who takes the customers over, or the pool."))
        return data
