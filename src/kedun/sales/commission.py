"""Commission on collected cash (提成, MISSION §5): accrued when a payment is recorded, partly
retained for a clean period (留存提成, the article's long-term incentive), released by a daily
sweep, or forfeited by a manager after proven diversion — a ledger per rep.

How an accrual is computed (`commission_accrue`):

- base: the net share of the payment — payment × order.net_total / order.gross_total, rounded
  half up to the cent — because commission is paid on the sale, not on the VAT collected;
- rate: per order line, the product's commission rate, else the rep's (RepTerms), else the
  company's (KEDUN_COMMISSION_RATE); the order's rate is their average weighted by the lines'
  net amounts, so a payment pays each product's rate on its share of the order;
- commission = base × Σ(line net × line rate) / Σ(line net), rounded half up to the cent;
- retained = commission × KEDUN_COMMISSION_RETAINED, rounded half up to the cent, released on
  the payment's date + KEDUN_COMMISSION_CLEAN_DAYS; payable = commission − retained, so the two
  always add up to the commission.

The rep credited is the order's owner when the cash arrives (a handover moves future
commission with the order). Zero amounts write no entry.

Cash that did not stay takes its commission back (`commission_clawback`): a bounce or a refund
(PaymentReversal) writes a clawed-back entry, a positive amount the ledger deducts, charged to
the rep the payment's commission went to — not the order's owner now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid, NotFound
from kedun.notifications.services import notify
from kedun.org.models import Role, User
from kedun.org.selectors import scope_filter

from .models import (
    CommissionEntry,
    CommissionStatus,
    Order,
    OrderLine,
    Payment,
    PaymentReversal,
    RepTerms,
)
from .money import ZERO, to_cents

# Entries released per transaction: one UPDATE and one audit event each, short write locks.
RELEASE_BATCH = 5_000
FORFEITING_ROLES = (Role.MANAGER, Role.ADMIN)


# -- services -----------------------------------------------------------------------------------


def rep_commission_rate(rep: User) -> Decimal:
    """The rep's own rate (RepTerms), else the company's."""
    terms = RepTerms.objects.filter(rep=rep).values_list("commission_rate", flat=True).first()
    return terms if terms is not None else Decimal(settings.KEDUN_COMMISSION_RATE)


@dataclass(frozen=True)
class Accrual:
    base: Decimal  # the net share of the payment
    commission: Decimal
    payable: Decimal
    retained: Decimal


def commission_of(*, order: Order, amount: Decimal) -> Accrual:
    """What a payment of `amount` on `order` earns its owner (see the module's docstring)."""
    gross = order.net_total + order.tax_total
    if gross <= 0:
        return Accrual(ZERO, ZERO, ZERO, ZERO)
    base = to_cents(amount * order.net_total / gross)
    rep_rate = rep_commission_rate(order.owner)
    lines = list(
        OrderLine.objects.filter(order=order).values_list("net_amount", "product__commission_rate")
    )
    weighted = sum((net * (rate if rate is not None else rep_rate) for net, rate in lines), ZERO)
    lines_net = sum((net for net, _rate in lines), ZERO)
    commission = to_cents(base * weighted / lines_net) if lines_net else to_cents(base * rep_rate)
    retained = to_cents(commission * Decimal(settings.KEDUN_COMMISSION_RETAINED))
    return Accrual(base, commission, commission - retained, retained)


def commission_accrue(*, payment: Payment) -> list[CommissionEntry]:
    """Write the commission a just-recorded payment earns: a payable entry and a retained one.

    Runs inside the payment's transaction (the payment service calls it), so the payment and
    its commission commit together. Calling it again for the same payment changes nothing.
    """
    with transaction.atomic():
        existing = list(CommissionEntry.objects.filter(payment=payment).order_by("pk"))
        if existing:
            return existing
        order = Order.objects.select_related("owner").get(pk=payment.invoice.order_id)
        accrual = commission_of(order=order, amount=payment.amount)
        release_on = payment.received_on + dt.timedelta(days=settings.KEDUN_COMMISSION_CLEAN_DAYS)
        now = clock.now()
        parts = [
            (CommissionStatus.PAYABLE, accrual.payable, None),
            (CommissionStatus.RETAINED, accrual.retained, release_on),
        ]
        entries = CommissionEntry.objects.bulk_create(
            CommissionEntry(
                rep=order.owner,
                payment=payment,
                order=order,
                amount=amount,
                status=status,
                release_on=release_on_,
                created_at=now,
            )
            for status, amount, release_on_ in parts
            if amount > 0
        )
        if entries:
            audit_record(
                actor=None,
                actor_label="commission",
                action="sales.commission_accrued",
                target=payment,
                changes={
                    "rep": order.owner_id,
                    "order": order.pk,
                    "base": str(accrual.base),
                    "payable": str(accrual.payable),
                    "retained": str(accrual.retained),
                    "release_on": release_on.isoformat(),
                },
            )
        return entries


def commission_clawback(*, reversal: PaymentReversal) -> CommissionEntry | None:
    """Take back the commission the reversed cash earned: one clawed-back entry per reversal.

    What the payment earned is its accrual, payable plus retained (whether the retained part
    is still retained or already released); a retained part the rep forfeited is not counted,
    as it was never theirs. A reversal takes its share, amount / payment × earned, rounded
    half up to the cent and never more than is left to take back; the reversal that leaves
    nothing of the payment takes exactly what is left, so a bounce, or refunds adding up to
    the payment, take back the accrual to the cent.

    The retained entry stays as it is: the clawback is taken from the whole, so if the
    retained part is later released the rep is paid it and the clawback offsets it — simpler
    than splitting one deduction across two entries, and the same sum for the rep. Until then
    the rep's earned total may dip below zero: a debt against future commission.

    Runs inside the reversal's transaction (payment_reverse calls it, under the order's lock
    and after the payment's running total moved), so the two commit together. Calling it
    again for the same reversal changes nothing. Nothing accrued (zero commission): no entry.
    """
    with transaction.atomic():
        payment = Payment.objects.get(pk=reversal.payment_id)
        entries = list(
            CommissionEntry.objects.select_for_update().filter(payment=payment).order_by("pk")
        )
        done = [entry for entry in entries if entry.reversal_id == reversal.pk]
        if done:
            return done[0]
        accruals = [entry for entry in entries if entry.reversal_id is None]
        if not accruals:
            return None
        earned = sum((e.amount for e in accruals if e.status != CommissionStatus.FORFEITED), ZERO)
        taken = sum((e.amount for e in entries if e.status == CommissionStatus.CLAWED_BACK), ZERO)
        left = max(earned - taken, ZERO)
        if payment.reversed_amount >= payment.amount:
            share = left
        else:
            share = min(to_cents(earned * reversal.amount / payment.amount), left)
        if share <= 0:
            return None
        rep_id, order_id = accruals[0].rep_id, accruals[0].order_id
        now = clock.now()
        entry = CommissionEntry.objects.create(
            rep_id=rep_id,
            payment=payment,
            order_id=order_id,
            amount=share,
            status=CommissionStatus.CLAWED_BACK,
            reversal=reversal,
            created_at=now,
            settled_at=now,
        )
        audit_record(
            actor=None,
            actor_label="commission",
            action="sales.commission_clawed_back",
            target=payment,
            changes={
                "rep": rep_id,
                "order": order_id,
                "reversal": reversal.pk,
                "kind": reversal.kind,
                "reversed": str(reversal.amount),
                "earned": str(earned),
                "clawed_back": [str(taken), str(taken + share)],
            },
        )
        notify(
            recipients=[User.objects.get(pk=rep_id)],
            kind="commission_clawed_back",
            title=_("Commission of %(amount)s was clawed back: a payment of %(paid)s was reversed")
            % {"amount": share, "paid": payment.amount},
            body=reversal.reason,
        )
        return entry


@dataclass(frozen=True)
class Settled:
    entries: int
    amount: Decimal


def commission_release_due(*, now: dt.datetime | None = None) -> Settled:
    """Release every retained entry whose clean period is over (release_on on or before
    today, local time). Forfeited entries are no longer retained, so they never come back.

    Set-based and safe to rerun or run twice at once: each batch locks its rows, then one
    conditional UPDATE moves them; a released entry no longer matches.
    """
    now = now or clock.now()
    today = timezone.localdate(now)
    released = 0
    total = ZERO
    while True:
        with transaction.atomic():
            batch = list(
                CommissionEntry.objects.select_for_update()
                .filter(status=CommissionStatus.RETAINED, release_on__lte=today)
                .order_by("pk")
                .values_list("pk", "rep_id", "amount")[:RELEASE_BATCH]
            )
            if not batch:
                break
            changed = CommissionEntry.objects.filter(
                pk__in=[pk for pk, _rep, _amount in batch], status=CommissionStatus.RETAINED
            ).update(status=CommissionStatus.RELEASED, settled_at=now)
            audit_record(
                actor=None,
                actor_label="commission",
                action="sales.commission_released",
                object_type="sales.commissionentry",
                changes={
                    "on": today.isoformat(),
                    "released": [[pk, rep, str(value)] for pk, rep, value in batch],
                },
            )
        released += changed
        total += sum((value for _pk, _rep, value in batch), ZERO)
    return Settled(released, total)


def commission_forfeit(*, actor: User, rep: User, reason: str) -> Settled:
    """A manager (of the rep's part of the company) or the boss forfeits all of the rep's
    retained commission after proven diversion. Payable and released entries stay as they are;
    the reason is required, audited and sent to the rep."""
    reason = " ".join(reason.split())
    in_scope = User.objects.filter(pk=rep.pk).filter(scope_filter(viewer=actor, owner_field=""))
    if not actor.has_role(*FORFEITING_ROLES) or rep.pk == actor.pk or not in_scope.exists():
        raise Forbidden()
    if len(reason) < 5:
        raise Invalid(_("Give a reason (at least 5 characters)."))
    now = clock.now()
    with transaction.atomic():
        rows = list(
            CommissionEntry.objects.select_for_update()
            .filter(rep=rep, status=CommissionStatus.RETAINED)
            .order_by("pk")
            .values_list("pk", "amount")
        )
        if not rows:
            raise Invalid(_("Nothing is retained for this rep."), code="nothing_retained")
        CommissionEntry.objects.filter(
            pk__in=[pk for pk, _amount in rows], status=CommissionStatus.RETAINED
        ).update(status=CommissionStatus.FORFEITED, settled_at=now)
        total = sum((amount for _pk, amount in rows), ZERO)
        audit_record(
            actor=actor,
            action="sales.commission_forfeited",
            target=rep,
            changes={
                "reason": reason,
                "entries": [pk for pk, _amount in rows],
                "amount": str(total),
            },
        )
        notify(
            recipients=[rep],
            kind="commission_forfeited",
            title=_("Your retained commission of %(amount)s was forfeited") % {"amount": total},
            body=reason,
        )
    return Settled(len(rows), total)


# -- selectors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerTotals:
    payable: Decimal
    retained: Decimal
    released: Decimal
    forfeited: Decimal
    clawed_back: Decimal

    @property
    def earned(self) -> Decimal:
        """Paid or to be paid: payable now plus released, less what was clawed back."""
        return self.payable + self.released - self.clawed_back


@dataclass(frozen=True)
class Ledger:
    entries: QuerySet[CommissionEntry]  # newest first; the page paginates it
    totals: LedgerTotals


def _status_sums() -> dict[str, Coalesce]:
    zero = Value(ZERO, output_field=DecimalField(max_digits=14, decimal_places=2))
    return {
        status: Coalesce(Sum("amount", filter=Q(status=status)), zero)
        for status in CommissionStatus.values
    }


def commission_ledger(*, viewer: User, rep: User | None = None) -> Ledger:
    """The commission entries the viewer may see — a rep their own, a manager their team's, by
    the viewer's data scope on the rep — optionally of one rep, with the totals per status."""
    entries = CommissionEntry.objects.filter(scope_filter(viewer=viewer, owner_field="rep"))
    if rep is not None:
        entries = entries.filter(rep=rep)
    totals = entries.aggregate(**_status_sums())
    return Ledger(
        entries=entries.select_related("rep", "order", "payment").order_by("-created_at", "-pk"),
        # to_cents: SQLite sums decimals as floats; PostgreSQL's come back exact already.
        totals=LedgerTotals(**{status: to_cents(total) for status, total in totals.items()}),
    )


def commission_by_rep(*, viewer: User) -> QuerySet[CommissionEntry, Any]:
    """One row per rep the viewer may see: rep id, username, full name and the total per
    status — one GROUP BY (the ledger index starts with rep)."""
    return (
        CommissionEntry.objects.filter(scope_filter(viewer=viewer, owner_field="rep"))
        .values("rep_id", "rep__username", "rep__full_name")
        .annotate(**_status_sums())
        .order_by("rep__username")
    )


def commission_rep_get_for_viewer(*, viewer: User, rep_id: int) -> User:
    """A person whose ledger the viewer may open: in the viewer's data scope, active or not (a
    departed rep's ledger still has retained commission). Missing and out of scope alike are
    not found."""
    rep = User.objects.filter(pk=rep_id).filter(scope_filter(viewer=viewer, owner_field="")).first()
    if rep is None:
        raise NotFound()
    return rep


def commission_release_schedule(
    *, ledger: Ledger, limit: int = 12
) -> list[tuple[dt.date | None, Decimal]]:
    """When the retained commission of a ledger is due for release: the amount per date, the
    nearest first, at most `limit` dates."""
    rows = (
        ledger.entries.filter(status=CommissionStatus.RETAINED)
        .values("release_on")
        .annotate(total=Sum("amount"))
        .order_by("release_on")[:limit]
    )
    return [(row["release_on"], to_cents(row["total"])) for row in rows]
