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


def _grouped(rows: QuerySet[Any]) -> list[dict[str, Any]]:
    """One GROUP BY (status, lost reason, competitor): the tallies by status and the losses
    by reason and competitor from a single pass over the period's rows — reason and
    competitor are empty on everything not lost, so there are a few dozen groups. Read in
    group order from the (status, lost_reason, lost_competitor, …) index on SQLite; one hash
    aggregate on PostgreSQL (bench/sales_reports.py: two queries per table took twice as
    long)."""
    return list(
        rows.values("status", "lost_reason_id", "lost_competitor")
        .annotate(n=Count("*"), amount=money_sum("net_total"))
        .order_by()
    )


def _tally(groups: list[dict[str, Any]], wanted: Callable[[str], bool]) -> Tally:
    chosen = [group for group in groups if wanted(group["status"])]
    return Tally(
        sum(group["n"] for group in chosen), sum((group["amount"] for group in chosen), ZERO)
    )


def wins_and_losses(
    *,
    viewer: User,
    since: dt.date | None = None,
    until: dt.date | None = None,
    top: int = 20,
) -> WinLoss:
    """Quotes and orders created in the period, won and lost, the losses by lost reason and
    the competitors named (as recorded, blanks ignored): one GROUP BY per table, whose short
    results are merged here."""
    owners = owners_in_scope(viewer)
    quote_groups = _grouped(scoped_quotes(owners).filter(within("created_at", since, until)))
    order_groups = _grouped(scoped_orders(owners).filter(within("created_at", since, until)))
    quotes_won = _tally(quote_groups, lambda status: status == QuoteStatus.ACCEPTED)
    quotes_lost = _tally(quote_groups, lambda status: status == QuoteStatus.LOST)
    orders_won = _tally(order_groups, lambda status: status not in NOT_WON)
    orders_lost = _tally(order_groups, lambda status: status == OrderStatus.LOST)

    reasons: dict[int | None, dict[str, Any]] = {}
    named: dict[str, dict[str, int]] = {}
    for kind, groups, lost in (
        ("quotes", quote_groups, QuoteStatus.LOST),
        ("orders", order_groups, OrderStatus.LOST),
    ):
        for group in groups:
            if group["status"] != lost:
                continue
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
