"""The lifecycle API's input and output shapes (api.py holds the views that use them).

Contact data leaves only through `contact_fields`, which asks the registry's access rules
(kedun.customers.access) whether the viewer sees it plain or masked.
"""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kedun.customers.access import ContactAccess, contact_access
from kedun.customers.api import CustomerDetailOutput, CustomerOutput
from kedun.customers.contact_identity import mask_email
from kedun.customers.models import (
    Customer,
    FollowUp,
    FollowUpKind,
    OwnershipEvent,
    OwnershipKind,
    Stage,
    TeamAccess,
    TeamMember,
)
from kedun.customers.presentation import mask_phones
from kedun.org.models import User

from .selectors import Countdown


def contact_fields(customer: Customer, *, viewer: User) -> dict[str, str]:
    """The customer's phone and email as the viewer may see them in a list."""
    plain = customer.owner_id == viewer.pk or (
        contact_access(viewer=viewer, customer=customer) == ContactAccess.FULL
    )
    return {
        "phone": customer.phone if plain else mask_phones(customer.phone) if customer.phone else "",
        "email": customer.email if plain else mask_email(customer.email) if customer.email else "",
    }


def pool_contact_fields(customer: Customer) -> dict[str, str]:
    """A customer in the pool belongs to nobody: its contact data is masked for everyone
    listing the pool (claiming it is how a rep gets it)."""
    return {
        "phone": mask_phones(customer.phone) if customer.phone else "",
        "email": mask_email(customer.email) if customer.email else "",
    }


class CountdownFields(serializers.Serializer):
    """When the pool sweep will take the customer back, from context["countdowns"][pk]."""

    release_in_days = serializers.SerializerMethodField()
    release_at = serializers.SerializerMethodField()
    release_reason = serializers.SerializerMethodField()
    release_rule = serializers.SerializerMethodField()

    def _countdown(self, customer: Customer) -> Countdown:
        return self.context["countdowns"][customer.pk]

    @extend_schema_field(
        serializers.IntegerField(
            allow_null=True, help_text="whole days left (0: today); null: not scheduled"
        )
    )
    def get_release_in_days(self, customer: Customer) -> int | None:
        return self._countdown(customer).days_left

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_release_at(self, customer: Customer) -> dt.datetime | None:
        deadline = self._countdown(customer).deadline
        return deadline.at if deadline else None

    @extend_schema_field(
        serializers.ChoiceField(choices=["no_follow_up", "no_deal"], allow_null=True)
    )
    def get_release_reason(self, customer: Customer) -> str | None:
        deadline = self._countdown(customer).deadline
        return deadline.reason if deadline else None

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="the rule, in the user's language")
    )
    def get_release_rule(self, customer: Customer) -> str | None:
        deadline = self._countdown(customer).deadline
        return deadline.describe() if deadline else None


class LifecycleCustomerOutput(CountdownFields, CustomerDetailOutput):
    """One customer after a lifecycle change: its details (masked unless the viewer may see
    them), where it stands with the pool, and its countdown."""

    pool_department = serializers.CharField(
        source="pool_department.name", allow_null=True, default=None
    )

    class Meta(CustomerDetailOutput.Meta):
        fields = [
            *CustomerDetailOutput.Meta.fields,
            "owned_since",
            "pool_entered_at",
            "pool_department",
            "on_hold",
            "next_follow_up_on",
            "release_in_days",
            "release_at",
            "release_reason",
            "release_rule",
        ]


class ContactFields(serializers.Serializer):
    """phone and email for a list row, from context["contacts"][pk] (see contact_fields)."""

    phone = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()

    def get_phone(self, customer: Customer) -> str:
        return self.context["contacts"][customer.pk]["phone"]

    def get_email(self, customer: Customer) -> str:
        return self.context["contacts"][customer.pk]["email"]


class MyCustomerOutput(ContactFields, CountdownFields, CustomerOutput):
    class Meta(CustomerOutput.Meta):
        fields = [
            *CustomerOutput.Meta.fields,
            "phone",
            "email",
            "owned_since",
            "on_hold",
            "next_follow_up_on",
            "release_in_days",
            "release_at",
            "release_reason",
            "release_rule",
        ]


class FollowUpDueOutput(ContactFields, serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)

    class Meta:
        model = Customer
        fields = [
            "id",
            "code",
            "name",
            "owner",
            "stage",
            "grade",
            "next_follow_up_on",
            "last_follow_up_at",
            "phone",
            "email",
        ]


class PoolCustomerOutput(serializers.ModelSerializer):
    pool_department = serializers.CharField(
        source="pool_department.name", allow_null=True, default=None
    )
    claimable_from = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "code",
            "name",
            "short_name",
            "stage",
            "grade",
            "industry",
            "province",
            "city",
            "pool_department",
            "pool_entered_at",
            "claimable_from",
            "last_follow_up_at",
            "phone",
            "email",
        ]

    @extend_schema_field(
        serializers.DateTimeField(
            allow_null=True, help_text="when the fresh-release embargo ends for you"
        )
    )
    def get_claimable_from(self, customer: Customer) -> dt.datetime | None:
        if customer.pool_entered_at is None:
            return None
        return customer.pool_entered_at + self.context["embargo"]

    def get_phone(self, customer: Customer) -> str:
        return pool_contact_fields(customer)["phone"]

    def get_email(self, customer: Customer) -> str:
        return pool_contact_fields(customer)["email"]


class ReasonInput(serializers.Serializer):
    # Blank is let through so that the service answers with its own message.
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class ToInput(ReasonInput):
    to = serializers.CharField(max_length=150, help_text="a username")


class HoldInput(ReasonInput):
    hold = serializers.BooleanField()


class StageInput(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)


class GradeInput(serializers.Serializer):
    grade = serializers.CharField(max_length=8, allow_blank=True, help_text="empty: no grade")


class FollowUpInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    content = serializers.CharField(max_length=4000)
    happened_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    next_follow_up_on = serializers.DateField(required=False, allow_null=True, default=None)


class FollowUpOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    author_name = serializers.CharField(source="author.display_name")

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "kind",
            "content",
            "author",
            "author_name",
            "happened_at",
            "next_follow_up_on",
            "qualifying",
        ]


class TeamMemberInput(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="a username")
    access = serializers.ChoiceField(choices=TeamAccess.choices)
    until = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="last day (inclusive)"
    )


class TeamMemberOutput(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.display_name")
    department = serializers.CharField(source="user.department.name")
    added_by = serializers.CharField(source="added_by.username")

    class Meta:
        model = TeamMember
        fields = ["user", "name", "department", "access", "until", "added_by", "added_at"]


class OwnershipEventOutput(serializers.ModelSerializer):
    # A plain string in the schema: a second enum named "kind" (besides the follow-up's) would
    # make drf-spectacular invent a hashed enum name.
    kind = serializers.CharField(help_text=", ".join(OwnershipKind.values))
    kind_label = serializers.CharField(source="get_kind_display")
    from_owner = serializers.CharField(source="from_owner.username", allow_null=True, default=None)
    to_owner = serializers.CharField(source="to_owner.username", allow_null=True, default=None)
    actor = serializers.CharField(
        source="actor.username", allow_null=True, default=None, help_text="null: the system"
    )

    class Meta:
        model = OwnershipEvent
        fields = ["id", "kind", "kind_label", "from_owner", "to_owner", "actor", "reason", "at"]


class HandoverInput(ReasonInput):
    to = serializers.ListField(
        child=serializers.CharField(max_length=150),
        required=False,
        default=list,
        help_text="usernames, given the customers in turn; empty with pool=true: the pool",
    )
    pool = serializers.BooleanField(required=False, default=False)


class HandedOverOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    to = serializers.CharField(allow_null=True, help_text="a username; null: the pool")


class HandoverOutput(serializers.Serializer):
    user = serializers.CharField()
    to = serializers.ListField(child=serializers.CharField())
    pool = serializers.BooleanField()
    customers = serializers.IntegerField()
    open_needs = serializers.IntegerField()
    follow_ups_due = serializers.IntegerField()
    team_places_ended = serializers.IntegerField()
    by_recipient = serializers.DictField(
        child=serializers.IntegerField(), help_text='username → customers; "" is the pool'
    )
    moved = HandedOverOutput(many=True)


class PolicyOutput(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=["department", "company", "default"],
        help_text="where the policy is set: a department (this or a parent), the company "
        "row, or the built-in defaults",
    )
    level_department = serializers.CharField(
        allow_null=True, help_text="the department whose policy applies (level: department)"
    )
    warn_days = serializers.IntegerField()
    max_held = serializers.IntegerField()
    exclude_won_from_limit = serializers.BooleanField()
    daily_claims = serializers.IntegerField()
    cooldown_days = serializers.IntegerField()
    embargo_hours = serializers.IntegerField()
    order_exempt_days = serializers.IntegerField()
    qualifying_kinds = serializers.ListField(child=serializers.CharField())
    min_note_length = serializers.IntegerField()


class ReleaseTermsOutput(serializers.Serializer):
    grade = serializers.CharField(help_text='"" : a customer without a grade')
    no_follow_up_days = serializers.IntegerField()
    no_deal_days = serializers.IntegerField(help_text="0: no limit")


class PoolSettingsOutput(serializers.Serializer):
    department = serializers.IntegerField(allow_null=True)
    department_name = serializers.CharField(allow_null=True)
    policy = PolicyOutput()
    release_terms = ReleaseTermsOutput(many=True)
