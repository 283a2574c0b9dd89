"""The lifecycle API (MISSION §4): my customers with their countdowns, the pool, follow-ups,
the account team, the ownership history, handover and the pool settings.

Thin views: reads go through the selectors (scoped to the viewer), writes through the services,
which check who may act and answer refusals as DomainErrors (the error shape is kedun.core.api's).
Writes on a customer find it like the registry card does (anyone may know a customer exists and
who owns it); the service then says 403 to whoever may not act on it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import Forbidden, Invalid, NotFound
from kedun.core.pagination import Pagination
from kedun.core.schema import ErrorOutput
from kedun.customers.access import ContactAccess, contact_access
from kedun.customers.api import CustomerOutput
from kedun.customers.models import Customer
from kedun.customers.presentation import contact_data
from kedun.customers.selectors import customer_get_for_viewer, customer_registry_card
from kedun.org.access import acting_user
from kedun.org.models import User
from kedun.org.selectors import department_list, user_directory

from .handover import handover
from .rules import RuleBook, grades
from .selectors import (
    countdown,
    follow_up_list,
    follow_ups_due,
    key_customers_single_threaded,
    my_customers,
    ownership_history,
    pool_list,
    team_of,
    with_countdowns,
)
from .serializers import (
    FollowUpDueOutput,
    FollowUpInput,
    FollowUpOutput,
    GradeInput,
    HandoverInput,
    HandoverOutput,
    HoldInput,
    LifecycleCustomerOutput,
    MyCustomerOutput,
    OwnershipEventOutput,
    PoolCustomerOutput,
    PoolSettingsOutput,
    ReasonInput,
    StageInput,
    TeamMemberInput,
    TeamMemberOutput,
    ToInput,
    contact_fields,
)
from .services import (
    MANAGING_ROLES,
    customer_assign,
    customer_claim,
    customer_grade_set,
    customer_hold,
    customer_release,
    customer_stage_set,
    customer_transfer,
    follow_up_log,
    team_member_add,
    team_member_remove,
)

PAGE = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]
REFUSED = {
    400: OpenApiResponse(ErrorOutput, description="invalid (the message says why)"),
    403: OpenApiResponse(ErrorOutput, description="forbidden"),
    404: OpenApiResponse(ErrorOutput, description="not found"),
}


def customer_output(customer: Customer, *, viewer: User) -> dict[str, Any]:
    """The customer after a change, as the viewer may see it (masked unless theirs)."""
    access = contact_access(viewer=viewer, customer=customer)
    context = {
        "contact_access": access.value,
        "contact_data": contact_data(customer, masked=access != ContactAccess.FULL),
        "countdowns": {customer.pk: countdown(customer)},
    }
    return LifecycleCustomerOutput(customer, context=context).data


def _paginated(request: Request, view: APIView, rows: Any) -> tuple[Pagination, list[Any]]:
    paginator = Pagination()
    page: list[Any] | None = paginator.paginate_queryset(rows, request, view=view)
    return paginator, list(page or [])


def _managers_only(viewer: User) -> None:
    if not viewer.has_role(*MANAGING_ROLES):
        raise Forbidden(_("Only managers can see this."))


def _user_named(*, viewer: User, username: str, field: str) -> User:
    user = user_directory(viewer=viewer).filter(username__iexact=username.strip()).first()
    if user is None:
        raise Invalid(
            _("There is no user %(name)s.") % {"name": username}, detail={field: [username]}
        )
    return user


def _readable_customer(*, viewer: User, customer_id: int) -> Customer:
    """A customer the viewer may read: in their data scope or account team, or in a pool
    they can see (where its history helps decide whether to claim it)."""
    try:
        return customer_get_for_viewer(viewer=viewer, customer_id=customer_id)
    except NotFound:
        customer = pool_list(viewer=viewer).filter(pk=customer_id).first()
        if customer is None:
            raise
        return customer


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() else None


# -- my customers and follow-ups ---------------------------------------------------------------


class MyCustomersApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="part of the name"), *PAGE],
        responses=MyCustomerOutput(many=True),
        summary="The customers you own, with the countdown to their release to the pool",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        customers = my_customers(viewer=viewer, search=request.query_params.get("q", ""))
        paginator, page = _paginated(request, self, customers)
        context = {
            "contacts": {c.pk: contact_fields(c, viewer=viewer) for c in page},
            "countdowns": {c.pk: cd for c, cd in with_countdowns(page)},
        }
        return paginator.get_paginated_response(
            MyCustomerOutput(page, many=True, context=context).data
        )


class FollowUpsDueApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=PAGE,
        responses=FollowUpDueOutput(many=True),
        summary="Customers you own or help on whose next follow-up is due today or overdue",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        paginator, page = _paginated(request, self, follow_ups_due(viewer=viewer))
        context = {"contacts": {c.pk: contact_fields(c, viewer=viewer) for c in page}}
        return paginator.get_paginated_response(
            FollowUpDueOutput(page, many=True, context=context).data
        )


class FollowUpListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=PAGE,
        responses={200: FollowUpOutput(many=True), 404: REFUSED[404]},
        summary="A customer's follow-ups, newest first",
    )
    def get(self, request: Request, customer_id: int) -> Response:
        customer = customer_get_for_viewer(viewer=acting_user(request), customer_id=customer_id)
        paginator, page = _paginated(request, self, follow_up_list(customer=customer))
        return paginator.get_paginated_response(FollowUpOutput(page, many=True).data)

    @extend_schema(
        request=FollowUpInput,
        responses={201: FollowUpOutput, **REFUSED},
        summary="Log a follow-up (owner, collaborator with write access, or their manager)",
        description="A qualifying follow-up (a counted type, long enough) restarts the pool clock.",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = FollowUpInput(data=request.data)
        data.is_valid(raise_exception=True)
        follow_up = follow_up_log(
            actor=acting_user(request),
            customer=customer_registry_card(customer_id=customer_id),
            **data.validated_data,
        )
        return Response(FollowUpOutput(follow_up).data, status=status.HTTP_201_CREATED)


# -- the pool ----------------------------------------------------------------------------------


class PoolListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="part of the name"),
            OpenApiParameter("department", int, description="the pool of one department"),
            *PAGE,
        ],
        responses=PoolCustomerOutput(many=True),
        summary="The pool you can claim from, freshest first (contact data masked)",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        customers = pool_list(
            viewer=viewer,
            search=request.query_params.get("q", ""),
            department_id=_int_param(request, "department"),
        )
        paginator, page = _paginated(request, self, customers)
        policy = RuleBook.load().policy(viewer.department_id)
        context = {"embargo": dt.timedelta(hours=policy.embargo_hours)}
        return paginator.get_paginated_response(
            PoolCustomerOutput(page, many=True, context=context).data
        )


class PoolClaimApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: LifecycleCustomerOutput,
            403: REFUSED[403],
            404: REFUSED[404],
            409: OpenApiResponse(
                ErrorOutput,
                description="code `taken`, `embargo` (just released), `cooldown` (you lost it "
                "recently; the message has the date), `holding_limit`, `daily_claim_limit` or "
                "`not_in_pool`",
            ),
        },
        summary="Claim a customer from the pool",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        viewer = acting_user(request)
        customer = customer_claim(actor=viewer, customer_id=customer_id)
        return Response(customer_output(customer, viewer=viewer))


class PoolAssignApi(APIView):
    @extend_schema(
        request=ToInput,
        responses={
            200: LifecycleCustomerOutput,
            **REFUSED,
            409: OpenApiResponse(
                ErrorOutput, description="code `not_in_pool`, `holding_limit` or `cooldown`"
            ),
        },
        summary="Give a pool customer to a rep you manage (managers)",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = ToInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        to = _user_named(viewer=viewer, username=data.validated_data["to"], field="to")
        customer = customer_assign(
            actor=viewer, customer_id=customer_id, to=to, reason=data.validated_data["reason"]
        )
        return Response(customer_output(customer, viewer=viewer))


# -- changes of hands --------------------------------------------------------------------------


class CustomerReleaseApi(APIView):
    @extend_schema(
        request=ReasonInput,
        responses={
            200: LifecycleCustomerOutput,
            **REFUSED,
            409: OpenApiResponse(ErrorOutput, description="code `in_pool`"),
        },
        summary="Give a customer back to the pool, saying why (owner or their manager)",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        customer = customer_release(
            actor=viewer, customer_id=customer_id, reason=data.validated_data["reason"]
        )
        return Response(customer_output(customer, viewer=viewer))


class CustomerTransferApi(APIView):
    @extend_schema(
        request=ToInput,
        responses={
            200: LifecycleCustomerOutput,
            **REFUSED,
            409: OpenApiResponse(ErrorOutput, description="code `in_pool`: assign it instead"),
        },
        summary="Move a customer between reps you manage, saying why (managers)",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = ToInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        to = _user_named(viewer=viewer, username=data.validated_data["to"], field="to")
        customer = customer_transfer(
            actor=viewer, customer_id=customer_id, to=to, reason=data.validated_data["reason"]
        )
        return Response(customer_output(customer, viewer=viewer))


class CustomerHoldApi(APIView):
    @extend_schema(
        request=HoldInput,
        responses={200: LifecycleCustomerOutput, **REFUSED},
        summary="Exempt a customer from release, or lift the exemption (the owner's manager)",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = HoldInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        customer = customer_hold(actor=viewer, customer_id=customer_id, **data.validated_data)
        return Response(customer_output(customer, viewer=viewer))


class OwnershipHistoryApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=PAGE,
        responses={200: OwnershipEventOutput(many=True), 404: REFUSED[404]},
        summary="Every change of a customer's owner, newest first, with its rule or reason",
    )
    def get(self, request: Request, customer_id: int) -> Response:
        customer = _readable_customer(viewer=acting_user(request), customer_id=customer_id)
        paginator, page = _paginated(request, self, ownership_history(customer=customer))
        return paginator.get_paginated_response(OwnershipEventOutput(page, many=True).data)


# -- stage, grade and the account team -----------------------------------------------------------


class CustomerStageApi(APIView):
    @extend_schema(
        request=StageInput,
        responses={200: LifecycleCustomerOutput, **REFUSED},
        summary="Set a customer's stage (owner or their manager)",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = StageInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        customer = customer_stage_set(
            actor=viewer,
            customer=customer_registry_card(customer_id=customer_id),
            stage=data.validated_data["stage"],
        )
        return Response(customer_output(customer, viewer=viewer))


class CustomerGradeApi(APIView):
    @extend_schema(
        request=GradeInput,
        responses={200: LifecycleCustomerOutput, **REFUSED},
        summary="Set a customer's grade (owner or their manager)",
        description="The grades are configured (KEDUN_CUSTOMER_GRADES); empty clears it.",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = GradeInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        customer = customer_grade_set(
            actor=viewer,
            customer=customer_registry_card(customer_id=customer_id),
            grade=data.validated_data["grade"],
        )
        return Response(customer_output(customer, viewer=viewer))


class TeamApi(APIView):
    @extend_schema(
        responses={200: TeamMemberOutput(many=True), 404: REFUSED[404]},
        summary="A customer's account team: the collaborators besides its owner",
    )
    def get(self, request: Request, customer_id: int) -> Response:
        customer = customer_get_for_viewer(viewer=acting_user(request), customer_id=customer_id)
        return Response(TeamMemberOutput(team_of(customer=customer), many=True).data)

    @extend_schema(
        request=TeamMemberInput,
        responses={201: TeamMemberOutput, **REFUSED},
        summary="Add a collaborator, or change their access (owner or their manager)",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        data = TeamMemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = acting_user(request)
        values = data.validated_data
        member = team_member_add(
            actor=viewer,
            customer=customer_registry_card(customer_id=customer_id),
            user=_user_named(viewer=viewer, username=values["user"], field="user"),
            access=values["access"],
            until=values["until"],
        )
        return Response(TeamMemberOutput(member).data, status=status.HTTP_201_CREATED)


class TeamMemberApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None, 403: REFUSED[403], 404: REFUSED[404]},
        summary="Remove a collaborator (owner or their manager)",
    )
    def delete(self, request: Request, customer_id: int, username: str) -> Response:
        viewer = acting_user(request)
        user = user_directory(viewer=viewer).filter(username__iexact=username).first()
        if user is None:
            raise NotFound()
        team_member_remove(
            actor=viewer, customer=customer_registry_card(customer_id=customer_id), user=user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- for managers --------------------------------------------------------------------------------


class KeyCustomersReportApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[OpenApiParameter("grade", str, description='default "A"'), *PAGE],
        responses={200: CustomerOutput(many=True), 403: REFUSED[403]},
        summary="Key customers only their owner knows: no collaborator (managers)",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        _managers_only(viewer)
        customers = key_customers_single_threaded(
            viewer=viewer, grade=request.query_params.get("grade", "") or "A"
        )
        paginator, page = _paginated(request, self, customers)
        return paginator.get_paginated_response(CustomerOutput(page, many=True).data)


class HandoverApi(APIView):
    @extend_schema(
        request=HandoverInput,
        responses={200: HandoverOutput, **REFUSED},
        summary="Departure handover: deactivate a rep and move all their customers",
        description="To the reps in `to` (in turn) or, with `pool: true`, to the pool. The boss, "
        "or the leaver's manager for people they manage.",
    )
    def post(self, request: Request, username: str) -> Response:
        data = HandoverInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        viewer = acting_user(request)
        leaver = user_directory(viewer=viewer).filter(username__iexact=username).first()
        if leaver is None:
            raise NotFound()
        if values["pool"] == bool(values["to"]):
            raise Invalid(
                _("Name the reps who take over, or choose the pool (not both).")
                if values["pool"]
                else _("Name the reps who take over, or choose the pool.")
            )
        recipients = [_user_named(viewer=viewer, username=n, field="to") for n in values["to"]]
        report = handover(actor=viewer, user=leaver, to=recipients, reason=values["reason"])
        body = {
            "user": report.user,
            "to": report.to,
            "pool": not report.to,
            "customers": report.customers,
            "open_needs": report.open_needs,
            "follow_ups_due": report.follow_ups_due,
            "team_places_ended": report.team_places_ended,
            "by_recipient": report.by_recipient,
            "moved": [{"code": c, "name": n, "to": to or None} for c, n, to in report.moved],
        }
        return Response(HandoverOutput(body).data)


class PoolSettingsApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("department", int, description="default: your own department")
        ],
        responses={200: PoolSettingsOutput, 403: REFUSED[403], 404: REFUSED[404]},
        summary="The pool policy and release terms in force for a department (managers)",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        _managers_only(viewer)
        department_id = _int_param(request, "department")
        names = dict(department_list().values_list("pk", "name"))
        if department_id is None:
            department_id = viewer.department_id
        elif department_id not in names:
            raise NotFound()
        book = RuleBook.load()
        level, level_department = "default", None
        for department in book.chain(department_id):
            if department in book.policies:
                level = "company" if department is None else "department"
                level_department = names.get(department) if department is not None else None
                break
        policy = dataclasses.asdict(book.policy(department_id))
        body = {
            "department": department_id,
            "department_name": names.get(department_id),
            "policy": {
                **policy,
                "qualifying_kinds": list(policy["qualifying_kinds"]),
                "level": level,
                "level_department": level_department,
            },
            "release_terms": [
                {"grade": grade, **dataclasses.asdict(book.terms(department_id, grade))}
                for grade in [*grades(), ""]
            ],
        }
        return Response(PoolSettingsOutput(body).data)
