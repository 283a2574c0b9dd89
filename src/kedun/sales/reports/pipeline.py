"""The pipeline by stage and the orders in execution."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
    Value,
)

from kedun.org.models import User
from kedun.sales.models import (
    Order,
    OrderStatus,
    QuoteStatus,
)
from kedun.sales.money import ZERO

from .common import (
    DayDifference,
    local_today,
    money_sum,
    owners_in_scope,
    scoped_orders,
    scoped_quotes,
    within,
)

IN_EXECUTION = (OrderStatus.CONFIRMED, OrderStatus.IN_PRODUCTION, OrderStatus.PARTLY_SHIPPED)


# -- pipeline -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRow:
    status: str
    label: str
    count: int
    amount: Decimal  # before tax


@dataclass(frozen=True)
class Pipeline:
    quotes: list[StageRow]  # every quote status but "superseded", in the workflow's order
    orders: list[StageRow]  # every order status, in the workflow's order


def _by_status(rows: QuerySet[Any], choices: Any, skip: set[str]) -> list[StageRow]:
    found = {
        row["status"]: row
        for row in rows.values("status")
        .annotate(count=Count("*"), amount=money_sum("net_total"))
        .order_by()
    }
    return [
        StageRow(
            status=value,
            label=str(label),
            count=found[value]["count"] if value in found else 0,
            amount=found[value]["amount"] if value in found else ZERO,
        )
        for value, label in choices
        if value not in skip
    ]


def pipeline_by_stage(
    *, viewer: User, since: dt.date | None = None, until: dt.date | None = None
) -> Pipeline:
    """Quotes and orders created in the period (default: all), counted and summed by status:
    one GROUP BY each (an index on status, created_at, owner, net_total answers it alone)."""
    owners = owners_in_scope(viewer)
    quotes = scoped_quotes(owners).filter(within("created_at", since, until))
    orders = scoped_orders(owners).filter(within("created_at", since, until))
    return Pipeline(
        quotes=_by_status(quotes, QuoteStatus.choices, {QuoteStatus.SUPERSEDED}),
        orders=_by_status(orders, OrderStatus.choices, set()),
    )


# -- orders in execution ------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    # Annotated with days_overdue (today − promised date: positive late, negative days left),
    # the earliest promise (the most overdue) first; the page paginates it.
    orders: QuerySet[Order]
    count: int
    amount: Decimal
    late: int
    late_amount: Decimal


def orders_in_execution(*, viewer: User, today: dt.date | None = None) -> Execution:
    """Orders confirmed, in production or partly shipped, with their promised dates."""
    today = local_today(today)
    orders = scoped_orders(owners_in_scope(viewer)).filter(status__in=IN_EXECUTION)
    late = Q(promised_date__lt=today)
    summary = orders.aggregate(
        count=Count("pk"),
        amount=money_sum("net_total"),
        late=Count("pk", filter=late),
        late_amount=money_sum("net_total", late),
    )
    listed = (
        orders.select_related("customer", "owner")
        .annotate(days_overdue=DayDifference(Value(today), F("promised_date")))
        .order_by("promised_date", "pk")
    )
    return Execution(orders=listed, **summary)
