"""`kedun import-history`: a company's past moved into Kedun (HISTORY-FORMAT.md).

Every line becomes Kedun's own record, in the tables the pages write — a follow-up a FollowUp,
a check-in a CheckIn, a quote a Quote with its lines, a payment a Payment, an email an archived
Message, a view or an export an AccessEvent — so that everything Kedun computes from history it
computes the same way from what it records itself.

How it stays correct and fast:
- Lines go in batches; each batch is one transaction holding its records, the digests of its
  lines (ImportedLine) and one audit event. A kill loses at most the batch in flight; a rerun
  skips every line whose digest is stored, so the same file twice adds nothing.
- Entities (departments, users, products, customers) are looked up by their code on every run,
  also when their line was imported before: later lines refer to them.
- The quotes, orders and invoices a batch's events refer to are read once per batch (one IN
  query per kind), changed in memory as the events arrive, and written at the end of the batch
  as plain rows (core.db.rows_insert) and UPDATEs — building a model instance per row cost
  more than the database did (549 → 5,000+ lines/s).
- A bad line (not JSON, a missing field, an unknown customer …) is reported with its number
  and reason; the good lines around it go in.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation

from kedun.audit.models import AccessEvent, AccessKind
from kedun.audit.services import audit_record
from kedun.comms.models import (
    AddressRole,
    Message,
    MessageAddress,
    MessageCustomer,
    MessageOwner,
    MessageSource,
)
from kedun.core import clock
from kedun.core.db import (
    bulk_write_mode,
    ids_reserve,
    planner_statistics_refresh,
    rows_insert,
    rows_update,
    tables_written,
)
from kedun.core.geo import Position, distance_m
from kedun.customers.bulk import NewCustomer, customers_insert
from kedun.customers.contact_identity import InvalidCreditCode
from kedun.customers.identity.keys import identity_keys
from kedun.customers.identity.parties import names_the_customer
from kedun.customers.identity_index import customers_contact_keys_refresh
from kedun.customers.models import (
    ContactChange,
    ContactField,
    Customer,
    FollowUp,
    FollowUpKind,
    Stage,
)
from kedun.field import checks as field_checks
from kedun.field.models import CheckIn, CheckInFlag, CheckInSource
from kedun.field.rules import FieldRuleBook
from kedun.lifecycle.rules import RuleBook
from kedun.org.models import Department, Role, User
from kedun.org.services import department_create, department_root, user_create
from kedun.sales.catalogue import lost_reason_resolve
from kedun.sales.models import (
    Invoice,
    LostReason,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Product,
    ProductDelivery,
    Quote,
    QuoteLine,
    QuoteStatus,
    Shipment,
    ShipmentLine,
)

from .models import ImportedLine, ImportRun
from .reading import (
    BadLine,
    HistoryFile,
    Line,
    LineError,
    code_of,
    moment,
    money,
    number,
    quantity,
    text,
)

BATCH_LINES = 5000
ENTITY_TYPES = ("department", "user", "product", "customer")
EVENT_TYPES = (
    "follow_up",
    "check_in",
    "quote",
    "quote_result",
    "order",
    "shipment",
    "invoice",
    "payment",
    "contact_change",
    "email",
    "view",
    "export",
    "user_deactivated",
)
# HISTORY-FORMAT.md's reasons, mapped onto Kedun's lost reasons (sales 0002's defaults).
LOST_REASONS = {
    "price": "price",
    "delivery": "delivery_time",
    "competitor": "competitor",
    "budget": "budget",
    "other": "other",
}
# Who records the steps a history line names nobody for (invoices, payments).
IMPORT_USERNAME = "history-import"
ZERO = Decimal("0")
CENT = Decimal("0.01")
# As the quote service moves a customer on (sales.quotes): only from these stages to quoted.
BEFORE_QUOTED = (Stage.LEAD, Stage.CONTACTED, Stage.NEEDS_CONFIRMED)
DEAL_STAGES = (Stage.WON, Stage.REPEAT)

# Enum .values builds a list at every call: read once (a follow-up line asked it each time).
_FOLLOW_UP_KINDS = frozenset(FollowUpKind.values)
_ROLES = frozenset(Role.values)


@dataclass
class Report:
    lines: int = 0
    imported: Counter[str] = field(default_factory=Counter)
    already_imported: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    # Users the file names but never declares: kept as inactive placeholders, with how many
    # lines name each.
    placeholders: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "imported": sum(self.imported.values()),
            "by_type": dict(sorted(self.imported.items())),
            "already_imported": self.already_imported,
            "bad_lines": len(self.bad),
            "first_bad_lines": [{"line": n, "reason": r} for n, r in self.bad[:20]],
            "placeholder_users": dict(sorted(self.placeholders.items())),
            "seconds": round(self.seconds, 2),
            "lines_per_second": round(self.lines / self.seconds) if self.seconds else None,
        }


def history_import(
    history: HistoryFile,
    *,
    batch_lines: int = BATCH_LINES,
    progress: Callable[[Report, HistoryFile], None] | None = None,
) -> Report:
    """Import a history file; see the module's docstring. The command line is the actor."""
    report = Report()
    importer = _Importer(report, file=str(getattr(history, "path", "")))
    started = time.monotonic()
    batch: list[Line] = []
    batches = 0
    with bulk_write_mode():
        for item in history.lines():
            report.lines += 1
            if isinstance(item, BadLine):
                report.bad.append((item.number, item.reason))
                continue
            batch.append(item)
            if len(batch) >= batch_lines:
                importer.run_batch(batch)
                batch = []
                batches += 1
                if connection.vendor == "postgresql" and batches & (batches - 1) == 0:
                    # PostgreSQL plans a foreign key's check once per connection and keeps the
                    # plan: made while the referenced table was nearly empty, it is a sequential
                    # scan, and every commit got slower as the tables grew (an import of 314,469
                    # lines spent 111 of its 200 s in the checks of its COMMITs). Fresh
                    # statistics as the written tables double make it plan again, with the index.
                    planner_statistics_refresh(tables=tables_written())
                report.seconds = time.monotonic() - started
                if progress:
                    progress(report, history)
        if batch:
            importer.run_batch(batch)
    # Lines that are no JSON are found on reading, the others when their batch is applied
    # (entities before events): reported in the file's order all the same.
    report.bad.sort()
    # Part of the import, and timed with it: the planner's statistics of what it wrote (the
    # insights read these tables next), and on PostgreSQL the synchronous commit that makes
    # the batches before it durable (see run_batch).
    planner_statistics_refresh(tables=tables_written())
    report.seconds = time.monotonic() - started
    if progress:
        progress(report, history)
    return report


# -- what a batch changes, in memory ------------------------------------------------------------


@dataclass(slots=True)
class _CustomerRef:
    id: int
    name: str
    lat: float | None
    lng: float | None


@dataclass(slots=True)
class _QuoteLine:
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    net_amount: Decimal
    position: int


@dataclass(slots=True)
class _Quote:
    id: int | None
    number: str
    customer_id: int
    owner_id: int
    status: str
    lines: list[_QuoteLine]
    lost_reason_id: int | None = None
    lost_competitor: str = ""
    lost_note: str = ""
    lost_at: dt.datetime | None = None


@dataclass(slots=True)
class _OrderLine:
    id: int | None
    product_id: int
    quantity: Decimal
    shipped_quantity: Decimal


@dataclass(slots=True)
class _Order:
    id: int | None
    number: str
    customer_id: int
    owner_id: int
    total: Decimal
    promised_date: dt.date
    status: str
    invoiced_total: Decimal
    paid_total: Decimal
    lines: list[_OrderLine]
    delivered_at: dt.datetime | None = None
    days_late: int | None = None


@dataclass(slots=True)
class _Invoice:
    id: int | None
    number: str
    order: _Order
    amount: Decimal
    paid_amount: Decimal


class _Batch:
    """What one batch writes, collected while its lines are read, written by _flush()."""

    def __init__(self) -> None:
        self.digests: list[tuple[str, str]] = []
        self.rows: dict[type, list[dict[str, Any]]] = {
            FollowUp: [],
            CheckIn: [],
            ContactChange: [],
            AccessEvent: [],
            Payment: [],
        }
        self.check_in_flags: list[
            tuple[dict[str, Any], field_checks.Finding, dict[str, Any] | None]
        ] = []
        self.new_quotes: list[tuple[_Quote, dt.datetime]] = []
        self.dirty_quotes: dict[int, _Quote] = {}
        self.new_orders: list[tuple[_Order, _Quote | None, dt.datetime]] = []
        self.dirty_orders: dict[int, _Order] = {}
        self.dirty_order_lines: dict[int, _OrderLine] = {}
        self.shipments: list[tuple[dict[str, Any], _Order, list[tuple[_OrderLine, Decimal]]]] = []
        self.new_invoices: list[tuple[_Invoice, dict[str, Any]]] = []
        self.dirty_invoices: dict[int, _Invoice] = {}
        self.payments: list[tuple[_Invoice, dict[str, Any]]] = []
        self.customer_contacts: dict[int, dict[str, str]] = {}
        self.messages: list[
            tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], int | None]
        ] = []
        self.new_customers: list[NewCustomer] = []
        self.deactivated: list[tuple[int, dt.datetime]] = []
        self.last_follow_up: dict[int, dt.datetime] = {}
        self.last_order: dict[int, dt.datetime] = {}
        # Customers whose stage the batch moves on, as the services move it (a follow-up, a
        # quote sent, an order), and how many orders each got.
        self.contacted: set[int] = set()
        self.quoted: set[int] = set()
        self.order_counts: Counter[int] = Counter()


class _Importer:
    def __init__(self, report: Report, *, file: str = ""):
        self.report = report
        self.now = clock.now()
        self.file = file[-500:]
        self.run: ImportRun | None = None
        self.users: dict[str, User] = {u.username.lower(): u for u in User.objects.all()}
        self.placeholder_ids: set[int] = set()
        self.departments: dict[str, Department] = {}  # by the file's code
        self.products: dict[str, Product] = {p.sku: p for p in Product.objects.all()}
        if not LostReason.objects.exists():  # as the lost-deal page does: the defaults
            with transaction.atomic():
                lost_reason_resolve(actor=None, code="other")
        self.lost_reasons = {r.code: r.pk for r in LostReason.objects.all()}
        self.rules = RuleBook.load()
        self.field_rules = FieldRuleBook.load()
        # Each rep's last check-in, for the speed check of their next one.
        self.fixes: dict[int, tuple[field_checks.Fix, dict[str, Any]] | None] = {}
        self.import_user = self._placeholder(IMPORT_USERNAME, role=Role.FINANCE, counted=False)
        self.batch = _Batch()
        self.customer_codes: set[str] = set()
        # Per batch: what the batch's events refer to, read once.
        self.customers: dict[str, _CustomerRef] = {}
        self.customer_names: dict[int, str] = {}
        self.quotes: dict[str, _Quote] = {}
        self.orders: dict[str, _Order] = {}
        self.invoices: dict[str, _Invoice] = {}
        self.taken: dict[str, set[str]] = {}
        self.digest = ""  # the line being applied

    # -- batches ---------------------------------------------------------------------------------

    def run_batch(self, lines: list[Line]) -> None:
        seen = set(
            ImportedLine.objects.filter(digest__any_of=[line.digest for line in lines]).values_list(
                "digest", flat=True
            )
        )
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # A batch's commit need not wait for its WAL to reach the disk: that wait was
                # a third of an import's time (a batch writes megabytes of WAL). A crash loses
                # at most the last batches — with their digests, so a rerun imports them again.
                # The ANALYZE that ends an import commits synchronously, which makes every
                # batch before it durable before the summary is printed.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            self.batch = _Batch()
            self.batch_earliest: dt.datetime | None = None
            self.batch_latest: dt.datetime | None = None
            self.customer_codes |= set(
                Customer.objects.filter(
                    code__any_of=[
                        code_of(line.data.get("code")) for line in lines if line.type == "customer"
                    ]
                ).values_list("code", flat=True)
            )
            events: list[Line] = []
            for line in lines:
                if line.type in ENTITY_TYPES:
                    # Resolved on every run: the events after them refer to them. The same
                    # line twice in one batch is stored once (its digest is the key).
                    new = line.digest not in seen
                    seen.add(line.digest)
                    self._apply(line, new=new)
                elif line.digest in seen:
                    self.report.already_imported += 1
                else:
                    seen.add(line.digest)  # the same line twice in one file counts once
                    events.append(line)
            self._customers_insert()
            self._prefetch(events)
            for line in events:
                self._apply(line, new=True)
            self._flush()

    def _apply(self, line: Line, *, new: bool) -> None:
        kind = line.type
        if kind not in ENTITY_TYPES and kind not in EVENT_TYPES:
            reason = f"unknown type {kind!r}" if kind else "type is missing"
            self.report.bad.append((line.number, reason))
            return
        handler = getattr(self, f"_{kind}")
        self.digest = line.digest
        try:
            if kind in ENTITY_TYPES:
                with transaction.atomic():
                    written = handler(line.data)
            else:
                written = handler(line.data)
        except LineError as error:
            self.report.bad.append((line.number, str(error)))
            return
        if new:
            self.batch.digests.append((line.digest, kind))
        if new and written is not False:
            self.report.imported[kind] += 1
        else:
            # An entity already in Kedun (an earlier run, or registered there before).
            self.report.already_imported += 1

    # -- entities --------------------------------------------------------------------------------

    def _department(self, data: dict[str, Any]) -> bool:
        code = text(data, "code", max_length=50)
        name = text(data, "name", max_length=100)
        parent_code = text(data, "parent", required=False, max_length=50)
        if parent_code:
            parent = self.departments.get(parent_code)
            if parent is None:
                raise LineError(f"parent department {parent_code!r} is not declared before it")
        else:
            # The file's top departments sit under the company, so the boss sees them all.
            parent = department_root()
        existing = Department.objects.filter(parent=parent, name=name).first()
        department = existing or department_create(actor=None, name=name, parent=parent)
        self.departments[code] = department
        # The rule book was read before this department existed: it inherits its parent's
        # pool policy like any other (the follow-ups of its reps qualify by it).
        self.rules.parents[department.pk] = department.parent_id
        return existing is None

    def _user(self, data: dict[str, Any]) -> bool:
        username = text(data, "username", max_length=150)
        role = text(data, "role", max_length=16)
        if role not in _ROLES:
            raise LineError(f"unknown role {role!r}")
        department = self._department_named(text(data, "department", required=False))
        if username.lower() in self.users:
            return False
        user = user_create(
            actor=None,
            username=username,
            role=role,
            department=department,
            full_name=text(data, "name", required=False, max_length=100),
        )
        user.phone = text(data, "phone", required=False, max_length=40)
        user.email = text(data, "email", required=False, max_length=254)
        user.date_joined = moment(data, "joined_at", required=False) or user.date_joined
        user.save(update_fields=["phone", "email", "date_joined"])
        self.users[username.lower()] = user
        self._managers_assign(department)
        return True

    def _department_named(self, name: str) -> Department:
        """A user's department: the code of a department line, or its name."""
        if not name:
            return department_root()
        if name in self.departments:
            return self.departments[name]
        for department in self.departments.values():
            if department.name == name:
                return department
        found = Department.objects.filter(name=name).order_by("pk").first()
        if found is None:
            raise LineError(f"department {name!r} is not declared")
        return found

    def _managers_assign(self, department: Department) -> None:
        """Salespeople without a manager report to their department's one manager."""
        managers = list(
            User.objects.filter(department=department, role=Role.MANAGER, is_active=True)[:2]
        )
        if len(managers) != 1:
            return
        User.objects.filter(department=department, role=Role.SALES, manager__isnull=True).update(
            manager=managers[0]
        )

    def _product(self, data: dict[str, Any]) -> bool:
        sku = text(data, "code", max_length=40)
        if sku in self.products:
            return False
        list_price = money(data, "list_price", positive=False)
        floor_price = money(data, "floor_price", positive=False)
        if floor_price > list_price:
            raise LineError("floor_price is above list_price")
        self.products[sku] = Product.objects.create(
            sku=sku,
            name=text(data, "name"),
            unit=text(data, "unit", required=False, max_length=20) or "件",
            list_price=list_price,
            floor_price=floor_price,
        )
        return True

    def _customer(self, data: dict[str, Any]) -> bool:
        code = text(data, "code", max_length=32)
        if code in self.customer_codes:  # read for the whole batch in run_batch
            return False
        name = text(data, "name")
        owner_name = text(data, "owner", required=False, max_length=150)
        lat = number(data, "lat", required=False)
        lng = number(data, "lng", required=False)
        if (lat is None) != (lng is None):
            raise LineError("lat and lng go together")
        if lat is not None and lng is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise LineError("lat/lng out of range")
        phone = text(data, "phone", required=False, max_length=100)
        email = text(data, "email", required=False, max_length=254)
        website = text(data, "website", required=False)
        try:
            keys = identity_keys(
                name=name,
                phones=[phone],
                emails=[email],
                websites=[website],
                tax_id=text(data, "tax_id", required=False, max_length=18),
                strict=True,
            )
        except InvalidCreditCode as error:
            with translation.override("en"):  # in the language of every other reason
                raise LineError(str(error.message)) from None
        registered_at = moment(data, "registered_at", required=False)
        grade = text(data, "grade", required=False, max_length=8)
        address = text(data, "address", required=False, max_length=300)
        # Last: a bad line leaves no placeholder user behind.
        owner = self._user_named(owner_name) if owner_name else None
        self.customer_codes.add(code)
        self.batch.new_customers.append(
            NewCustomer(
                code=code,
                name=name,
                keys=keys,
                owner=owner,
                registered_by=owner or self.import_user,
                phone=phone,
                email=email,
                website=website,
                registered_at=registered_at,
                grade=grade,
                lat=lat,
                lng=lng,
                address=address,
            )
        )
        return True

    def _customers_insert(self) -> None:
        """The batch's new customers in one go, with their identity index (the duplicate
        check finds them at once). Not screened against each other: the file is one company's
        registry already."""
        if self.batch.new_customers:
            customers_insert(self.batch.new_customers)

    def _user_named(self, username: str, *, role: str = Role.SALES) -> User:
        user = self.users.get(username.lower())
        if user is None:
            user = self._placeholder(username, role=role)
        elif user.pk in self.placeholder_ids:
            self.report.placeholders[user.username] += 1
        return user

    def _placeholder(self, username: str, *, role: str, counted: bool = True) -> User:
        """An inactive user for a name the file uses but never declares (HISTORY-FORMAT.md)."""
        user = self.users.get(username.lower())
        if user is None:
            with transaction.atomic():
                user = user_create(
                    actor=None, username=username, role=role, department=department_root()
                )
                user.is_active = False
                user.deactivated_at = self.now
                user.save(update_fields=["is_active", "deactivated_at"])
            self.users[username.lower()] = user
        if counted:
            self.placeholder_ids.add(user.pk)
            self.report.placeholders[user.username] += 1
        return user

    # -- what a batch refers to, read once --------------------------------------------------------

    def _prefetch(self, lines: list[Line]) -> None:
        customers: set[str] = set()
        quotes: set[str] = set()
        orders: set[str] = set()
        invoices: set[str] = set()
        created: dict[str, set[str]] = {"quote": set(), "order": set(), "invoice": set()}
        for line in lines:
            data = line.data
            if data.get("customer") is not None:
                customers.add(code_of(data["customer"]))
            kind = line.type
            if kind in created:
                created[kind].add(code_of(data.get("code")))
            if kind == "quote_result" or (kind == "order" and data.get("quote")):
                quotes.add(code_of(data.get("quote")))
            elif kind in ("shipment", "invoice"):
                orders.add(code_of(data.get("order")))
            elif kind == "payment":
                invoices.add(code_of(data.get("invoice")))
        self.customers = {
            code: _CustomerRef(pk, name, lat, lng)
            for code, pk, name, lat, lng in Customer.objects.filter(
                code__any_of=customers
            ).values_list("code", "pk", "name", "lat", "lng")
        }
        self.customer_names = {ref.id: ref.name for ref in self.customers.values()}
        # Numbers this batch would create that exist already (with other content: the same
        # line would have been skipped by its digest).
        self.taken = {
            "quote": set(
                Quote.objects.filter(number__any_of=created["quote"]).values_list(
                    "number", flat=True
                )
            ),
            "order": set(
                Order.objects.filter(number__any_of=created["order"]).values_list(
                    "number", flat=True
                )
            ),
            "invoice": set(
                Invoice.objects.filter(number__any_of=created["invoice"]).values_list(
                    "number", flat=True
                )
            ),
        }
        self._quotes_read(quotes)
        invoice_rows = list(
            Invoice.objects.filter(number__any_of=invoices).values_list(
                "pk", "number", "order_id", "amount", "paid_amount"
            )
        )
        order_ids = {row[2] for row in invoice_rows}
        self._orders_read(orders, order_ids)
        by_id = {order.id: order for order in self.orders.values()}
        self.invoices = {
            number_: _Invoice(pk, number_, by_id[order_id], amount, paid)
            for pk, number_, order_id, amount, paid in invoice_rows
        }

    def _quotes_read(self, numbers: set[str]) -> None:
        self.quotes = {}
        if not numbers:
            return
        by_id: dict[int, _Quote] = {}
        for pk, number_, customer_id, owner_id, status in Quote.objects.filter(
            number__any_of=numbers, version=1
        ).values_list("pk", "number", "customer_id", "owner_id", "status"):
            quote = _Quote(pk, number_, customer_id, owner_id, status, [])
            self.quotes[number_] = by_id[pk] = quote
        for quote_id, product_id, qty, price, net, position in (
            QuoteLine.objects.filter(quote_id__any_of=by_id)
            .order_by("quote_id", "position", "pk")
            .values_list(
                "quote_id", "product_id", "quantity", "unit_price", "net_amount", "position"
            )
        ):
            by_id[quote_id].lines.append(_QuoteLine(product_id, qty, price, net, position))

    def _orders_read(self, numbers: set[str], ids: set[int]) -> None:
        self.orders = {}
        if not numbers and not ids:
            return
        by_id: dict[int, _Order] = {}
        columns = (
            "pk",
            "number",
            "customer_id",
            "owner_id",
            "net_total",
            "tax_total",
            "promised_date",
            "status",
            "invoiced_total",
            "paid_total",
            "delivered_at",
            "days_late",
        )
        rows = list(Order.objects.filter(number__any_of=numbers).values_list(*columns))
        rows += list(
            Order.objects.filter(pk__any_of=ids)
            .exclude(number__any_of=numbers)
            .values_list(*columns)
        )
        for (
            pk,
            number_,
            customer,
            owner,
            net,
            tax,
            promised,
            status,
            invoiced,
            paid,
            at,
            late,
        ) in rows:
            order = _Order(
                pk,
                number_,
                customer,
                owner,
                net + tax,
                promised,
                status,
                invoiced,
                paid,
                [],
                at,
                late,
            )
            self.orders[number_] = by_id[pk] = order
        for pk, order_id, product_id, qty, shipped in (
            OrderLine.objects.filter(order_id__any_of=by_id)
            .order_by("order_id", "position", "pk")
            .values_list("pk", "order_id", "product_id", "quantity", "shipped_quantity")
        ):
            by_id[order_id].lines.append(_OrderLine(pk, product_id, qty, shipped))
        missing = {o.customer_id for o in by_id.values()} - set(self.customer_names)
        self.customer_names.update(
            Customer.objects.filter(pk__any_of=missing).values_list("pk", "name")
        )

    def _customer_ref(self, data: dict[str, Any]) -> _CustomerRef:
        code = text(data, "customer", max_length=32)
        ref = self.customers.get(code)
        if ref is None:
            raise LineError(f"unknown customer {code!r}")
        return ref

    def _event_user(self, data: dict[str, Any], *, role: str = Role.SALES) -> User:
        return self._user_named(text(data, "user", max_length=150), role=role)

    def _at(self, data: dict[str, Any]) -> dt.datetime:
        at = moment(data, "at")
        assert at is not None
        if self.batch_earliest is None or at < self.batch_earliest:
            self.batch_earliest = at
        if self.batch_latest is None or at > self.batch_latest:
            self.batch_latest = at
        return at

    # -- events ----------------------------------------------------------------------------------

    def _follow_up(self, data: dict[str, Any]) -> None:
        customer = self._customer_ref(data)
        kind = text(data, "kind", max_length=10)
        if kind not in _FOLLOW_UP_KINDS:
            raise LineError(f"unknown follow-up kind {kind!r}")
        at = self._at(data)
        content = text(data, "content", required=False, max_length=5000) or "—"
        author = self._event_user(data)
        # The pool rules decide, as for a follow-up logged on the page.
        qualifying = self.rules.policy(author.department_id).qualifies(kind, content)
        self.batch.rows[FollowUp].append(
            {
                "customer_id": customer.id,
                "author_id": author.pk,
                "kind": kind,
                "content": content,
                "happened_at": at,
                "qualifying": qualifying,
            }
        )
        if qualifying:
            _latest(self.batch.last_follow_up, customer.id, at)
        self.batch.contacted.add(customer.id)

    def _check_in(self, data: dict[str, Any]) -> None:
        """A visit as the field service keeps one, with the checks it would run on the
        position (far from the customer, impossible speed from the rep's previous visit);
        history carries no photo, so the photo checks have nothing to read."""
        customer = self._customer_ref(data)
        at = self._at(data)
        lat, lng = number(data, "lat"), number(data, "lng")
        accuracy = number(data, "accuracy", required=False) or 0.0
        assert lat is not None and lng is not None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise LineError("lat/lng out of range")
        if accuracy < 0:
            raise LineError("accuracy must not be negative")
        rep = self._event_user(data)
        rules = self.field_rules.for_department(rep.department_id)
        position = Position(lat, lng)
        flags: list[field_checks.Finding] = []
        distance = None
        if customer.lat is not None and customer.lng is not None:
            distance = distance_m(position, Position(customer.lat, customer.lng))
            far = field_checks.far_from_customer(
                distance=distance, accuracy_m=accuracy, radius_m=rules.radius_m
            )
            flags += [far] if far else []
        previous = self._last_fix(rep.pk, at)
        if previous is not None and previous[0].at <= at:
            fast = field_checks.impossible_speed(
                previous=previous[0],
                current=field_checks.Fix(at, position, accuracy),
                max_speed_kmh=rules.max_speed_kmh,
            )
            flags += [fast] if fast else []
        digest = self.digest
        row: dict[str, Any] = {
            "customer_id": customer.id,
            "rep_id": rep.pk,
            "captured_at": at,
            "received_at": at,
            "lat": lat,
            "lng": lng,
            "accuracy_m": accuracy,
            "mock": False,
            "idempotency_key": f"history-{digest}",
            "content_digest": digest,
            "distance_m": distance,
            "source": CheckInSource.IMPORT,
        }
        self.batch.rows[CheckIn].append(row)
        for finding in flags:
            self.batch.check_in_flags.append(
                (row, finding, previous[1] if previous is not None else None)
            )
        self.fixes[rep.pk] = (field_checks.Fix(at, position, accuracy), row)

    def _last_fix(
        self, rep_id: int, at: dt.datetime
    ) -> tuple[field_checks.Fix, dict[str, Any]] | None:
        """The rep's check-in before this one: from this import, or the latest stored."""
        if rep_id not in self.fixes:
            stored = (
                CheckIn.objects.filter(rep_id=rep_id, captured_at__lte=at)
                .order_by("-captured_at", "-pk")
                .values("pk", "captured_at", "lat", "lng", "accuracy_m")
                .first()
            )
            self.fixes[rep_id] = (
                (
                    field_checks.Fix(
                        stored["captured_at"],
                        Position(stored["lat"], stored["lng"]),
                        stored["accuracy_m"],
                        stored["pk"],
                    ),
                    {"id": stored["pk"]},
                )
                if stored
                else None
            )
        return self.fixes[rep_id]

    def _quote(self, data: dict[str, Any]) -> None:
        number_ = text(data, "code", max_length=32)
        if number_ in self.quotes or number_ in self.taken["quote"]:
            raise LineError(f"quote {number_} exists already, with other content")
        customer = self._customer_ref(data)
        at = self._at(data)
        raw_lines = data.get("lines")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise LineError("a quote needs lines")
        lines: list[_QuoteLine] = []
        for position, raw in enumerate(raw_lines):
            if not isinstance(raw, dict):
                raise LineError("a quote line must be an object")
            product = self.products.get(str(raw.get("product")))
            if product is None:
                raise LineError(f"unknown product {raw.get('product')!r}")
            qty = quantity(raw.get("qty"))
            price = money(raw, "unit_price", positive=False)
            lines.append(_QuoteLine(product.pk, qty, price, (qty * price).quantize(CENT), position))
        owner = self._event_user(data)  # last: a bad line leaves no placeholder user behind
        quote = _Quote(None, number_, customer.id, owner.pk, QuoteStatus.SENT, lines)
        self.batch.new_quotes.append((quote, at))
        self.batch.quoted.add(customer.id)
        self.quotes[number_] = quote

    def _quote_result(self, data: dict[str, Any]) -> None:
        code = text(data, "quote", max_length=32)
        quote = self.quotes.get(code)
        if quote is None:
            raise LineError(f"unknown quote {code!r}")
        result = text(data, "result", max_length=10)
        at = self._at(data)
        if result not in ("accepted", "lost"):
            raise LineError(f"unknown quote result {result!r} (accepted or lost)")
        # Everything read before the quote changes: a bad line changes nothing.
        reason = text(data, "reason", required=False, max_length=30) or "other"
        competitor = text(data, "competitor", required=False)
        if result == "accepted":
            quote.status = QuoteStatus.ACCEPTED
        else:
            quote.status = QuoteStatus.LOST
            quote.lost_reason_id = self.lost_reasons.get(
                LOST_REASONS.get(reason, "other"), self.lost_reasons.get("other")
            )
            quote.lost_competitor = competitor
            quote.lost_at = at
            quote.lost_note = "" if reason in LOST_REASONS else reason
        if quote.id is not None:
            self.batch.dirty_quotes[quote.id] = quote

    def _order(self, data: dict[str, Any]) -> None:
        number_ = text(data, "code", max_length=32)
        if number_ in self.orders or number_ in self.taken["order"]:
            raise LineError(f"order {number_} exists already, with other content")
        customer = self._customer_ref(data)
        at = self._at(data)
        promised = moment(data, "promised_at")
        assert promised is not None
        amount = money(data, "amount")
        quote_code = text(data, "quote", required=False, max_length=32)
        quote = self.quotes.get(quote_code) if quote_code else None
        if quote_code and quote is None:
            raise LineError(f"unknown quote {quote_code!r}")
        owner = self._event_user(data)  # last: a bad line leaves no placeholder user behind
        order = _Order(
            id=None,
            number=number_,
            customer_id=customer.id,
            owner_id=owner.pk,
            total=amount,
            promised_date=timezone.localdate(promised),
            status=OrderStatus.CONFIRMED,
            invoiced_total=ZERO,
            paid_total=ZERO,
            lines=[
                _OrderLine(None, line.product_id, line.quantity, ZERO)
                for line in (quote.lines if quote else [])
            ],
        )
        self.batch.new_orders.append((order, quote, at))
        self.orders[number_] = order
        _latest(self.batch.last_order, customer.id, at)
        self.batch.order_counts[customer.id] += 1

    def _order_of(self, data: dict[str, Any]) -> _Order:
        code = text(data, "order", max_length=32)
        order = self.orders.get(code)
        if order is None:
            raise LineError(f"unknown order {code!r}")
        return order

    def _shipment(self, data: dict[str, Any]) -> None:
        order = self._order_of(data)
        at = self._at(data)
        to_ship = [(line, line.quantity - line.shipped_quantity) for line in order.lines]
        to_ship = [(line, qty) for line, qty in to_ship if qty > 0]
        if order.lines and not to_ship:
            raise LineError(f"order {order.number} is shipped in full already")
        customer_name = self.customer_names[order.customer_id]
        consignee = text(data, "ship_to", required=False) or customer_name
        differs = consignee != customer_name and not names_the_customer(
            consignee, Customer(name=customer_name)
        )
        recorder = self._event_user(data, role=Role.LOGISTICS)
        for line, _qty in to_ship:
            line.shipped_quantity = line.quantity
            if line.id is not None:
                self.batch.dirty_order_lines[line.id] = line
        # A history shipment is the goods reaching the customer: the order is delivered and
        # its lead time (promised against actual) fixed as delivery_confirm fixes it.
        order.delivered_at = at
        order.days_late = (timezone.localdate(at) - order.promised_date).days
        order.status = _road_status(order)
        self.batch.shipments.append(
            (
                {
                    "shipped_at": at,
                    "delivered_at": at,
                    "consignee": consignee[:200],
                    "consignee_differs": differs,
                    "recorded_by_id": recorder.pk,
                    "recorded_at": at,
                },
                order,
                to_ship,
            )
        )
        self._order_dirty(order)

    def _order_dirty(self, order: _Order) -> None:
        if order.id is not None:
            self.batch.dirty_orders[order.id] = order

    def _invoice(self, data: dict[str, Any]) -> None:
        number_ = text(data, "code", max_length=40)
        if number_ in self.invoices or number_ in self.taken["invoice"]:
            raise LineError(f"invoice {number_} exists already, with other content")
        order = self._order_of(data)
        at = self._at(data)
        due = moment(data, "due_at")
        assert due is not None
        amount = money(data, "amount")
        if order.invoiced_total + amount > order.total:
            raise LineError(f"invoice {number_} would take order {order.number} over its total")
        invoice = _Invoice(None, number_, order, amount, ZERO)
        order.invoiced_total += amount
        order.status = _road_status(order)
        self.batch.new_invoices.append(
            (
                invoice,
                {
                    "number": number_,
                    "amount": amount,
                    "issued_on": timezone.localdate(at),
                    "due_on": timezone.localdate(due),
                    "recorded_by_id": self.import_user.pk,
                    "recorded_at": at,
                },
            )
        )
        self.invoices[number_] = invoice
        self._order_dirty(order)

    def _payment(self, data: dict[str, Any]) -> None:
        code = text(data, "invoice", max_length=40)
        invoice = self.invoices.get(code)
        if invoice is None:
            raise LineError(f"unknown invoice {code!r}")
        order = invoice.order
        at = self._at(data)
        amount = money(data, "amount")
        if invoice.paid_amount + amount > invoice.amount:
            raise LineError(f"the payment would take invoice {code} over its amount")
        customer_name = self.customer_names[order.customer_id]
        payer = text(data, "payer", required=False) or customer_name
        differs = payer != customer_name and not names_the_customer(
            payer, Customer(name=customer_name)
        )
        self.batch.payments.append(
            (
                invoice,
                {
                    "amount": amount,
                    "received_on": timezone.localdate(at),
                    "payer_name": payer[:200],
                    "payer_account": text(data, "account", required=False, max_length=60),
                    "payer_differs": differs,
                    "recorded_by_id": self.import_user.pk,
                    "recorded_at": at,
                },
            )
        )
        invoice.paid_amount += amount
        order.paid_total += amount
        order.status = _road_status(order)
        if invoice.id is not None:
            self.batch.dirty_invoices[invoice.id] = invoice
        self._order_dirty(order)

    def _contact_change(self, data: dict[str, Any]) -> None:
        customer = self._customer_ref(data)
        field_name = text(data, "field", max_length=16)
        if field_name not in (ContactField.PHONE, ContactField.EMAIL):
            raise LineError(f"unknown contact field {field_name!r} (phone or email)")
        new_value = text(data, "new", required=False, max_length=254)
        old_value = text(data, "old", required=False, max_length=300)
        at = self._at(data)
        self.batch.rows[ContactChange].append(
            {
                "customer_id": customer.id,
                "field": field_name,
                "old_value": old_value,
                "new_value": new_value,
                "changed_by_id": self._event_user(data).pk,
                "changed_at": at,
            }
        )
        self.batch.customer_contacts.setdefault(customer.id, {})[field_name] = new_value

    def _email(self, data: dict[str, Any]) -> None:
        at = self._at(data)
        sender = text(data, "sender", max_length=254).lower()
        recipients = data.get("to")
        if not isinstance(recipients, list) or not all(isinstance(a, str) for a in recipients):
            raise LineError("to must be a list of addresses")
        customer_id = self._customer_ref(data).id if data.get("customer") else None
        user = self._event_user(data)  # last: a bad line leaves no placeholder user behind
        message = {
            # No Message-ID in history files: the line's digest stands in for one.
            "message_id": f"{self.digest}@history.kedun",
            "subject": text(data, "subject", required=False, max_length=1000),
            "from_address": sender,
            "sent_at": at,
            "source": MessageSource.IMPORT,
            "stored_at": self.now,
        }
        addresses = [_address(AddressRole.FROM, sender)] + [
            _address(AddressRole.TO, a) for a in recipients if a.strip()
        ]
        owner = {
            "user_id": user.pk,
            "sent_at": at,
            # "Deleted by the user": hidden for them, kept for managers (MISSION §7).
            "hidden_at": at if data.get("deleted_by_user") is True else None,
        }
        self.batch.messages.append((message, addresses, owner, customer_id))

    def _view(self, data: dict[str, Any]) -> None:
        customer = self._customer_ref(data)
        at = self._at(data)
        self.batch.rows[AccessEvent].append(
            {
                "user_id": self._event_user(data).pk,
                "kind": AccessKind.VIEW,
                "customer_id": customer.id,
                "at": at,
            }
        )

    def _export(self, data: dict[str, Any]) -> None:
        rows = number(data, "rows")
        assert rows is not None
        if rows < 0 or rows != int(rows):
            raise LineError("rows must be a whole number")
        at = self._at(data)
        self.batch.rows[AccessEvent].append(
            {
                "user_id": self._event_user(data).pk,
                "kind": AccessKind.EXPORT,
                "rows": int(rows),
                "subject": "customers",
                "at": at,
            }
        )

    def _user_deactivated(self, data: dict[str, Any]) -> None:
        username = text(data, "username", max_length=150)
        at = self._at(data)
        self.batch.deactivated.append((self._user_named(username).pk, at))

    # -- writing a batch ---------------------------------------------------------------------------

    def _flush(self) -> None:
        batch = self.batch
        check_ins = batch.rows[CheckIn]
        for row, pk in zip(check_ins, ids_reserve(CheckIn, len(check_ins)), strict=True):
            row["id"] = pk
        for model in (FollowUp, CheckIn, ContactChange, AccessEvent):
            rows_insert(model, batch.rows[model])
        rows_insert(
            CheckInFlag,
            [
                {
                    "check_in_id": row["id"],
                    "kind": finding.kind,
                    "detail": {
                        **finding.detail,
                        **(
                            {"previous_check_in": previous["id"]}
                            if "previous_check_in" in finding.detail and previous
                            else {}
                        ),
                    },
                }
                for row, finding, previous in batch.check_in_flags
            ],
        )
        self._write_quotes()
        self._write_orders()
        self._write_shipments()
        self._write_invoices()
        self._write_updates()
        self._write_contacts()
        self._write_messages()
        for user_id, at in batch.deactivated:
            # The earliest deactivation known wins: a placeholder user, inactive since the
            # import began, takes the moment the history gives.
            User.objects.filter(Q(is_active=True) | Q(deactivated_at__gt=at), pk=user_id).update(
                is_active=False, deactivated_at=at
            )
        self._write_customer_clocks()
        rows_insert(
            ImportedLine,
            [{"digest": d, "kind": k, "imported_at": self.now} for d, k in batch.digests],
        )
        self._run_update(len(batch.digests))
        if batch.digests:
            audit_record(
                actor=None,
                actor_label="import-history",
                action="history.imported",
                object_type="history.batch",
                changes=dict(sorted(Counter(kind for _d, kind in batch.digests).items())),
            )

    def _run_update(self, imported: int) -> None:
        """This run's record, in the batch's transaction: what came in and when it happened."""
        times = [at for at in (self.batch_earliest, self.batch_latest) if at is not None]
        if self.run is None and not imported:
            return  # nothing new: the same file again leaves no trace
        if self.run is None:
            self.run = ImportRun.objects.create(
                started_at=self.now, updated_at=clock.now(), file=self.file
            )
        run = self.run
        run.updated_at = clock.now()
        run.lines = self.report.lines
        run.imported += imported
        if times:
            earliest, latest = min(times), max(times)
            run.earliest_event_at = min(filter(None, [run.earliest_event_at, earliest]))
            run.latest_event_at = max(filter(None, [run.latest_event_at, latest]))
        run.save()

    def _write_quotes(self) -> None:
        new = self.batch.new_quotes
        for (quote, _at), pk in zip(new, ids_reserve(Quote, len(new)), strict=True):
            quote.id = pk
        rows_insert(
            Quote,
            [
                {
                    "id": quote.id,
                    "number": quote.number,
                    "version": 1,
                    "customer_id": quote.customer_id,
                    "owner_id": quote.owner_id,
                    "status": quote.status,
                    "net_total": sum((line.net_amount for line in quote.lines), ZERO),
                    "tax_total": ZERO,  # history amounts are as recorded: taxes not itemised
                    "list_total": sum(
                        (
                            (line.quantity * self._list_price(line.product_id)).quantize(CENT)
                            for line in quote.lines
                        ),
                        ZERO,
                    ),
                    "lost_reason_id": quote.lost_reason_id,
                    "lost_competitor": quote.lost_competitor,
                    "lost_note": quote.lost_note,
                    "lost_at": quote.lost_at,
                    "created_by_id": quote.owner_id,
                    "created_at": at,
                }
                for quote, at in new
            ],
        )
        rows_insert(
            QuoteLine,
            [
                {
                    "quote_id": quote.id,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "tax_rate": ZERO,
                    "net_amount": line.net_amount,
                    "tax_amount": ZERO,
                    "position": line.position,
                }
                for quote, _at in new
                for line in quote.lines
            ],
        )

    def _list_price(self, product_id: int) -> Decimal:
        if not hasattr(self, "_list_prices"):
            self._list_prices = {p.pk: p.list_price for p in self.products.values()}
        return self._list_prices.get(product_id, ZERO)

    def _write_orders(self) -> None:
        new = self.batch.new_orders
        for (order, _quote, _at), pk in zip(new, ids_reserve(Order, len(new)), strict=True):
            order.id = pk
        lines = [line for order, _q, _at in new for line in order.lines]
        for line, pk in zip(lines, ids_reserve(OrderLine, len(lines)), strict=True):
            line.id = pk
        rows_insert(
            Order,
            [
                {
                    "id": order.id,
                    "number": order.number,
                    "customer_id": order.customer_id,
                    "quote_id": quote.id if quote else None,
                    "owner_id": order.owner_id,
                    "status": order.status,
                    "promised_date": order.promised_date,
                    "delivered_at": order.delivered_at,
                    "days_late": order.days_late,
                    "net_total": order.total,
                    "tax_total": ZERO,
                    "invoiced_total": order.invoiced_total,
                    "paid_total": order.paid_total,
                    "created_by_id": order.owner_id,
                    "created_at": at,
                }
                for order, quote, at in new
            ],
        )
        quote_lines = {id(order): (quote.lines if quote else []) for order, quote, _at in new}
        rows_insert(
            OrderLine,
            [
                {
                    "id": line.id,
                    "order_id": order.id,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "shipped_quantity": line.shipped_quantity,
                    "unit_price": source.unit_price,
                    "tax_rate": ZERO,
                    "net_amount": source.net_amount,
                    "tax_amount": ZERO,
                    "position": source.position,
                }
                for order, _quote, _at in new
                for line, source in zip(order.lines, quote_lines[id(order)], strict=True)
            ],
        )
        # Written with their final state: nothing of a new order is left to update.
        for order, _quote, _at in new:
            self.batch.dirty_orders.pop(order.id, None)  # type: ignore[arg-type]
            for line in order.lines:
                self.batch.dirty_order_lines.pop(line.id, None)  # type: ignore[arg-type]

    def _write_shipments(self) -> None:
        shipments = self.batch.shipments
        ids = ids_reserve(Shipment, len(shipments))
        rows_insert(
            Shipment,
            [
                {**row, "id": pk, "order_id": order.id}
                for (row, order, _l), pk in zip(shipments, ids, strict=True)
            ],
        )
        rows_insert(
            ShipmentLine,
            [
                {"shipment_id": pk, "order_line_id": line.id, "quantity": qty}
                for (_row, _order, lines), pk in zip(shipments, ids, strict=True)
                for line, qty in lines
            ],
        )
        rows_insert(
            ProductDelivery,
            [
                {
                    "order_id": order.id,
                    "product_id": product_id,
                    "owner_id": order.owner_id,
                    "delivered_at": order.delivered_at,
                    "days_late": order.days_late,
                }
                for _row, order, _lines in shipments
                for product_id in sorted({line.product_id for line in order.lines})
            ],
        )

    def _write_invoices(self) -> None:
        new = self.batch.new_invoices
        for (invoice, _row), pk in zip(new, ids_reserve(Invoice, len(new)), strict=True):
            invoice.id = pk
        rows_insert(
            Invoice,
            [
                {
                    **row,
                    "id": invoice.id,
                    "order_id": invoice.order.id,
                    "owner_id": invoice.order.owner_id,
                    "paid_amount": invoice.paid_amount,
                }
                for invoice, row in new
            ],
        )
        for invoice, _row in new:
            self.batch.dirty_invoices.pop(invoice.id, None)  # type: ignore[arg-type]
        rows_insert(
            Payment,
            [{**row, "invoice_id": invoice.id} for invoice, row in self.batch.payments],
        )

    def _write_updates(self) -> None:
        """Rows of earlier batches that this batch's events moved on: one statement per table on
        PostgreSQL, an executemany on SQLite (an ORM bulk_update builds a CASE per column and
        cost more)."""
        batch = self.batch
        adapt_dt = connection.ops.adapt_datetimefield_value
        rows_update(
            Quote,
            (
                "status",
                "lost_reason_id",
                "lost_competitor",
                "lost_note",
                "lost_at",
            ),
            [
                (
                    q.status,
                    q.lost_reason_id,
                    q.lost_competitor,
                    q.lost_note,
                    adapt_dt(q.lost_at),
                    q.id,
                )
                for q in batch.dirty_quotes.values()
            ],
        )
        rows_update(
            Order,
            (
                "status",
                "delivered_at",
                "days_late",
                "invoiced_total",
                "paid_total",
            ),
            [
                (
                    o.status,
                    adapt_dt(o.delivered_at),
                    o.days_late,
                    _money_db(o.invoiced_total),
                    _money_db(o.paid_total),
                    o.id,
                )
                for o in batch.dirty_orders.values()
            ],
        )
        rows_update(
            OrderLine,
            ("shipped_quantity",),
            [
                (_money_db(line.shipped_quantity), line.id)
                for line in batch.dirty_order_lines.values()
            ],
        )
        rows_update(
            Invoice,
            ("paid_amount",),
            [(_money_db(i.paid_amount), i.id) for i in batch.dirty_invoices.values()],
        )

    def _write_contacts(self) -> None:
        changes = self.batch.customer_contacts
        if not changes:
            return
        current = Customer.objects.filter(pk__any_of=list(changes)).values_list(
            "pk", "phone", "email"
        )
        rows_update(
            Customer,
            ("phone", "email"),
            [
                (changes[pk].get("phone", phone), changes[pk].get("email", email), pk)
                for pk, phone, email in current
            ],
        )
        customers_contact_keys_refresh(changes)

    def _write_messages(self) -> None:
        messages = self.batch.messages
        if not messages:
            return
        existing = set(
            Message.objects.filter(
                message_id__any_of=[m["message_id"] for m, _a, _o, _c in messages]
            ).values_list("message_id", flat=True)
        )
        fresh = [item for item in messages if item[0]["message_id"] not in existing]
        ids = ids_reserve(Message, len(fresh))
        rows_insert(
            Message, [{**m, "id": pk} for (m, _a, _o, _c), pk in zip(fresh, ids, strict=True)]
        )
        rows_insert(
            MessageAddress,
            [
                {**address, "message_id": pk}
                for (_m, addresses, _o, _c), pk in zip(fresh, ids, strict=True)
                for address in addresses
            ],
        )
        rows_insert(
            MessageOwner,
            [
                {**owner, "message_id": pk}
                for (_m, _a, owner, _c), pk in zip(fresh, ids, strict=True)
            ],
        )
        rows_insert(
            MessageCustomer,
            [
                {"message_id": pk, "customer_id": customer_id, "sent_at": m["sent_at"]}
                for (m, _a, _o, customer_id), pk in zip(fresh, ids, strict=True)
                if customer_id is not None
            ],
        )

    def _write_customer_clocks(self) -> None:
        """The pool clock (last qualifying follow-up), the last order and the stage, as the
        services keep them: never moved back by an older line. A follow-up moves a lead to
        contacted, a quote to quoted, an order to won — or to repeat when the customer had
        ordered before. Applied in that order they give what the lines one by one would:
        each step only moves a customer that has not passed it."""
        batch = self.batch
        if batch.contacted:
            Customer.objects.filter(pk__any_of=list(batch.contacted), stage=Stage.LEAD).update(
                stage=Stage.CONTACTED
            )
        if batch.quoted:
            Customer.objects.filter(pk__any_of=list(batch.quoted), stage__in=BEFORE_QUOTED).update(
                stage=Stage.QUOTED
            )
        if batch.order_counts:
            ordered_before = set(
                Customer.objects.filter(
                    pk__any_of=list(batch.order_counts), last_order_at__isnull=False
                ).values_list("pk", flat=True)
            )
            repeat = {pk for pk, n in batch.order_counts.items() if n > 1 or pk in ordered_before}
            won = [pk for pk in batch.order_counts if pk not in repeat]
            Customer.objects.filter(pk__any_of=won).exclude(stage__in=DEAL_STAGES).update(
                stage=Stage.WON
            )
            Customer.objects.filter(pk__any_of=list(repeat)).exclude(stage=Stage.REPEAT).update(
                stage=Stage.REPEAT
            )
        for column, latest in (
            ("last_follow_up_at", batch.last_follow_up),
            ("last_order_at", batch.last_order),
        ):
            if not latest:
                continue
            current = dict(
                Customer.objects.filter(pk__any_of=list(latest)).values_list("pk", column)
            )
            adapt_dt = connection.ops.adapt_datetimefield_value
            rows_update(
                Customer,
                (column,),
                [
                    (adapt_dt(at), pk)
                    for pk, at in latest.items()
                    if current.get(pk) is None or current[pk] < at
                ],
            )


# -- helpers ------------------------------------------------------------------------------------


def _road_status(order: _Order) -> str:
    """Where the order stands, by the rule of Kedun's own steps (sales.orders.common's
    _road_status): delivered, then invoiced once invoiced in full, paid once paid in full.
    Cash before the goods (款到发货) leaves it confirmed until the shipment."""
    if order.delivered_at is None:
        return order.status
    if order.paid_total == order.total:
        return OrderStatus.PAID
    if order.invoiced_total == order.total:
        return OrderStatus.INVOICED
    return OrderStatus.DELIVERED


def _latest(latest: dict[int, dt.datetime], key: int, at: dt.datetime) -> None:
    if key not in latest or latest[key] < at:
        latest[key] = at


def _address(role: str, address: str) -> dict[str, Any]:
    address = address.strip().lower()[:254]
    return {
        "role": role,
        "address": address,
        "domain": address.rpartition("@")[2][:200],
        "name": "",
    }


def _money_db(value: Decimal) -> Any:
    return connection.ops.adapt_decimalfield_value(value)
