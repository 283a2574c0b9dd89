"""Finance's steps: invoices and payments, with the payer checked against the customer."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Invalid, NotFound
from kedun.customers.identity.parties import names_the_customer
from kedun.notifications.services import notify
from kedun.org.models import User

from ..catalogue import (
    Number,
)
from ..commission import commission_accrue
from ..duties import Step, require, require_collector
from ..models import (
    Invoice,
    Order,
    Payment,
)
from .common import _locked_order, _not_ended, _positive_money, _status_follow, _text, _today

# -- finance ----------------------------------------------------------------------------------


def invoice_record(
    *,
    actor: User,
    order: Order,
    amount: Number,
    number: str,
    issued_on: dt.date,
    due_on: dt.date | None = None,
) -> Invoice:
    """Finance records an invoice: never more than the order's total is invoiced, and never by
    whoever sold the order. Due after the order's payment terms unless said otherwise."""
    require(actor, Step.INVOICE)
    amount = _positive_money(amount, field=_("Amount"))
    number = _text(number, field=_("Invoice number"), max_length=40)
    if issued_on > _today():
        raise Invalid(_("An invoice cannot be issued in the future."))
    if due_on is not None and due_on < issued_on:
        raise Invalid(_("An invoice cannot fall due before it is issued."))
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        require_collector(actor, order, Step.INVOICE)
        _not_ended(order)
        before = order.invoiced_total
        after = before + amount
        if after > order.gross_total:
            raise Conflict(
                _("Order %(number)s has %(open)s left to invoice, not %(amount)s.")
                % {"number": order.number, "open": order.gross_total - before, "amount": amount},
                code="over_invoiced",
            )
        taken = _("Invoice number %(number)s is already recorded.") % {"number": number}
        if Invoice.objects.filter(number=number).exists():
            raise Conflict(taken, code="invoice_number_taken")
        due_on = due_on or issued_on + dt.timedelta(days=order.payment_terms_days)
        try:
            with transaction.atomic():  # a parallel invoice with the same number loses here
                invoice = Invoice.objects.create(
                    order=order,
                    owner_id=order.owner_id,
                    number=number,
                    amount=amount,
                    issued_on=issued_on,
                    due_on=due_on,
                    recorded_by=actor,
                    recorded_at=clock.now(),
                )
        except IntegrityError:
            raise Conflict(taken, code="invoice_number_taken") from None
        if (
            Order.objects.filter(pk=order.pk, invoiced_total=before).update(invoiced_total=after)
            != 1
        ):
            raise Conflict(_("The order changed meanwhile; try again."), code="changed")
        order.invoiced_total = after
        status = _status_follow(order)
        audit_record(
            actor=actor,
            action="sales.invoice_recorded",
            target=order,
            changes={
                "invoice": invoice.pk,
                "number": number,
                "amount": amount,
                "issued_on": issued_on,
                "due_on": due_on,
                "invoiced_total": [before, after],
                **({"status": status} if status else {}),
            },
        )
        notify(
            recipients=[order.owner],
            kind="order_invoiced",
            title=_("Order %(number)s: invoice %(invoice)s, %(amount)s, due %(due)s")
            % {"number": order.number, "invoice": number, "amount": amount, "due": due_on},
        )
    return invoice


def payment_record(
    *,
    actor: User,
    invoice: Invoice,
    amount: Number,
    received_on: dt.date,
    payer_name: str,
    payer_account: str,
) -> Payment:
    """Finance records money received against an invoice: never more than the invoice's open
    amount, never by whoever sold the order. A payer other than the customer is recorded and
    flagged to the owner's manager — a trace of diversion (MISSION §9), not a refusal."""
    require(actor, Step.PAYMENT)
    amount = _positive_money(amount, field=_("Amount"))
    payer_name = _text(payer_name, field=_("Payer"), max_length=200)
    payer_account = _text(payer_account, field=_("Payer's account"), max_length=60)
    if received_on > _today():
        raise Invalid(_("A payment cannot be received in the future."))
    order_id = Invoice.objects.filter(pk=invoice.pk).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound()
    with transaction.atomic():
        order = _locked_order(actor, order_id)
        require_collector(actor, order, Step.PAYMENT)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        before = invoice.paid_amount
        after = before + amount
        if after > invoice.amount:
            raise Conflict(
                _("Invoice %(number)s has %(open)s open, not %(amount)s.")
                % {"number": invoice.number, "open": invoice.amount - before, "amount": amount},
                code="over_paid",
            )
        # One conditional UPDATE: it changes the row only if nobody paid since the read and
        # the new total stays within the invoice (the CHECK constraint is the backstop).
        if (
            Invoice.objects.filter(pk=invoice.pk, paid_amount=before, amount__gte=after).update(
                paid_amount=after
            )
            != 1
        ):
            raise Conflict(_("The invoice changed meanwhile; try again."), code="changed")
        invoice.paid_amount = after
        paid_before = order.paid_total
        if (
            Order.objects.filter(
                pk=order.pk, paid_total=paid_before, invoiced_total__gte=paid_before + amount
            ).update(paid_total=paid_before + amount)
            != 1
        ):
            raise Conflict(_("The order changed meanwhile; try again."), code="changed")
        order.paid_total = paid_before + amount
        differs = not names_the_customer(payer_name, order.customer)
        payment = Payment.objects.create(
            invoice=invoice,
            amount=amount,
            received_on=received_on,
            payer_name=payer_name,
            payer_account=payer_account,
            payer_differs=differs,
            recorded_by=actor,
            recorded_at=clock.now(),
        )
        status = _status_follow(order)
        audit_record(
            actor=actor,
            action="sales.payment_recorded",
            target=order,
            changes={
                "payment": payment.pk,
                "invoice": invoice.number,
                "amount": amount,
                "received_on": received_on,
                "payer_name": payer_name,
                "payer_account": payer_account,
                "payer_differs": differs,
                "paid_amount": [before, after],
                **({"status": status} if status else {}),
            },
        )
        commission_accrue(payment=payment)
        notify(
            recipients=[order.owner],
            kind="payment_received",
            title=_("Order %(number)s: %(amount)s received")
            % {"number": order.number, "amount": amount},
        )
        if differs:
            notify(
                recipients=[order.owner.manager],
                kind="payment_payer_differs",
                title=_("Order %(number)s was paid by %(payer)s, not by %(customer)s")
                % {"number": order.number, "payer": payer_name, "customer": order.customer.name},
                body=_("Account %(account)s, %(amount)s.")
                % {"account": payer_account, "amount": amount},
            )
    return payment
