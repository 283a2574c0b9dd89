"""The weekly activity table: each rep's follow-ups, check-ins, mail, quotes, losses and orders
with each customer, week by week (ActivityWeek).

Built in full the first time (and after a history import), then nightly from the weeks that
can still change: a day's new records touch the current week, and records entered late (a
check-in uploaded from an offline backlog, a quote lost days later) the weeks before it —
`REFRESH_WEEKS` covers those. Everything older stays as it was computed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kedun.comms.models import MessageCustomer
from kedun.core.db import rows_insert
from kedun.customers.models import FollowUp
from kedun.field.models import CheckIn
from kedun.sales.models import Order, OrderStatus, Quote, QuoteStatus

from .models import ActivityWeek

REFRESH_WEEKS = 5
COUNTS = ("follow_ups", "check_ins", "mails", "quotes", "lost", "lost_competitor", "orders")


def week_of(day: dt.date) -> dt.date:
    """The Monday of the week a local date falls in."""
    return day - dt.timedelta(days=day.weekday())


def _local_week(moment: dt.datetime) -> dt.date:
    # The company's zone (no per-request zone here); astimezone is the fast path.
    return week_of(moment.astimezone(timezone.get_default_timezone()).date())


def activity_refresh(*, since: dt.date | None, until: dt.date) -> int:
    """Recompute the weeks from `since`'s week (None: all) up to `until` (local date,
    inclusive); returns the number of rows written. One transaction: readers see the old
    weeks or the new ones, never half."""
    start = week_of(since) if since is not None else None
    end = timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    begin = timezone.make_aware(dt.datetime.combine(start, dt.time())) if start else None
    cells: dict[tuple[int, int, dt.date], dict[str, Any]] = defaultdict(dict)

    def add(rows: Iterable[tuple[Any, ...]], column: str) -> None:
        for customer_id, rep_id, moment in rows:
            cell = cells[(customer_id, rep_id, _local_week(moment))]
            cell[column] = cell.get(column, 0) + 1

    def period(field: str) -> Q:
        q = Q(**{f"{field}__lt": end})
        if begin is not None:
            q &= Q(**{f"{field}__gte": begin})
        return q

    add(
        FollowUp.objects.filter(period("happened_at")).values_list(
            "customer_id", "author_id", "happened_at"
        ),
        "follow_ups",
    )
    add(
        CheckIn.objects.filter(period("captured_at")).values_list(
            "customer_id", "rep_id", "captured_at"
        ),
        "check_ins",
    )
    add(
        MessageCustomer.objects.filter(period("sent_at"))
        .filter(message__owners__isnull=False)
        .values_list("customer_id", "message__owners__user_id", "sent_at"),
        "mails",
    )
    add(
        Quote.objects.filter(period("created_at")).values_list(
            "customer_id", "owner_id", "created_at"
        ),
        "quotes",
    )
    lost = Quote.objects.filter(period("lost_at"), status=QuoteStatus.LOST)
    add(lost.values_list("customer_id", "owner_id", "lost_at"), "lost")
    add(
        lost.filter(Q(lost_reason__code="competitor") | ~Q(lost_competitor="")).values_list(
            "customer_id", "owner_id", "lost_at"
        ),
        "lost_competitor",
    )
    for customer_id, rep_id, moment, amount in (
        Order.objects.filter(period("created_at"))
        .exclude(status__in=(OrderStatus.CANCELLED, OrderStatus.LOST))
        .values_list("customer_id", "owner_id", "created_at", F("net_total") + F("tax_total"))
    ):
        cell = cells[(customer_id, rep_id, _local_week(moment))]
        cell["orders"] = cell.get("orders", 0) + 1
        cell["order_amount"] = cell.get("order_amount", Decimal(0)) + Decimal(amount)
    with transaction.atomic():
        stale = ActivityWeek.objects.all()
        if start is not None:
            stale = stale.filter(week__gte=start)
        stale.delete()
        rows_insert(
            ActivityWeek,
            [
                {"customer_id": customer_id, "rep_id": rep_id, "week": week, **values}
                for (customer_id, rep_id, week), values in cells.items()
            ],
        )
    return len(cells)
