"""Open deals follow the customer (sales.deals): a handover to a person or a manager's
transfer gives the new owner the open quotes and unpaid orders; closed business stays with the
rep who did it; the pool takes none; a quote its new owner approved stays put."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.customers.disputes import dispute_request_ownership, dispute_resolve
from kedun.lifecycle.handover import handover
from kedun.lifecycle.services import customer_transfer
from kedun.sales.models import Invoice, Order, OrderStatus, ProductDelivery, Quote, QuoteStatus
from kedun.sales.quotes import quote_accept
from tests.factories import CustomerFactory, InvoiceFactory, OrderFactory, ProductFactory

from .conftest import T0

QUOTE_STATUSES = [s for s in QuoteStatus.values if s != QuoteStatus.SUPERSEDED]


def quote(customer, status, *, approved_by=None):
    return Quote.objects.create(
        number=f"Q-{customer.pk}-{status}-{approved_by.pk if approved_by else 0}",
        customer=customer,
        owner=customer.owner,
        status=status,
        net_total=Decimal("100.00"),
        approved_by=approved_by,
        approved_at=T0 if approved_by else None,
        created_by=customer.owner,
        created_at=T0 - dt.timedelta(days=5),
        lost_at=T0 if status == QuoteStatus.LOST else None,
    )


@pytest.fixture
def book(cast):
    """east_rep's customer with a quote in every status and an order in every status; the
    delivered ones with their lead-time rows."""
    customer = CustomerFactory(owner=cast.east_rep, owned_since=T0 - dt.timedelta(days=90))
    product = ProductFactory()
    quotes = {status: quote(customer, status) for status in QUOTE_STATUSES}
    orders = {}
    for status in OrderStatus.values:
        delivered = status in (OrderStatus.DELIVERED, OrderStatus.INVOICED, OrderStatus.PAID)
        orders[status] = OrderFactory(
            customer=customer,
            status=status,
            promised_date=dt.date(2026, 2, 1),
            delivered_at=T0 - dt.timedelta(days=10) if delivered else None,
        )
        if delivered:
            ProductDelivery.objects.create(
                order=orders[status],
                product=product,
                owner=cast.east_rep,
                delivered_at=orders[status].delivered_at,
                days_late=orders[status].days_late,
            )
    for status in (OrderStatus.INVOICED, OrderStatus.PAID):
        InvoiceFactory(order=orders[status])
    return customer, quotes, orders


def owners(model, rows):
    return {status: model.objects.get(pk=row.pk).owner for status, row in rows.items()}


OPEN_QUOTES = {"draft", "pending_approval", "approved", "sent", "rejected"}
UNPAID_ORDERS = {
    "confirmed",
    "in_production",
    "partly_shipped",
    "shipped",
    "delivered",
    "invoiced",
}


def test_a_handover_to_a_rep_moves_the_open_deals_and_leaves_closed_business(cast, book):
    _customer, quotes, orders = book
    with clock.frozen_at(T0):
        report = handover(actor=cast.east_mgr, user=cast.east_rep, to=[cast.east_rep2])

    assert owners(Quote, quotes) == {
        s: cast.east_rep2 if s in OPEN_QUOTES else cast.east_rep for s in QUOTE_STATUSES
    }
    assert owners(Order, orders) == {
        s: cast.east_rep2 if s in UNPAID_ORDERS else cast.east_rep for s in OrderStatus.values
    }
    facts = dict(ProductDelivery.objects.values_list("order__status", "owner"))
    assert facts == {
        "delivered": cast.east_rep2.pk,
        "invoiced": cast.east_rep2.pk,
        "paid": cast.east_rep.pk,
    }
    # The invoices go with their orders: the receivables reports group by the invoice's owner.
    assert dict(Invoice.objects.values_list("order__status", "owner")) == {
        "invoiced": cast.east_rep2.pk,
        "paid": cast.east_rep.pk,
    }
    assert (report.quotes_moved, report.orders_moved, report.quotes_kept) == (5, 6, [])
    event = AuditEvent.objects.get(action="sales.open_deals_moved")
    assert event.actor == cast.east_mgr and f'"to":{cast.east_rep2.pk}' in event.changes
    # The new owner works the deal now: the sent quote is theirs to close.
    with clock.frozen_at(T0):
        accepted = quote_accept(actor=cast.east_rep2, quote=quotes["sent"])
    assert accepted.status == QuoteStatus.ACCEPTED


def test_a_handover_to_the_pool_moves_no_deal(cast, book):
    _customer, quotes, orders = book
    with clock.frozen_at(T0):
        report = handover(actor=cast.boss, user=cast.east_rep, to=None)

    assert set(owners(Quote, quotes).values()) == {cast.east_rep}
    assert set(owners(Order, orders).values()) == {cast.east_rep}
    assert (report.quotes_moved, report.orders_moved) == (0, 0)
    assert not AuditEvent.objects.filter(action="sales.open_deals_moved").exists()


def test_a_transfer_moves_the_open_deals_too(cast, book):
    customer, quotes, orders = book
    with clock.frozen_at(T0):
        customer_transfer(
            actor=cast.east_mgr, customer_id=customer.pk, to=cast.east_rep2, reason="区域划分调整"
        )

    assert owners(Quote, quotes)["sent"] == cast.east_rep2
    assert owners(Quote, quotes)["accepted"] == cast.east_rep
    assert owners(Order, orders)["invoiced"] == cast.east_rep2
    assert owners(Order, orders)["paid"] == cast.east_rep


def test_a_quote_its_new_owner_approved_stays_with_the_seller(cast):
    """east_mgr approved east_rep's quote; east_mgr taking the customer over would make them
    the approver of their own quote (the database refuses that), so that quote stays."""
    customer = CustomerFactory(owner=cast.east_rep, owned_since=T0 - dt.timedelta(days=90))
    approved = quote(customer, QuoteStatus.SENT, approved_by=cast.east_mgr)
    other = quote(customer, QuoteStatus.APPROVED, approved_by=cast.boss)
    with clock.frozen_at(T0):
        report = handover(actor=cast.boss, user=cast.east_rep, to=[cast.east_mgr])

    assert Quote.objects.get(pk=approved.pk).owner == cast.east_rep
    assert Quote.objects.get(pk=other.pk).owner == cast.east_mgr
    assert report.quotes_kept == [approved.pk]
    assert report.as_json()["quotes_kept"] == [approved.pk]


def test_other_reps_deals_for_the_customer_stay_where_they_are(cast):
    """A deal the customer's account-team colleague owns is not the leaver's to hand over."""
    customer = CustomerFactory(owner=cast.east_rep, owned_since=T0 - dt.timedelta(days=90))
    theirs = OrderFactory(customer=customer, owner=cast.east_lead)
    with clock.frozen_at(T0):
        handover(actor=cast.east_mgr, user=cast.east_rep, to=[cast.east_rep2])

    assert Order.objects.get(pk=theirs.pk).owner == cast.east_lead


def test_a_dispute_settled_by_a_transfer_moves_the_open_deals_too(cast, book):
    customer, quotes, orders = book
    dispute = dispute_request_ownership(
        actor=cast.east_rep2, customer=customer, reason="三个月前我就在跟进这家客户"
    )
    with clock.frozen_at(T0):
        dispute_resolve(
            actor=cast.east_mgr, dispute=dispute, resolution="transfer", reason="跟进记录更早"
        )

    assert owners(Quote, quotes)["sent"] == cast.east_rep2
    assert owners(Order, orders)["shipped"] == cast.east_rep2
    assert owners(Order, orders)["paid"] == cast.east_rep
