"""Shared arrangements for the sales tests: a small, stable catalogue and a customer that
east_rep owns (made directly; services are what the tests exercise)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kedun.customers.models import Customer, Need
from tests.factories import CustomerFactory, ProductFactory

# A Monday morning in the company's time zone: far from midnight, so "today" is unambiguous.
T0 = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 0))
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def catalogue(db) -> dict:
    """pump: 1000.00 (floor 850.00), valve: 120.50 (floor 100.00), both 13 % VAT;
    install: a service at 500.00 (floor 400.00), 6 % VAT."""
    return {
        "pump": ProductFactory(
            sku="PUMP-100",
            name="离心泵",
            unit="台",
            list_price="1000.00",
            floor_price="850.00",
            tax_rate="0.1300",
            lead_time_days=20,
        ),
        "valve": ProductFactory(
            sku="VALVE-20",
            name="闸阀",
            unit="个",
            list_price="120.50",
            floor_price="100.00",
            tax_rate="0.1300",
        ),
        "install": ProductFactory(
            sku="SVC-INSTALL",
            name="安装服务",
            unit="次",
            list_price="500.00",
            floor_price="400.00",
            tax_rate="0.0600",
        ),
    }


@pytest.fixture
def owned_customer(cast) -> Customer:
    """A customer east_rep (manager east_mgr) owns."""
    return CustomerFactory(
        name="杭州远望机械有限公司",
        owner=cast.east_rep,
        registered_by=cast.east_rep,
        registered_at=T0 - dt.timedelta(days=30),
        owned_since=T0 - dt.timedelta(days=30),
    )


@pytest.fixture
def need(owned_customer) -> Need:
    """An open need of owned_customer."""
    return Need.objects.create(
        customer=owned_customer,
        what="循环水泵 10 台",
        quantity="10 台",
        recorded_by=owned_customer.owner,
        recorded_at=T0 - dt.timedelta(days=1),
    )


@pytest.fixture
def lost_reason_rows(db) -> None:
    """The default lost reasons as rows. Migration 0003 writes them, but a test on a real
    (flushed) database elsewhere in the run may have emptied the table."""
    from kedun.sales.catalogue import DEFAULT_LOST_REASONS
    from kedun.sales.models import LostReason

    if not LostReason.objects.exists():
        LostReason.objects.bulk_create(
            LostReason(code=code, label=label, needs_competitor=needs, position=(i + 1) * 10)
            for i, (code, label, needs) in enumerate(DEFAULT_LOST_REASONS)
        )
