"""From quote to cash in Chromium (MISSION §5, 分段经营): 小张 quotes below the floor price, his
manager approves, the customer accepts and 小张 creates the order; logistics ships it and
finance records the payment, which then bounces: finance reverses it and the commission is
clawed back. 小张 finds no control for shipping, collecting or reversing on his order's page,
and the API refuses him all three."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from kedun.core import clock
from kedun.sales.models import (
    CommissionEntry,
    CommissionStatus,
    Invoice,
    Order,
    Payment,
    PaymentReversal,
    Shipment,
)
from tests.factories import DepartmentFactory, ProductFactory, UserFactory

from .test_collaboration_scene import log_in
from .test_pool_browser import log_out, register
from .test_shell import shot

pytestmark = pytest.mark.browser


@pytest.fixture
def company():
    root = DepartmentFactory(name="客盾示范有限公司")
    east = DepartmentFactory(name="华东销售部", parent=root)
    office = DepartmentFactory(name="后台", parent=root)
    manager = UserFactory(username="east_mgr", full_name="李明", role="manager", department=east)
    zhang = UserFactory(username="xiaozhang", full_name="小张", department=east, manager=manager)
    logistics = UserFactory(
        username="wuliu", full_name="物流老王", role="logistics", department=office
    )
    finance = UserFactory(username="caiwu", full_name="财务小陈", role="finance", department=office)
    pump = ProductFactory(
        sku="PUMP-100", name="离心泵", unit="台", list_price="1000.00", floor_price="850.00"
    )
    return {"manager": manager, "zhang": zhang, "logistics": logistics, "finance": finance,
            "pump": pump}  # fmt: skip


def test_a_quote_below_floor_goes_from_approval_to_cash_with_duties_kept_apart(
    live_server, phone, company
):
    base = live_server.url
    customer = register(
        company["zhang"], "杭州市蓝海科技有限公司", at=clock.now() - dt.timedelta(days=1)
    )

    # 小张 quotes two pumps at 800, below the 850 floor.
    log_in(phone, base, "xiaozhang")
    phone.goto(f"{base}/quotes/new/?customer={customer.pk}")
    phone.select_option("#id_lines-0-product", str(company["pump"].pk))
    phone.fill("#id_lines-0-quantity", "2")
    phone.fill("#id_lines-0-unit_price", "800")
    phone.locator("#quote-new button[type=submit]").click()
    phone.locator("[data-action=submit]").click()
    expect(phone.locator("dd[data-status]")).to_have_attribute("data-status", "pending_approval")
    expect(phone.locator("[data-approval-reasons]")).to_be_visible()
    expect(phone.locator("[data-action=approve]")).to_have_count(0)
    quote_url = phone.url
    shot(phone, "sales-1-quote-pending")
    log_out(phone)

    # The manager approves.
    log_in(phone, base, "east_mgr")
    phone.goto(quote_url)
    phone.locator("[data-action=approve]").click()
    expect(phone.locator("dd[data-status]")).to_have_attribute("data-status", "approved")
    log_out(phone)

    # 小张 sends it, the customer accepts, and he creates the order.
    log_in(phone, base, "xiaozhang")
    phone.goto(quote_url)
    phone.locator("[data-action=send]").click()
    phone.locator("[data-action=accept]").click()
    phone.locator("[data-action=order]").click()
    phone.wait_for_url(f"{base}/orders/*/")
    order = Order.objects.get()
    for form in ("#shipment-form", "#delivery-form", "#invoice-form", "#payment-form"):
        expect(phone.locator(form)).to_have_count(0)
    for step in ("ship", "deliver", "invoice", "payment", "production", "contract"):
        expect(phone.locator(f"[data-action={step}]")).to_have_count(0)
    shot(phone, "sales-2-rep-order-no-back-office-steps")
    log_out(phone)

    # Logistics ships everything and confirms delivery.
    log_in(phone, base, "wuliu")
    phone.goto(f"{base}/orders/{order.pk}/")
    line = order.lines.get()
    phone.fill(f"#id_ship-line_{line.pk}", "2")
    phone.fill("#id_ship-carrier", "顺丰")
    phone.locator("[data-action=ship]").click()
    expect(phone.locator(f"tr[data-line='{line.pk}'] [data-shipped]")).to_have_text("2")
    phone.locator("[data-action=deliver]").click()
    expect(phone.locator("dd[data-status]")).to_have_attribute("data-status", "delivered")
    log_out(phone)

    # Finance invoices and records the payment.
    log_in(phone, base, "caiwu")
    phone.goto(f"{base}/orders/{order.pk}/")
    phone.locator("#invoice summary").click()
    phone.fill("#id_invoice-number", "INV-0001")
    phone.locator("[data-action=invoice]").click()
    phone.fill("#id_payment-payer_account", "6222000011112222")
    phone.locator("[data-action=payment]").click()
    expect(phone.locator("dd[data-status]")).to_have_attribute("data-status", "paid")
    shot(phone, "sales-3-paid")
    payment = Payment.objects.get()
    assert payment.payer_name == "杭州市蓝海科技有限公司"
    earned = CommissionEntry.objects.filter(rep=company["zhang"]).count()
    assert earned > 0

    # The acceptance bill bounces: finance reverses the payment, the order is open again and
    # the commission the cash earned is clawed back from 小张.
    phone.locator(f"#reverse-{payment.pk} summary").click()
    phone.select_option(f"#reverse-{payment.pk} [name='reverse-kind']", "bounced")
    phone.fill(f"#reverse-{payment.pk} [name='reverse-reason']", "承兑汇票被银行退回")
    phone.locator("[data-action=reverse]").click()
    expect(phone.locator("dd[data-status]")).to_have_attribute("data-status", "invoiced")
    expect(phone.locator("[data-reversal=bounced]")).to_be_visible()
    shot(phone, "sales-4-bounced")
    assert CommissionEntry.objects.get(
        rep=company["zhang"], status=CommissionStatus.CLAWED_BACK
    ).amount == sum(
        entry.amount
        for entry in CommissionEntry.objects.filter(rep=company["zhang"]).exclude(
            status=CommissionStatus.CLAWED_BACK
        )
    )
    log_out(phone)

    # 小张 sees the bounce on his order, and no way to reverse or collect anything.
    log_in(phone, base, "xiaozhang")
    phone.goto(f"{base}/orders/{order.pk}/")
    expect(phone.locator("[data-reversal=bounced]")).to_be_visible()
    expect(phone.locator("[data-reverse-form]")).to_have_count(0)
    expect(phone.locator("[data-action=payment]")).to_have_count(0)
    log_out(phone)

    # The API refuses 小张 both back-office steps, and nothing changes.
    invoice = Invoice.objects.get()
    api = Client()
    api.force_login(company["zhang"])
    shipped = api.post(
        reverse("api-sales-order-shipments", args=[order.pk]),
        {"lines": [{"line": line.pk, "quantity": "1"}]},
        content_type="application/json",
    )
    paid = api.post(
        reverse("api-sales-invoice-payments", args=[invoice.pk]),
        {"amount": "1.00", "received_on": "2026-01-05", "payer_name": "某人", "payer_account": "1"},
        content_type="application/json",
    )
    refunded = api.post(
        reverse("api-sales-payment-reverse", args=[payment.pk]),
        {"kind": "refunded", "amount": "1.00", "reason": "想退就退"},
        content_type="application/json",
    )
    assert (shipped.status_code, paid.status_code, refunded.status_code) == (403, 403, 403)
    assert Shipment.objects.count() == 1 and Payment.objects.count() == 1
    assert PaymentReversal.objects.count() == 1
