"""Quotes over the API: written, submitted, approved or rejected, sent, accepted, lost,
revised, and made into an order."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import Invalid
from kedun.core.pagination import Pagination
from kedun.customers.models import Need
from kedun.customers.selectors import customer_registry_card
from kedun.org.access import acting_user
from kedun.org.models import User

from ..models import PriceList, Quote
from ..orders import order_create_from_quote
from ..quotes import (
    quote_accept,
    quote_approve,
    quote_create,
    quote_mark_lost,
    quote_reject,
    quote_revise,
    quote_send,
    quote_submit,
)
from ..selectors import quote_get_for_viewer, quote_list_visible_to
from ..serializers import (
    LostInput,
    NoteInput,
    OrderDetailOutput,
    OrderTermsInput,
    QuoteCreateInput,
    QuoteDetailOutput,
    QuoteOutput,
    ReviseInput,
)
from .common import PAGE, REFUSED, order_detail, paginated, quote_detail, quote_lines, valid_data

# -- quotes -----------------------------------------------------------------------------------


class QuoteListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", int),
            OpenApiParameter("status", str),
            OpenApiParameter("current", bool, description="leave out superseded versions"),
            *PAGE,
        ],
        responses=QuoteOutput(many=True),
        summary="The quotes you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        customer = request.query_params.get("customer", "")
        quotes = quote_list_visible_to(
            viewer=acting_user(request),
            customer_id=int(customer) if customer.isdigit() else None,
            status=request.query_params.get("status", ""),
            current_only=request.query_params.get("current", "") in ("1", "true"),
        ).select_related("approved_by", "lost_reason")
        paginator, page = paginated(request, self, quotes)
        return paginator.get_paginated_response(QuoteOutput(page, many=True).data)

    @extend_schema(
        request=QuoteCreateInput,
        responses={201: QuoteDetailOutput, **REFUSED},
        summary="Write a draft quote for a customer (its owner, account team or manager)",
    )
    def post(self, request: Request) -> Response:
        data = valid_data(QuoteCreateInput, request)
        customer = customer_registry_card(customer_id=data["customer"])
        need = price_list = None
        if data["need"] is not None:
            need = Need.objects.filter(pk=data["need"], customer=customer).first()
            if need is None:
                raise Invalid(_("This need belongs to another customer."), code="need")
        if data["price_list"] is not None:
            price_list = PriceList.objects.filter(pk=data["price_list"]).first()
            if price_list is None:
                raise Invalid(_("Unknown price list."), code="price_list")
        quote = quote_create(
            actor=acting_user(request),
            customer=customer,
            lines=quote_lines(data["lines"]),
            valid_until=data["valid_until"],
            need=need,
            price_list=price_list,
        )
        return Response(quote_detail(quote), status=status.HTTP_201_CREATED)


class QuoteDetailApi(APIView):
    @extend_schema(
        responses={200: QuoteDetailOutput, 404: REFUSED[404]},
        summary="A quote with its lines",
    )
    def get(self, request: Request, quote_id: int) -> Response:
        quote = quote_get_for_viewer(viewer=acting_user(request), quote_id=quote_id)
        return Response(quote_detail(quote))


class _QuoteActionApi(APIView):
    """POST quotes/<id>/<action>/: find the quote as the viewer sees it, then the service."""

    input_class: type | None = None

    def act(self, actor: User, quote: Quote, data: dict[str, Any]) -> Quote:
        raise NotImplementedError

    def post(self, request: Request, quote_id: int) -> Response:
        data = valid_data(self.input_class, request) if self.input_class else {}
        actor = acting_user(request)
        quote = quote_get_for_viewer(viewer=actor, quote_id=quote_id)
        changed = self.act(actor, quote, data)
        return Response(quote_detail(changed))


def _quote_action_schema(summary: str, request: type | None = None, **extra: Any) -> Any:
    return extend_schema(
        request=request, responses={200: QuoteDetailOutput, **REFUSED}, summary=summary, **extra
    )


class QuoteSubmitApi(_QuoteActionApi):
    @_quote_action_schema(
        "Submit a draft: approved at once within the limits, else sent to a manager",
        description="Below a floor price or beyond the rep's discount limit a manager approves.",
    )
    def post(self, request: Request, quote_id: int) -> Response:
        return super().post(request, quote_id)

    def act(self, actor: User, quote: Quote, data: dict[str, Any]) -> Quote:
        return quote_submit(actor=actor, quote=quote)


class QuoteApproveApi(_QuoteActionApi):
    input_class = NoteInput

    @_quote_action_schema("Approve a quote (a manager of its owner; never your own)", NoteInput)
    def post(self, request: Request, quote_id: int) -> Response:
        return super().post(request, quote_id)

    def act(self, actor: User, quote: Quote, data: dict[str, Any]) -> Quote:
        return quote_approve(actor=actor, quote=quote, note=data["note"])


class QuoteRejectApi(_QuoteActionApi):
    input_class = NoteInput

    @_quote_action_schema("Send a quote back to its rep, saying why (a manager)", NoteInput)
    def post(self, request: Request, quote_id: int) -> Response:
        return super().post(request, quote_id)

    def act(self, actor: User, quote: Quote, data: dict[str, Any]) -> Quote:
        return quote_reject(actor=actor, quote=quote, note=data["note"])


class QuoteSendApi(_QuoteActionApi):
    @_quote_action_schema("Mark an approved quote as sent to the customer")
    def post(self, request: Request, quote_id: int) -> Response:
        return super().post(request, quote_id)

    def act(self, actor: User, quote: Quote, data: dict[str, Any]) -> Quote:
        return quote_send(actor=actor, quote=quote)


class QuoteAcceptApi(_QuoteActionApi):
    @_quote_action_schema("The customer accepted the quote")
    def post(self, request: Request, quote_id: int) -> Response:
        return super().post(request, quote_id)

    def act(self, actor: User, quote: Quote, data: dict[str, Any]) -> Quote:
        return quote_accept(actor=actor, quote=quote)


class QuoteLostApi(_QuoteActionApi):
    input_class = LostInput

    @_quote_action_schema(
        "The deal is lost: a reason, the competitor when asked, a note", LostInput
    )
    def post(self, request: Request, quote_id: int) -> Response:
        return super().post(request, quote_id)

    def act(self, actor: User, quote: Quote, data: dict[str, Any]) -> Quote:
        return quote_mark_lost(
            actor=actor,
            quote=quote,
            reason_code=data["reason"],
            note=data["note"],
            competitor=data["competitor"],
        )


class QuoteReviseApi(_QuoteActionApi):
    input_class = ReviseInput

    @_quote_action_schema(
        "A new version of the quote as a draft; this one is superseded", ReviseInput
    )
    def post(self, request: Request, quote_id: int) -> Response:
        return super().post(request, quote_id)

    def act(self, actor: User, quote: Quote, data: dict[str, Any]) -> Quote:
        return quote_revise(actor=actor, quote=quote, valid_until=data["valid_until"])


class QuoteOrderApi(APIView):
    @extend_schema(
        request=OrderTermsInput,
        responses={201: OrderDetailOutput, **REFUSED},
        summary="Make the order for an accepted quote (its lines and prices as accepted)",
    )
    def post(self, request: Request, quote_id: int) -> Response:
        data = valid_data(OrderTermsInput, request)
        actor = acting_user(request)
        quote = quote_get_for_viewer(viewer=actor, quote_id=quote_id)
        order = order_create_from_quote(actor=actor, quote=quote, **data)
        return Response(order_detail(order), status=status.HTTP_201_CREATED)
