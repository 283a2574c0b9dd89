"""Cash that did not stay: a bounced cheque or acceptance bill (退票) or a refund (退款).

A reversal is finance's step, like the payment it reverses (Step.PAYMENT, so whoever the admin
lets record payments may reverse them, and whoever sold the order never does either). It
lowers the payment's invoice and order by the amount, moves a paid order back to invoiced, and
claws back the commission the cash earned — all in one transaction with its audit event.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Invalid, NotFound
from kedun.notifications.services import notify
from kedun.org.models import Role, User

from ..catalogue import Number
from ..commission import commission_clawback
from ..duties import Step, require, require_collector
from ..models import Invoice, Order, Payment, PaymentReversal, ReversalKind
from .common import _locked_order, _positive_money, _status_follow, _text, _today


def payment_reverse(
    *,
    actor: User,
    payment: Payment,
    kind: str,
    amount: Number | None = None,
    reason: str,
    reversed_on: dt.date | None = None,
) -> PaymentReversal:
    """Finance records that a payment bounced (all of it; `amount` may be left out) or was
    refunded (some or all of what is left of it). Never more than the payment in all, never a
    bounce after a refund, never by whoever sold the order; the reason is required.

    Locks the order, the invoice, then the payment (the documented order), and moves each
    running total by one compare-and-set UPDATE; the CHECK constraints are the backstop.
    An ended order (a cancelled order's prepayment refunded) may be reversed too.
    """
    require(actor, Step.PAYMENT)
    if kind not in ReversalKind.values:
        raise Invalid(_("Unknown kind of reversal."), code="kind")
    reason = _text(reason, field=_("Reason"), max_length=300)
    wanted = None if amount is None else _positive_money(amount, field=_("Amount"))
    if wanted is None and kind == ReversalKind.REFUNDED:
        raise Invalid(_("%(field)s is required.") % {"field": _("Amount")})
    today = _today()
    reversed_on = reversed_on or today
    if reversed_on > today:
        raise Invalid(_("A reversal cannot be dated in the future."))
    ids = Payment.objects.filter(pk=payment.pk).values_list("invoice_id", "invoice__order_id")
    found = ids.first()
    if found is None:
        raise NotFound()
    invoice_id, order_id = found
    with transaction.atomic():
        order = _locked_order(actor, order_id)  # out of sight: NotFound
        require_collector(actor, order, Step.PAYMENT)
        invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if reversed_on < payment.received_on:
            raise Invalid(_("A payment cannot be reversed before it was received."))
        reversed_before = payment.reversed_amount
        left = payment.amount - reversed_before
        if kind == ReversalKind.BOUNCED:
            if reversed_before:
                raise Conflict(
                    _("%(reversed)s of this payment was already reversed, so it cannot bounce.")
                    % {"reversed": reversed_before},
                    code="already_reversed",
                )
            if wanted is not None and wanted != payment.amount:
                raise Invalid(
                    _("A bounce reverses the whole payment, %(amount)s.")
                    % {"amount": payment.amount},
                    code="bounce_whole",
                )
        amount = payment.amount if wanted is None else wanted
        if amount > left:
            raise Conflict(
                _("The payment has %(left)s left to reverse, not %(amount)s.")
                % {"left": left, "amount": amount},
                code="over_reversed",
            )
        # Compare-and-set, each: the row changes only if nobody moved it since the read.
        reversed_after = reversed_before + amount
        if (
            Payment.objects.filter(
                pk=payment.pk, reversed_amount=reversed_before, amount__gte=reversed_after
            ).update(reversed_amount=reversed_after)
            != 1
        ):
            raise Conflict(_("The payment changed meanwhile; try again."), code="changed")
        payment.reversed_amount = reversed_after
        paid_before = invoice.paid_amount
        paid_after = paid_before - amount
        if (
            paid_after < 0
            or Invoice.objects.filter(pk=invoice.pk, paid_amount=paid_before).update(
                paid_amount=paid_after
            )
            != 1
        ):
            raise Conflict(_("The invoice changed meanwhile; try again."), code="changed")
        invoice.paid_amount = paid_after
        total_before = order.paid_total
        total_after = total_before - amount
        if (
            total_after < 0
            or Order.objects.filter(pk=order.pk, paid_total=total_before).update(
                paid_total=total_after
            )
            != 1
        ):
            raise Conflict(_("The order changed meanwhile; try again."), code="changed")
        order.paid_total = total_after
        reversal = PaymentReversal.objects.create(
            payment=payment,
            kind=kind,
            amount=amount,
            reason=reason,
            reversed_on=reversed_on,
            recorded_by=actor,
            recorded_at=clock.now(),
        )
        status = _status_follow(order)
        audit_record(
            actor=actor,
            action="sales.payment_reversed",
            target=order,
            changes={
                "payment": payment.pk,
                "reversal": reversal.pk,
                "kind": kind,
                "amount": amount,
                "reason": reason,
                "reversed_on": reversed_on,
                "invoice": invoice.number,
                "reversed_amount": [reversed_before, reversed_after],
                "paid_amount": [paid_before, paid_after],
                "paid_total": [total_before, total_after],
                **({"status": status} if status else {}),
            },
        )
        commission_clawback(reversal=reversal)
        if kind == ReversalKind.BOUNCED:
            title = _("Order %(number)s: a payment of %(amount)s bounced")
        else:
            title = _("Order %(number)s: %(amount)s refunded")
        finance = User.objects.filter(role=Role.FINANCE, is_active=True).order_by("pk")
        told = [order.owner, order.owner.manager, *finance]
        notify(
            recipients=[user for user in told if user is not None and user.pk != actor.pk],
            kind="payment_reversed",
            title=title % {"number": order.number, "amount": amount},
            body=reason,
        )
    return reversal
