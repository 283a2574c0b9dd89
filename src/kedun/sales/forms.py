"""Forms of the sales pages: what people type, checked for shape only. Who may do it, and the
business rules (floors, limits, quantities left to ship, amounts left to pay), are the
services' answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kedun.customers.models import Customer

from .models import Invoice, OrderLine, Product

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NEW_QUOTE_LINES = 5


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.sku} {obj.name} · {obj.list_price}/{obj.unit}"


class QuoteLineForm(forms.Form):
    product = ProductChoiceField(
        label=_("Product"), queryset=Product.objects.filter(active=True), required=False
    )
    quantity = forms.DecimalField(
        label=_("Quantity"), max_digits=14, decimal_places=3, min_value=0, required=False
    )
    unit_price = forms.DecimalField(
        label=_("Unit price (blank: the list price)"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
    )
    discount_percent = forms.DecimalField(
        label=_("Discount %"), max_digits=5, decimal_places=2, min_value=0, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("product") and not data.get("quantity"):
            self.add_error("quantity", _("How many?"))
        return data

    def line(self) -> dict[str, Any] | None:
        """The line as quote services take it; None for a blank row."""
        data = self.cleaned_data
        if not data.get("product"):
            return None
        percent = data.get("discount_percent") or Decimal(0)
        return {
            "product": data["product"],
            "quantity": data["quantity"],
            "unit_price": data.get("unit_price"),
            "discount_rate": percent / 100,
        }


# A new quote offers blank rows; a draft shows its own lines and two more.
NewQuoteLineFormSet = forms.formset_factory(QuoteLineForm, extra=NEW_QUOTE_LINES, max_num=200)
QuoteLineFormSet = forms.formset_factory(QuoteLineForm, extra=2, max_num=200)


class QuoteForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    valid_until = forms.DateField(label=_("Valid until"), widget=DATE)

    def __init__(self, *args: Any, customers: QuerySet[Customer], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["customer"]).queryset = customers


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class QuoteLostForm(forms.Form):
    reason_code = forms.ChoiceField(label=_("Reason"), choices=())
    competitor = forms.CharField(label=_("Competitor"), max_length=200, required=False)
    note = forms.CharField(
        label=_("What happened"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, reasons: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["reason_code"]).choices = reasons


class OrderFromQuoteForm(forms.Form):
    promised_date = forms.DateField(label=_("Promised delivery date"), widget=DATE)
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (days)"), min_value=0, max_value=365, initial=30
    )


class ContractForm(forms.Form):
    contract_number = forms.CharField(label=_("Contract number"), max_length=60)
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE)


class ShipmentForm(forms.Form):
    """One quantity field per order line still to ship, named line_<id>."""

    carrier = forms.CharField(label=_("Carrier"), max_length=100, required=False)
    tracking = forms.CharField(label=_("Tracking number"), max_length=100, required=False)

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.order_lines = {f"line_{line.pk}": line for line in lines}
        for name, line in self.order_lines.items():
            left = line.quantity - line.shipped_quantity
            field = forms.DecimalField(
                label=f"{line.product.sku} {line.product.name} ({_('left')}: {left:f})",
                max_digits=14,
                decimal_places=3,
                min_value=0,
                required=False,
            )
            field.widget.attrs["data-line"] = str(line.pk)
            self.fields[name] = field

    def shipped(self) -> dict[OrderLine, Decimal]:
        return {
            line: self.cleaned_data[name]
            for name, line in self.order_lines.items()
            if self.cleaned_data.get(name)
        }


class InvoiceForm(forms.Form):
    number = forms.CharField(label=_("Invoice number"), max_length=40)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0)
    issued_on = forms.DateField(label=_("Issued on"), widget=DATE)
    due_on = forms.DateField(
        label=_("Due on (blank: by the payment terms)"), widget=DATE, required=False
    )


class InvoiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.number} · {obj.amount - obj.paid_amount} {_('open')}"


class PaymentForm(forms.Form):
    invoice = InvoiceChoiceField(label=_("Invoice"), queryset=Invoice.objects.none())
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0)
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    payer_name = forms.CharField(label=_("Payer"), max_length=200)
    payer_account = forms.CharField(label=_("Payer's account"), max_length=60)

    def __init__(self, *args: Any, invoices: QuerySet[Invoice], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["invoice"]).queryset = invoices


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), min_length=5, max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
