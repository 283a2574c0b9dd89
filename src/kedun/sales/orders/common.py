"""Who sees which order, and the checks every step of an order shares."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.core import clock
from kedun.core.errors import Conflict, Invalid, NotFound
from kedun.org.models import Role, User
from kedun.org.selectors import scope_filter

from ..catalogue import (
    Number,
    parse_money,
)
from ..models import (
    Order,
    OrderLine,
    OrderStatus,
)

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
