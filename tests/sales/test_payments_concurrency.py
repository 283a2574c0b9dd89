"""Cashiers, clerks and warehouses at the same moment, in real threads on the suite's database
(a file SQLite, or PostgreSQL when KEDUN_DATABASE_URL is set): ten payments of 30 % of one
invoice pay it three times, never four; ten invoices of 30 % of one order, likewise; ten
shipments of 3 of 10 units ship 9. Every other attempt is a clean refusal — no other error —
and the audit chain stays whole."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connections

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import DomainError
from kedun.sales.models import CommissionEntry, Invoice, Order, OrderLine, Payment, Shipment
from kedun.sales.orders import OrderLineInput, invoice_record, order_create, shipment_record
from tests.factories import UserFactory

from .conftest import T0, TODAY
from .test_orders import PROMISED, invoice, pay, take_order

ROUNDS = range(2)
THREADS = 10


def at_once(calls: list[Callable[[], object]]) -> list[str]:
    """Run the calls in threads released together; each outcome is "won" or the refusal's
    code. Any other error fails the test."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
            call()
            outcomes.append("won")
        except DomainError as refusal:
            outcomes.append(refusal.code)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert len(outcomes) == len(calls)
    return outcomes


@pytest.fixture
def at_t0(transactional_db):
    # The clock is a module global: every thread works at the same, known moment.
    with clock.frozen_at(T0):
        yield


def cashiers(cast, n: int):
    return [cast.finance] + [
        UserFactory(username=f"cashier{i}", role="finance", department=cast.back_office)
        for i in range(1, n)
    ]


@pytest.mark.parametrize("round_", ROUNDS)
def test_ten_cashiers_paying_30_percent_of_one_invoice_pay_it_three_times(
    at_t0, cast, catalogue, owned_customer, round_
):
    bill = invoice(cast, take_order(cast, owned_customer, catalogue), amount="1000.00")
    audit_before = AuditEvent.objects.count()

    outcomes = at_once(
        [lambda who=who: pay(cast, bill, "300.00", by=who) for who in cashiers(cast, THREADS)]
    )

    assert Counter(outcomes) == {"won": 3, "over_paid": 7}
    bill = Invoice.objects.get(pk=bill.pk)
    assert bill.paid_amount == Decimal("900.00") <= bill.amount
    assert Order.objects.get(pk=bill.order_id).paid_total == Decimal("900.00")
    assert sum(p.amount for p in Payment.objects.filter(invoice=bill)) == Decimal("900.00")
    assert (
        CommissionEntry.objects.filter(payment__invoice=bill).values("payment").distinct().count()
        == 3
    )
    # A payment and its commission: two events per accepted payment, none for a refusal.
    assert AuditEvent.objects.count() - audit_before == 6
    assert chain_verify().ok


@pytest.mark.parametrize("round_", ROUNDS)
def test_cent_payments_at_once_fill_an_invoice_exactly(
    at_t0, cast, catalogue, owned_customer, round_
):
    """0.10 at a time up to 0.30: exact even where SQLite's float arithmetic is not."""
    bill = invoice(cast, take_order(cast, owned_customer, catalogue), amount="0.30")

    outcomes = at_once(
        [lambda who=who: pay(cast, bill, "0.10", by=who) for who in cashiers(cast, THREADS)]
    )

    assert Counter(outcomes) == {"won": 3, "over_paid": 7}
    assert Invoice.objects.get(pk=bill.pk).paid_amount == Decimal("0.30")


@pytest.mark.parametrize("round_", ROUNDS)
def test_ten_invoices_of_30_percent_at_once_invoice_an_order_three_times(
    at_t0, cast, catalogue, owned_customer, round_
):
    order = order_create(
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[OrderLineInput(product=catalogue["pump"], quantity=1, unit_price="1000.00")],
        promised_date=PROMISED,
    )  # 1000.00 + 130.00 VAT
    share = Decimal("339.00")  # 30 % of 1130.00

    outcomes = at_once(
        [
            lambda n=n, who=who: invoice_record(
                actor=who, order=order, amount=share, number=f"R{round_}-{n}", issued_on=TODAY
            )
            for n, who in enumerate(cashiers(cast, THREADS))
        ]
    )

    assert Counter(outcomes) == {"won": 3, "over_invoiced": 7}
    order = Order.objects.get(pk=order.pk)
    assert order.invoiced_total == 3 * share <= order.gross_total
    assert Invoice.objects.filter(order=order).count() == 3
    assert chain_verify().ok


@pytest.mark.parametrize("round_", ROUNDS)
def test_ten_shipments_of_three_units_at_once_ship_nine_of_ten(
    at_t0, cast, catalogue, owned_customer, round_
):
    order = take_order(cast, owned_customer, catalogue)
    valves = OrderLine.objects.get(order=order, product=catalogue["valve"])  # 10 ordered
    clerks = [cast.logistics] + [
        UserFactory(username=f"clerk{i}", role="logistics", department=cast.back_office)
        for i in range(1, THREADS)
    ]

    outcomes = at_once(
        [
            lambda who=who: shipment_record(actor=who, order=order, lines={valves: 3})
            for who in clerks
        ]
    )

    assert Counter(outcomes) == {"won": 3, "over_shipped": 7}
    assert OrderLine.objects.get(pk=valves.pk).shipped_quantity == Decimal(9)
    assert Shipment.objects.filter(order=order).count() == 3
    assert chain_verify().ok
