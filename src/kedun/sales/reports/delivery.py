"""Delivery lead time, promised against actual, per product and per customer (MISSION §5:
where slow delivery pushes reps to divert orders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Avg, Count, F, Max, Q, QuerySet

from kedun.customers.models import Customer
from kedun.org.models import User
from kedun.sales.models import Order, Product, ProductDelivery

from .common import (
    owned_by,
    owners_in_scope,
    scoped_orders,
    within,
)

# -- delivery lead time -------------------------------------------------------------------------


def _lateness() -> dict[str, Any]:
    """Aggregates of days late (delivered − promised, stored with the delivery) per group of
    delivered orders; on time is orders − late − early."""
    return {
        "orders": Count("*"),
        "late": Count("days_late", filter=Q(days_late__gt=0)),
        "early": Count("days_late", filter=Q(days_late__lt=0)),
        "average_days_late": Avg("days_late"),
        "most_days_late": Max("days_late"),
    }


def delivery_by_product(*, viewer: User, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """Promised against actual delivery, per product, of the orders delivered in the period:
    one row per product with product_id, sku, name, orders, late, early, average_days_late
    (negative: early on average) and most_days_late; worst first (a list: one row per product
    of the catalogue at most).

    It reads ProductDelivery — one row per product per delivered order, so an order counts
    once per product even when two of its lines carry the same product — through its covering
    index, not every order line joined to its order.
    """
    rows = list(
        ProductDelivery.objects.filter(owned_by(owners_in_scope(viewer)))
        .filter(within("delivered_at", since, until))
        .values("product_id")
        .annotate(**_lateness())
        .order_by(F("average_days_late").desc(), "product_id")
    )
    # Code and name once per product, not carried through the grouping of every row.
    products = {
        pk: (sku, name)
        for pk, sku, name in Product.objects.filter(
            pk__in={row["product_id"] for row in rows}
        ).values_list("pk", "sku", "name")
    }
    return [
        {**row, "sku": products[row["product_id"]][0], "name": products[row["product_id"]][1]}
        for row in rows
    ]


def delivery_by_customer(*, viewer: User, since: dt.date, until: dt.date) -> QuerySet[Order, Any]:
    """The same per customer: customer_id, orders, late, early, average_days_late and
    most_days_late; worst first. Names for a page of rows: with_customer_names (joining the
    name to every order made the grouping half as fast again)."""
    return (
        scoped_orders(owners_in_scope(viewer))
        .filter(within("delivered_at", since, until))
        .values("customer_id")
        .annotate(**_lateness())
        .order_by(F("average_days_late").desc(), "customer_id")
    )


def with_customer_names(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """The rows (a page of delivery_by_customer), each with the customer's name: one query."""
    rows = list(rows)
    names = dict(
        Customer.objects.filter(pk__in={row["customer_id"] for row in rows}).values_list(
            "pk", "name"
        )
    )
    return [{**row, "name": names.get(row["customer_id"], "")} for row in rows]
