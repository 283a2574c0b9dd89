"""Receivables ageing and the collection rate per rep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    Q,
)
from django.utils.translation import gettext as _

from kedun.org.models import User
from kedun.sales.models import (
    Invoice,
)
from kedun.sales.money import ZERO

from .common import (
    MONEY,
    local_today,
    money_sum,
    owned_by,
    owners_in_scope,
    ratio,
)

# -- receivables ageing -------------------------------------------------------------------------


def _with_reps(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Rows grouped by rep_id, with the rep's username and full name, by username: the names
    are read once per rep, not joined to every invoice before grouping."""
    rows = list(rows)
    reps = {
        pk: (username, full_name)
        for pk, username, full_name in User.objects.filter(
            pk__in={row["rep_id"] for row in rows}
        ).values_list("pk", "username", "full_name")
    }
    named = [
        {**row, "username": reps[row["rep_id"]][0], "full_name": reps[row["rep_id"]][1]}
        for row in rows
    ]
    return sorted(named, key=lambda row: (row["username"], row["rep_id"]))


AGEING_BUCKETS = ("not_due", "0_30", "31_60", "61_90", "over_90")


@dataclass(frozen=True)
class AgeingBucket:
    key: str  # one of AGEING_BUCKETS
    label: str
    invoices: int
    open_amount: Decimal


@dataclass(frozen=True)
class RepAgeing:
    rep_id: int
    username: str
    full_name: str
    buckets: list[AgeingBucket]

    @property
    def open_amount(self) -> Decimal:
        return sum((bucket.open_amount for bucket in self.buckets), ZERO)


@dataclass(frozen=True)
class Ageing:
    today: dt.date
    buckets: list[AgeingBucket]
    by_rep: list[RepAgeing]

    @property
    def open_amount(self) -> Decimal:
        return sum((bucket.open_amount for bucket in self.buckets), ZERO)


def ageing_conditions(today: dt.date) -> dict[str, Q]:
    """Days past due_on: not yet due, 0–30 (due today counts 0), 31–60, 61–90, over 90."""

    def days_ago(n: int) -> dt.date:
        return today - dt.timedelta(days=n)

    return {
        "not_due": Q(due_on__gt=today),
        "0_30": Q(due_on__lte=today, due_on__gte=days_ago(30)),
        "31_60": Q(due_on__lt=days_ago(30), due_on__gte=days_ago(60)),
        "61_90": Q(due_on__lt=days_ago(60), due_on__gte=days_ago(90)),
        "over_90": Q(due_on__lt=days_ago(90)),
    }


def _ageing_labels() -> dict[str, str]:
    return {
        "not_due": _("Not yet due"),
        "0_30": _("0–30 days overdue"),
        "31_60": _("31–60 days overdue"),
        "61_90": _("61–90 days overdue"),
        "over_90": _("Over 90 days overdue"),
    }


def receivables_ageing(*, viewer: User, today: dt.date | None = None) -> Ageing:
    """Open invoices (amount − paid_amount > 0) by days past their due date, for the whole
    scope and per rep (the order's owner, kept on the invoice). One GROUP BY over the open
    invoices."""
    today = local_today(today)
    conditions = ageing_conditions(today)
    open_amount = ExpressionWrapper(F("amount") - F("paid_amount"), output_field=MONEY)
    aggregates: dict[str, Any] = {}
    for key, condition in conditions.items():
        aggregates[f"{key}_count"] = Count("amount", filter=condition)
        aggregates[f"{key}_amount"] = money_sum(open_amount, condition)
    rows = _with_reps(
        Invoice.objects.filter(owned_by(owners_in_scope(viewer)))
        .filter(paid_amount__lt=F("amount"))
        .values(rep_id=F("owner_id"))
        .annotate(**aggregates)
        .order_by()
    )
    labels = _ageing_labels()

    def buckets(row: Any) -> list[AgeingBucket]:
        return [
            AgeingBucket(key, labels[key], row[f"{key}_count"], row[f"{key}_amount"])
            for key in AGEING_BUCKETS
        ]

    by_rep = [
        RepAgeing(row["rep_id"], row["username"], row["full_name"], buckets(row)) for row in rows
    ]
    totals = [
        AgeingBucket(
            key,
            labels[key],
            sum(rep.buckets[i].invoices for rep in by_rep),
            sum((rep.buckets[i].open_amount for rep in by_rep), ZERO),
        )
        for i, key in enumerate(AGEING_BUCKETS)
    ]
    return Ageing(today=today, buckets=totals, by_rep=by_rep)


# -- collection rate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RepCollection:
    rep_id: int
    username: str
    full_name: str
    invoices: int
    invoiced: Decimal
    paid: Decimal

    @property
    def rate(self) -> Decimal | None:
        """paid / invoiced to four places (0.8750 = 87.5 %); None when nothing was invoiced."""
        return ratio(self.paid, self.invoiced)


@dataclass(frozen=True)
class Collection:
    by_rep: list[RepCollection]
    invoiced: Decimal
    paid: Decimal

    @property
    def rate(self) -> Decimal | None:
        return ratio(self.paid, self.invoiced)


def collection_by_rep(*, viewer: User, since: dt.date, until: dt.date) -> Collection:
    """Of the invoices that fell due in the period (due_on from `since` to `until`), how much
    has been paid so far, per rep (the order's owner, kept on the invoice). Invoices not yet
    due do not lower a rep's rate; one GROUP BY."""
    rows = _with_reps(
        Invoice.objects.filter(owned_by(owners_in_scope(viewer)))
        .filter(due_on__gte=since, due_on__lte=until)
        .values(rep_id=F("owner_id"))
        .annotate(invoices=Count("*"), invoiced=money_sum("amount"), paid=money_sum("paid_amount"))
        .order_by()
    )
    by_rep = [RepCollection(**row) for row in rows]
    return Collection(
        by_rep=by_rep,
        invoiced=sum((row.invoiced for row in by_rep), ZERO),
        paid=sum((row.paid for row in by_rep), ZERO),
    )
