"""Logistics' steps: shipments, partial or whole, and the customer's confirmation of delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Invalid
from kedun.customers.identity.parties import names_the_customer
from kedun.notifications.services import notify
from kedun.org.models import User

from ..catalogue import (
    Number,
    parse_quantity,
)
from ..duties import Step, require
from ..models import (
    Order,
    OrderLine,
    ProductDelivery,
    Shipment,
    ShipmentLine,
)
from .common import CLOCK_SLACK, _locked_order, _not_ended, _status_follow, _text

# -- logistics --------------------------------------------------------------------------------


def shipment_record(
    *,
    actor: User,
    order: Order,
    lines: Mapping[OrderLine, Number],
    shipped_at: dt.datetime | None = None,
    carrier: str = "",
    tracking: str = "",
    consignee: str = "",
) -> Shipment:
    """Logistics records goods leaving: some or all of what was ordered, never more. A
    consignee other than the customer is recorded, flagged, and told to the rep's manager."""
    require(actor, Step.SHIP)
    now = clock.now()
    shipped_at = shipped_at or now
    if shipped_at > now + CLOCK_SLACK:
        raise Invalid(_("A shipment cannot leave in the future."))
    carrier = _text(carrier, field=_("Carrier"), max_length=100, required=False)
    tracking = _text(tracking, field=_("Tracking number"), max_length=100, required=False)
    consignee = _text(consignee, field=_("Consignee"), max_length=200, required=False)
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
        consignee = consignee or order.customer.name
        consignee_differs = not names_the_customer(consignee, order.customer)
        shipment = Shipment.objects.create(
            order=order,
            shipped_at=shipped_at,
            carrier=carrier,
            tracking_number=tracking,
            consignee=consignee,
            consignee_differs=consignee_differs,
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
                "consignee": consignee,
                "consignee_differs": consignee_differs,
                **({"status": status} if status else {}),
            },
        )
        notify(
            recipients=[order.owner],
            kind="order_shipped",
            title=_("Order %(number)s: goods shipped") % {"number": order.number},
            body=" ".join(filter(None, [carrier, tracking])),
        )
        if consignee_differs:
            notify(
                recipients=[order.owner.manager],
                kind="shipment_consignee_differs",
                title=_("Order %(number)s was shipped to %(consignee)s, not to %(customer)s")
                % {
                    "number": order.number,
                    "consignee": consignee,
                    "customer": order.customer.name,
                },
            )
    return shipment


def days_late_of(order: Order) -> int:
    """Whole days from the promised date to the local date of delivery (negative: early)."""
    assert order.delivered_at is not None
    return (timezone.localdate(order.delivered_at) - order.promised_date).days


def delivery_facts_write(order: Order) -> None:
    """The delivered order's row per product for the lead-time report by product (one row
    however many lines carry the product). The order is delivered and has its days_late."""
    assert order.delivered_at is not None and order.days_late is not None
    products = sorted(
        set(OrderLine.objects.filter(order=order).values_list("product_id", flat=True))
    )
    ProductDelivery.objects.bulk_create(
        ProductDelivery(
            order=order,
            product_id=product_id,
            owner_id=order.owner_id,
            delivered_at=order.delivered_at,
            days_late=order.days_late,
        )
        for product_id in products
    )


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
        order.days_late = days_late_of(order)
        order.save(update_fields=["delivered_at", "days_late"])
        order.shipments.filter(delivered_at__isnull=True).update(delivered_at=delivered_at)
        delivery_facts_write(order)
        status = _status_follow(order)
        audit_record(
            actor=actor,
            action="sales.order_delivered",
            target=order,
            changes={
                "delivered_at": delivered_at,
                "promised_date": order.promised_date,
                "days_late": order.days_late,
                **({"status": status} if status else {}),
            },
        )
        notify(
            recipients=[order.owner],
            kind="order_delivered",
            title=_("Order %(number)s delivered") % {"number": order.number},
        )
    return order
