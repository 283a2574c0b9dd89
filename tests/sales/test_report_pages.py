"""The report pages: one per report, each with its chart and its figures as a table, the
period kept across the tabs, and long per-customer lists paged without counting the groups."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kedun.core import clock
from kedun.sales.models import OrderStatus
from kedun.sales.orders.logistics import delivery_facts_write
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, ProductFactory

PERIOD = {"since": "2026-02-01", "until": "2026-02-28"}


def local(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@pytest.fixture
def delivered(cast):
    """Three of east_rep's customers with one order each delivered in February, 1, 2 and 3
    days late, all of the pump; and south_rep's customer's order, 9 days late."""
    pump = ProductFactory(sku="PUMP", name="离心泵")
    made = []
    for n, (owner, late) in enumerate(
        [(cast.east_rep, 1), (cast.east_rep, 2), (cast.east_rep, 3), (cast.south_rep, 9)]
    ):
        customer = CustomerFactory(name=f"交付客户{n}", owner=owner)
        order = OrderFactory(
            customer=customer,
            status=OrderStatus.DELIVERED,
            created_at=local(dt.date(2026, 1, 20)),
            promised_date=dt.date(2026, 2, 10),
            delivered_at=local(dt.date(2026, 2, 10 + late)),
        )
        OrderLineFactory(order=order, product=pump)
        delivery_facts_write(order)
        made.append(customer)
    return made


def test_the_old_address_leads_to_the_first_report_with_the_period(cast, client):
    client.force_login(cast.east_mgr)
    response = client.get(reverse("sales-reports"), PERIOD)
    assert response.status_code == 302
    assert response["Location"] == reverse("sales-report-pipeline") + (
        "?since=2026-02-01&until=2026-02-28"
    )


def test_the_delivery_page_lists_products_and_customers_in_the_viewers_scope(
    cast, client, delivered
):
    client.force_login(cast.east_mgr)
    page = client.get(reverse("sales-report-delivery"), PERIOD).content.decode()
    customers = client.get(reverse("sales-report-delivery"), {**PERIOD, "by": "customer"})
    customers = customers.content.decode()

    assert "PUMP 离心泵" in page
    # The region's three orders: 2 days late on average, 3 at most; south_rep's are not here.
    assert '<td>3</td><td>3</td><td>0</td><td class="mono">2.0</td>' in page
    assert delivered[0].name not in page  # by product: no customers
    for customer in delivered[:3]:
        assert customer.name in customers
    assert delivered[3].name not in customers
    # The tabs keep the period.
    assert 'href="/reports/sales/wins/?since=2026-02-01&amp;until=2026-02-28"' in page


def test_the_customer_list_pages_without_counting(cast, client, delivered, monkeypatch):
    monkeypatch.setattr("kedun.sales.views.reports.PER_PAGE", 2)
    client.force_login(cast.boss)
    by_customer = {**PERIOD, "by": "customer"}
    first = client.get(reverse("sales-report-delivery"), by_customer).content.decode()
    second = client.get(reverse("sales-report-delivery"), {**by_customer, "page": 2})
    second = second.content.decode()

    # Worst first: 9, 3 days late on page one; 2, 1 on page two, and no page three.
    assert delivered[3].name in first and delivered[2].name in first
    assert delivered[1].name in second and delivered[0].name in second
    assert delivered[0].name not in first
    assert "page=3" not in second and "by=customer&amp;page=1" in second
    assert "by=customer&amp;page=2" in first


def test_each_report_page_shows_its_figures(cast, client, delivered):
    client.force_login(cast.boss)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    pipeline = client.get(reverse("sales-report-pipeline"), {"since": "2026-01-01"})
    execution = client.get(reverse("sales-report-execution"))
    collection = client.get(reverse("sales-report-collection"), PERIOD)
    wins = client.get(reverse("sales-report-wins"), PERIOD)
    assert 'data-order-status="delivered"><td>Delivered</td><td>4</td>' in pipeline.content.decode()
    assert "0 orders (0" in execution.content.decode()
    assert "Collection rate" in collection.content.decode()
    assert "Lost reasons" in wins.content.decode()
    for response in (pipeline, execution, collection, wins):
        assert response.status_code == 200 and b"<svg" in response.content


def test_pipeline_and_wins_cover_all_time_on_request(cast, client, delivered):
    """?period=all drops the period on the reports that read their indexes in group order;
    the others keep a period (the default 90 days) whatever is asked."""
    client.force_login(cast.boss)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with clock.frozen_at(local(dt.date(2026, 11, 27))):
        recent = client.get(reverse("sales-report-pipeline")).content.decode()
        ever = client.get(reverse("sales-report-pipeline"), {"period": "all"}).content.decode()
        delivery = client.get(reverse("sales-report-delivery"), {"period": "all"})
    # The four orders were created in January 2026: not in the last 90 days, but in all time.
    assert 'data-order-status="delivered"><td>Delivered</td><td>0</td>' in recent
    assert 'data-order-status="delivered"><td>Delivered</td><td>4</td>' in ever
    assert "data-all-time" in ever and "data-all-time" not in recent
    assert 'href="/reports/sales/wins/?period=all"' in ever
    assert "data-all-time" not in delivery.content.decode()
    assert "All time" not in delivery.content.decode()


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "soon"])
def test_a_date_that_is_no_date_is_said_and_the_default_period_shown(cast, client, bad):
    client.force_login(cast.east_mgr)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(reverse("sales-report-wins"), {"since": bad})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"“{bad}” is not a date (YYYY-MM-DD); the default period is shown." in page
    with clock.frozen_at(local(dt.date(2026, 11, 27))):
        today = client.get(reverse("sales-report-wins"), {"until": bad})
    assert 'value="2026-11-27"' in today.content.decode()
