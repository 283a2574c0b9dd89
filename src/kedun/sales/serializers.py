"""The sales API's shapes (MISSION §5): input serializers only check the form of a request —
the services decide what may be done — and output serializers show a row as the viewer sees it.

Statuses are plain strings in the schema, their values in the help text: several models call
their field `status`, and drf-spectacular would otherwise invent hashed enum names.
Amounts are strings of yuan with two decimals (DRF's Decimal output), rates fractions (0.1300).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import (
    CommissionEntry,
    CommissionStatus,
    Invoice,
    LostReason,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentReversal,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    ReversalKind,
    Shipment,
    ShipmentLine,
)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def _quantity(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=3, **kwargs)


def _rate(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=4, **kwargs)


MAX_LINES = 200


def _lines(child: serializers.Serializer) -> serializers.ListSerializer:
    """At least one line, at most MAX_LINES (the stubs do not know ListSerializer's limits)."""
    limits: dict[str, Any] = {"allow_empty": False, "max_length": MAX_LINES}
    return serializers.ListSerializer(child=child, **limits)


# -- the catalogue ----------------------------------------------------------------------------


class ProductOutput(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "unit",
            "list_price",
            "floor_price",
            "tax_rate",
            "commission_rate",
            "lead_time_days",
            "active",
        ]


class ProductUpdateInput(serializers.Serializer):
    """Only the fields sent change."""

    name = serializers.CharField(max_length=200, required=False)
    unit = serializers.CharField(max_length=20, required=False)
    list_price = _money(required=False)
    floor_price = _money(required=False)
    tax_rate = _rate(required=False)
    commission_rate = _rate(required=False, allow_null=True, help_text="null: the rep's rate")
    lead_time_days = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    active = serializers.BooleanField(required=False)


class ProductCreateInput(serializers.Serializer):
    sku = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    unit = serializers.CharField(max_length=20, required=False, default="件")
    list_price = _money()
    floor_price = _money()
    tax_rate = _rate(required=False, default="0.1300")
    commission_rate = _rate(
        required=False, allow_null=True, default=None, help_text="null: the rep's rate"
    )
    lead_time_days = serializers.IntegerField(
        min_value=0, max_value=32767, required=False, default=14
    )


class LostReasonOutput(serializers.ModelSerializer):
    class Meta:
        model = LostReason
        fields = ["code", "label", "needs_competitor"]


# -- quotes -----------------------------------------------------------------------------------


class LineInput(serializers.Serializer):
    product = serializers.IntegerField(help_text="a product id")
    quantity = _quantity()
    unit_price = _money(
        required=False, allow_null=True, default=None, help_text="null: the list's price"
    )
    discount_rate = _rate(required=False, default="0")
    description = serializers.CharField(
        max_length=300, required=False, default="", allow_blank=True
    )


class QuoteCreateInput(serializers.Serializer):
    customer = serializers.IntegerField(help_text="a customer id")
    lines = _lines(LineInput())
    valid_until = serializers.DateField()
    need = serializers.IntegerField(required=False, allow_null=True, default=None)
    price_list = serializers.IntegerField(required=False, allow_null=True, default=None)


class QuoteLineOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")

    class Meta:
        model = QuoteLine
        fields = [
            "id",
            "product",
            "sku",
            "name",
            "description",
            "quantity",
            "unit_price",
            "discount_rate",
            "tax_rate",
            "net_amount",
            "tax_amount",
        ]


class QuoteOutput(serializers.ModelSerializer):
    status = serializers.CharField(help_text=", ".join(QuoteStatus.values))
    customer_name = serializers.CharField(source="customer.name")
    owner = serializers.CharField(source="owner.username")
    gross_total = _money()
    approval_reasons = serializers.SerializerMethodField()
    approved_by = serializers.CharField(
        source="approved_by.username", allow_null=True, default=None
    )
    lost_reason = serializers.CharField(source="lost_reason.code", allow_null=True, default=None)

    class Meta:
        model = Quote
        fields = [
            "id",
            "number",
            "version",
            "customer",
            "customer_name",
            "need",
            "owner",
            "price_list",
            "status",
            "valid_until",
            "net_total",
            "tax_total",
            "gross_total",
            "list_total",
            "approval_reasons",
            "approved_by",
            "approved_at",
            "decision_note",
            "lost_reason",
            "lost_competitor",
            "lost_note",
            "lost_at",
            "created_at",
        ]

    def get_approval_reasons(self, quote: Quote) -> list[str]:
        return [line for line in quote.approval_reasons.splitlines() if line]


class QuoteDetailOutput(QuoteOutput):
    lines = QuoteLineOutput(many=True)

    class Meta(QuoteOutput.Meta):
        fields = [*QuoteOutput.Meta.fields, "lines"]


class NoteInput(serializers.Serializer):
    # Blank is let through so that the service answers with its own message.
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class LostInput(serializers.Serializer):
    reason = serializers.CharField(max_length=30, help_text="a lost reason's code")
    note = serializers.CharField(max_length=2000, allow_blank=True)
    competitor = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class ReviseInput(serializers.Serializer):
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)


# -- orders -----------------------------------------------------------------------------------


class OrderTermsInput(serializers.Serializer):
    promised_date = serializers.DateField()
    payment_terms_days = serializers.IntegerField(
        min_value=0, max_value=32767, required=False, default=30
    )


class OrderCreateInput(OrderTermsInput):
    customer = serializers.IntegerField(help_text="a customer id")
    lines = _lines(LineInput())


class OrderOutput(serializers.ModelSerializer):
    status = serializers.CharField(help_text=", ".join(OrderStatus.values))
    customer_name = serializers.CharField(source="customer.name")
    owner = serializers.CharField(source="owner.username")
    gross_total = _money()
    lost_reason = serializers.CharField(source="lost_reason.code", allow_null=True, default=None)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "customer",
            "customer_name",
            "quote",
            "owner",
            "status",
            "promised_date",
            "delivered_at",
            "days_late",
            "payment_terms_days",
            "net_total",
            "tax_total",
            "gross_total",
            "invoiced_total",
            "paid_total",
            "contract_number",
            "contract_signed_on",
            "lost_reason",
            "lost_competitor",
            "lost_note",
            "lost_at",
            "created_at",
        ]


class OrderLineOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "product",
            "sku",
            "name",
            "description",
            "quantity",
            "shipped_quantity",
            "unit_price",
            "discount_rate",
            "tax_rate",
            "net_amount",
            "tax_amount",
        ]


class ShipmentLineOutput(serializers.ModelSerializer):
    line = serializers.IntegerField(source="order_line_id")

    class Meta:
        model = ShipmentLine
        fields = ["line", "quantity"]


class ShipmentOutput(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")
    lines = ShipmentLineOutput(many=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "shipped_at",
            "carrier",
            "tracking_number",
            "consignee",
            "consignee_differs",
            "delivered_at",
            "recorded_by",
            "lines",
        ]


class PaymentReversalOutput(serializers.ModelSerializer):
    kind = serializers.CharField(help_text=", ".join(ReversalKind.values))
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = PaymentReversal
        fields = ["id", "kind", "amount", "reason", "reversed_on", "recorded_by", "recorded_at"]


class PaymentOutput(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")
    reversals = PaymentReversalOutput(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "invoice",
            "amount",
            "received_on",
            "payer_name",
            "payer_account",
            "payer_differs",
            "recorded_by",
            "recorded_at",
            "reversed_amount",
            "reversals",
        ]


class InvoiceOutput(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "order",
            "number",
            "amount",
            "paid_amount",
            "issued_on",
            "due_on",
            "recorded_by",
            "recorded_at",
        ]


class InvoiceDetailOutput(InvoiceOutput):
    payments = PaymentOutput(many=True)

    class Meta(InvoiceOutput.Meta):
        fields = [*InvoiceOutput.Meta.fields, "payments"]


class OrderDetailOutput(OrderOutput):
    lines = OrderLineOutput(many=True)
    shipments = ShipmentOutput(many=True)
    invoices = InvoiceDetailOutput(many=True)

    class Meta(OrderOutput.Meta):
        fields = [*OrderOutput.Meta.fields, "lines", "shipments", "invoices"]


class ContractInput(serializers.Serializer):
    contract_number = serializers.CharField(max_length=60)
    signed_on = serializers.DateField()


class ShipmentLineInput(serializers.Serializer):
    line = serializers.IntegerField(help_text="an order line id")
    quantity = _quantity()


class ShipmentInput(serializers.Serializer):
    lines = _lines(ShipmentLineInput())
    shipped_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="null: now"
    )
    carrier = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    tracking_number = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True
    )
    consignee = serializers.CharField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="who receives the goods; empty: the customer",
    )


class DeliveryInput(serializers.Serializer):
    delivered_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="null: now"
    )


class InvoiceInput(serializers.Serializer):
    number = serializers.CharField(max_length=40)
    amount = _money()
    issued_on = serializers.DateField()
    due_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="null: after the payment terms"
    )


class PaymentInput(serializers.Serializer):
    amount = _money()
    received_on = serializers.DateField()
    payer_name = serializers.CharField(max_length=200)
    payer_account = serializers.CharField(max_length=60)


class ReversalInput(serializers.Serializer):
    kind = serializers.CharField(
        max_length=10, help_text="bounced (all of it) or refunded (some or all)"
    )
    amount = _money(
        required=False, allow_null=True, default=None, help_text="null for a bounce: all of it"
    )
    reason = serializers.CharField(max_length=300)
    reversed_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="null: today"
    )


class CancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True)


# -- receivables and commission ---------------------------------------------------------------


class ReceivableOutput(serializers.Serializer):
    invoice = InvoiceOutput()
    order_number = serializers.CharField(source="invoice.order.number")
    customer = serializers.IntegerField(source="invoice.order.customer_id")
    customer_name = serializers.CharField(source="invoice.order.customer.name")
    owner = serializers.CharField(source="invoice.order.owner.username")
    open_amount = _money()
    days_overdue = serializers.IntegerField(help_text="negative: days until it falls due")
    bucket = serializers.CharField(help_text="not_due, 0_30, 31_60, 61_90, over_90")


class CommissionEntryOutput(serializers.ModelSerializer):
    status = serializers.CharField(help_text=", ".join(CommissionStatus.values))
    rep = serializers.CharField(source="rep.username")
    order_number = serializers.CharField(source="order.number")
    received_on = serializers.DateField(source="payment.received_on")

    class Meta:
        model = CommissionEntry
        fields = [
            "id",
            "rep",
            "order",
            "order_number",
            "payment",
            "reversal",
            "received_on",
            "amount",
            "status",
            "release_on",
            "created_at",
            "settled_at",
        ]


class CommissionTotalsOutput(serializers.Serializer):
    payable = _money()
    retained = _money()
    released = _money()
    forfeited = _money()
    clawed_back = _money(help_text="taken back for bounced or refunded payments")
    earned = _money(help_text="payable plus released, less clawed back")


class CommissionLedgerOutput(serializers.Serializer):
    rep = serializers.CharField(allow_null=True, help_text="null: everyone you may see")
    totals = CommissionTotalsOutput()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CommissionEntryOutput(many=True)
