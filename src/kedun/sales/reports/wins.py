"""Wins and losses, with the lost reasons and the competitors named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    QuerySet,
)
from django.utils.translation import gettext as _

from kedun.org.models import User
from kedun.sales.models import (
    LostReason,
    OrderStatus,
    QuoteStatus,
)
from kedun.sales.money import ZERO

from .common import (
    money_sum,
    owners_in_scope,
    ratio,
    scoped_orders,
    scoped_quotes,
    within,
)

# Orders that did not become business; every other status is an order won.
NOT_WON = (OrderStatus.CANCELLED, OrderStatus.LOST)


# -- wins and losses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    count: int
    amount: Decimal  # before tax


@dataclass(frozen=True)
class ReasonRow:
    reason_id: int | None  # None: lost without a reason recorded
    label: str
    quotes: int
    orders: int
    amount: Decimal  # before tax, quotes and orders together


@dataclass(frozen=True)
class CompetitorRow:
    name: str
    quotes: int
    orders: int

    @property
    def total(self) -> int:
        return self.quotes + self.orders


@dataclass(frozen=True)
class WinLoss:
    quotes_won: Tally  # accepted
    quotes_lost: Tally
    orders_won: Tally  # neither cancelled nor lost
    orders_lost: Tally
    reasons: list[ReasonRow]  # most losses first
    competitors: list[CompetitorRow]  # the `top` most named, most first

    @property
    def quote_win_rate(self) -> Decimal | None:
        """Accepted / (accepted + lost), to four places."""
        decided = self.quotes_won.count + self.quotes_lost.count
        return ratio(Decimal(self.quotes_won.count), Decimal(decided))


def _tallies(rows: QuerySet[Any], won: Callable[[str], bool], lost: str) -> tuple[Tally, Tally]:
    """Won and lost from one GROUP BY status: it reads the (status, created_at, owner,
    net_total) index in order, where a conditional count per figure weighed every row
    (SQLite, 1.1 million quotes and orders company-wide: see bench/sales_reports.py)."""
    won_count, won_amount, lost_count, lost_amount = 0, ZERO, 0, ZERO
    for group in rows.values("status").annotate(n=Count("*"), amount=money_sum("net_total")):
        if won(group["status"]):
            won_count += group["n"]
            won_amount += group["amount"]
        elif group["status"] == lost:
            lost_count += group["n"]
            lost_amount += group["amount"]
    return Tally(won_count, won_amount), Tally(lost_count, lost_amount)


def wins_and_losses(
    *,
    viewer: User,
    since: dt.date | None = None,
    until: dt.date | None = None,
    top: int = 20,
) -> WinLoss:
    """Quotes and orders created in the period, won and lost, the losses by lost reason and
    the competitors named (as recorded, blanks ignored): two aggregates over the period and a
    GROUP BY (reason, competitor) over the lost quotes and the lost orders, whose short
    results are merged here."""
    owners = owners_in_scope(viewer)
    quotes = scoped_quotes(owners).filter(within("created_at", since, until))
    orders = scoped_orders(owners).filter(within("created_at", since, until))
    quotes_won, quotes_lost = _tallies(
        quotes, lambda status: status == QuoteStatus.ACCEPTED, QuoteStatus.LOST
    )
    orders_won, orders_lost = _tallies(
        orders, lambda status: status not in NOT_WON, OrderStatus.LOST
    )
    lost_quotes = quotes.filter(status=QuoteStatus.LOST)
    lost_orders = orders.filter(status=OrderStatus.LOST)

    # One GROUP BY (reason, competitor) per kind gives both lists.
    reasons: dict[int | None, dict[str, Any]] = {}
    named: dict[str, dict[str, int]] = {}
    for kind, lost in (("quotes", lost_quotes), ("orders", lost_orders)):
        grouped = (
            lost.values("lost_reason_id", "lost_competitor")
            .annotate(n=Count("pk"), amount=money_sum("net_total"))
            .order_by()
        )
        for group in grouped:
            entry = reasons.setdefault(
                group["lost_reason_id"], {"quotes": 0, "orders": 0, "amount": ZERO}
            )
            entry[kind] += group["n"]
            entry["amount"] += group["amount"]
            if group["lost_competitor"]:
                counts = named.setdefault(group["lost_competitor"], {"quotes": 0, "orders": 0})
                counts[kind] += group["n"]
    labels = dict(
        LostReason.objects.filter(pk__in=[pk for pk in reasons if pk]).values_list("pk", "label")
    )
    reason_rows = sorted(
        (
            ReasonRow(
                reason_id=pk,
                label=labels.get(pk, "") if pk else _("No reason given"),
                **counts,
            )
            for pk, counts in reasons.items()
        ),
        key=lambda row: (-(row.quotes + row.orders), -row.amount, row.label),
    )
    competitors = sorted(
        (CompetitorRow(name=name, **counts) for name, counts in named.items()),
        key=lambda row: (-row.total, row.name),
    )[:top]

    return WinLoss(
        quotes_won=quotes_won,
        quotes_lost=quotes_lost,
        orders_won=orders_won,
        orders_lost=orders_lost,
        reasons=reason_rows,
        competitors=competitors,
    )
