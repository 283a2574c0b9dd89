"""Orders from confirmation to cash: direct orders and orders from quotes, production, partial
shipments, delivery, invoices and payments — money never overshoots, and a refusal changes
nothing — plus lost and cancelled orders, receivables ageing and overdue reminders."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kedun.audit.chain import chain_verify
from kedun.audit.models import AuditEvent
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.customers.identity.parties import names_the_customer
from kedun.customers.models import Customer, Stage, TeamAccess, TeamMember
from kedun.notifications.models import Notification
from kedun.org.models import DataScope, User
from kedun.sales.commission import commission_accrue
from kedun.sales.models import (
    CommissionEntry,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    ProductDelivery,
    Quote,
    QuoteStatus,
    Shipment,
)
from kedun.sales.orders import (
    OrderLineInput,
    delivery_confirm,
    invoice_record,
    order_cancel,
    order_contract_set,
    order_create,
    order_create_from_quote,
    order_line_change,
    order_list_visible_to,
    order_mark_lost,
    order_production_start,
    payment_record,
    shipment_record,
)
from kedun.sales.quotes import (
    QuoteLineInput,
    quote_accept,
    quote_approve,
    quote_create,
    quote_send,
    quote_submit,
)
from kedun.sales.receivables import (
    ageing_bucket,
    overdue_reminders_send,
    receivable_of,
    receivables_open,
)
from kedun.sales.tasks import overdue_reminders_daily
from tests.factories import CustomerFactory, ProductFactory, RepTermsFactory

from .conftest import T0, TODAY

pytestmark = pytest.mark.django_db

PROMISED = TODAY + dt.timedelta(days=20)
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _at_t0_in_english():
    # Messages are asserted by their English msgids, whatever the .po files say.
    with clock.frozen_at(T0), translation.override("en"):
        yield


# -- arrangements, shared with the matrix and the concurrency tests ---------------------------


def take_order(cast, customer, catalogue, *, by=None, **terms) -> Order:
    """2 pumps at 1000.00 and 10 valves at 120.50, 13 % VAT: 3205.00 + 416.65 = 3621.65."""
    return order_create(
        actor=by or cast.east_rep,
        customer=customer,
        lines=[
            OrderLineInput(product=catalogue["pump"], quantity=2),
            OrderLineInput(product=catalogue["valve"], quantity=10),
        ],
        promised_date=PROMISED,
        **terms,
    )


def lines_of(order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).order_by("position"))


def ship_all(cast, order: Order) -> Shipment:
    return shipment_record(
        actor=cast.logistics,
        order=order,
        lines={
            line: line.quantity - line.shipped_quantity
            for line in lines_of(order)
            if line.shipped_quantity < line.quantity
        },
        carrier="顺丰",
        tracking="SF1234567890",
    )


def invoice(cast, order: Order, amount=None, **extra) -> Invoice:
    order.refresh_from_db()
    return invoice_record(
        actor=extra.pop("by", cast.finance),
        order=order,
        amount=order.gross_total - order.invoiced_total if amount is None else amount,
        number=f"FP{next(_numbers):08d}",
        issued_on=extra.pop("issued_on", TODAY),
        **extra,
    )


def pay(cast, bill: Invoice, amount, *, payer: str | None = None, by=None) -> Payment:
    return payment_record(
        actor=by or cast.finance,
        invoice=bill,
        amount=amount,
        received_on=TODAY,
        payer_name=payer if payer is not None else bill.order.customer.name,
        payer_account="6222 0202 0011 2233",
    )


def accepted_quote(cast, customer, catalogue, *, unit_price=None, by=None) -> Quote:
    """A quote for 2 pumps, sent and accepted; below the floor it is approved by east_mgr."""
    writer = by or cast.east_rep
    quote = quote_create(
        actor=writer,
        customer=customer,
        lines=[QuoteLineInput(product=catalogue["pump"], quantity=2, unit_price=unit_price)],
        valid_until=TODAY + dt.timedelta(days=30),
    )
    quote = quote_submit(actor=writer, quote=quote)
    if quote.status == QuoteStatus.PENDING_APPROVAL:
        quote = quote_approve(
            actor=cast.boss if writer == cast.east_mgr else cast.east_mgr, quote=quote
        )
    quote = quote_send(actor=writer, quote=quote)
    return quote_accept(actor=writer, quote=quote)


def refused(error_type, call, *args, **kwargs):
    with pytest.raises(error_type) as caught:
        call(*args, **kwargs)
    return caught.value


def audit_actions(order: Order) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="sales.order", object_id=str(order.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


# -- creating orders ----------------------------------------------------------------------------


def test_a_rep_takes_a_direct_order_for_their_customer(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)

    assert order.number == f"SO{order.pk:06d}"
    assert (order.status, order.owner, order.created_by) == (
        OrderStatus.CONFIRMED,
        cast.east_rep,
        cast.east_rep,
    )
    assert (order.net_total, order.tax_total, order.gross_total) == (
        Decimal("3205.00"),
        Decimal("416.65"),
        Decimal("3621.65"),
    )
    assert [
        (line.product.sku, line.quantity, line.unit_price, line.net_amount, line.tax_amount)
        for line in lines_of(order)
    ] == [
        ("PUMP-100", Decimal("2.000"), Decimal("1000.00"), Decimal("2000.00"), Decimal("260.00")),
        ("VALVE-20", Decimal("10.000"), Decimal("120.50"), Decimal("1205.00"), Decimal("156.65")),
    ]
    customer = Customer.objects.get(pk=owned_customer.pk)
    # The pool exempts customers with a recent order; the first order wins the customer.
    assert (customer.last_order_at, customer.stage) == (T0, Stage.WON)
    assert audit_actions(order) == ["sales.order_created"]
    assert Notification.objects.filter(kind="order_created").get().recipient == cast.orders
    assert chain_verify().ok


def test_a_second_order_makes_a_repeat_customer(cast, catalogue, owned_customer):
    take_order(cast, owned_customer, catalogue)
    with clock.frozen_at(T0 + dt.timedelta(days=3)):
        take_order(cast, owned_customer, catalogue)
    customer = Customer.objects.get(pk=owned_customer.pk)
    assert (customer.last_order_at, customer.stage) == (T0 + dt.timedelta(days=3), Stage.REPEAT)


@pytest.mark.parametrize(
    ("unit_price", "discount_rate", "reason"),
    [
        ("840.00", "0", "below the floor price 850.00"),
        ("1000.00", "0.12", "12 % off is over the discount limit of 10 %"),
    ],
)
def test_a_direct_order_needing_approval_is_refused_and_points_to_a_quote(
    cast, catalogue, owned_customer, unit_price, discount_rate, reason
):
    error = refused(
        Invalid,
        order_create,
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[
            OrderLineInput(product=catalogue["valve"], quantity=1),
            OrderLineInput(
                product=catalogue["pump"],
                quantity=1,
                unit_price=unit_price,
                discount_rate=discount_rate,
            ),
        ],
        promised_date=PROMISED,
    )
    assert error.code == "needs_approval"
    assert "Line 2, PUMP-100 离心泵" in str(error.message) and reason in str(error.message)
    assert "write a quote, have a manager approve it" in str(error.message)
    assert Order.objects.count() == 0
    assert Customer.objects.get(pk=owned_customer.pk).last_order_at is None


def test_a_manager_ordering_directly_is_held_to_the_sellers_limit_too(
    cast, catalogue, owned_customer
):
    """Nobody approves their own price: a direct order has no approver, whoever enters it."""
    line = OrderLineInput(product=catalogue["pump"], quantity=1, unit_price="840.00")
    error = refused(
        Invalid,
        order_create,
        actor=cast.east_mgr,
        customer=owned_customer,
        lines=[line],
        promised_date=PROMISED,
    )
    assert error.code == "needs_approval"


def test_a_rep_s_own_discount_limit_applies(cast, catalogue, owned_customer):
    RepTermsFactory(rep=cast.east_rep, max_discount_rate="0.1500")
    order = order_create(
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[OrderLineInput(product=catalogue["pump"], quantity=1, discount_rate="0.12")],
        promised_date=PROMISED,
    )
    assert order.net_total == Decimal("880.00")


def test_an_order_from_an_approved_quote_keeps_its_price_below_the_floor(
    cast, catalogue, owned_customer
):
    quote = accepted_quote(cast, owned_customer, catalogue, unit_price="800.00")
    assert quote.approved_by == cast.east_mgr

    order = order_create_from_quote(
        actor=cast.east_rep, quote=quote, promised_date=PROMISED, payment_terms_days=45
    )

    assert order.quote == quote
    assert (order.net_total, order.tax_total) == (quote.net_total, quote.tax_total)
    assert [(line.product_id, line.quantity, line.unit_price) for line in lines_of(order)] == [
        (catalogue["pump"].pk, Decimal("2.000"), Decimal("800.00"))
    ]
    assert order.payment_terms_days == 45
    assert Customer.objects.get(pk=owned_customer.pk).last_order_at == T0


def test_only_an_accepted_quote_becomes_an_order_and_only_once(cast, catalogue, owned_customer):
    draft = quote_create(
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[QuoteLineInput(product=catalogue["pump"], quantity=1)],
        valid_until=TODAY + dt.timedelta(days=30),
    )
    error = refused(
        Conflict, order_create_from_quote, actor=cast.east_rep, quote=draft, promised_date=PROMISED
    )
    assert error.code == "quote_not_accepted"

    quote = accepted_quote(cast, owned_customer, catalogue)
    first = order_create_from_quote(actor=cast.east_rep, quote=quote, promised_date=PROMISED)
    error = refused(
        Conflict, order_create_from_quote, actor=cast.east_rep, quote=quote, promised_date=PROMISED
    )
    assert (error.code, first.number in str(error.message)) == ("quote_ordered", True)
    assert Order.objects.count() == 1


def test_who_may_take_an_order_for_a_customer(cast, catalogue, owned_customer):
    # Another team's rep and manager may not; the owner's manager may, crediting the owner.
    for outsider in (cast.south_rep, cast.south_mgr, cast.east_rep2):
        error = refused(Forbidden, take_order, cast, owned_customer, catalogue, by=outsider)
        assert error.code == "not_your_customer"
    assert Order.objects.count() == 0

    by_manager = take_order(cast, owned_customer, catalogue, by=cast.east_mgr)
    assert (by_manager.owner, by_manager.created_by) == (cast.east_rep, cast.east_mgr)

    # A collaborator with write access may; the sale stays the owner's (no poaching).
    TeamMember.objects.create(
        customer=owned_customer,
        user=cast.east_rep2,
        access=TeamAccess.WRITE,
        added_by=cast.east_mgr,
        added_at=T0,
    )
    by_colleague = take_order(cast, owned_customer, catalogue, by=cast.east_rep2)
    assert (by_colleague.owner, by_colleague.created_by) == (cast.east_rep, cast.east_rep2)
    assert by_colleague in order_list_visible_to(viewer=cast.east_rep2)
    assert by_manager not in order_list_visible_to(viewer=cast.east_rep2)


def test_who_sees_an_order(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue, by=cast.east_mgr)
    cast.south_mgr.data_scope = DataScope.ALL
    cast.south_mgr.save(update_fields=["data_scope"])
    seeing = {
        user.username for user in User.objects.all() if order in order_list_visible_to(viewer=user)
    }
    # The back office, the owner, the owner's managers (by data scope) and its creator.
    assert seeing == {
        "boss",
        "east_mgr",
        "east_rep",
        "south_mgr",
        "orders",
        "logistics",
        "finance",
        "auditor",
    }
    cast.finance.is_active = False
    cast.finance.save(update_fields=["is_active"])
    assert order not in order_list_visible_to(viewer=cast.finance)


def test_a_customer_in_the_pool_must_be_claimed_before_an_order(cast, catalogue):
    pooled = CustomerFactory(owner=None, registered_by=cast.east_rep)
    error = refused(Forbidden, take_order, cast, pooled, catalogue)
    assert error.code == "not_your_customer"


def test_an_order_needs_lines_and_a_future_promised_date(cast, catalogue, owned_customer):
    error = refused(
        Invalid,
        order_create,
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[],
        promised_date=PROMISED,
    )
    assert error.code == "no_lines"
    error = refused(
        Invalid,
        order_create,
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[OrderLineInput(product=catalogue["pump"], quantity=1)],
        promised_date=TODAY - dt.timedelta(days=1),
    )
    assert error.code == "promised_date"
    refused(
        Invalid,
        order_create,
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[OrderLineInput(product=catalogue["pump"], quantity="0.0001")],
        promised_date=PROMISED,
    )
    retired = ProductFactory(active=False)
    error = refused(
        Invalid,
        order_create,
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[OrderLineInput(product=retired, quantity=1)],
        promised_date=PROMISED,
    )
    assert error.code == "product"
    error = refused(
        Invalid,
        order_create,
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[OrderLineInput(product=catalogue["pump"], quantity="99999999999")],
        promised_date=PROMISED,
    )
    assert "too large" in str(error.message)
    assert Order.objects.count() == 0


def test_nobody_changes_a_confirmed_order_s_lines_or_prices(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    line = lines_of(order)[0]
    for who in (cast.east_rep, cast.east_mgr, cast.boss, cast.orders):
        error = refused(Conflict, order_line_change, actor=who, line=line, unit_price="1.00")
        assert error.code == "order_confirmed"
    refused(NotFound, order_line_change, actor=cast.south_rep, line=line, unit_price="1.00")
    assert lines_of(order)[0].unit_price == Decimal("1000.00")
    assert Order.objects.get(pk=order.pk).net_total == Decimal("3205.00")


# -- the road to cash ---------------------------------------------------------------------------


def test_an_order_travels_from_confirmed_to_paid_each_step_by_its_own_people(
    cast, catalogue, owned_customer
):
    order = take_order(cast, owned_customer, catalogue)
    pump, valve = lines_of(order)

    order = order_production_start(actor=cast.orders, order=order)
    assert order.status == OrderStatus.IN_PRODUCTION
    order = order_contract_set(
        actor=cast.orders, order=order, contract_number="HT-2026-001", signed_on=TODAY
    )

    first = shipment_record(actor=cast.logistics, order=order, lines={pump: 1, valve: "2.5"})
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTLY_SHIPPED
    assert [line.shipped_quantity for line in lines_of(order)] == [Decimal(1), Decimal("2.5")]
    second = ship_all(cast, order)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED
    assert {(sl.order_line_id, sl.quantity) for sl in second.lines.all()} == {
        (pump.pk, Decimal(1)),
        (valve.pk, Decimal("7.5")),
    }

    delivered_at = T0 + dt.timedelta(hours=1)
    with clock.frozen_at(delivered_at):
        order = delivery_confirm(actor=cast.logistics, order=order)
    assert (order.status, order.delivered_at) == (OrderStatus.DELIVERED, delivered_at)
    assert set(order.shipments.values_list("delivered_at", flat=True)) == {delivered_at}
    assert first.pk != second.pk

    bill = invoice(cast, order, amount="3000.00")
    assert bill.due_on == TODAY + dt.timedelta(days=30)  # the order's payment terms
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DELIVERED
    rest = invoice(cast, order, due_on=TODAY + dt.timedelta(days=10))
    assert (rest.amount, rest.due_on) == (Decimal("621.65"), TODAY + dt.timedelta(days=10))
    assert Order.objects.get(pk=order.pk).status == OrderStatus.INVOICED

    pay(cast, bill, "3000.00")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.INVOICED
    payment = pay(cast, rest, "621.65")
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.invoiced_total, order.paid_total) == (
        OrderStatus.PAID,
        Decimal("3621.65"),
        Decimal("3621.65"),
    )
    assert not payment.payer_differs
    # Commission accrues on the collected cash, in the payment's transaction.
    assert CommissionEntry.objects.filter(payment=payment).exists()
    assert audit_actions(order) == [
        "sales.order_created",
        "sales.order_production_started",
        "sales.order_contract_set",
        "sales.shipment_recorded",
        "sales.shipment_recorded",
        "sales.order_delivered",
        "sales.invoice_recorded",
        "sales.invoice_recorded",
        "sales.payment_recorded",
        "sales.payment_recorded",
    ]
    told = set(Notification.objects.filter(recipient=cast.east_rep).values_list("kind", flat=True))
    assert told >= {
        "order_production_started",
        "order_shipped",
        "order_delivered",
        "order_invoiced",
        "payment_received",
    }
    assert chain_verify().ok


def test_an_invoice_before_delivery_shows_in_the_totals_not_the_status(
    cast, catalogue, owned_customer
):
    """A prepayment (款到发货): invoiced and paid in full, the order still waits for goods."""
    order = take_order(cast, owned_customer, catalogue)
    pay(cast, invoice(cast, order), "3621.65")
    order.refresh_from_db()
    assert (order.status, order.paid_total) == (OrderStatus.CONFIRMED, Decimal("3621.65"))
    order_production_start(actor=cast.orders, order=order)
    ship_all(cast, order)
    order = delivery_confirm(actor=cast.logistics, order=order)
    assert order.status == OrderStatus.PAID


def test_production_starts_once_on_a_confirmed_order(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    order_production_start(actor=cast.orders, order=order)
    error = refused(Conflict, order_production_start, actor=cast.orders, order=order)
    assert error.code == "wrong_status"


def test_shipping_more_than_is_left_is_refused_and_changes_nothing(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    pump, valve = lines_of(order)
    shipment_record(actor=cast.logistics, order=order, lines={valve: 9})

    error = refused(
        Conflict, shipment_record, actor=cast.logistics, order=order, lines={pump: 1, valve: 2}
    )
    assert error.code == "over_shipped"
    assert "VALVE-20: 1.000 left to ship, not 2.000" in str(error.message)
    assert [line.shipped_quantity for line in lines_of(order)] == [Decimal(0), Decimal(9)]
    assert Shipment.objects.filter(order=order).count() == 1


def test_a_shipment_ships_only_this_order_s_lines(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    other = take_order(cast, owned_customer, catalogue)
    error = refused(
        Invalid,
        shipment_record,
        actor=cast.logistics,
        order=order,
        lines={lines_of(other)[0]: 1},
    )
    assert error.code == "wrong_line"
    assert not Shipment.objects.exists()


def test_delivery_is_confirmed_once_everything_has_shipped(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    shipment_record(actor=cast.logistics, order=order, lines={lines_of(order)[0]: 2})
    error = refused(Conflict, delivery_confirm, actor=cast.logistics, order=order)
    assert error.code == "not_fully_shipped"
    ship_all(cast, order)
    late = T0 + dt.timedelta(days=1)
    with clock.frozen_at(late):
        delivery_confirm(actor=cast.logistics, order=order)
        error = refused(Conflict, delivery_confirm, actor=cast.logistics, order=order)
    assert error.code == "already_delivered"
    order = Order.objects.get(pk=order.pk)
    assert order.delivered_at == late
    assert order.days_late == (timezone.localdate(late) - order.promised_date).days


def test_a_delivery_writes_one_lead_time_row_per_product(cast, catalogue, owned_customer):
    order = order_create(
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[
            OrderLineInput(product=catalogue["pump"], quantity=1),
            OrderLineInput(product=catalogue["valve"], quantity=2),
            OrderLineInput(product=catalogue["pump"], quantity=3),  # the same product again
        ],
        promised_date=PROMISED,
    )
    ship_all(cast, order)
    assert not ProductDelivery.objects.exists()
    at = timezone.make_aware(dt.datetime.combine(PROMISED + dt.timedelta(days=4), dt.time(23, 50)))
    with clock.frozen_at(at + dt.timedelta(minutes=1)):
        delivery_confirm(actor=cast.logistics, order=order, delivered_at=at)

    rows = ProductDelivery.objects.filter(order=order).order_by("product_id")
    assert sorted((r.product_id, r.owner_id, r.delivered_at, r.days_late) for r in rows) == sorted(
        (product.pk, cast.east_rep.pk, at, 4) for product in (catalogue["pump"], catalogue["valve"])
    )


def test_invoices_never_exceed_the_order_total_and_numbers_are_unique(
    cast, catalogue, owned_customer
):
    order = take_order(cast, owned_customer, catalogue)
    invoice_record(
        actor=cast.finance, order=order, amount="3000.00", number="FP-1", issued_on=TODAY
    )
    error = refused(Conflict, invoice, cast, order, amount="621.66")
    assert error.code == "over_invoiced"
    assert "621.65 left to invoice" in str(error.message)
    error = refused(
        Conflict,
        invoice_record,
        actor=cast.finance,
        order=order,
        amount="1.00",
        number="FP-1",
        issued_on=TODAY,
    )
    assert error.code == "invoice_number_taken"
    assert Order.objects.get(pk=order.pk).invoiced_total == Decimal("3000.00")
    assert Invoice.objects.count() == 1


def test_cent_amounts_add_up_exactly_even_where_floats_do_not(cast, owned_customer):
    """SQLite keeps decimals as binary floats: 0.70 + 0.10 < 0.80 and 0.10 + 0.20 > 0.30
    there. A full invoice of 0.80 and payments of 0.10 then 0.20 on 0.30 must still fit."""
    cheap = ProductFactory(list_price="0.70", floor_price="0.50", tax_rate="0.1400")
    order = order_create(
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[OrderLineInput(product=cheap, quantity=1)],
        promised_date=PROMISED,
    )
    assert (order.net_total, order.tax_total) == (Decimal("0.70"), Decimal("0.10"))
    first = invoice(cast, order, amount="0.30")
    invoice(cast, order, amount="0.50")
    assert Order.objects.get(pk=order.pk).invoiced_total == Decimal("0.80")
    pay(cast, first, "0.10")
    pay(cast, first, "0.20")
    assert Invoice.objects.get(pk=first.pk).paid_amount == Decimal("0.30")
    assert Order.objects.get(pk=order.pk).paid_total == Decimal("0.30")


def test_payments_never_exceed_what_is_open_on_the_invoice(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    bill = invoice(cast, order, amount="1000.00")
    pay(cast, bill, "600.00")
    error = refused(Conflict, pay, cast, bill, "400.01")
    assert error.code == "over_paid"
    assert "400.00 open" in str(error.message)
    assert (Invoice.objects.get(pk=bill.pk).paid_amount, Payment.objects.count()) == (
        Decimal("600.00"),
        1,
    )
    refused(Invalid, pay, cast, bill, "0")
    refused(Invalid, pay, cast, bill, "1.001")
    refused(Invalid, pay, cast, bill, "-5")


@pytest.mark.parametrize(
    ("payer", "differs"),
    [
        ("杭州远望机械有限公司", False),
        (" 杭州 远望机械（杭州）有限公司 ", False),
        ("远望机械股份有限公司", False),  # same trade name and industry: region, form folded
        ("杭州远方机械有限公司", True),
        ("王五", True),
    ],
)
def test_a_payer_other_than_the_customer_is_flagged_to_the_manager(
    cast, catalogue, owned_customer, payer, differs
):
    order = take_order(cast, owned_customer, catalogue)
    payment = pay(cast, invoice(cast, order), "100.00", payer=payer)
    assert payment.payer_differs is differs
    flagged = Notification.objects.filter(kind="payment_payer_differs")
    assert [n.recipient for n in flagged] == ([cast.east_mgr] if differs else [])


@pytest.mark.parametrize(
    ("consignee", "differs", "stored"),
    [
        ("", False, "杭州远望机械有限公司"),  # empty: the customer
        ("远望机械（杭州）有限公司", False, "远望机械（杭州）有限公司"),
        ("立信工业有限公司", True, "立信工业有限公司"),
    ],
)
def test_goods_shipped_to_another_party_are_flagged_to_the_manager(
    cast, catalogue, owned_customer, consignee, differs, stored
):
    order = take_order(cast, owned_customer, catalogue)
    shipment = shipment_record(
        actor=cast.logistics,
        order=order,
        lines={line: line.quantity for line in lines_of(order)},
        consignee=consignee,
    )
    assert (shipment.consignee, shipment.consignee_differs) == (stored, differs)
    flagged = Notification.objects.filter(kind="shipment_consignee_differs")
    assert [n.recipient for n in flagged] == ([cast.east_mgr] if differs else [])
    event = AuditEvent.objects.filter(action="sales.shipment_recorded").latest("seq")
    assert event.changes_data["consignee_differs"] is differs


def test_the_payer_matches_the_customer_s_short_name_too(cast):
    customer = CustomerFactory(name="腾讯计算机系统（深圳）有限公司", short_name="腾讯")
    assert names_the_customer("深圳市腾讯计算机系统有限公司", customer)
    assert names_the_customer("腾讯", customer)
    assert not names_the_customer("腾达计算机系统有限公司", customer)


def test_commission_accrues_once_per_payment(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    payment = pay(cast, invoice(cast, order), "1130.00")
    entries = CommissionEntry.objects.filter(payment=payment).count()
    assert entries >= 1
    commission_accrue(payment=payment)
    assert CommissionEntry.objects.filter(payment=payment).count() == entries


# -- lost and cancelled -------------------------------------------------------------------------


def test_a_lost_order_needs_a_reason_the_competitor_when_asked_and_a_note(
    cast, catalogue, owned_customer
):
    order = take_order(cast, owned_customer, catalogue)
    error = refused(
        Invalid,
        order_mark_lost,
        actor=cast.east_rep,
        order=order,
        reason="competitor",
        note="客户改从别家采购",
    )
    assert error.code == "competitor"
    refused(Invalid, order_mark_lost, actor=cast.east_rep, order=order, reason="price", note=" ")
    error = refused(
        Invalid, order_mark_lost, actor=cast.east_rep, order=order, reason="nope", note="某原因"
    )
    assert error.code == "lost_reason"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED

    order = order_mark_lost(
        actor=cast.east_rep,
        order=order,
        reason="competitor",
        competitor="宁波永盛泵业",
        note="对方报价低 8%",
    )
    order = Order.objects.get(pk=order.pk)
    assert order.lost_at == clock.now()
    assert (order.status, order.lost_reason.code, order.lost_competitor, order.lost_note) == (
        OrderStatus.LOST,
        "competitor",
        "宁波永盛泵业",
        "对方报价低 8%",
    )
    lost = Notification.objects.get(kind="order_lost")
    assert lost.recipient == cast.east_mgr and "宁波永盛泵业" in lost.body
    error = refused(
        Conflict, shipment_record, actor=cast.logistics, order=order, lines={lines_of(order)[0]: 1}
    )
    assert error.code == "order_ended"


def test_an_order_ends_only_before_anything_shipped_or_was_invoiced(
    cast, catalogue, owned_customer
):
    shipped = take_order(cast, owned_customer, catalogue)
    shipment_record(actor=cast.logistics, order=shipped, lines={lines_of(shipped)[0]: 1})
    invoiced = take_order(cast, owned_customer, catalogue)
    invoice(cast, invoiced, amount="10.00")
    for order in (shipped, invoiced):
        error = refused(
            Conflict, order_cancel, actor=cast.east_rep, order=order, reason="客户取消了订单"
        )
        assert error.code == "wrong_status"
    refused(Invalid, order_cancel, actor=cast.east_rep, order=shipped, reason="取消")

    fresh = take_order(cast, owned_customer, catalogue)
    fresh = order_cancel(actor=cast.east_rep, order=fresh, reason="客户重复下单，取消")
    assert Order.objects.get(pk=fresh.pk).status == OrderStatus.CANCELLED
    assert audit_actions(fresh)[-1] == "sales.order_cancelled"


# -- money properties ---------------------------------------------------------------------------

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_partial_shipments_never_exceed_what_was_ordered(cast, catalogue, owned_customer):
    @EXAMPLES
    @given(
        attempts=st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=6000),  # pumps, in thousandths
                st.integers(min_value=0, max_value=12000),  # valves, in thousandths
            ),
            min_size=1,
            max_size=8,
        )
    )
    def check(attempts):
        order = take_order(cast, owned_customer, catalogue)
        pump, valve = lines_of(order)
        accepted = {pump.pk: Decimal(0), valve.pk: Decimal(0)}
        for pumps, valves in attempts:
            wanted = {pump: Decimal(pumps) / 1000}
            if valves:
                wanted[valve] = Decimal(valves) / 1000
            before = (
                [line.shipped_quantity for line in lines_of(order)],
                Shipment.objects.count(),
                AuditEvent.objects.count(),
            )
            fits = all(accepted[line.pk] + qty <= line.quantity for line, qty in wanted.items())
            try:
                shipment_record(actor=cast.logistics, order=order, lines=wanted)
            except Conflict as error:
                assert error.code == "over_shipped" and not fits
                after = (
                    [line.shipped_quantity for line in lines_of(order)],
                    Shipment.objects.count(),
                    AuditEvent.objects.count(),
                )
                assert after == before
            else:
                assert fits
                for line, qty in wanted.items():
                    accepted[line.pk] += qty
        for line in lines_of(order):
            assert line.shipped_quantity == accepted[line.pk] <= line.quantity

    check()


def test_payments_never_exceed_what_was_invoiced(cast, catalogue, owned_customer):
    @EXAMPLES
    @given(
        invoiced_cents=st.integers(min_value=1, max_value=362165),
        attempts=st.lists(st.integers(min_value=1, max_value=200000), min_size=1, max_size=8),
    )
    def check(invoiced_cents, attempts):
        order = take_order(cast, owned_customer, catalogue)
        bill = invoice(cast, order, amount=Decimal(invoiced_cents) / 100)
        paid = Decimal(0)
        for cents in attempts:
            amount = Decimal(cents) / 100
            before = (
                Invoice.objects.get(pk=bill.pk).paid_amount,
                Order.objects.get(pk=order.pk).paid_total,
                Payment.objects.count(),
                CommissionEntry.objects.count(),
                AuditEvent.objects.count(),
            )
            try:
                pay(cast, bill, amount)
            except Conflict as error:
                assert error.code == "over_paid" and paid + amount > bill.amount
                after = (
                    Invoice.objects.get(pk=bill.pk).paid_amount,
                    Order.objects.get(pk=order.pk).paid_total,
                    Payment.objects.count(),
                    CommissionEntry.objects.count(),
                    AuditEvent.objects.count(),
                )
                assert after == before
            else:
                paid += amount
        assert paid <= bill.amount
        assert Invoice.objects.get(pk=bill.pk).paid_amount == paid
        assert Order.objects.get(pk=order.pk).paid_total == paid
        assert sum(p.amount for p in Payment.objects.filter(invoice=bill)) == paid

    check()


# -- receivables --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-1, "not_due"),
        (0, "0_30"),
        (30, "0_30"),
        (31, "31_60"),
        (60, "31_60"),
        (61, "61_90"),
        (90, "61_90"),
        (91, "over_90"),
    ],
)
def test_ageing_buckets_count_days_past_the_due_date(days, bucket):
    assert ageing_bucket(days) == bucket


def _invoice_due(cast, order, *, days_overdue: int, amount: str) -> Invoice:
    due = TODAY - dt.timedelta(days=days_overdue)
    return invoice(cast, order, amount=amount, issued_on=min(due, TODAY), due_on=due)


def test_receivables_age_by_due_date_and_follow_the_viewer_s_scope(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    bills = {
        days: _invoice_due(cast, order, days_overdue=days, amount="100.00")
        for days in (-5, 0, 31, 61, 91)
    }
    pay(cast, bills[31], "40.00")
    pay(cast, bills[61], "100.00")  # settled: no longer a receivable
    south = CustomerFactory(owner=cast.south_rep, registered_by=cast.south_rep)
    south_bill = _invoice_due(
        cast, take_order(cast, south, catalogue, by=cast.south_rep), days_overdue=10, amount="7.00"
    )

    # The clock moves on: ageing is always counted from today.
    with clock.frozen_at(T0 + dt.timedelta(days=1)):
        mine = receivables_open(viewer=cast.east_rep)
        assert [(i.pk, i.open_amount) for i in mine] == [
            (bills[91].pk, Decimal("100.00")),
            (bills[31].pk, Decimal("60.00")),
            (bills[0].pk, Decimal("100.00")),
            (bills[-5].pk, Decimal("100.00")),
        ]
        rows = [receivable_of(i) for i in mine]
        assert [(r.days_overdue, r.bucket) for r in rows] == [
            (92, "over_90"),
            (32, "31_60"),
            (1, "0_30"),
            (-4, "not_due"),
        ]
        assert list(receivables_open(viewer=cast.east_rep, bucket="31_60")) == [bills[31]]
        assert set(receivables_open(viewer=cast.finance)) == {*mine, south_bill}
        assert set(receivables_open(viewer=cast.east_mgr)) == set(mine)
        assert list(receivables_open(viewer=cast.south_rep)) == [south_bill]
        assert list(receivables_open(viewer=cast.east_rep2)) == []
        refused(Invalid, receivables_open, viewer=cast.finance, bucket="later")


def test_overdue_reminders_go_to_the_owner_and_finance_once_a_day(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    _invoice_due(cast, order, days_overdue=3, amount="500.00")
    _invoice_due(cast, order, days_overdue=0, amount="1.00")  # due today: not overdue yet
    Notification.objects.all().delete()

    assert overdue_reminders_send(T0) == 2
    assert overdue_reminders_send(T0 + dt.timedelta(hours=5)) == 0
    owner = Notification.objects.get(recipient=cast.east_rep)
    assert (owner.kind, owner.title) == ("invoices_overdue", "1 overdue invoice, 500.00 open")
    assert f"{order.number} / " in owner.body and "3 days overdue" in owner.body
    assert Notification.objects.get(recipient=cast.finance).kind == "receivables_overdue"

    assert overdue_reminders_send(T0 + dt.timedelta(days=1)) == 2
    owner = Notification.objects.filter(recipient=cast.east_rep).latest("pk")
    assert owner.title == "2 overdue invoices, 501.00 open"


def test_the_overdue_reminder_job_runs_at_eight_local_time(cast, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    _invoice_due(cast, order, days_overdue=3, amount="500.00")
    eight = T0.replace(hour=8, minute=25)
    with clock.frozen_at(eight - dt.timedelta(hours=1)):
        overdue_reminders_daily()
    assert not Notification.objects.filter(kind="invoices_overdue").exists()
    with clock.frozen_at(eight):
        overdue_reminders_daily()
        overdue_reminders_daily()
    assert Notification.objects.filter(kind="invoices_overdue").count() == 1
