"""Order pages: the list and an order's page, where each back-office role finds its own step
— the order desk production and the contract, logistics shipments and delivery, finance
invoices and payments, and reverses a payment that bounced or was refunded. A salesperson
finds no control for those (分段经营), and a forged POST is refused here and again by the
services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kedun.core import clock
from kedun.core.errors import DomainError, Forbidden, NotFound
from kedun.org.models import Role, User

from .. import orders as service
from ..catalogue import lost_reasons
from ..duties import Step, may, sellers_of
from ..forms import (
    ContractForm,
    InvoiceForm,
    PaymentForm,
    QuoteLostForm,
    ReasonForm,
    ReversalForm,
    ShipmentForm,
)
from ..models import Invoice, Order, OrderLine, OrderStatus, Payment, ReversalKind, Shipment
from .common import page_of, refused, viewer_with


def _today() -> dt.date:
    return timezone.localdate(clock.now())


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_with(request)
    status = request.GET.get("status", "")
    orders = service.order_list_visible_to(viewer=viewer)
    if status in OrderStatus.values:
        orders = orders.filter(status=status)
    else:
        status = ""
    context = {"page": page_of(request, orders), "status": status, "statuses": OrderStatus.choices}
    return render(request, "sales/order_list.html", context)


def _lines(order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).select_related("product"))


def _open_invoices(order: Order) -> QuerySet[Invoice]:
    return Invoice.objects.filter(order=order, paid_amount__lt=F("amount")).order_by("due_on", "pk")


def _reversible(order: Order) -> QuerySet[Payment]:
    """The order's payments with something left to bounce or refund."""
    return Payment.objects.filter(invoice__order=order, reversed_amount__lt=F("amount"))


def _collects(viewer: User, order: Order, step: str) -> bool:
    """duties.require_collector asked in advance: never a seller, never whoever sold it."""
    return may(viewer, step) and viewer.role != Role.SALES and viewer.pk not in sellers_of(order)


def order_actions(viewer: User, order: Order, lines: list[OrderLine]) -> set[str]:
    """The steps the viewer may take on the order now; the services check again. A payment
    may be reversed even on an ended order (a cancelled order's prepayment refunded)."""
    actions: set[str] = set()
    if _collects(viewer, order, Step.PAYMENT) and _reversible(order).exists():
        actions.add("reverse")
    if order.status in service.ENDED:
        return actions
    if may(viewer, Step.PRODUCTION) and order.status == OrderStatus.CONFIRMED:
        actions.add("production")
    if may(viewer, Step.DOCUMENTS):
        actions.add("contract")
    if may(viewer, Step.SHIP):
        if any(line.shipped_quantity < line.quantity for line in lines):
            actions.add("ship")
        elif order.delivered_at is None:
            actions.add("deliver")
    if _collects(viewer, order, Step.INVOICE) and order.invoiced_total < order.gross_total:
        actions.add("invoice")
    if _collects(viewer, order, Step.PAYMENT) and _open_invoices(order).exists():
        actions.add("payment")
    if may(viewer, Step.ORDER) and order.status in service.NOT_SHIPPED and not order.invoiced_total:
        actions |= {"lost", "cancel"}
    return actions


def _form(action: str, order: Order, lines: list[OrderLine], data: Any = None) -> Any:
    kwargs: dict[str, Any] = {"data": data, "prefix": action}
    today = _today()
    if action == "contract":
        initial = {
            "contract_number": order.contract_number,
            "signed_on": order.contract_signed_on or today,
        }
        return ContractForm(**kwargs, initial=initial)
    if action == "ship":
        left = [line for line in lines if line.shipped_quantity < line.quantity]
        return ShipmentForm(**kwargs, lines=left)
    if action == "invoice":
        initial = {"amount": order.gross_total - order.invoiced_total, "issued_on": today}
        return InvoiceForm(**kwargs, initial=initial)
    if action == "payment":
        invoices = _open_invoices(order)
        first = invoices.first()
        initial = {
            "invoice": first,
            "amount": first.amount - first.paid_amount if first else None,
            "received_on": today,
            "payer_name": order.customer.name,
        }
        return PaymentForm(**kwargs, invoices=invoices, initial=initial)
    if action == "reverse":  # one form per payment (_payment_rows); this one was posted
        payment = str((data or {}).get("reverse-payment", ""))
        return ReversalForm(**kwargs, auto_id=f"id_reverse{payment}_%s")
    if action == "lost":
        reasons = [(reason.code, reason.label) for reason in lost_reasons()]
        return QuoteLostForm(**kwargs, reasons=reasons)
    if action == "cancel":
        return ReasonForm(**kwargs)
    return forms.Form(**kwargs)  # a bare button: production, deliver


def _perform(action: str, form: Any, viewer: User, order: Order) -> str:
    data = form.cleaned_data
    if action == "production":
        service.order_production_start(actor=viewer, order=order)
        return _("Production started.")
    if action == "contract":
        service.order_contract_set(
            actor=viewer,
            order=order,
            contract_number=data["contract_number"],
            signed_on=data["signed_on"],
        )
        return _("Contract recorded.")
    if action == "ship":
        shipped = form.shipped()
        shipment = service.shipment_record(
            actor=viewer,
            order=order,
            lines=shipped,
            carrier=data["carrier"],
            tracking=data["tracking"],
            consignee=data["consignee"],
        )
        if shipment.consignee_differs:
            return _("Shipment recorded. The consignee is not the customer: the manager is told.")
        return _("Shipment recorded.")
    if action == "deliver":
        service.delivery_confirm(actor=viewer, order=order)
        return _("Delivery confirmed.")
    if action == "invoice":
        service.invoice_record(
            actor=viewer,
            order=order,
            amount=data["amount"],
            number=data["number"],
            issued_on=data["issued_on"],
            due_on=data["due_on"],
        )
        return _("Invoice recorded.")
    if action == "payment":
        payment = service.payment_record(
            actor=viewer,
            invoice=data["invoice"],
            amount=data["amount"],
            received_on=data["received_on"],
            payer_name=data["payer_name"],
            payer_account=data["payer_account"],
        )
        if payment.payer_differs:
            return _("Payment recorded. The payer is not the customer: the manager is told.")
        return _("Payment recorded.")
    if action == "reverse":
        reversed_payment = _reversible(order).filter(pk=data["payment"]).first()
        if reversed_payment is None:
            raise NotFound()
        service.payment_reverse(
            actor=viewer,
            payment=reversed_payment,
            kind=data["kind"],
            amount=data["amount"],
            reason=data["reason"],
            reversed_on=data["reversed_on"],
        )
        return _("Reversal recorded; the commission it earned is clawed back.")
    if action == "lost":
        service.order_mark_lost(
            actor=viewer,
            order=order,
            reason=data["reason_code"],
            note=data["note"],
            competitor=data["competitor"],
        )
        return _("Order marked as lost.")
    if action == "cancel":
        service.order_cancel(actor=viewer, order=order, reason=data["reason"])
        return _("Order cancelled.")
    raise Forbidden()


def _payment_rows(
    payments: list[Payment], actions: set[str], bound: Any
) -> list[tuple[Payment, ReversalForm | None]]:
    """Each payment with its own reversal form when the viewer may reverse what is left of it
    (the form that was just refused keeps its input and errors)."""
    rows: list[tuple[Payment, ReversalForm | None]] = []
    for payment in payments:
        form = None
        if "reverse" in actions and payment.reversed_amount < payment.amount:
            if bound is not None and bound.data.get("reverse-payment") == str(payment.pk):
                form = bound
            else:
                initial = {
                    "payment": payment.pk,
                    "kind": ReversalKind.REFUNDED,
                    "amount": payment.amount - payment.reversed_amount,
                    "reversed_on": _today(),
                }
                form = ReversalForm(
                    prefix="reverse", auto_id=f"id_reverse{payment.pk}_%s", initial=initial
                )
        rows.append((payment, form))
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    viewer = viewer_with(request)
    order = service.order_get_for_viewer(viewer=viewer, order_id=order_id)
    lines = _lines(order)
    actions = order_actions(viewer, order, lines)
    bound: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in actions:
            raise Forbidden()
        form = _form(action, order, lines, data=request.POST)
        if form.is_valid():
            try:
                message = _perform(action, form, viewer, order)
            except DomainError as error:
                form.add_error(None, refused(error))
            else:
                messages.success(request, message)
                return redirect("order-detail", order.pk)
        bound[action] = form
    invoices = list(Invoice.objects.filter(order=order).order_by("issued_on", "pk"))
    payments = list(
        Payment.objects.filter(invoice__order=order)
        .select_related("invoice")
        .prefetch_related("reversals")
        .order_by("received_on", "pk")
    )
    context = {
        "order": order,
        "lines": lines,
        "shipments": Shipment.objects.filter(order=order)
        .prefetch_related("lines__order_line__product")
        .order_by("shipped_at", "pk"),
        "invoices": invoices,
        "payments": _payment_rows(payments, actions, bound.get("reverse")),
        "days_late": order.days_late,
        "actions": actions,
        "steps": actions - {"reverse"},  # reversals sit with their payments
        "forms": {
            action: bound.get(action) or _form(action, order, lines)
            for action in actions - {"production", "deliver", "reverse"}
        },
        "open": next(iter(bound), ""),
    }
    return render(request, "sales/order_detail.html", context)
