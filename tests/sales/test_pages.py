"""The sales pages: each role finds its own steps, a salesperson finds no logistics or finance
control on an order, and a forged POST is refused without changing anything."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kedun.core import clock
from kedun.sales.models import Invoice, Order, Payment, Quote, QuoteStatus, Shipment
from kedun.sales.orders import invoice_record, order_create_from_quote
from kedun.sales.quotes import quote_accept, quote_create, quote_send, quote_submit

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.localdate(clock.now())


@pytest.fixture
def order(cast, catalogue, owned_customer) -> Order:
    """east_rep's order for two pumps at list price, from an accepted quote."""
    quote = quote_create(
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[{"product": catalogue["pump"], "quantity": 2}],
        valid_until=today() + dt.timedelta(days=30),
    )
    quote = quote_submit(actor=cast.east_rep, quote=quote)
    quote = quote_send(actor=cast.east_rep, quote=quote)
    quote = quote_accept(actor=cast.east_rep, quote=quote)
    return order_create_from_quote(
        actor=cast.east_rep, quote=quote, promised_date=today() + dt.timedelta(days=20)
    )


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("quote-list", ["sales", "manager"], []),
        ("order-list", ["sales", "logistics", "finance", "orders"], []),
        ("receivables", ["finance", "manager", "admin"], ["sales", "logistics"]),
        ("sales-report-pipeline", ["manager", "admin", "auditor"], ["sales", "finance"]),
        ("sales-report-execution", ["manager", "admin", "auditor"], ["sales", "finance"]),
        ("sales-report-delivery", ["manager", "admin", "auditor"], ["sales", "finance"]),
        ("sales-report-collection", ["manager", "admin", "auditor"], ["sales", "finance"]),
        ("sales-report-wins", ["manager", "admin", "auditor"], ["sales", "finance"]),
    ],
)
def test_pages_open_for_the_right_roles(cast, client, url, allowed, refused):
    for role in allowed:
        client.force_login(cast.by_role(role))
        assert client.get(reverse(url)).status_code == 200, role
    for role in refused:
        client.force_login(cast.by_role(role))
        assert client.get(reverse(url)).status_code == 403, role


def test_a_rep_quotes_below_the_floor_and_only_the_manager_may_approve(
    cast, client, catalogue, owned_customer
):
    client.force_login(cast.east_rep)
    page = client.get(reverse("quote-new"), {"customer": owned_customer.pk})
    assert page.status_code == 200
    response = client.post(
        reverse("quote-new"),
        {
            "customer": owned_customer.pk,
            "valid_until": (today() + dt.timedelta(days=30)).isoformat(),
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": catalogue["pump"].pk,
            "lines-0-quantity": "3",
            "lines-0-unit_price": "800.00",
            "lines-1-product": "",
        },
    )
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/quotes/{quote.pk}/"
    assert quote.net_total == Decimal("2400.00") and quote.status == QuoteStatus.DRAFT

    client.post(reverse("quote-detail", args=[quote.pk]), {"action": "submit"})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    page = client.get(reverse("quote-detail", args=[quote.pk])).content.decode()
    assert 'data-action="approve"' not in page and "data-approval-reasons" in page
    forged = client.post(reverse("quote-detail", args=[quote.pk]), {"action": "approve"})
    assert forged.status_code == 403

    client.force_login(cast.east_mgr)
    page = client.get(reverse("quote-detail", args=[quote.pk])).content.decode()
    assert 'data-action="approve"' in page
    client.post(reverse("quote-detail", args=[quote.pk]), {"action": "approve", "approve-note": ""})
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED and quote.approved_by == cast.east_mgr


def test_a_rep_creates_the_order_from_an_accepted_quote(cast, client, catalogue, owned_customer):
    quote = quote_create(
        actor=cast.east_rep,
        customer=owned_customer,
        lines=[{"product": catalogue["valve"], "quantity": 4}],
        valid_until=today() + dt.timedelta(days=30),
    )
    for step in (quote_submit, quote_send, quote_accept):
        quote = step(actor=cast.east_rep, quote=quote)
    client.force_login(cast.east_rep)
    promised = (today() + dt.timedelta(days=14)).isoformat()
    response = client.post(
        reverse("quote-detail", args=[quote.pk]),
        {"action": "order", "order-promised_date": promised, "order-payment_terms_days": "30"},
    )
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.quote == quote and order.promised_date.isoformat() == promised


CONTROLS = {
    "ship": 'id="shipment-form"',
    "deliver": 'id="delivery-form"',
    "invoice": 'id="invoice-form"',
    "payment": 'id="payment-form"',
    "production": 'id="production-form"',
    "contract": 'id="contract-form"',
}


def _controls_on(client, order) -> set[str]:
    page = client.get(reverse("order-detail", args=[order.pk])).content.decode()
    return {name for name, marker in CONTROLS.items() if marker in page}


def test_each_role_finds_only_its_own_steps_on_the_order(cast, client, order):
    expected = {
        "sales": set(),
        "manager": set(),
        "orders": {"production", "contract"},
        "logistics": {"ship"},
        "finance": {"invoice"},
    }
    for role, controls in expected.items():
        client.force_login(cast.by_role(role))
        assert _controls_on(client, order) == controls, role
    invoice_record(
        actor=cast.finance, order=order, amount="100.00", number="INV-1", issued_on=today()
    )
    client.force_login(cast.finance)
    assert _controls_on(client, order) == {"invoice", "payment"}
    client.force_login(cast.east_rep)
    assert _controls_on(client, order) == set()


def test_a_forged_post_by_sales_to_logistics_and_finance_steps_is_refused(cast, client, order):
    line = order.lines.get()
    invoice = invoice_record(
        actor=cast.finance, order=order, amount="100.00", number="INV-1", issued_on=today()
    )
    client.force_login(cast.east_rep)
    url = reverse("order-detail", args=[order.pk])
    forged = [
        {"action": "ship", f"ship-line_{line.pk}": "1", "ship-carrier": "顺丰"},
        {"action": "deliver"},
        {"action": "invoice", "invoice-number": "INV-2", "invoice-amount": "50.00",
         "invoice-issued_on": today().isoformat()},
        {"action": "payment", "payment-invoice": invoice.pk, "payment-amount": "100.00",
         "payment-received_on": today().isoformat(), "payment-payer_name": "某人",
         "payment-payer_account": "6222000011112222"},
        {"action": "production"},
    ]  # fmt: skip
    for data in forged:
        assert client.post(url, data).status_code == 403, data["action"]
    line.refresh_from_db()
    invoice.refresh_from_db()
    assert line.shipped_quantity == 0 and Shipment.objects.count() == 0
    assert Invoice.objects.count() == 1 and invoice.paid_amount == 0
    assert Payment.objects.count() == 0
    assert Order.objects.get().status == order.status


def test_logistics_ships_and_finance_collects_from_the_order_page(cast, client, order):
    line = order.lines.get()
    url = reverse("order-detail", args=[order.pk])
    client.force_login(cast.logistics)
    client.post(url, {"action": "ship", f"ship-line_{line.pk}": "2", "ship-carrier": "顺丰"})
    line.refresh_from_db()
    assert line.shipped_quantity == 2
    client.post(url, {"action": "deliver"})
    client.force_login(cast.finance)
    client.post(
        url,
        {
            "action": "invoice",
            "invoice-number": "INV-9",
            "invoice-amount": str(order.gross_total),
            "invoice-issued_on": today().isoformat(),
        },
    )
    invoice = Invoice.objects.get()
    client.post(
        url,
        {
            "action": "payment",
            "payment-invoice": invoice.pk,
            "payment-amount": str(order.gross_total),
            "payment-received_on": today().isoformat(),
            "payment-payer_name": order.customer.name,
            "payment-payer_account": "6222000011112222",
        },
    )
    order.refresh_from_db()
    assert order.paid_total == order.gross_total
    assert client.get(reverse("receivables")).status_code == 200


def test_the_customer_page_offers_a_new_quote_to_those_who_may_write_one(client, cast):
    from kedun.customers.services import customer_register

    customer = customer_register(actor=cast.east_rep, name="杭州市蓝海阀门有限公司")
    url = reverse("customer-detail", args=[customer.pk])
    for user, offered in ((cast.east_rep, True), (cast.east_mgr, True), (cast.finance, False)):
        client.force_login(user)
        page = client.get(url).content.decode()
        assert ("data-new-quote" in page) is offered, user.username
