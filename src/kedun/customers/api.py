from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.audit.models import AccessKind
from kedun.audit.services import access_record
from kedun.core.pagination import Pagination
from kedun.core.schema import ErrorOutput
from kedun.org.access import acting_user
from kedun.org.models import User

from .access import ContactAccess, contact_access, contacts_reveal, customer_open_counted
from .collaboration import collaboration_note_add
from .contact_edit import ContactPerson, contact_person_save, customer_contact_update
from .disputes import (
    dispute_get_for_viewer,
    dispute_request_ownership,
    dispute_resolve,
    disputes_for_arbiter,
)
from .identity.keys import identity_keys
from .models import Customer, Resolution
from .presentation import CustomerContactData, contact_data
from .selectors import (
    CustomerFilters,
    customer_get_for_viewer,
    customer_list_visible_to,
    customer_registry_card,
)
from .services import (
    ContactInput,
    DuplicateFound,
    PossibleDuplicateFound,
    customer_register,
    matches_for,
)


class CustomerOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    owner_department = serializers.CharField(
        source="owner.department.name", allow_null=True, default=None
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "code",
            "name",
            "short_name",
            "stage",
            "owner",
            "owner_department",
            "registered_at",
            "last_follow_up_at",
            "grade",
            "industry",
            "source",
            "province",
            "city",
            "district",
            "needs_review",
        ]


class ContactViewOutput(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    wechat = serializers.CharField()


class LocationOutput(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class CustomerDetailOutput(CustomerOutput):
    """One customer with its contact data — masked unless the viewer may see it — and where
    its premises are (WGS-84, what visits are measured against; null until located)."""

    contact_access = serializers.SerializerMethodField()
    masked = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    website = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    contacts = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()

    class Meta(CustomerOutput.Meta):
        fields = [
            *CustomerOutput.Meta.fields,
            "contact_access",
            "masked",
            "phone",
            "email",
            "website",
            "address",
            "contacts",
            "location",
            "location_source",
        ]

    def _contact(self, customer: Customer) -> CustomerContactData:
        return self.context["contact_data"]

    def get_contact_access(self, customer: Customer) -> str:
        return self.context["contact_access"]

    def get_masked(self, customer: Customer) -> bool:
        return self._contact(customer).masked

    def get_phone(self, customer: Customer) -> str:
        return self._contact(customer).phone

    def get_email(self, customer: Customer) -> str:
        return self._contact(customer).email

    def get_website(self, customer: Customer) -> str:
        return self._contact(customer).website

    def get_address(self, customer: Customer) -> str:
        return self._contact(customer).address

    @extend_schema_field(ContactViewOutput(many=True))
    def get_contacts(self, customer: Customer) -> list[dict]:
        return [vars(c) for c in self._contact(customer).contacts]

    @extend_schema_field(LocationOutput(allow_null=True))
    def get_location(self, customer: Customer) -> dict[str, float] | None:
        if customer.lat is None or customer.lng is None:
            return None
        return {"lat": customer.lat, "lng": customer.lng}


def detail_output(customer: Customer, *, viewer: User, reveal: bool = False) -> dict:
    access = contact_access(viewer=viewer, customer=customer)
    unmasked = access == ContactAccess.FULL or (
        reveal and contacts_reveal(viewer=viewer, customer=customer)
    )
    context = {
        "contact_access": access.value,
        "contact_data": contact_data(customer, masked=not unmasked),
    }
    return CustomerDetailOutput(customer, context=context).data


class ContactInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=100, required=False, default="")
    phone = serializers.CharField(max_length=40, required=False, default="")
    email = serializers.EmailField(required=False, default="")
    wechat = serializers.CharField(max_length=100, required=False, default="")


class CustomerRegisterInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    short_name = serializers.CharField(max_length=100, required=False, default="")
    english_name = serializers.CharField(max_length=200, required=False, default="")
    phone = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, default="", allow_blank=True)
    website = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    tax_id = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    industry = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    source = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)  # type: ignore[assignment]  # a field named "source"
    province = serializers.CharField(max_length=50, required=False, default="", allow_blank=True)
    city = serializers.CharField(max_length=50, required=False, default="", allow_blank=True)
    district = serializers.CharField(max_length=50, required=False, default="", allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    confirm_possible = serializers.BooleanField(required=False, default=False)
    contacts = ContactInputSerializer(many=True, required=False, default=list)


class MatchOutput(serializers.Serializer):
    """A candidate as anyone may see it: who owns it, never its contact data."""

    id = serializers.IntegerField(source="customer.pk")
    code = serializers.CharField(source="customer.code")
    name = serializers.CharField(source="customer.name")
    owner = serializers.CharField(source="customer.owner.username", default=None, allow_null=True)
    owner_name = serializers.CharField(
        source="customer.owner.display_name", default=None, allow_null=True
    )
    owner_department = serializers.CharField(
        source="customer.owner.department.name", default=None, allow_null=True
    )
    registered_at = serializers.DateTimeField(source="customer.registered_at")
    stage = serializers.CharField(source="customer.stage")
    last_follow_up_at = serializers.DateTimeField(
        source="customer.last_follow_up_at", allow_null=True
    )
    level = serializers.CharField()
    score = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())


class RegistrationRefusalOutput(ErrorOutput):
    """A registration refused (`duplicate`) or held (`possible`): the customers it matched."""

    matches = MatchOutput(many=True)


class DuplicateCheckInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, default="", allow_blank=True)
    website = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    tax_id = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)


class CustomerListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("stage", str),
            OpenApiParameter("owner", str, description="a username"),
            OpenApiParameter("department", int, description="owner's department and below"),
            OpenApiParameter("needs_review", bool),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=CustomerOutput(many=True),
        summary="Customers in your data scope",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        review = params.get("needs_review", "")
        department = params.get("department", "")
        customers = customer_list_visible_to(
            viewer=acting_user(request),
            filters=CustomerFilters(
                search=params.get("search", ""),
                stage=params.get("stage", ""),
                owner=params.get("owner", ""),
                department_id=int(department) if department.isdigit() else None,
                needs_review={"true": True, "false": False}.get(review.lower()),
            ),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(customers, request, view=self)
        return paginator.get_paginated_response(CustomerOutput(page, many=True).data)

    @extend_schema(
        request=CustomerRegisterInput,
        responses={201: CustomerDetailOutput, 409: RegistrationRefusalOutput},
        summary="Register a customer (the first to register a company owns it)",
        description="409 with code `duplicate` (refused; the matches name the owner) or "
        "`possible` (send again with `confirm_possible: true`).",
    )
    def post(self, request: Request) -> Response:
        data = CustomerRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            customer = customer_register(
                actor=acting_user(request),
                name=values["name"],
                short_name=values["short_name"],
                english_name=values["english_name"],
                phone=values["phone"],
                email=values["email"],
                website=values["website"],
                tax_id=values["tax_id"],
                confirm_possible=values["confirm_possible"],
                details={
                    k: values[k]
                    for k in ("industry", "source", "province", "city", "district", "address")
                },
                contacts=[ContactInput(**c) for c in values["contacts"]],
            )
        except (DuplicateFound, PossibleDuplicateFound) as refusal:
            body = {
                "code": refusal.code,
                "message": str(refusal.message),
                "detail": None,
                "matches": MatchOutput(refusal.matches, many=True).data,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(
            detail_output(customer, viewer=acting_user(request)), status=status.HTTP_201_CREATED
        )


class DuplicateCheckOutput(serializers.Serializer):
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="why a value sent could not be read"
    )
    matches = MatchOutput(many=True)


class DuplicateCheckApi(APIView):
    @extend_schema(
        request=DuplicateCheckInput,
        responses=DuplicateCheckOutput,
        summary="Check the registry for a company (any subset of the fields)",
    )
    def post(self, request: Request) -> Response:
        data = DuplicateCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        keys = identity_keys(
            name=values["name"],
            phones=[values["phone"]],
            emails=[values["email"]],
            websites=[values["website"]],
            tax_id=values["tax_id"],
        )
        matches = MatchOutput(matches_for(keys), many=True).data
        return Response({"problems": list(keys.problems), "matches": matches})


class CustomerDetailApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("reveal", bool, description="managers: unmask (audited)")],
        responses=CustomerDetailOutput,
        summary="One customer in your data scope (contact data masked unless yours)",
    )
    def get(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        reveal = request.query_params.get("reveal", "").lower() in ("1", "true", "yes")
        customer_open_counted(viewer=viewer, customer=customer)
        access_record(user=viewer, kind=AccessKind.VIEW, customer=customer)
        return Response(detail_output(customer, viewer=viewer, reveal=reveal))


class ContactDataInput(serializers.Serializer):
    phone = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    website = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ContactChangeOutput(serializers.Serializer):
    field = serializers.CharField()
    old_value = serializers.CharField()
    new_value = serializers.CharField()
    changed_at = serializers.DateTimeField()


class CustomerContactApi(APIView):
    @extend_schema(
        request=ContactDataInput,
        responses=ContactChangeOutput(many=True),
        summary="Change the customer's phone, email, website or address (each change kept)",
    )
    def patch(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        data = ContactDataInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = customer_contact_update(
            actor=viewer, customer=customer, changes=dict(data.validated_data)
        )
        return Response(ContactChangeOutput(changes, many=True).data)


class ContactPersonInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, default="", allow_blank=True)
    wechat = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)


class ContactPersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    title = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    wechat = serializers.CharField()


class CustomerContactPersonApi(APIView):
    @extend_schema(
        request=ContactPersonInput,
        responses={201: ContactPersonOutput},
        summary="Add a contact person to the customer",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
        data = ContactPersonInput(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contact_person_save(
            actor=viewer, customer=customer, person=ContactPerson(**data.validated_data)
        )
        return Response(ContactPersonOutput(contact).data, status=201)


class CollaborationNoteInput(serializers.Serializer):
    content = serializers.CharField(max_length=4000)
    contact_name = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True
    )
    contact_phone = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True
    )
    need_what = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    need_quantity = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True
    )
    need_expected_date = serializers.DateField(required=False, allow_null=True, default=None)


class CollaborationNoteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.CharField(source="customer.code")
    author = serializers.CharField(source="author.username")
    content = serializers.CharField()
    contact_name = serializers.CharField()
    contact_phone = serializers.CharField()
    need = serializers.CharField(source="need.what", default=None, allow_null=True)
    created_at = serializers.DateTimeField()


class CollaborationNoteApi(APIView):
    @extend_schema(
        request=CollaborationNoteInput,
        responses={201: CollaborationNoteOutput},
        summary="Log a contact (and a need) on any customer; its owner is notified",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = CollaborationNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_registry_card(customer_id=customer_id)
        note = collaboration_note_add(
            actor=acting_user(request), customer=customer, **data.validated_data
        )
        return Response(CollaborationNoteOutput(note).data, status=status.HTTP_201_CREATED)


class DisputeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    customer = serializers.CharField(source="customer.code")
    customer_name = serializers.CharField(source="customer.name")
    other_customer = serializers.CharField(
        source="other_customer.code", default=None, allow_null=True
    )
    claimant = serializers.CharField(source="claimant.username")
    owner_at_opening = serializers.CharField(
        source="owner_at_opening.username", default=None, allow_null=True
    )
    reason = serializers.CharField()
    evidence = serializers.CharField()
    status = serializers.CharField()
    opened_at = serializers.DateTimeField()
    resolution = serializers.CharField()
    resolution_reason = serializers.CharField()
    resolved_by = serializers.CharField(
        source="resolved_by.username", default=None, allow_null=True
    )
    resolved_at = serializers.DateTimeField(allow_null=True)


class DisputeListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="open, resolved, or empty for all")
        ],
        responses=DisputeOutput(many=True),
        summary="The managers' dispute queue",
    )
    def get(self, request: Request) -> Response:
        disputes = disputes_for_arbiter(
            viewer=acting_user(request), status=request.query_params.get("status", "open")
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(disputes, request, view=self)
        return paginator.get_paginated_response(DisputeOutput(page, many=True).data)


class OwnershipRequestInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class OwnershipRequestApi(APIView):
    @extend_schema(
        request=OwnershipRequestInput,
        responses={201: DisputeOutput},
        summary="Ask for a customer someone else owns (opens a dispute)",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = OwnershipRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_registry_card(customer_id=customer_id)
        dispute = dispute_request_ownership(
            actor=acting_user(request), customer=customer, reason=data.validated_data["reason"]
        )
        return Response(DisputeOutput(dispute).data, status=status.HTTP_201_CREATED)


class DisputeResolveInput(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Resolution.choices)
    reason = serializers.CharField(max_length=2000)


class DisputeResolveApi(APIView):
    @extend_schema(
        request=DisputeResolveInput,
        responses=DisputeOutput,
        summary="Decide a dispute: keep, transfer or merge, with a reason",
    )
    def post(self, request: Request, dispute_id: int) -> Response:
        data = DisputeResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        dispute = dispute_get_for_viewer(viewer=viewer, dispute_id=dispute_id)
        dispute = dispute_resolve(actor=viewer, dispute=dispute, **data.validated_data)
        return Response(DisputeOutput(dispute).data)
