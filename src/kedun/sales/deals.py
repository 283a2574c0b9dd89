"""Open deals follow the customer (MISSION §4, §5): when a customer changes hands — a departure
handover or a manager's transfer — the previous owner's open quotes and unpaid orders for it go
to the new owner, who now works the account and collects the commission on cash still to come
(their invoices with them).
Closed business (accepted, lost, expired quotes; paid, cancelled, lost orders) stays with the
rep who did it: the history and the commission already earned are theirs.

One exception keeps the rule that nobody approves their own quote (the database's
quote_not_self_approved): a quote the new owner approved as a manager stays where it is, and
the report says so, for a manager to decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection

from kedun.audit.services import audit_record
from kedun.org.models import User

from .models import Invoice, Order, OrderStatus, ProductDelivery, Quote, QuoteStatus

# Quotes still in play: the deal is neither won (accepted), lost, expired nor replaced.
OPEN_QUOTES = (
    QuoteStatus.DRAFT,
    QuoteStatus.PENDING_APPROVAL,
    QuoteStatus.APPROVED,
    QuoteStatus.SENT,
    QuoteStatus.REJECTED,
)
# Orders with cash still to come.
CLOSED_ORDERS = (OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.LOST)


@dataclass
class DealsMoved:
    quotes: list[int] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    # Approved by the new owner: moving them would make the seller their own approver.
    quotes_kept: list[int] = field(default_factory=list)


def open_deals_move(
    *, customer_ids: Sequence[int], from_user: User, to: User, actor: User | None
) -> DealsMoved:
    """Give `to` the open quotes and unpaid orders `from_user` holds for these customers. In the
    caller's transaction, with the customers locked by it (customer before quote and order, the
    order every sales service locks in); one audit event when anything moved."""
    if not connection.in_atomic_block:
        raise RuntimeError("open_deals_move must run inside the transaction of the change")
    moved = DealsMoved()
    if not customer_ids or from_user.pk == to.pk:
        return moved
    quotes = Quote.objects.filter(
        customer_id__in=customer_ids, owner=from_user, status__in=OPEN_QUOTES
    )
    for pk, approved_by in quotes.order_by("pk").values_list("pk", "approved_by"):
        (moved.quotes_kept if approved_by == to.pk else moved.quotes).append(pk)
    orders = Order.objects.filter(customer_id__in=customer_ids, owner=from_user).exclude(
        status__in=CLOSED_ORDERS
    )
    moved.orders = sorted(orders.values_list("pk", flat=True))
    if moved.quotes:
        Quote.objects.filter(pk__in=moved.quotes).update(owner=to)
    if moved.orders:
        Order.objects.filter(pk__in=moved.orders).update(owner=to)
        Invoice.objects.filter(order_id__in=moved.orders).update(owner=to)
        ProductDelivery.objects.filter(order_id__in=moved.orders).update(owner=to)
    if moved.quotes or moved.orders or moved.quotes_kept:
        audit_record(
            actor=actor,
            action="sales.open_deals_moved",
            target=to,
            changes={
                "from": from_user.pk,
                "to": to.pk,
                "customers": sorted(customer_ids),
                "quotes": moved.quotes,
                "orders": moved.orders,
                "quotes_kept": moved.quotes_kept,
            },
        )
    return moved
