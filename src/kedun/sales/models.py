"""From need to cash (MISSION §5): the catalogue, quotes, orders, shipments, invoices and
payments, lost reasons, and the commission ledger.

Amounts are Decimal yuan (money.py states the rounding). Running totals that must never
overshoot — shipped ≤ ordered, invoiced ≤ order total, paid ≤ invoiced — are columns with
CHECK constraints, updated by the services under a row lock: the database is the last word
even if a service is wrong.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def money_field(verbose_name: Any = None, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


def quantity_field(verbose_name: Any = None, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=3, **kwargs)


def rate_field(verbose_name: Any = None, **kwargs: Any) -> models.DecimalField:
    """A rate as a fraction: 0.1300 is 13 %."""
    return models.DecimalField(verbose_name, max_digits=5, decimal_places=4, **kwargs)


class Product(models.Model):
    sku = models.CharField(_("product code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=20, default="件")
    list_price = money_field(_("list price"))
    # Below this a quote needs a manager's approval (MISSION §5).
    floor_price = money_field(_("floor price"))
    tax_rate = rate_field(_("tax rate"), default="0.1300")
    # Commission on collected cash for this product; null: the rep's rate applies.
    commission_rate = rate_field(_("commission rate"), null=True, blank=True)
    lead_time_days = models.PositiveSmallIntegerField(_("usual lead time (days)"), default=14)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        constraints = [
            models.CheckConstraint(
                condition=Q(floor_price__gte=0) & Q(floor_price__lte=F("list_price")),
                name="product_floor_within_list",
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lt=1), name="product_tax_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class PriceList(models.Model):
    """A named set of prices (e.g. distributors 经销价), valid for a period."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("price list")

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    price = money_field(_("price"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="price_list_item_once"),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_list_item_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id}/{self.product_id}: {self.price}"


class LostReason(models.Model):
    """输单原因: a configurable list; "lost to a competitor" asks for the competitor's name."""

    code = models.CharField(max_length=30, unique=True)
    label = models.CharField(_("reason"), max_length=100)
    needs_competitor = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("lost reason")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")  # ready to send
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")  # by the manager: back to the rep
    EXPIRED = "expired", _("Expired")
    LOST = "lost", _("Lost")
    SUPERSEDED = "superseded", _("Superseded by a new version")


class Quote(models.Model):
    number = models.CharField(_("quote number"), max_length=32)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="quotes"
    )
    need = models.ForeignKey(
        "customers.Need", on_delete=models.PROTECT, null=True, blank=True, related_name="quotes"
    )
    owner = models.ForeignKey(  # the rep who sells
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quotes"
    )
    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    net_total = money_field(_("amount before tax"), default=0)
    tax_total = money_field(_("tax"), default=0)
    list_total = money_field(_("amount at list price"), default=0)
    # Why a manager must approve (below floor, over the discount limit); "" when none.
    approval_reasons = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    lost_reason = models.ForeignKey(LostReason, on_delete=models.PROTECT, null=True, blank=True)
    lost_competitor = models.CharField(max_length=200, blank=True)
    lost_note = models.TextField(blank=True)
    lost_at = models.DateTimeField(_("lost at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("quote")
        indexes = [
            models.Index(fields=["customer", "created_at"], name="quote_customer_idx"),
            # Covering for the pipeline and wins-and-losses reports company-wide: they read
            # this index instead of the table (bench/sales_reports.py, SQLite, 600,000 quotes
            # and 500,000 orders: the boss's pipeline 1.2 s → 0.12 s).
            models.Index(
                fields=[
                    "status",
                    "created_at",
                    "owner",
                    "net_total",
                    "lost_reason",
                    "lost_competitor",
                ],
                name="quote_pipeline_idx",
            ),
            # The losses by reason and competitor: with a period, the pipeline index above
            # (it carries the reason and competitor); all time, this one, in group order.
            models.Index(
                fields=[
                    "status",
                    "lost_reason",
                    "lost_competitor",
                    "created_at",
                    "owner",
                    "net_total",
                ],
                name="quote_lost_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number", "version"], name="quote_version_once"),
            models.CheckConstraint(
                condition=Q(status__in=QuoteStatus.values), name="quote_status_known"
            ),
            # Lost, and only lost, has a moment it was lost.
            models.CheckConstraint(
                condition=Q(status=QuoteStatus.LOST, lost_at__isnull=False)
                | (~Q(status=QuoteStatus.LOST) & Q(lost_at__isnull=True)),
                name="quote_lost_at_when_lost",
            ),
            # Nobody approves their own quote (MISSION §5): the database agrees.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("owner")),
                name="quote_not_self_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"

    @property
    def gross_total(self) -> Decimal:
        return self.net_total + self.tax_total


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=300, blank=True)
    quantity = quantity_field(_("quantity"))
    unit_price = money_field(_("unit price"))
    discount_rate = rate_field(_("discount"), default=0)
    tax_rate = rate_field(_("tax rate"))
    net_amount = money_field()
    tax_amount = money_field()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quote_line_quantity"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quote_line_price"),
            models.CheckConstraint(
                condition=Q(discount_rate__gte=0) & Q(discount_rate__lt=1),
                name="quote_line_discount_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quote_id}: {self.product_id} × {self.quantity}"


class OrderStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    IN_PRODUCTION = "in_production", _("In production")
    PARTLY_SHIPPED = "partly_shipped", _("Partly shipped")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    INVOICED = "invoiced", _("Invoiced")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")
    LOST = "lost", _("Lost")


class Order(models.Model):
    number = models.CharField(_("order number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="orders"
    )
    quote = models.ForeignKey(
        Quote, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    owner = models.ForeignKey(  # the rep credited with the sale
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.CONFIRMED
    )
    promised_date = models.DateField(_("promised delivery date"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # Local delivery date − promised date, fixed when the delivery is confirmed (negative:
    # early): the lead-time reports read it instead of computing it per order.
    days_late = models.IntegerField(_("days late"), null=True, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=30)
    net_total = money_field(_("amount before tax"))
    tax_total = money_field(_("tax"))
    invoiced_total = money_field(_("invoiced"), default=0)
    paid_total = money_field(_("paid"), default=0)
    lost_reason = models.ForeignKey(LostReason, on_delete=models.PROTECT, null=True, blank=True)
    lost_competitor = models.CharField(max_length=200, blank=True)
    lost_note = models.TextField(blank=True)
    lost_at = models.DateTimeField(_("lost at"), null=True, blank=True)
    # Kept by the order desk (合同), not by the rep.
    contract_number = models.CharField(_("contract number"), max_length=60, blank=True)
    contract_signed_on = models.DateField(_("contract signed on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("order")
        indexes = [
            models.Index(fields=["customer", "created_at"], name="order_customer_idx"),
            models.Index(fields=["owner", "status"], name="order_owner_idx"),
            models.Index(fields=["status", "promised_date"], name="order_status_idx"),
            # Covering indexes for the company-wide reports (bench/sales_reports.py): the
            # pipeline and wins and losses by status and period; delivery by period and, for a
            # team, by owner.
            models.Index(
                fields=[
                    "status",
                    "created_at",
                    "owner",
                    "net_total",
                    "lost_reason",
                    "lost_competitor",
                ],
                name="order_pipeline_idx",
            ),
            models.Index(
                fields=[
                    "status",
                    "lost_reason",
                    "lost_competitor",
                    "created_at",
                    "owner",
                    "net_total",
                ],
                name="order_lost_idx",
            ),
            models.Index(
                fields=["delivered_at", "owner", "customer", "days_late"],
                name="order_delivery_idx",
            ),
            # Delivery by customer company-wide: the delivered orders in customer order, so
            # grouped without sorting (SQLite, 200,000 orders in a year: 430 → 250 ms).
            models.Index(
                fields=["customer", "delivered_at", "days_late", "owner"],
                condition=Q(delivered_at__isnull=False),
                name="order_delivered_customer_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status=OrderStatus.LOST, lost_at__isnull=False)
                | (~Q(status=OrderStatus.LOST) & Q(lost_at__isnull=True)),
                name="order_lost_at_when_lost",
            ),
            models.CheckConstraint(
                condition=Q(delivered_at__isnull=True, days_late__isnull=True)
                | Q(delivered_at__isnull=False, days_late__isnull=False),
                name="order_days_late_when_delivered",
            ),
            # Half a cent of slack: SQLite keeps decimals as binary floats, so net + tax can
            # come out a hair below the exact total (0.70 + 0.10 < 0.80) and refuse a full
            # invoice; amounts are whole cents, so no real overshoot fits in the slack.
            models.CheckConstraint(
                condition=Q(invoiced_total__gte=0)
                & Q(invoiced_total__lte=F("net_total") + F("tax_total") + Decimal("0.005")),
                name="order_invoiced_within_total",
            ),
            models.CheckConstraint(
                condition=Q(paid_total__gte=0) & Q(paid_total__lte=F("invoiced_total")),
                name="order_paid_within_invoiced",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def gross_total(self) -> Decimal:
        return self.net_total + self.tax_total


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=300, blank=True)
    quantity = quantity_field(_("quantity"))
    shipped_quantity = quantity_field(_("shipped"), default=0)
    unit_price = money_field(_("unit price"))
    discount_rate = rate_field(_("discount"), default=0)
    tax_rate = rate_field(_("tax rate"))
    net_amount = money_field()
    tax_amount = money_field()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity"),
            models.CheckConstraint(
                condition=Q(shipped_quantity__gte=0) & Q(shipped_quantity__lte=F("quantity")),
                name="order_line_shipped_within_ordered",
            ),
            models.CheckConstraint(
                condition=Q(discount_rate__gte=0) & Q(discount_rate__lt=1),
                name="order_line_discount_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.product_id} × {self.quantity}"


class ProductDelivery(models.Model):
    """One row per product per delivered order: the delivery lead-time report by product
    reads these instead of joining every line to its order (bench/sales_reports.py, the boss
    on SQLite: 0.95 s → 0.17–0.31 s). Written with the delivery (orders.delivery_confirm);
    `owner` follows the order's owner (deals.open_deals_move)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    delivered_at = models.DateTimeField()
    days_late = models.IntegerField()

    class Meta:
        indexes = [
            # Covering: company-wide, a range of delivery moments grouped by product.
            models.Index(
                fields=["delivered_at", "product", "days_late"], name="product_delivery_idx"
            ),
            models.Index(fields=["owner", "delivered_at"], name="product_delivery_owner_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="product_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.product_id} ({self.days_late:+d})"


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    shipped_at = models.DateTimeField(_("shipped at"))
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    # Who receives the goods (收货方). Goods delivered to a party other than the customer of
    # record are a trace of diversion (MISSION §9): flagged, never refused.
    consignee = models.CharField(_("consignee"), max_length=200, blank=True)
    consignee_differs = models.BooleanField(_("consignee is not the customer"), default=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("shipment")

    def __str__(self) -> str:
        return f"{self.order_id} @ {self.shipped_at:%Y-%m-%d}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_quantity")
        ]

    def __str__(self) -> str:
        return f"{self.order_line_id} × {self.quantity}"


class Invoice(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    # The order's owner, kept on the invoice (written with it, moved with the order by
    # deals.open_deals_move) so the receivables reports group by rep without joining orders.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("invoice number"), max_length=40, unique=True)
    amount = money_field(_("amount"))
    paid_amount = money_field(_("paid"), default=0)
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("invoice")
        indexes = [
            models.Index(fields=["due_on"], name="invoice_due_idx"),
            # Covering for the ageing and collection by rep (bench/sales_reports.py): read in
            # rep order, so grouped without sorting and without a join to the orders.
            models.Index(
                fields=["owner", "due_on", "amount", "paid_amount"], name="invoice_ageing_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            # Never overpaid, whatever two cashiers do at the same moment.
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("amount")),
                name="invoice_paid_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = money_field(_("amount"))
    received_on = models.DateField(_("received on"))
    payer_name = models.CharField(_("payer"), max_length=200)
    payer_account = models.CharField(_("payer's account"), max_length=60)
    # A payer other than the customer is a trace of diversion (MISSION §9): flagged, not refused.
    payer_differs = models.BooleanField(_("payer is not the customer"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    # What bounced or was refunded of it (PaymentReversal), a running total like paid_amount.
    reversed_amount = money_field(_("reversed"), default=0)

    class Meta:
        verbose_name = _("payment")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            # Never more reversed than was paid, whatever two cashiers do at the same moment.
            models.CheckConstraint(
                condition=Q(reversed_amount__gte=0) & Q(reversed_amount__lte=F("amount")),
                name="payment_reversed_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.amount}"


class RepTerms(models.Model):
    """A rep's own terms: the deepest discount they may give without approval, and their
    commission rate on collected cash. No row: the company defaults (duties.py)."""

    rep = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_terms"
    )
    max_discount_rate = rate_field(_("discount limit"))
    commission_rate = rate_field(_("commission rate"))

    class Meta:
        verbose_name = _("rep terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_discount_rate__gte=0) & Q(max_discount_rate__lt=1),
                name="rep_terms_discount_range",
            ),
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0) & Q(commission_rate__lt=1),
                name="rep_terms_commission_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep_id}: ≤{self.max_discount_rate}"


class DutyGrant(models.Model):
    """Which role may take which step (分段经营), set by the admin. No rows: the defaults in
    duties.py. Whatever is granted, one person never both sells and collects on one order."""

    step = models.CharField(max_length=30)
    role = models.CharField(max_length=16)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step", "role"], name="duty_grant_once")]

    def __str__(self) -> str:
        return f"{self.role}: {self.step}"


class CommissionStatus(models.TextChoices):
    PAYABLE = "payable", _("Payable")
    RETAINED = "retained", _("Retained")
    RELEASED = "released", _("Released")
    FORFEITED = "forfeited", _("Forfeited")
    # Taken back because the payment bounced or was refunded: a positive amount, a deduction.
    CLAWED_BACK = "clawed_back", _("Clawed back")


class CommissionEntry(models.Model):
    """提成台账: commission accrues on collected cash; a retained part waits for a clean period
    (the article's long-term incentive)."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_entries"
    )
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="commission")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    amount = money_field(_("amount"))
    status = models.CharField(max_length=12, choices=CommissionStatus.choices)
    # The reversal a clawed-back entry takes back commission for; null on accruals.
    reversal = models.ForeignKey(
        "PaymentReversal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clawbacks",
    )
    release_on = models.DateField(_("release on"), null=True, blank=True)
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("commission entry")
        indexes = [models.Index(fields=["rep", "created_at"], name="commission_rep_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CommissionStatus.values), name="commission_status_known"
            ),
            # One payable and one retained entry per payment at most: a payment accrues once.
            # Clawbacks are one per reversal, and a payment may be refunded several times.
            models.UniqueConstraint(
                fields=["payment", "status"],
                condition=Q(reversal__isnull=True),
                name="commission_accrues_once",
            ),
            models.UniqueConstraint(fields=["reversal"], name="commission_claws_back_once"),
            models.CheckConstraint(
                condition=Q(status=CommissionStatus.CLAWED_BACK, reversal__isnull=False)
                | (~Q(status=CommissionStatus.CLAWED_BACK) & Q(reversal__isnull=True)),
                name="commission_clawback_of_a_reversal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep_id}: {self.amount} ({self.status})"


class ReversalKind(models.TextChoices):
    BOUNCED = "bounced", _("Bounced")  # 退票: the cheque or acceptance bill came back
    REFUNDED = "refunded", _("Refunded")  # 退款: money paid back to the customer


class PaymentReversal(models.Model):
    """Cash that did not stay (退票, 退款): a bounce takes back the whole payment, refunds may
    take it back in parts, never more than the payment (Payment.reversed_amount and its CHECK).
    The invoice and the order count it as unpaid again, and the commission it earned is
    clawed back (commission.py)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="reversals")
    kind = models.CharField(_("kind"), max_length=10, choices=ReversalKind.choices)
    amount = money_field(_("amount"))
    reason = models.TextField(_("reason"))
    reversed_on = models.DateField(_("reversed on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("payment reversal")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="reversal_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=ReversalKind.values), name="reversal_kind_known"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="reversal_reason_given"),
            # A payment bounces once, and then nothing of it is left to reverse.
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind=ReversalKind.BOUNCED),
                name="reversal_bounces_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}: −{self.amount} ({self.kind})"
