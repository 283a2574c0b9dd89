"""Orders over the API, from confirmation to cash: each step by its own people (分段经营);
the services refuse the wrong role with code `duty` and the order's seller collecting with
`sold_and_collects`."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kedun.core.errors import Invalid, NotFound
from kedun.core.pagination import Pagination
from kedun.customers.selectors import customer_registry_card
from kedun.org.access import acting_user
from kedun.org.models import User

from ..models import Invoice, Order, OrderLine, Payment, Shipment
from ..orders import (
    delivery_confirm,
    invoice_record,
    order_cancel,
    order_contract_set,
    order_create,
    order_get_for_viewer,
    order_list_visible_to,
    order_mark_lost,
    order_production_start,
    order_visible_filter,
    payment_record,
    payment_reverse,
    shipment_record,
)
from ..serializers import (
    CancelInput,
    ContractInput,
    DeliveryInput,
    InvoiceInput,
    InvoiceOutput,
    LostInput,
    OrderCreateInput,
    OrderDetailOutput,
    OrderOutput,
    PaymentInput,
    PaymentOutput,
    ReversalInput,
    ShipmentInput,
    ShipmentOutput,
)
from .common import (
    COLLECTING_REFUSED,
    PAGE,
    REFUSED,
    order_detail,
    order_lines,
    paginated,
    valid_data,
)


def _invoice_for_viewer(*, viewer: User, invoice_id: int) -> Invoice:
    """An invoice of an order the viewer may see, or NotFound (missing and not yours alike)."""
    visible = Order.objects.filter(order_visible_filter(viewer=viewer)).values("pk")
    invoice = Invoice.objects.filter(pk=invoice_id, order__in=visible).first()
    if invoice is None:
        raise NotFound()
    return invoice


def _payment_for_viewer(*, viewer: User, payment_id: int) -> Payment:
    """A payment of an order the viewer may see, or NotFound (missing and not yours alike)."""
    visible = Order.objects.filter(order_visible_filter(viewer=viewer)).values("pk")
    payment = Payment.objects.filter(pk=payment_id, invoice__order__in=visible).first()
    if payment is None:
        raise NotFound()
    return payment


# -- orders -----------------------------------------------------------------------------------


class OrderListApi(APIView):
    pagination_class = Pagination  # its GET answers with a page (and the schema says so)

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", int),
            OpenApiParameter("status", str),
            *PAGE,
        ],
        responses=OrderOutput(many=True),
        summary="The orders you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        orders = order_list_visible_to(viewer=acting_user(request)).select_related("lost_reason")
        customer = request.query_params.get("customer", "")
        if customer.isdigit():
            orders = orders.filter(customer_id=int(customer))
        if order_status := request.query_params.get("status", ""):
            orders = orders.filter(status=order_status)
        paginator, page = paginated(request, self, orders)
        return paginator.get_paginated_response(OrderOutput(page, many=True).data)

    @extend_schema(
        request=OrderCreateInput,
        responses={201: OrderDetailOutput, **REFUSED},
        summary="A direct order, without a quote (prices needing approval go through a quote)",
    )
    def post(self, request: Request) -> Response:
        data = valid_data(OrderCreateInput, request)
        order = order_create(
            actor=acting_user(request),
            customer=customer_registry_card(customer_id=data["customer"]),
            lines=order_lines(data["lines"]),
            promised_date=data["promised_date"],
            payment_terms_days=data["payment_terms_days"],
        )
        return Response(order_detail(order), status=status.HTTP_201_CREATED)


class OrderDetailApi(APIView):
    @extend_schema(
        responses={200: OrderDetailOutput, 404: REFUSED[404]},
        summary="An order with its lines, shipments, invoices and payments",
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = order_get_for_viewer(viewer=acting_user(request), order_id=order_id)
        return Response(order_detail(order))


class OrderProductionApi(APIView):
    @extend_schema(
        request=None,
        responses={200: OrderDetailOutput, **REFUSED},
        summary="Start production (the order desk)",
    )
    def post(self, request: Request, order_id: int) -> Response:
        actor = acting_user(request)
        order = order_get_for_viewer(viewer=actor, order_id=order_id)
        return Response(order_detail(order_production_start(actor=actor, order=order)))


class OrderContractApi(APIView):
    @extend_schema(
        request=ContractInput,
        responses={200: OrderDetailOutput, **REFUSED},
        summary="Record or correct the signed contract (the order desk)",
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = valid_data(ContractInput, request)
        actor = acting_user(request)
        order = order_get_for_viewer(viewer=actor, order_id=order_id)
        return Response(order_detail(order_contract_set(actor=actor, order=order, **data)))


class OrderShipmentsApi(APIView):
    @extend_schema(
        request=ShipmentInput,
        responses={201: ShipmentOutput, **REFUSED},
        summary="Record goods leaving: some or all of what was ordered, never more (logistics)",
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = valid_data(ShipmentInput, request)
        actor = acting_user(request)
        order = order_get_for_viewer(viewer=actor, order_id=order_id)
        wanted = {row["line"]: row["quantity"] for row in data["lines"]}
        if len(wanted) != len(data["lines"]):
            raise Invalid(_("Each order line once per shipment."), code="line")
        lines = {line.pk: line for line in OrderLine.objects.filter(order=order, pk__in=wanted)}
        missing = sorted(set(wanted) - set(lines))
        if missing:
            raise Invalid(
                _("These are not lines of this order."), code="line", detail={"line": missing}
            )
        shipment = shipment_record(
            actor=actor,
            order=order,
            lines={lines[pk]: quantity for pk, quantity in wanted.items()},
            shipped_at=data["shipped_at"],
            carrier=data["carrier"],
            tracking=data["tracking_number"],
            consignee=data["consignee"],
        )
        shipment = Shipment.objects.select_related("recorded_by").get(pk=shipment.pk)
        return Response(ShipmentOutput(shipment).data, status=status.HTTP_201_CREATED)


class OrderDeliveryApi(APIView):
    @extend_schema(
        request=DeliveryInput,
        responses={200: OrderDetailOutput, **REFUSED},
        summary="The customer has everything: confirm the delivery (logistics)",
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = valid_data(DeliveryInput, request)
        actor = acting_user(request)
        order = order_get_for_viewer(viewer=actor, order_id=order_id)
        return Response(order_detail(delivery_confirm(actor=actor, order=order, **data)))


class OrderInvoicesApi(APIView):
    @extend_schema(
        request=InvoiceInput,
        responses={201: InvoiceOutput, **COLLECTING_REFUSED},
        summary="Record an invoice, never beyond the order's total (finance, not its seller)",
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = valid_data(InvoiceInput, request)
        actor = acting_user(request)
        order = order_get_for_viewer(viewer=actor, order_id=order_id)
        invoice = invoice_record(actor=actor, order=order, **data)
        invoice = Invoice.objects.select_related("recorded_by").get(pk=invoice.pk)
        return Response(InvoiceOutput(invoice).data, status=status.HTTP_201_CREATED)


class OrderLostApi(APIView):
    @extend_schema(
        request=LostInput,
        responses={200: OrderDetailOutput, **REFUSED},
        summary="The customer backed out: a reason, the competitor when asked, a note",
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = valid_data(LostInput, request)
        actor = acting_user(request)
        order = order_get_for_viewer(viewer=actor, order_id=order_id)
        order = order_mark_lost(
            actor=actor,
            order=order,
            reason=data["reason"],
            note=data["note"],
            competitor=data["competitor"],
        )
        return Response(order_detail(order))


class OrderCancelApi(APIView):
    @extend_schema(
        request=CancelInput,
        responses={200: OrderDetailOutput, **REFUSED},
        summary="Cancel an order before anything shipped, saying why",
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = valid_data(CancelInput, request)
        actor = acting_user(request)
        order = order_get_for_viewer(viewer=actor, order_id=order_id)
        return Response(order_detail(order_cancel(actor=actor, order=order, **data)))


class InvoicePaymentsApi(APIView):
    @extend_schema(
        request=PaymentInput,
        responses={201: PaymentOutput, **COLLECTING_REFUSED},
        summary="Record money received against an invoice (finance, not the order's seller)",
        description="A payer other than the customer is recorded and flagged, not refused.",
    )
    def post(self, request: Request, invoice_id: int) -> Response:
        data = valid_data(PaymentInput, request)
        actor = acting_user(request)
        invoice = _invoice_for_viewer(viewer=actor, invoice_id=invoice_id)
        payment = payment_record(actor=actor, invoice=invoice, **data)
        return Response(PaymentOutput(payment).data, status=status.HTTP_201_CREATED)


class PaymentReverseApi(APIView):
    @extend_schema(
        request=ReversalInput,
        responses={201: PaymentOutput, **COLLECTING_REFUSED},
        summary="A payment bounced (all of it) or was refunded (some of it): finance, not the "
        "order's seller",
        description="The invoice and order count the amount as unpaid again, and the commission "
        "it earned is clawed back. Answers the payment with its reversals.",
    )
    def post(self, request: Request, payment_id: int) -> Response:
        data = valid_data(ReversalInput, request)
        actor = acting_user(request)
        payment = _payment_for_viewer(viewer=actor, payment_id=payment_id)
        payment_reverse(actor=actor, payment=payment, **data)
        payment = (
            Payment.objects.select_related("recorded_by")
            .prefetch_related("reversals__recorded_by")
            .get(pk=payment.pk)
        )
        return Response(PaymentOutput(payment).data, status=status.HTTP_201_CREATED)
