"""Creating orders: directly or from an accepted quote, under the quote's price rules."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NoReturn

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.customers.models import Customer, Stage
from kedun.lifecycle.services import customer_locked, works_the_account
from kedun.notifications.services import notify
from kedun.org.models import User

from ..catalogue import (
    MONEY_LIMIT,
    Number,
    parse_money,
    parse_quantity,
    parse_rate,
)
from ..duties import Step, require, roles_for
from ..models import (
    Order,
    OrderLine,
    Product,
    Quote,
    QuoteStatus,
)
from ..money import LineAmounts, line_amounts, to_cents, totals
from ..quotes import discount_limit_of
from .common import ENDED, _text, _today, order_get_for_viewer

# -- creating orders --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLineInput:
    product: Product
    quantity: Number
    unit_price: Number | None = None  # None: the product's list price
    discount_rate: Number = 0
    description: str = ""


def _price_problems(line: OrderLine, *, limit: Decimal) -> list[str]:
    """quotes.approval_reasons_of's rule, for a direct order's unsaved line: below the floor,
    or cheaper than the list price by more than the seller's discount limit (exactly)."""
    product = line.product
    effective = line.unit_price * (Decimal(1) - line.discount_rate)
    label = {"line": line.position, "product": f"{product.sku} {product.name}"}
    problems = []
    if effective < product.floor_price:
        problems.append(
            _(
                "Line %(line)d, %(product)s: %(price)s per unit after discount is below the "
                "floor price %(floor)s."
            )
            % {**label, "price": to_cents(effective), "floor": product.floor_price}
        )
    if product.list_price > 0 and effective < product.list_price * (Decimal(1) - limit):
        problems.append(
            _(
                "Line %(line)d, %(product)s: %(discount)s %% off is over the discount "
                "limit of %(limit)s %%."
            )
            % {
                **label,
                "discount": _percent(Decimal(1) - effective / product.list_price),
                "limit": _percent(limit),
            }
        )
    return problems


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP).normalize():f}"


def _lines_from_input(lines: Sequence[OrderLineInput]) -> list[OrderLine]:
    if not lines:
        raise Invalid(_("An order needs at least one line."), code="no_lines")
    products = Product.objects.filter(active=True).in_bulk([item.product.pk for item in lines])
    built = []
    for position, item in enumerate(lines, start=1):
        product = products.get(item.product.pk)
        if product is None:
            raise Invalid(
                _("Line %(line)d: the product is not in the catalogue (or no longer sold).")
                % {"line": position},
                code="product",
            )
        quantity = parse_quantity(item.quantity, field=_("Quantity"))
        unit_price = (
            product.list_price
            if item.unit_price is None
            else parse_money(item.unit_price, field=_("Unit price"))
        )
        discount_rate = parse_rate(item.discount_rate, field=_("Discount"))
        amounts = line_amounts(
            quantity=quantity,
            unit_price=unit_price,
            discount_rate=discount_rate,
            tax_rate=product.tax_rate,
        )
        built.append(
            OrderLine(
                product=product,
                description=_text(
                    item.description, field=_("Description"), max_length=300, required=False
                ),
                quantity=quantity,
                unit_price=unit_price,
                discount_rate=discount_rate,
                tax_rate=product.tax_rate,
                net_amount=amounts.net,
                tax_amount=amounts.tax,
                position=position,
            )
        )
    return built


def _order_terms(promised_date: dt.date, payment_terms_days: int) -> None:
    if promised_date < _today():
        raise Invalid(_("The promised delivery date is in the past."), code="promised_date")
    if (
        isinstance(payment_terms_days, bool)
        or not isinstance(payment_terms_days, int)
        or not 0 <= payment_terms_days <= 365
    ):
        raise Invalid(_("Payment terms are a number of days from 0 to 365."))


def _locked_customer_to_sell_to(actor: User, customer_id: int) -> Customer:
    """The customer, locked, if the actor may sell to it: its owner, a collaborator with write
    access, or the owner's manager. A customer in the pool must be claimed first."""
    customer = customer_locked(customer_id)
    if customer.owner is None:
        raise Forbidden(
            _("This customer is in the public pool: claim it before taking an order."),
            code="not_your_customer",
        )
    if not works_the_account(actor, customer):
        raise Forbidden(
            _(
                "Only the customer's owner, a collaborator with write access or their manager can "
                "take an order."
            ),
            code="not_your_customer",
        )
    return customer


def _order_write(
    *,
    actor: User,
    customer: Customer,
    lines: list[OrderLine],
    quote: Quote | None,
    promised_date: dt.date,
    payment_terms_days: int,
) -> Order:
    """Insert the order and its lines, record the customer's order (the pool exempts
    customers with a recent order), audit and tell the order desk. In the caller's
    transaction, with the customer locked."""
    total = totals(
        [
            (
                LineAmounts(net=line.net_amount, tax=line.tax_amount),
                to_cents(line.quantity * line.product.list_price),
            )
            for line in lines
        ]
    )
    if total.gross <= 0:
        raise Invalid(_("An order needs an amount above zero."), code="zero_total")
    if max(total.gross, total.list_value) >= MONEY_LIMIT:
        raise Invalid(_("The order's total is too large."))
    now = clock.now()
    assert customer.owner is not None  # checked by _locked_customer_to_sell_to
    order = Order.objects.create(
        number=f"tmp-{uuid.uuid4().hex[:24]}",
        customer=customer,
        quote=quote,
        owner=customer.owner,  # the rep credited with the sale is the customer's owner
        promised_date=promised_date,
        payment_terms_days=payment_terms_days,
        net_total=total.net,
        tax_total=total.tax,
        created_by=actor,
        created_at=now,
    )
    # Numbered from the id, so written after the insert (same transaction): SO000123.
    order.number = f"SO{order.pk:06d}"
    order.save(update_fields=["number"])
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)

    fields = []
    had_order = customer.last_order_at is not None
    if customer.last_order_at is None or customer.last_order_at < now:
        customer.last_order_at = now
        fields.append("last_order_at")
    stage = Stage.REPEAT if had_order else Stage.WON
    if customer.stage not in (stage, Stage.REPEAT):
        customer.stage = stage
        fields.append("stage")
    if fields:
        customer.save(update_fields=fields)

    audit_record(
        actor=actor,
        action="sales.order_created",
        target=order,
        changes={
            "number": order.number,
            "customer": customer.pk,
            "owner": order.owner_id,
            "quote": quote.pk if quote else None,
            "lines": [
                [line.product.sku, line.quantity, line.unit_price, line.discount_rate]
                for line in lines
            ],
            "net_total": order.net_total,
            "tax_total": order.tax_total,
            "promised_date": promised_date,
            "payment_terms_days": payment_terms_days,
        },
    )
    desk = User.objects.filter(is_active=True, role__in=roles_for(Step.PRODUCTION))
    notify(
        recipients=[u for u in [customer.owner, *desk] if u.pk != actor.pk],
        kind="order_created",
        title=_("New order %(number)s: %(customer)s, %(amount)s")
        % {"number": order.number, "customer": customer.name, "amount": order.gross_total},
        body=_("Promised for %(date)s.") % {"date": promised_date.isoformat()},
    )
    return order


def order_create(
    *,
    actor: User,
    customer: Customer,
    lines: Sequence[OrderLineInput],
    promised_date: dt.date,
    payment_terms_days: int = 30,
) -> Order:
    """A direct order, without a quote. Its prices must need no approval: a line below its
    floor price or over the seller's discount limit is refused — such a price goes through a
    quote a manager approves, and the order is then made from that quote."""
    require(actor, Step.ORDER)
    _order_terms(promised_date, payment_terms_days)
    built = _lines_from_input(lines)
    with transaction.atomic():
        customer = _locked_customer_to_sell_to(actor, customer.pk)
        assert customer.owner is not None
        limit = discount_limit_of(customer.owner)
        problems = [problem for line in built for problem in _price_problems(line, limit=limit)]
        if problems:
            raise Invalid(
                " ".join(
                    [
                        *problems,
                        _(
                            "A direct order cannot carry such prices: write a quote, have a "
                            "manager approve it, and make the order from the accepted quote."
                        ),
                    ]
                ),
                code="needs_approval",
                detail=problems,
            )
        return _order_write(
            actor=actor,
            customer=customer,
            lines=built,
            quote=None,
            promised_date=promised_date,
            payment_terms_days=payment_terms_days,
        )


def order_create_from_quote(
    *, actor: User, quote: Quote, promised_date: dt.date, payment_terms_days: int = 30
) -> Order:
    """The order for an accepted quote, its lines and prices copied as the customer accepted
    them (approved by a manager where the quote needed it). One live order per quote."""
    require(actor, Step.ORDER)
    _order_terms(promised_date, payment_terms_days)
    with transaction.atomic():
        customer = _locked_customer_to_sell_to(actor, quote.customer_id)
        quote = Quote.objects.select_for_update().get(pk=quote.pk)
        if quote.status != QuoteStatus.ACCEPTED:
            raise Conflict(
                _("Only an accepted quote becomes an order (this one is %(status)s).")
                % {"status": quote.get_status_display()},
                code="quote_not_accepted",
            )
        if quote.approval_reasons and quote.approved_by_id is None:
            raise Conflict(
                _("This quote needed a manager's approval and has none."),
                code="quote_not_approved",
            )
        live = Order.objects.filter(quote=quote).exclude(status__in=ENDED).first()
        if live is not None:
            raise Conflict(
                _("This quote is already order %(number)s.") % {"number": live.number},
                code="quote_ordered",
            )
        lines = [
            OrderLine(
                product=line.product,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_rate=line.discount_rate,
                tax_rate=line.tax_rate,
                net_amount=line.net_amount,
                tax_amount=line.tax_amount,
                position=line.position,
            )
            for line in quote.lines.select_related("product").order_by("position", "pk")
        ]
        if not lines:
            raise Invalid(_("An order needs at least one line."), code="no_lines")
        return _order_write(
            actor=actor,
            customer=customer,
            lines=lines,
            quote=quote,
            promised_date=promised_date,
            payment_terms_days=payment_terms_days,
        )


def order_line_change(*, actor: User, line: OrderLine, **changes: object) -> NoReturn:
    """Always refused: a confirmed order's lines and prices never change — sales least of all.
    A different deal is a new order (from a new quote when the price differs)."""
    order_get_for_viewer(viewer=actor, order_id=line.order_id)
    raise Conflict(
        _(
            "A confirmed order's lines and prices cannot change. Cancel it and make a new order "
            "(from a new quote if the price changes)."
        ),
        code="order_confirmed",
    )
