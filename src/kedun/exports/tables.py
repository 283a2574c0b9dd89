"""What each kind of export holds: its columns, its rows as the requester may see them (data
scope through the apps' own selectors, contact data masked unless the requester owns the
customer or is on its account team), and the canary row dressed as one of those rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.core import clock
from kedun.customers import contact_identity as contacts
from kedun.customers.access import active_team_q
from kedun.customers.models import Contact, Customer, Stage, TeamMember
from kedun.customers.presentation import mask_phones
from kedun.customers.selectors import CustomerFilters, customer_list_visible_to
from kedun.org.models import User
from kedun.sales.orders.common import order_list_visible_to
from kedun.sales.reports.delivery import delivery_by_customer, with_customer_names

from .models import Canary, ExportKind

Row = list[Any]
DELIVERY_REPORT_DAYS = 90


@dataclass(frozen=True)
class Table:
    headers: list[str]
    count: Callable[[], int]
    rows: Callable[[int], Iterator[Row]]  # at most this many
    canary_row: Callable[[Canary], Row]


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _unmasked_ids(viewer: User) -> set[int]:
    """Customers whose contact data the viewer sees in full besides their own: the account
    teams they are on (customers.access.contact_access, for a whole list at once; a manager's
    reveal is one customer at a time on its page, never a file)."""
    return set(
        TeamMember.objects.filter(active_team_q(), user=viewer).values_list(
            "customer_id", flat=True
        )
    )


def _customers(viewer: User, filters: dict[str, str]) -> QuerySet[Customer]:
    return customer_list_visible_to(
        viewer=viewer,
        filters=CustomerFilters(search=filters.get("q", ""), stage=filters.get("stage", "")),
    )


def _masked(viewer: User, team: set[int], customer_id: int, owner_id: int | None) -> bool:
    return not (owner_id == viewer.pk or customer_id in team)


def customers_table(viewer: User, filters: dict[str, str]) -> Table:
    customers = _customers(viewer, filters)

    def rows(limit: int) -> Iterator[Row]:
        team = _unmasked_ids(viewer)
        for c in customers[:limit].iterator(chunk_size=500):
            masked = _masked(viewer, team, c.pk, c.owner_id)
            yield [
                c.code,
                c.name,
                c.get_stage_display(),
                c.grade,
                c.owner.display_name if c.owner else "",
                c.owner.department.name if c.owner else "",
                c.city,
                mask_phones(c.phone) if masked and c.phone else c.phone,
                contacts.mask_email(c.email) if masked and c.email else c.email,
                c.website,
                contacts.mask_text(c.address, keep=0) if masked and c.address else c.address,
                _local(c.registered_at),
            ]

    def canary_row(canary: Canary) -> Row:
        return [
            canary.code,
            canary.name,
            str(Stage.CONTACTED.label),
            "B",
            viewer.display_name,
            viewer.department.name,
            canary_city(canary),
            canary.phone,
            canary.email,
            "",
            "",
            _local(canary.created_at - dt.timedelta(days=37)),
        ]

    return Table(
        headers=[
            _("Customer number"),
            _("Name"),
            _("Stage"),
            _("Grade"),
            _("Owner"),
            _("Department"),
            _("City"),
            _("Phone"),
            _("Email"),
            _("Website"),
            _("Address"),
            _("Registered at"),
        ],
        count=customers.count,
        rows=rows,
        canary_row=canary_row,
    )


def contacts_table(viewer: User, filters: dict[str, str]) -> Table:
    people = (
        Contact.objects.filter(customer_id__in=_customers(viewer, filters).values("pk"))
        .select_related("customer")
        .order_by("customer_id", "pk")
    )

    def rows(limit: int) -> Iterator[Row]:
        team = _unmasked_ids(viewer)
        for p in people[:limit].iterator(chunk_size=500):
            masked = _masked(viewer, team, p.customer_id, p.customer.owner_id)
            yield [
                p.customer.code,
                p.customer.name,
                contacts.mask_text(p.name, keep=1) if masked else p.name,
                p.title,
                mask_phones(p.phone) if masked and p.phone else p.phone,
                contacts.mask_email(p.email) if masked and p.email else p.email,
                contacts.mask_text(p.wechat, keep=2) if masked and p.wechat else p.wechat,
            ]

    def canary_row(canary: Canary) -> Row:
        return [canary.code, canary.name, "王经理", "采购经理", canary.phone, canary.email, ""]

    return Table(
        headers=[
            _("Customer number"),
            _("Customer"),
            _("Contact"),
            _("Title"),
            _("Phone"),
            _("Email"),
            _("WeChat"),
        ],
        count=people.count,
        rows=rows,
        canary_row=canary_row,
    )


def orders_table(viewer: User, filters: dict[str, str]) -> Table:
    orders = order_list_visible_to(viewer=viewer)

    def rows(limit: int) -> Iterator[Row]:
        for o in orders[:limit].iterator(chunk_size=500):
            yield [
                o.number,
                o.customer.code,
                o.customer.name,
                o.owner.display_name if o.owner else "",
                o.get_status_display(),
                o.net_total,
                o.tax_total,
                o.paid_total,
                o.promised_date.isoformat(),
                _local(o.created_at),
            ]

    def canary_row(canary: Canary) -> Row:
        return [
            f"SO{canary.phone[-8:]}",
            canary.code,
            canary.name,
            viewer.display_name,
            _("Delivered"),
            "18600.00",
            "2418.00",
            "21018.00",
            (canary.created_at - dt.timedelta(days=20)).date().isoformat(),
            _local(canary.created_at - dt.timedelta(days=45)),
        ]

    return Table(
        headers=[
            _("Order number"),
            _("Customer number"),
            _("Customer"),
            _("Owner"),
            _("Status"),
            _("Amount before tax"),
            _("Tax"),
            _("Paid"),
            _("Promised delivery date"),
            _("Created at"),
        ],
        count=orders.count,
        rows=rows,
        canary_row=canary_row,
    )


def delivery_report_table(viewer: User, filters: dict[str, str]) -> Table:
    until = timezone.localdate(clock.now())
    since = until - dt.timedelta(days=DELIVERY_REPORT_DAYS)
    report = delivery_by_customer(viewer=viewer, since=since, until=until)

    def rows(limit: int) -> Iterator[Row]:
        page = with_customer_names(report[:limit])
        codes = dict(
            Customer.objects.filter(pk__in=[r["customer_id"] for r in page]).values_list(
                "pk", "code"
            )
        )
        for r in page:
            yield [
                codes.get(r["customer_id"], ""),
                r["name"],
                r["orders"],
                r["late"],
                r["early"],
                r["average_days_late"],
                r["most_days_late"],
            ]

    def canary_row(canary: Canary) -> Row:
        return [canary.code, canary.name, 2, 0, 1, 0, 0]

    return Table(
        headers=[
            _("Customer number"),
            _("Customer"),
            _("Orders delivered"),
            _("Late"),
            _("Early"),
            _("Average days late"),
            _("Most days late"),
        ],
        count=report.count,
        rows=rows,
        canary_row=canary_row,
    )


TABLES: dict[str, Callable[[User, dict[str, str]], Table]] = {
    ExportKind.CUSTOMERS: customers_table,
    ExportKind.CONTACTS: contacts_table,
    ExportKind.ORDERS: orders_table,
    ExportKind.DELIVERY_REPORT: delivery_report_table,
}

CITIES = ["杭州", "宁波", "苏州", "无锡", "合肥", "南京", "温州", "嘉兴", "常州", "绍兴"]


def canary_city(canary: Canary) -> str:
    return next((city for city in CITIES if canary.name.startswith(city)), "")
