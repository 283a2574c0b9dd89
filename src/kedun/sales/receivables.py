"""Receivables (应收账款, MISSION §5): the open invoices a viewer may see, each with its days
overdue and its ageing bucket, and the daily reminders of overdue invoices.

The buckets are reports.AGEING_BUCKETS (reports.receivables_ageing sums them per rep): not yet
due, then 0–30, 31–60, 61–90 and over 90 days past the invoice's due date — due today is 0
days overdue. Days are the company's local dates.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kedun.core import clock
from kedun.core.errors import Invalid
from kedun.notifications.models import Notification
from kedun.notifications.services import notify
from kedun.org.models import Role, User

from .models import Invoice, Order
from .money import ZERO
from .orders import BACK_OFFICE_ROLES
from .reports import AGEING_BUCKETS
from .reports.common import owners_in_scope
from .reports.receivables import ageing_conditions

# Who reads receivables (the page and the API alike): the money is finance's, the managers' and
# the boss's to chase, the auditor's to read.
MONEY_VIEWERS = (Role.ADMIN, Role.MANAGER, Role.FINANCE, Role.AUDITOR)

OWNER_KIND = "invoices_overdue"
FINANCE_KIND = "receivables_overdue"
LISTED = 10  # invoices named in one reminder; the rest are counted

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def ageing_bucket(days_overdue: int) -> str:
    if days_overdue < 0:
        return "not_due"
    if days_overdue <= 30:
        return "0_30"
    if days_overdue <= 60:
        return "31_60"
    if days_overdue <= 90:
        return "61_90"
    return "over_90"


@dataclass(frozen=True)
class Receivable:
    invoice: Invoice
    open_amount: Decimal
    days_overdue: int  # negative: days until it falls due
    bucket: str


def receivable_of(invoice: Invoice, *, today: dt.date | None = None) -> Receivable:
    today = today or timezone.localdate(clock.now())
    days = (today - invoice.due_on).days
    return Receivable(invoice, invoice.amount - invoice.paid_amount, days, ageing_bucket(days))


def receivables_open(
    *, viewer: User, bucket: str | None = None, today: dt.date | None = None
) -> QuerySet[Invoice]:
    """The open invoices (not fully paid) of the orders the viewer may see — optionally of one
    ageing bucket — oldest due first, each annotated with `open_amount`. For the page to
    paginate; receivable_of() gives a row its days overdue and bucket.

    The same sight as order_visible_filter, asked of the invoice's own columns: the back office
    sees all; others the invoices whose owner (the order's) is in their scope, or of orders
    they created. An `order IN (every visible order)` made the boss's page take a second at
    390,000 invoices (bench/sales_reports.py)."""
    today = today or timezone.localdate(clock.now())
    invoices = Invoice.objects.filter(paid_amount__lt=F("amount"))
    if not viewer.is_active:
        invoices = invoices.none()
    elif viewer.role not in BACK_OFFICE_ROLES:
        owners = owners_in_scope(viewer)
        if owners is not None:
            created = Order.objects.filter(created_by=viewer).values("pk")
            invoices = invoices.filter(Q(owner__in=owners) | Q(order__in=created))
    invoices = (
        # The page's rows fetch their orders, customers and reps afterwards: joined here, the
        # planner may start from the users and sort every open invoice to find the first 25.
        invoices.prefetch_related("order__customer", "order__owner")
        .annotate(open_amount=ExpressionWrapper(F("amount") - F("paid_amount"), _MONEY))
        .order_by("due_on", "pk")
    )
    if bucket is not None:
        if bucket not in AGEING_BUCKETS:
            raise Invalid(_("Unknown ageing bucket."))
        invoices = invoices.filter(ageing_conditions(today)[bucket])
    return invoices


def overdue_reminders_send(now: dt.datetime | None = None) -> int:
    """Tell each order owner about their overdue invoices, and finance about all of them —
    once a day per person, however often the job runs. Returns the notifications written."""
    now = now or clock.now()
    today = timezone.localdate(now)
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    overdue = list(
        Invoice.objects.filter(paid_amount__lt=F("amount"), due_on__lt=today)
        .select_related("order")
        .order_by("due_on", "pk")
    )
    if not overdue:
        return 0
    by_owner: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in overdue:
        by_owner[invoice.order.owner_id].append(invoice)
    finance = list(User.objects.filter(role=Role.FINANCE, is_active=True).order_by("pk"))
    wanted = {
        **{user.pk: (user, OWNER_KIND, by_owner[user.pk]) for user in _owners(by_owner)},
        **{user.pk: (user, FINANCE_KIND, overdue) for user in finance},
    }
    sent = 0
    with transaction.atomic():
        # Locking the recipients makes two runs at once wait for each other, so the second
        # sees the first one's notifications and sends none.
        list(User.objects.select_for_update().filter(pk__in=wanted).order_by("pk").values("pk"))
        already = set(
            Notification.objects.filter(
                kind__in=[OWNER_KIND, FINANCE_KIND],
                created_at__gte=start_of_day,
                recipient_id__in=wanted,
            ).values_list("recipient_id", "kind")
        )
        for pk, (user, kind, invoices) in sorted(wanted.items()):
            if (pk, kind) in already:
                continue
            sent += len(
                notify(
                    recipients=[user],
                    kind=kind,
                    title=_title(invoices),
                    body=_body(invoices, today),
                )
            )
    return sent


def _owners(by_owner: dict[int, list[Invoice]]) -> list[User]:
    return list(User.objects.filter(pk__in=by_owner, is_active=True).order_by("pk"))


def _title(invoices: list[Invoice]) -> str:
    open_amount = sum((i.amount - i.paid_amount for i in invoices), ZERO)
    return ngettext(
        "%(count)d overdue invoice, %(amount)s open",
        "%(count)d overdue invoices, %(amount)s open",
        len(invoices),
    ) % {"count": len(invoices), "amount": open_amount}


def _body(invoices: list[Invoice], today: dt.date) -> str:
    lines = [
        _("%(order)s / %(invoice)s: %(amount)s, %(days)d days overdue")
        % {
            "order": i.order.number,
            "invoice": i.number,
            "amount": i.amount - i.paid_amount,
            "days": (today - i.due_on).days,
        }
        for i in invoices[:LISTED]
    ]
    if len(invoices) > LISTED:
        lines.append(_("… and %(more)d more") % {"more": len(invoices) - LISTED})
    return "\n".join(lines)
