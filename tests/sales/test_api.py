"""The sales API (/api/v1/…): a deal from quote to cash, each step by its own people; the
segregation of duties refused over the API with nothing changed; orders out of scope are 404;
the catalogue, receivables and the commission ledger."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from kedun.core import clock
from kedun.org.models import Role
from kedun.sales.models import (
    CommissionEntry,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Product,
    Shipment,
)

from .conftest import T0, TODAY
from .test_orders import invoice, lines_of, pay, take_order

pytestmark = pytest.mark.django_db

PROMISED = TODAY + dt.timedelta(days=20)


@pytest.fixture(autouse=True)
def _at_t0():
    with clock.frozen_at(T0), translation.override("en"):
        yield


@pytest.fixture
def api():
    """An API client that asks for English, so that messages can be read in assertions."""
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client


def as_(client: APIClient, user) -> APIClient:
    client.force_authenticate(user)
    return client


def post(client: APIClient, url: str, data: dict | None = None):
    return client.post(url, data or {}, format="json")


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def refusal(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    return body["message"]


# -- from quote to cash ------------------------------------------------------------------------


def test_a_deal_goes_from_quote_to_payment_each_step_by_its_own_people(
    cast, api, catalogue, owned_customer, lost_reason_rows
):
    pump = catalogue["pump"]
    quote = ok(
        post(
            as_(api, cast.east_rep),
            "/api/v1/quotes/",
            {
                "customer": owned_customer.pk,
                "lines": [{"product": pump.pk, "quantity": "2", "unit_price": "800.00"}],
                "valid_until": (TODAY + dt.timedelta(days=30)).isoformat(),
            },
        ),
        201,
    )
    assert (quote["status"], quote["owner"], quote["net_total"]) == ("draft", "east_rep", "1600.00")
    assert [line["sku"] for line in quote["lines"]] == ["PUMP-100"]
    url = f"/api/v1/quotes/{quote['id']}"

    submitted = ok(post(api, f"{url}/submit/"))
    assert submitted["status"] == "pending_approval"
    assert submitted["approval_reasons"]  # below the floor price of 850.00
    refusal(post(api, f"{url}/approve/"), 403, "duty")  # a rep approves nothing, least their own
    assert ok(post(as_(api, cast.east_mgr), f"{url}/approve/"))["approved_by"] == "east_mgr"
    assert ok(post(as_(api, cast.east_rep), f"{url}/send/"))["status"] == "sent"
    assert ok(post(api, f"{url}/accept/"))["status"] == "accepted"

    order = ok(post(api, f"{url}/order/", {"promised_date": PROMISED.isoformat()}), 201)
    assert (order["status"], order["quote"], order["owner"]) == (
        "confirmed",
        quote["id"],
        "east_rep",
    )
    assert (order["net_total"], order["tax_total"], order["gross_total"]) == (
        "1600.00",
        "208.00",
        "1808.00",
    )
    url = f"/api/v1/orders/{order['id']}"

    assert ok(post(as_(api, cast.orders), f"{url}/production/"))["status"] == "in_production"
    contract = ok(
        post(
            api,
            f"{url}/contract/",
            {"contract_number": "HT-2026-001", "signed_on": TODAY.isoformat()},
        )
    )
    assert contract["contract_number"] == "HT-2026-001"

    line = order["lines"][0]
    shipment = ok(
        post(
            as_(api, cast.logistics),
            f"{url}/shipments/",
            {
                "lines": [{"line": line["id"], "quantity": "2"}],
                "carrier": "顺丰",
                "tracking_number": "SF1",
            },
        ),
        201,
    )
    assert shipment["lines"] == [{"line": line["id"], "quantity": "2.000"}]
    assert shipment["recorded_by"] == "logistics"
    assert ok(post(api, f"{url}/delivery/"))["status"] == "delivered"

    bill = ok(
        post(
            as_(api, cast.finance),
            f"{url}/invoices/",
            {"number": "FP00000001", "amount": "1808.00", "issued_on": TODAY.isoformat()},
        ),
        201,
    )
    assert (bill["amount"], bill["paid_amount"], bill["due_on"]) == (
        "1808.00",
        "0.00",
        (TODAY + dt.timedelta(days=30)).isoformat(),
    )
    [receivable] = ok(api.get("/api/v1/receivables/", {"bucket": "not_due"}))["results"]
    assert (receivable["invoice"]["id"], receivable["open_amount"]) == (bill["id"], "1808.00")
    assert (receivable["days_overdue"], receivable["bucket"]) == (-30, "not_due")

    payment = ok(
        post(
            api,
            f"/api/v1/invoices/{bill['id']}/payments/",
            {
                "amount": "1808.00",
                "received_on": TODAY.isoformat(),
                "payer_name": owned_customer.name,
                "payer_account": "6222 0202 0011 2233",
            },
        ),
        201,
    )
    assert (payment["amount"], payment["payer_differs"]) == ("1808.00", False)
    assert ok(api.get("/api/v1/receivables/"))["results"] == []

    detail = ok(as_(api, cast.east_rep).get(f"{url}/"))
    assert (detail["status"], detail["invoiced_total"], detail["paid_total"]) == (
        "paid",
        "1808.00",
        "1808.00",
    )
    assert [row["shipped_quantity"] for row in detail["lines"]] == ["2.000"]
    assert [s["tracking_number"] for s in detail["shipments"]] == ["SF1"]
    assert [p["id"] for i in detail["invoices"] for p in i["payments"]] == [payment["id"]]

    ledger = ok(api.get("/api/v1/commission/"))
    assert ledger["rep"] == "east_rep" and ledger["count"] == 2
    entries = CommissionEntry.objects.filter(rep=cast.east_rep)
    assert {e["id"] for e in ledger["results"]} == set(entries.values_list("pk", flat=True))
    totals = ledger["totals"]
    assert Decimal(totals["payable"]) + Decimal(totals["retained"]) == sum(
        e.amount for e in entries
    )
    assert Decimal(totals["payable"]) > 0


def test_a_direct_order_and_a_lost_one(cast, api, catalogue, owned_customer, lost_reason_rows):
    client = as_(api, cast.east_rep)
    order = ok(
        post(
            client,
            "/api/v1/orders/",
            {
                "customer": owned_customer.pk,
                "lines": [{"product": catalogue["valve"].pk, "quantity": "10"}],
                "promised_date": PROMISED.isoformat(),
            },
        ),
        201,
    )
    assert (order["gross_total"], len(order["lines"])) == ("1361.65", 1)
    assert [row["id"] for row in ok(client.get("/api/v1/orders/"))["results"]] == [order["id"]]
    refusal(
        post(
            client,
            f"/api/v1/orders/{order['id']}/lost/",
            {"reason": "competitor", "note": "价格太高了"},
        ),
        400,
        "competitor",
    )
    lost = ok(
        post(
            client,
            f"/api/v1/orders/{order['id']}/lost/",
            {"reason": "competitor", "note": "价格太高了", "competitor": "竞品公司"},
        )
    )
    assert (lost["status"], lost["lost_reason"], lost["lost_competitor"]) == (
        "lost",
        "competitor",
        "竞品公司",
    )
    codes = [r["code"] for r in ok(client.get("/api/v1/lost-reasons/"))]
    assert "competitor" in codes


def test_a_quote_is_rejected_revised_and_its_form_checked(cast, api, catalogue, owned_customer):
    client = as_(api, cast.east_rep)
    body = {
        "customer": owned_customer.pk,
        "lines": [],
        "valid_until": (TODAY + dt.timedelta(days=30)).isoformat(),
    }
    refusal(post(client, "/api/v1/quotes/", body), 400, "invalid")
    body["lines"] = [{"product": 999999, "quantity": "1"}]
    refusal(post(client, "/api/v1/quotes/", body), 400, "product")
    body["lines"] = [{"product": catalogue["pump"].pk, "quantity": "1", "discount_rate": "0.3"}]
    quote = ok(post(client, "/api/v1/quotes/", body), 201)
    assert ok(post(client, f"/api/v1/quotes/{quote['id']}/submit/"))["status"] == (
        "pending_approval"
    )
    rejected = ok(
        post(
            as_(api, cast.east_mgr),
            f"/api/v1/quotes/{quote['id']}/reject/",
            {"note": "折扣太大，最多15%"},
        )
    )
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "折扣太大，最多15%")
    revised = ok(post(as_(api, cast.east_rep), f"/api/v1/quotes/{quote['id']}/revise/"))
    assert (revised["number"], revised["version"], revised["status"]) == (
        quote["number"],
        2,
        "draft",
    )
    current = ok(client.get("/api/v1/quotes/", {"current": "true"}))["results"]
    assert [q["id"] for q in current] == [revised["id"]]
    assert ok(client.get(f"/api/v1/quotes/{quote['id']}/"))["status"] == "superseded"
    assert as_(api, cast.south_rep).get(f"/api/v1/quotes/{quote['id']}/").status_code == 404


# -- segregation of duties ---------------------------------------------------------------------


def test_a_salesperson_records_no_shipment_invoice_or_payment_and_nothing_changes(
    cast, api, catalogue, owned_customer
):
    order = take_order(cast, owned_customer, catalogue)
    bill = invoice(cast, order, amount="100.00")
    line = lines_of(order)[0]
    client = as_(api, cast.east_rep)
    refusal(
        post(
            client,
            f"/api/v1/orders/{order.pk}/shipments/",
            {"lines": [{"line": line.pk, "quantity": "1"}]},
        ),
        403,
        "duty",
    )
    refusal(
        post(
            client,
            f"/api/v1/orders/{order.pk}/invoices/",
            {"number": "FP-REP-1", "amount": "50.00", "issued_on": TODAY.isoformat()},
        ),
        403,
        "duty",
    )
    refusal(
        post(
            client,
            f"/api/v1/invoices/{bill.pk}/payments/",
            {
                "amount": "100.00",
                "received_on": TODAY.isoformat(),
                "payer_name": owned_customer.name,
                "payer_account": "6222",
            },
        ),
        403,
        "duty",
    )
    assert not Shipment.objects.filter(order=order).exists()
    assert OrderLine.objects.get(pk=line.pk).shipped_quantity == 0
    assert list(Invoice.objects.filter(order=order).values_list("pk", flat=True)) == [bill.pk]
    assert not Payment.objects.exists()
    bill.refresh_from_db()
    order.refresh_from_db()
    assert (bill.paid_amount, order.invoiced_total, order.paid_total) == (
        Decimal("0.00"),
        Decimal("100.00"),
        Decimal("0.00"),
    )
    assert order.status == OrderStatus.CONFIRMED


def test_a_seller_given_a_collecting_role_still_never_collects_on_their_order(
    cast, api, catalogue, owned_customer
):
    order = take_order(cast, owned_customer, catalogue)
    bill = invoice(cast, order, amount="100.00")
    cast.east_rep.role = Role.FINANCE
    cast.east_rep.save(update_fields=["role"])
    client = as_(api, cast.east_rep)
    refusal(
        post(
            client,
            f"/api/v1/orders/{order.pk}/invoices/",
            {"number": "FP-REP-2", "amount": "50.00", "issued_on": TODAY.isoformat()},
        ),
        403,
        "sold_and_collects",
    )
    refusal(
        post(
            client,
            f"/api/v1/invoices/{bill.pk}/payments/",
            {
                "amount": "100.00",
                "received_on": TODAY.isoformat(),
                "payer_name": owned_customer.name,
                "payer_account": "6222",
            },
        ),
        403,
        "sold_and_collects",
    )
    assert Invoice.objects.filter(order=order).count() == 1
    assert not Payment.objects.exists()
    order.refresh_from_db()
    assert (order.invoiced_total, order.paid_total) == (Decimal("100.00"), Decimal("0.00"))


def test_an_order_out_of_scope_is_not_found(cast, api, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    bill = invoice(cast, order, amount="100.00")
    client = as_(api, cast.south_rep)
    assert client.get(f"/api/v1/orders/{order.pk}/").status_code == 404
    refusal(client.get(f"/api/v1/orders/{order.pk}/"), 404, "not_found")
    refusal(
        post(client, f"/api/v1/orders/{order.pk}/cancel/", {"reason": "不要了不要了"}),
        404,
        "not_found",
    )
    refusal(
        post(
            client,
            f"/api/v1/invoices/{bill.pk}/payments/",
            {
                "amount": "1.00",
                "received_on": TODAY.isoformat(),
                "payer_name": "x",
                "payer_account": "1",
            },
        ),
        404,
        "not_found",
    )
    assert ok(client.get("/api/v1/orders/"))["results"] == []
    assert client.get("/api/v1/receivables/").status_code == 403  # money viewers only
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED


def test_only_the_catalogue_keeper_adds_or_changes_products(cast, api, catalogue):
    new = {"sku": "FAN-1", "name": "风机", "list_price": "300.00", "floor_price": "250.00"}
    refusal(post(as_(api, cast.east_rep), "/api/v1/products/", new), 403, "duty")
    refusal(
        as_(api, cast.east_mgr).patch(
            f"/api/v1/products/{catalogue['pump'].pk}/", {"list_price": "1.00"}, format="json"
        ),
        403,
        "duty",
    )
    assert not Product.objects.filter(sku="FAN-1").exists()
    assert Product.objects.get(pk=catalogue["pump"].pk).list_price == Decimal("1000.00")

    fan = ok(post(as_(api, cast.boss), "/api/v1/products/", new), 201)
    changed = ok(api.patch(f"/api/v1/products/{fan['id']}/", {"active": False}, format="json"))
    assert (changed["active"], changed["list_price"]) == (False, "300.00")
    seen_by_rep = ok(as_(api, cast.east_rep).get("/api/v1/products/"))["results"]
    assert "FAN-1" not in {p["sku"] for p in seen_by_rep}
    assert {"PUMP-100", "VALVE-20", "SVC-INSTALL"} <= {p["sku"] for p in seen_by_rep}


def test_a_ledger_is_the_rep_s_own_and_their_manager_s_to_see(cast, api, catalogue, owned_customer):
    order = take_order(cast, owned_customer, catalogue)
    pay(cast, invoice(cast, order), "1000.00")
    earned = ok(as_(api, cast.east_rep).get("/api/v1/commission/"))
    assert (earned["rep"], earned["count"]) == ("east_rep", 2)
    as_manager = ok(as_(api, cast.east_mgr).get("/api/v1/commission/", {"rep": "east_rep"}))
    assert as_manager["totals"] == earned["totals"] and as_manager["count"] == 2
    assert ok(api.get("/api/v1/commission/"))["count"] == 0  # the manager's own: none
    peer = ok(as_(api, cast.south_rep).get("/api/v1/commission/", {"rep": "east_rep"}))
    assert (peer["count"], peer["results"], peer["totals"]["payable"]) == (0, [], "0.00")
    refusal(api.get("/api/v1/commission/", {"rep": "nobody"}), 400, "invalid")


def test_the_schema_lists_every_sales_endpoint(cast, client):
    client.force_login(cast.east_rep)
    paths = set(json.loads(client.get("/api/v1/schema/?format=json").content)["paths"])
    assert {
        "/api/v1/products/",
        "/api/v1/products/{product_id}/",
        "/api/v1/lost-reasons/",
        "/api/v1/quotes/",
        "/api/v1/quotes/{quote_id}/",
        *(
            f"/api/v1/quotes/{{quote_id}}/{action}/"
            for action in (
                "submit",
                "approve",
                "reject",
                "send",
                "accept",
                "lost",
                "revise",
                "order",
            )
        ),
        "/api/v1/orders/",
        "/api/v1/orders/{order_id}/",
        *(
            f"/api/v1/orders/{{order_id}}/{action}/"
            for action in (
                "production",
                "contract",
                "shipments",
                "delivery",
                "invoices",
                "lost",
                "cancel",
            )
        ),
        "/api/v1/invoices/{invoice_id}/payments/",
        "/api/v1/payments/{payment_id}/reverse/",
        "/api/v1/receivables/",
        "/api/v1/commission/",
    } <= paths
