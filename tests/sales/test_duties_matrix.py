"""The permission matrix of an order's road (分段经营, MISSION §5): every transition × every
role. The role holding the step succeeds; every other role is refused with a 403 "duty" error
and nothing changes — statuses, totals, shipments, invoices, payments and their reversals,
commission, audit events and notifications are read back and compared. Then data scope: a step
held but the order out of sight is NotFound; and whoever sold an order never collects on it
(nor reverses a payment on it), whatever the boss grants."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import translation

from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import DomainError, Forbidden, Invalid, NotFound
from kedun.customers.models import Customer
from kedun.notifications.models import Notification
from kedun.org.models import Role
from kedun.sales.duties import Step, duties_set
from kedun.sales.models import (
    CommissionEntry,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentReversal,
    Quote,
    ReversalKind,
    Shipment,
    ShipmentLine,
)
from kedun.sales.orders import (
    delivery_confirm,
    invoice_record,
    order_cancel,
    order_contract_set,
    order_create_from_quote,
    order_mark_lost,
    order_production_start,
    payment_record,
    payment_reverse,
    shipment_record,
)
from tests.factories import CustomerFactory

from .conftest import T0, TODAY
from .test_orders import (
    PROMISED,
    accepted_quote,
    invoice,
    lines_of,
    ship_all,
    take_order,
)

pytestmark = pytest.mark.django_db

ROLES = [
    Role.ADMIN,
    Role.MANAGER,
    Role.SALES,
    Role.ORDERS,
    Role.LOGISTICS,
    Role.FINANCE,
    Role.AUDITOR,
]


@pytest.fixture(autouse=True)
def _at_t0_in_english():
    with clock.frozen_at(T0), translation.override("en"):
        yield


def state() -> dict[str, Any]:
    """Everything a transition could touch, read back from the database."""
    return {
        "orders": list(
            Order.objects.order_by("pk").values_list(
                "pk",
                "status",
                "owner_id",
                "net_total",
                "tax_total",
                "invoiced_total",
                "paid_total",
                "delivered_at",
                "contract_number",
                "contract_signed_on",
                "lost_reason_id",
                "lost_competitor",
                "lost_note",
            )
        ),
        "lines": list(
            OrderLine.objects.order_by("pk").values_list(
                "pk", "quantity", "unit_price", "discount_rate", "shipped_quantity"
            )
        ),
        "shipments": list(Shipment.objects.order_by("pk").values_list("pk", "delivered_at")),
        "shipment_lines": ShipmentLine.objects.count(),
        "invoices": list(Invoice.objects.order_by("pk").values_list("pk", "amount", "paid_amount")),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "reversed_amount")),
        "reversals": PaymentReversal.objects.count(),
        "commission": CommissionEntry.objects.count(),
        "quotes": list(Quote.objects.order_by("pk").values_list("pk", "status")),
        "customers": list(
            Customer.objects.order_by("pk").values_list("pk", "stage", "last_order_at", "owner_id")
        ),
        "audit": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
    }


@dataclass(frozen=True)
class Transition:
    allowed: frozenset[str]  # the roles holding the step by default
    arrange: Callable[[Any, dict, Customer], Any]  # (cast, catalogue, customer) -> subject
    act: Callable[[Any, Any], Any]  # (actor, subject)
    done: Callable[[Any], bool]  # did it happen?


def _order(cast, catalogue, customer) -> Order:
    return take_order(cast, customer, catalogue)


def _shipped(cast, catalogue, customer) -> Order:
    order = take_order(cast, customer, catalogue)
    ship_all(cast, order)
    return order


def _invoiced(cast, catalogue, customer) -> Invoice:
    return invoice(cast, take_order(cast, customer, catalogue), amount="1000.00")


def _pay(actor, bill: Invoice) -> Payment:
    return payment_record(
        actor=actor,
        invoice=bill,
        amount="50.00",
        received_on=TODAY,
        payer_name=bill.order.customer.name,
        payer_account="6222 0202 0011 2233",
    )


def _invoice(actor, order: Order) -> Invoice:
    return invoice_record(
        actor=actor, order=order, amount="100.00", number="FP-MATRIX", issued_on=TODAY
    )


def _paid(cast, catalogue, customer) -> Payment:
    return _pay(cast.finance, _invoiced(cast, catalogue, customer))


def _reverse(actor, payment: Payment) -> PaymentReversal:
    return payment_reverse(
        actor=actor, payment=payment, kind=ReversalKind.REFUNDED, amount="20.00", reason="退货退款"
    )


def _status(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


SELLING = frozenset({Role.SALES, Role.MANAGER})
TRANSITIONS: dict[str, Transition] = {
    "order_create": Transition(
        SELLING,
        lambda cast, catalogue, customer: (cast, catalogue, customer),
        lambda actor, arranged: take_order(arranged[0], arranged[2], arranged[1], by=actor),
        lambda arranged: Order.objects.filter(customer=arranged[2]).exists(),
    ),
    "order_create_from_quote": Transition(
        SELLING,
        lambda cast, catalogue, customer: accepted_quote(cast, customer, catalogue),
        lambda actor, quote: order_create_from_quote(
            actor=actor, quote=quote, promised_date=PROMISED
        ),
        lambda quote: Order.objects.filter(quote=quote).exists(),
    ),
    "order_production_start": Transition(
        frozenset({Role.ORDERS}),
        _order,
        lambda actor, order: order_production_start(actor=actor, order=order),
        lambda order: _status(order) == OrderStatus.IN_PRODUCTION,
    ),
    "order_contract_set": Transition(
        frozenset({Role.ORDERS}),
        _order,
        lambda actor, order: order_contract_set(
            actor=actor, order=order, contract_number="HT-1", signed_on=TODAY
        ),
        lambda order: Order.objects.get(pk=order.pk).contract_number == "HT-1",
    ),
    "shipment_record": Transition(
        frozenset({Role.LOGISTICS}),
        _order,
        lambda actor, order: shipment_record(
            actor=actor, order=order, lines={lines_of(order)[0]: 1}
        ),
        lambda order: Shipment.objects.filter(order=order).exists(),
    ),
    "delivery_confirm": Transition(
        frozenset({Role.LOGISTICS}),
        _shipped,
        lambda actor, order: delivery_confirm(actor=actor, order=order),
        lambda order: _status(order) == OrderStatus.DELIVERED,
    ),
    "invoice_record": Transition(
        frozenset({Role.FINANCE}),
        _order,
        _invoice,
        lambda order: Invoice.objects.filter(order=order).exists(),
    ),
    "payment_record": Transition(
        frozenset({Role.FINANCE}),
        _invoiced,
        _pay,
        lambda bill: Payment.objects.filter(invoice=bill).exists(),
    ),
    "payment_reverse": Transition(
        frozenset({Role.FINANCE}),
        _paid,
        _reverse,
        lambda payment: PaymentReversal.objects.filter(payment=payment).exists(),
    ),
    "order_mark_lost": Transition(
        SELLING,
        _order,
        lambda actor, order: order_mark_lost(
            actor=actor, order=order, reason="price", note="客户嫌贵"
        ),
        lambda order: _status(order) == OrderStatus.LOST,
    ),
    "order_cancel": Transition(
        SELLING,
        _order,
        lambda actor, order: order_cancel(actor=actor, order=order, reason="客户重复下单"),
        lambda order: _status(order) == OrderStatus.CANCELLED,
    ),
}


@pytest.fixture
def arranged(cast, catalogue, owned_customer):
    def make(name: str) -> Any:
        return TRANSITIONS[name].arrange(cast, catalogue, owned_customer)

    return make


def refusal(call: Callable[[], Any]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_each_step_is_taken_by_its_role_and_refused_to_every_other(cast, arranged, name, role):
    transition = TRANSITIONS[name]
    subject = arranged(name)
    actor = cast.by_role(role)
    before = state()

    if role in transition.allowed:
        transition.act(actor, subject)
        assert transition.done(subject)
        return
    error = refusal(lambda: transition.act(actor, subject))
    assert (type(error), error.code, error.status) == (Forbidden, "duty", 403)
    assert state() == before
    assert not transition.done(subject)


def test_the_matrix_matches_the_mission(cast):
    """Sales sell but never ship or collect; each back-office desk holds its own steps."""
    allowed = {name: sorted(t.allowed) for name, t in TRANSITIONS.items()}
    assert allowed["shipment_record"] == allowed["delivery_confirm"] == [Role.LOGISTICS]
    assert allowed["invoice_record"] == allowed["payment_record"] == [Role.FINANCE]
    assert allowed["payment_reverse"] == [Role.FINANCE]
    assert allowed["order_production_start"] == allowed["order_contract_set"] == [Role.ORDERS]


# -- data scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["south_rep", "south_mgr", "east_rep2"])
@pytest.mark.parametrize(
    "name", ["order_create", "order_create_from_quote", "order_mark_lost", "order_cancel"]
)
def test_a_seller_of_another_team_cannot_touch_the_order(cast, arranged, who, name):
    """They hold the selling step, but not this customer: refused, and nothing changed."""
    transition = TRANSITIONS[name]
    subject = arranged(name)
    before = state()

    error = refusal(lambda: transition.act(getattr(cast, who), subject))

    if name.startswith("order_create"):
        assert (type(error), error.code, error.status) == (Forbidden, "not_your_customer", 403)
    else:  # an order out of sight: the same answer as a missing one
        assert (type(error), error.status) == (NotFound, 404)
    assert state() == before


@pytest.mark.parametrize(
    ("step", "name"),
    [
        (Step.SHIP, "shipment_record"),
        (Step.SHIP, "delivery_confirm"),
        (Step.PRODUCTION, "order_production_start"),
        (Step.DOCUMENTS, "order_contract_set"),
        (Step.PAYMENT, "payment_reverse"),
    ],
)
def test_a_step_granted_to_managers_still_stops_at_their_data_scope(cast, arranged, step, name):
    transition = TRANSITIONS[name]
    subject = arranged(name)
    duties_set(actor=cast.boss, step=step, roles={Role.MANAGER})
    before = state()

    error = refusal(lambda: transition.act(cast.south_mgr, subject))
    assert (type(error), error.status) == (NotFound, 404)
    assert state() == before
    error = refusal(lambda: transition.act(cast.logistics, subject))
    assert error.code == "duty"  # the grant replaced the default
    assert state() == before

    transition.act(cast.east_mgr, subject)
    assert transition.done(subject)


# -- who sold never collects ------------------------------------------------------------------


@pytest.fixture
def managers_collect(cast):
    for step in (Step.INVOICE, Step.PAYMENT):
        duties_set(actor=cast.boss, step=step, roles={Role.FINANCE, Role.MANAGER})


def test_a_manager_granted_collection_cannot_collect_on_an_order_they_took(
    cast, catalogue, owned_customer, managers_collect
):
    order = take_order(cast, owned_customer, catalogue, by=cast.east_mgr)
    before = state()
    error = refusal(lambda: _invoice(cast.east_mgr, order))
    assert (type(error), error.code, error.status) == (Forbidden, "sold_and_collects", 403)
    assert state() == before

    bill = invoice(cast, order, amount="1000.00")  # finance may
    before = state()
    error = refusal(lambda: _pay(cast.east_mgr, bill))
    assert (error.code, error.status) == ("sold_and_collects", 403)
    assert state() == before

    payment = _pay(cast.finance, bill)  # nor reverse a payment on it
    before = state()
    error = refusal(lambda: _reverse(cast.east_mgr, payment))
    assert (error.code, error.status) == ("sold_and_collects", 403)
    assert state() == before


def test_a_manager_granted_collection_cannot_collect_for_their_own_customer(
    cast, catalogue, managers_collect
):
    own = CustomerFactory(owner=cast.east_mgr, registered_by=cast.east_mgr)
    bill = invoice(cast, take_order(cast, own, catalogue, by=cast.east_mgr), amount="10.00")
    before = state()
    error = refusal(lambda: _pay(cast.east_mgr, bill))
    assert error.code == "sold_and_collects"
    assert state() == before


def test_whoever_wrote_the_quote_sold_the_order_too(
    cast, catalogue, owned_customer, managers_collect
):
    quote = accepted_quote(cast, owned_customer, catalogue, by=cast.east_mgr)
    order = order_create_from_quote(actor=cast.east_rep, quote=quote, promised_date=PROMISED)
    before = state()
    error = refusal(lambda: _invoice(cast.east_mgr, order))
    assert error.code == "sold_and_collects"
    assert state() == before


def test_a_manager_granted_collection_may_collect_on_a_sale_they_had_no_part_in(
    cast, catalogue, owned_customer, managers_collect
):
    """The control for the three tests above: the refusal is about the person, not the role."""
    order = take_order(cast, owned_customer, catalogue)
    bill = _invoice(cast.east_mgr, order)
    assert _pay(cast.east_mgr, bill).recorded_by == cast.east_mgr


def test_a_rep_moved_to_finance_cannot_collect_on_orders_they_sold(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    bill = invoice(cast, order, amount="1000.00")
    cast.east_rep.role = Role.FINANCE
    cast.east_rep.save(update_fields=["role"])
    payment = _pay(cast.finance, bill)
    before = state()
    for attempt in (
        lambda: _invoice(cast.east_rep, order),
        lambda: _pay(cast.east_rep, bill),
        lambda: _reverse(cast.east_rep, payment),
    ):
        error = refusal(attempt)
        assert (error.code, error.status) == ("sold_and_collects", 403)
    assert state() == before


def test_salespeople_can_never_be_granted_a_collecting_step(cast):
    for step in (Step.INVOICE, Step.PAYMENT):
        error = refusal(lambda s=step: duties_set(actor=cast.boss, step=s, roles={Role.SALES}))
        assert (type(error), error.code) == (Invalid, "sales_cannot_collect")


def test_a_deactivated_finance_user_collects_nothing(cast, catalogue, owned_customer):
    bill = invoice(cast, take_order(cast, owned_customer, catalogue), amount="1000.00")
    payment = _pay(cast.finance, bill)
    cast.finance.is_active = False
    cast.finance.save(update_fields=["is_active"])
    before = state()
    for attempt in (lambda: _pay(cast.finance, bill), lambda: _reverse(cast.finance, payment)):
        assert refusal(attempt).code == "duty"
    assert state() == before


def test_in_the_mission_s_words_sales_cannot_ship_or_collect(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    bill = invoice(cast, order, amount="1000.00")
    payment = _pay(cast.finance, bill)
    before = state()
    for attempt in (
        lambda: shipment_record(actor=cast.east_rep, order=order, lines={lines_of(order)[0]: 1}),
        lambda: _invoice(cast.east_rep, order),
        lambda: _pay(cast.east_rep, bill),
        lambda: _reverse(cast.east_rep, payment),
    ):
        assert refusal(attempt).code == "duty"
    assert state() == before
