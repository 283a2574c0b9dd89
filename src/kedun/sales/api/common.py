"""What the sales API's views share: the refusals they document, pagination, request
checking, lines from ids, and the detail of a quote or an order."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.views import APIView

from kedun.core.errors import Invalid
from kedun.core.pagination import Pagination
from kedun.core.schema import ErrorOutput

from ..models import Invoice, Order, OrderLine, Product, Quote, Shipment
from ..orders import OrderLineInput
from ..quotes import QuoteLineInput
from ..serializers import OrderDetailOutput, QuoteDetailOutput

PAGE = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]
REFUSED = {
    400: OpenApiResponse(ErrorOutput, description="invalid (the message says why)"),
    403: OpenApiResponse(
        ErrorOutput, description="forbidden; code `duty` when your role may not take this step"
    ),
    404: OpenApiResponse(ErrorOutput, description="not found"),
    409: OpenApiResponse(ErrorOutput, description="conflict with the current state"),
}
COLLECTING_REFUSED = {
    **REFUSED,
    403: OpenApiResponse(
        ErrorOutput,
        description="code `duty` (your role may not record this) or `sold_and_collects` "
        "(you sold this order)",
    ),
}


def paginated(request: Request, view: APIView, rows: Any) -> tuple[Pagination, list[Any]]:
    paginator = Pagination()
    page: list[Any] | None = paginator.paginate_queryset(rows, request, view=view)
    return paginator, list(page or [])


def valid_data(serializer_class: type, request: Request) -> dict[str, Any]:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def products_by_id(ids: list[int]) -> dict[int, Product]:
    """The catalogue is no secret; an unknown or retired product is refused by name."""
    found = {p.pk: p for p in Product.objects.filter(pk__in=ids, active=True)}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise Invalid(_("Unknown product."), code="product", detail={"product": missing})
    return found


def quote_lines(lines: list[dict[str, Any]]) -> list[QuoteLineInput]:
    products = products_by_id([line["product"] for line in lines])
    return [QuoteLineInput(**{**line, "product": products[line["product"]]}) for line in lines]


def order_lines(lines: list[dict[str, Any]]) -> list[OrderLineInput]:
    products = products_by_id([line["product"] for line in lines])
    return [OrderLineInput(**{**line, "product": products[line["product"]]}) for line in lines]


def order_detail(order: Order) -> dict[str, Any]:
    """The order with its lines, shipments, invoices, payments and their reversals: a fixed
    number of queries whatever the order's size (the order itself was read scoped to the
    viewer)."""
    order = (
        Order.objects.filter(pk=order.pk)
        .select_related("customer", "owner", "lost_reason")
        .prefetch_related(
            Prefetch("lines", OrderLine.objects.select_related("product")),
            Prefetch(
                "shipments",
                Shipment.objects.select_related("recorded_by")
                .prefetch_related("lines")
                .order_by("shipped_at", "pk"),
            ),
            Prefetch(
                "invoices",
                Invoice.objects.select_related("recorded_by")
                .prefetch_related("payments__recorded_by", "payments__reversals__recorded_by")
                .order_by("issued_on", "pk"),
            ),
        )
        .get()
    )
    return OrderDetailOutput(order).data


def quote_detail(quote: Quote) -> dict[str, Any]:
    quote = (
        Quote.objects.filter(pk=quote.pk)
        .select_related("customer", "owner", "approved_by", "lost_reason")
        .prefetch_related("lines__product")
        .get()
    )
    return QuoteDetailOutput(quote).data
