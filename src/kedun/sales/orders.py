"""Orders, from confirmation to cash (MISSION §5): order → production → shipments → delivery →
invoices → payments, lost and cancelled orders.

Every transition checks two things. The role may take the step (duties.py, 分段经营: sales
sell, the order desk starts production and keeps the contract, logistics ships, finance
invoices and collects — and whoever sold an order never collects on it). And the actor may see
the order (`order_visible_filter`): the back office sees every order, salespeople and managers
the orders of the owners in their data scope; an order out of sight is NotFound, the same
answer as a missing one.

Rows are locked parent first — customer, quote, order, its lines by id, invoice — so that two
services never wait on each other crosswise. Running totals (shipped, invoiced, paid) are
computed exactly in Python under the order's lock and written by a compare-and-set UPDATE
that also keeps the limit; the CHECK constraints are the backstop. Not `SET paid = paid + x`:
SQLite keeps decimals as binary floats, and 0.10 + 0.20 there is more than 0.30.

The status is the order's furthest point on one road: confirmed → in production → partly
shipped → shipped → delivered → invoiced → paid. Money moves the status once the goods are
delivered (an invoice or a prepayment before that shows in the totals, not in the status), so
"paid" means the order is closed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NoReturn

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.customers.identity.keys import identity_keys
from kedun.customers.identity.names import normalize_text
from kedun.customers.models import Customer, Stage
from kedun.lifecycle.services import customer_locked, works_the_account
from kedun.notifications.services import notify
from kedun.org.models import Role, User
from kedun.org.selectors import scope_filter

from .catalogue import (
    MONEY_LIMIT,
    Number,
    lost_reason_resolve,
    parse_money,
    parse_quantity,
    parse_rate,
)
from .commission import commission_accrue
from .duties import Step, require, require_collector, roles_for
from .models import (
    Invoice,
    LostReason,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Product,
    Quote,
    QuoteStatus,
    Shipment,
    ShipmentLine,
)
from .money import LineAmounts, line_amounts, to_cents, totals
from .quotes import discount_limit_of

# They handle orders company-wide (MISSION: "each handles their own stage of an order").
BACK_OFFICE_ROLES = frozenset({Role.ADMIN, Role.ORDERS, Role.LOGISTICS, Role.FINANCE, Role.AUDITOR})
ENDED = (OrderStatus.CANCELLED, OrderStatus.LOST)
# Before anything has shipped: the only states an order may be cancelled or lost in.
NOT_SHIPPED = (OrderStatus.CONFIRMED, OrderStatus.IN_PRODUCTION)
# A clock a few minutes fast on someone's phone is not a lie about the future.
CLOCK_SLACK = dt.timedelta(minutes=5)


# -- who sees which order ---------------------------------------------------------------------


def order_visible_filter(*, viewer: User) -> Q:
    """The orders the viewer may see: all for the back office; for salespeople and managers
    those whose owner is in their data scope, and those they created themselves."""
    if not viewer.is_active:
        return Q(pk__in=[])
    if viewer.role in BACK_OFFICE_ROLES:
        return Q()
    in_scope = scope_filter(viewer=viewer, owner_field="owner")
    if not in_scope:  # an empty Q is "everything": OR-ing it would narrow it instead
        return in_scope
    return in_scope | Q(created_by=viewer)


def order_list_visible_to(*, viewer: User) -> QuerySet[Order]:
    return (
        Order.objects.filter(order_visible_filter(viewer=viewer))
        .select_related("customer", "owner")
        .order_by("-created_at", "-pk")
    )


def order_get_for_viewer(*, viewer: User, order_id: int) -> Order:
    order = order_list_visible_to(viewer=viewer).filter(pk=order_id).first()
    if order is None:
        raise NotFound()
    return order


def _locked_order(actor: User, order_id: int) -> Order:
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("owner", "owner__manager", "customer", "quote")
        .filter(order_visible_filter(viewer=actor), pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound()
    return order


def _not_ended(order: Order) -> None:
    if order.status in ENDED:
        raise Conflict(
            _("Order %(number)s is %(status)s.")
            % {"number": order.number, "status": order.get_status_display()},
            code="order_ended",
        )


def _road_status(order: Order) -> str:
    """Where the order stands on the road, from its lines, delivery and totals."""
    if order.status in ENDED:
        return order.status
    if order.delivered_at is not None:
        if order.paid_total == order.gross_total:
            return OrderStatus.PAID
        if order.invoiced_total == order.gross_total:
            return OrderStatus.INVOICED
        return OrderStatus.DELIVERED
    lines = OrderLine.objects.filter(order=order).aggregate(
        open=Count("pk", filter=Q(shipped_quantity__lt=F("quantity"))),
        started=Count("pk", filter=Q(shipped_quantity__gt=0)),
    )
    if lines["open"] == 0:
        return OrderStatus.SHIPPED
    if lines["started"]:
        return OrderStatus.PARTLY_SHIPPED
    return order.status


def _status_follow(order: Order) -> list[str]:
    """Move the status along the road: [before, after] for the audit, [] when unchanged."""
    status = _road_status(order)
    if status == order.status:
        return []
    before, order.status = order.status, status
    order.save(update_fields=["status"])
    return [before, status]


def _today() -> dt.date:
    return timezone.localdate(clock.now())


def _text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise Invalid(_("%(field)s is required.") % {"field": field})
    if len(text) > max_length:
        raise Invalid(
            _("%(field)s has at most %(max)d characters.") % {"field": field, "max": max_length}
        )
    return text


def _positive_money(value: Number, *, field: str) -> Decimal:
    amount = parse_money(value, field=field)
    if amount <= 0:
        raise Invalid(_("%(field)s must be more than 0.") % {"field": field})
    return amount


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


# -- the order desk ---------------------------------------------------------------------------


def order_production_start(*, actor: User, order: Order) -> Order:
    require(actor, Step.PRODUCTION)
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        _not_ended(order)
        if order.status != OrderStatus.CONFIRMED:
            raise Conflict(
                _("Production starts on a confirmed order; %(number)s is %(status)s.")
                % {"number": order.number, "status": order.get_status_display()},
                code="wrong_status",
            )
        order.status = OrderStatus.IN_PRODUCTION
        order.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="sales.order_production_started",
            target=order,
            changes={"status": [OrderStatus.CONFIRMED, OrderStatus.IN_PRODUCTION]},
        )
        notify(
            recipients=[order.owner],
            kind="order_production_started",
            title=_("Order %(number)s is in production") % {"number": order.number},
        )
    return order


def order_contract_set(
    *, actor: User, order: Order, contract_number: str, signed_on: dt.date
) -> Order:
    """The order desk records (or corrects) the signed contract."""
    require(actor, Step.DOCUMENTS)
    contract_number = _text(contract_number, field=_("Contract number"), max_length=60)
    if signed_on > _today():
        raise Invalid(_("A contract cannot be signed in the future."))
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        _not_ended(order)
        before = [order.contract_number, order.contract_signed_on]
        if before == [contract_number, signed_on]:
            return order
        order.contract_number, order.contract_signed_on = contract_number, signed_on
        order.save(update_fields=["contract_number", "contract_signed_on"])
        audit_record(
            actor=actor,
            action="sales.order_contract_set",
            target=order,
            changes={
                "contract_number": [before[0], contract_number],
                "contract_signed_on": [before[1], signed_on],
            },
        )
    return order


# -- logistics --------------------------------------------------------------------------------


def shipment_record(
    *,
    actor: User,
    order: Order,
    lines: Mapping[OrderLine, Number],
    shipped_at: dt.datetime | None = None,
    carrier: str = "",
    tracking: str = "",
) -> Shipment:
    """Logistics records goods leaving: some or all of what was ordered, never more."""
    require(actor, Step.SHIP)
    now = clock.now()
    shipped_at = shipped_at or now
    if shipped_at > now + CLOCK_SLACK:
        raise Invalid(_("A shipment cannot leave in the future."))
    carrier = _text(carrier, field=_("Carrier"), max_length=100, required=False)
    tracking = _text(tracking, field=_("Tracking number"), max_length=100, required=False)
    wanted = {line.pk: parse_quantity(qty, field=_("Quantity")) for line, qty in lines.items()}
    if not wanted:
        raise Invalid(_("A shipment needs at least one line."), code="no_lines")
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        _not_ended(order)
        if shipped_at < order.created_at:
            raise Invalid(_("A shipment cannot leave before the order was taken."))
        locked = list(
            OrderLine.objects.select_for_update(of=("self",))
            .select_related("product")
            .filter(order=order, pk__in=wanted)
            .order_by("pk")
        )
        if len(locked) != len(wanted):
            raise Invalid(_("A shipment line is not a line of this order."), code="wrong_line")
        for line in locked:
            left = line.quantity - line.shipped_quantity
            if wanted[line.pk] > left:
                raise Conflict(
                    _("%(sku)s: %(left)s left to ship, not %(wanted)s.")
                    % {"sku": line.product.sku, "left": left, "wanted": wanted[line.pk]},
                    code="over_shipped",
                )
        shipment = Shipment.objects.create(
            order=order,
            shipped_at=shipped_at,
            carrier=carrier,
            tracking_number=tracking,
            recorded_by=actor,
            recorded_at=now,
        )
        for line in locked:
            before, after = line.shipped_quantity, line.shipped_quantity + wanted[line.pk]
            changed = OrderLine.objects.filter(
                pk=line.pk, shipped_quantity=before, quantity__gte=after
            ).update(shipped_quantity=after)
            if changed != 1:  # cannot happen under the lock; never write over a stranger
                raise Conflict(_("The order changed meanwhile; try again."), code="changed")
        ShipmentLine.objects.bulk_create(
            ShipmentLine(shipment=shipment, order_line_id=pk, quantity=qty)
            for pk, qty in sorted(wanted.items())
        )
        status = _status_follow(order)
        audit_record(
            actor=actor,
            action="sales.shipment_recorded",
            target=order,
            changes={
                "shipment": shipment.pk,
                "lines": {str(pk): qty for pk, qty in sorted(wanted.items())},
                "shipped_at": shipped_at,
                "carrier": carrier,
                "tracking": tracking,
                **({"status": status} if status else {}),
            },
        )
        notify(
            recipients=[order.owner],
            kind="order_shipped",
            title=_("Order %(number)s: goods shipped") % {"number": order.number},
            body=" ".join(filter(None, [carrier, tracking])),
        )
    return shipment


def delivery_confirm(
    *, actor: User, order: Order, delivered_at: dt.datetime | None = None
) -> Order:
    """The customer has everything: the order's actual delivery date, against the promised
    one (slow delivery pushes reps to divert orders, MISSION §5)."""
    require(actor, Step.SHIP)
    now = clock.now()
    delivered_at = delivered_at or now
    if delivered_at > now + CLOCK_SLACK:
        raise Invalid(_("A delivery cannot happen in the future."))
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        _not_ended(order)
        if order.delivered_at is not None:
            raise Conflict(_("This order is already delivered."), code="already_delivered")
        if OrderLine.objects.filter(order=order, shipped_quantity__lt=F("quantity")).exists():
            raise Conflict(
                _("Only a fully shipped order can be confirmed delivered."),
                code="not_fully_shipped",
            )
        last_shipped = max(order.shipments.values_list("shipped_at", flat=True))
        if delivered_at < last_shipped:
            raise Invalid(_("A delivery cannot come before the goods were shipped."))
        order.delivered_at = delivered_at
        order.save(update_fields=["delivered_at"])
        order.shipments.filter(delivered_at__isnull=True).update(delivered_at=delivered_at)
        status = _status_follow(order)
        late_days = (timezone.localdate(delivered_at) - order.promised_date).days
        audit_record(
            actor=actor,
            action="sales.order_delivered",
            target=order,
            changes={
                "delivered_at": delivered_at,
                "promised_date": order.promised_date,
                "days_late": late_days,
                **({"status": status} if status else {}),
            },
        )
        notify(
            recipients=[order.owner],
            kind="order_delivered",
            title=_("Order %(number)s delivered") % {"number": order.number},
        )
    return order


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


def payer_is_customer(payer_name: str, customer: Customer) -> bool:
    """Does the payer's name name the customer? Compared as the registry compares company
    names (kedun.customers.identity): script, brackets, spaces, region and legal form folded
    away, against the customer's name, short name and English name — so 腾讯计算机系统（深圳）
    有限公司 pays for 深圳市腾讯计算机系统有限公司, and 腾达… does not."""
    own_names = [customer.name, customer.short_name, customer.english_name]
    payer_text = normalize_text(payer_name)
    if payer_text and payer_text in {normalize_text(name) for name in own_names if name}:
        return True
    payer = {name.core for name in identity_keys(name=payer_name).names}
    own = identity_keys(
        name=customer.name, short_name=customer.short_name, english_name=customer.english_name
    )
    return bool(payer & {name.core for name in own.names})


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
        differs = not payer_is_customer(payer_name, order.customer)
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


# -- lost and cancelled -----------------------------------------------------------------------


def _end(
    *,
    actor: User,
    order: Order,
    status: str,
    action: str,
    fields: dict[str, object] | None = None,
    changes: dict[str, object],
) -> Order:
    """Cancelled or lost: only before anything has shipped or been invoiced. In the caller's
    transaction, with the order locked; `fields` are written on the order too."""
    _not_ended(order)
    if order.status not in NOT_SHIPPED or order.invoiced_total > 0:
        raise Conflict(
            _("Order %(number)s has shipped or been invoiced; it can no longer end this way.")
            % {"number": order.number},
            code="wrong_status",
        )
    before, order.status = order.status, status
    for name, value in (fields or {}).items():
        setattr(order, name, value)
    order.save(update_fields=["status", *(fields or {})])
    audit_record(
        actor=actor, action=action, target=order, changes={"status": [before, status], **changes}
    )
    return order


def order_mark_lost(
    *,
    actor: User,
    order: Order,
    reason: LostReason | str,
    note: str,
    competitor: str = "",
) -> Order:
    """The customer backed out: a reason from the list, the competitor's name when the reason
    asks for one, and a note. The owner's manager hears of it (lost-to-competitor rates are a
    risk signal, MISSION §9)."""
    require(actor, Step.ORDER)
    note = _text(note, field=_("Note"), max_length=2000)
    competitor = _text(competitor, field=_("Competitor"), max_length=200, required=False)
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        code = reason.code if isinstance(reason, LostReason) else reason
        lost_reason = lost_reason_resolve(actor=actor, code=code)
        if lost_reason.needs_competitor and not competitor:
            raise Invalid(_("Name the competitor the order was lost to."), code="competitor")
        _end(
            actor=actor,
            order=order,
            status=OrderStatus.LOST,
            action="sales.order_lost",
            fields={
                "lost_reason": lost_reason,
                "lost_competitor": competitor,
                "lost_note": note,
            },
            changes={"reason": lost_reason.code, "competitor": competitor, "note": note},
        )
        notify(
            recipients=[u for u in [order.owner, order.owner.manager] if u and u.pk != actor.pk],
            kind="order_lost",
            title=_("Order %(number)s lost: %(reason)s")
            % {"number": order.number, "reason": lost_reason.label},
            body=" ".join(filter(None, [competitor, note])),
        )
    return order


def order_cancel(*, actor: User, order: Order, reason: str) -> Order:
    """Cancelled before anything shipped (entered twice, the customer changed the order …)."""
    require(actor, Step.ORDER)
    reason = _text(reason, field=_("Reason"), max_length=2000)
    if len(reason) < 5:
        raise Invalid(_("Give a reason (at least 5 characters)."))
    with transaction.atomic():
        order = _locked_order(actor, order.pk)
        _end(
            actor=actor,
            order=order,
            status=OrderStatus.CANCELLED,
            action="sales.order_cancelled",
            changes={"reason": reason},
        )
        notify(
            recipients=[u for u in [order.owner, order.owner.manager] if u and u.pk != actor.pk],
            kind="order_cancelled",
            title=_("Order %(number)s cancelled") % {"number": order.number},
            body=reason,
        )
    return order
