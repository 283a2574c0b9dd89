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

from .models import Invoice, LostReason, OrderLine, PriceList, Product, ReversalKind

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
    consignee = forms.CharField(
        label=_("Consignee"),
        max_length=200,
        required=False,
        help_text=_("Leave empty when the goods go to the customer."),
    )

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.order_lines = {f"line_{line.pk}": line for line in lines}
        for name, line in self.order_lines.items():
            left = line.quantity - line.shipped_quantity
            field = forms.DecimalField(
                label=_("%(sku)s %(name)s (left: %(left)s)")
                % {"sku": line.product.sku, "name": line.product.name, "left": f"{left:f}"},
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
        # A whole sentence for the translators: xgettext does not read calls inside f-strings.
        return str(
            _("%(number)s · %(amount)s open")
            % {"number": obj.number, "amount": obj.amount - obj.paid_amount}
        )


class PaymentForm(forms.Form):
    invoice = InvoiceChoiceField(label=_("Invoice"), queryset=Invoice.objects.none())
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0)
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    payer_name = forms.CharField(label=_("Payer"), max_length=200)
    payer_account = forms.CharField(label=_("Payer's account"), max_length=60)

    def __init__(self, *args: Any, invoices: QuerySet[Invoice], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["invoice"]).queryset = invoices


class ReversalForm(forms.Form):
    """A bounce or a refund of one payment (which one: a hidden field, one form per payment)."""

    payment = forms.IntegerField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=_("Kind"), choices=ReversalKind.choices)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("A bounce is always the whole payment."),
    )
    reversed_on = forms.DateField(label=_("Date"), widget=DATE)
    reason = forms.CharField(
        label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), min_length=5, max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


# -- the catalogue and the sales settings -----------------------------------------------------

# Rates are typed as percentages (13 for 13 %); the services take fractions.
PERCENT: dict[str, Any] = {
    "max_digits": 6,
    "decimal_places": 2,
    "min_value": Decimal(0),
    "max_value": Decimal("99.99"),
}


def percent_of(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else (rate * 100).quantize(Decimal("0.01"))


def _rate(percent: Decimal | None) -> Decimal | None:
    return None if percent is None else percent / 100


def _money(label: Any, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, max_digits=14, decimal_places=2, min_value=Decimal(0), **kwargs
    )


class ProductForm(forms.Form):
    """A new product (with its code) or a product's changes (with its active flag)."""

    sku = forms.CharField(label=_("Product code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    unit = forms.CharField(label=_("Unit"), max_length=20, initial="件")
    list_price = _money(_("List price"))
    floor_price = _money(_("Floor price (below it a quote needs approval)"))
    tax_percent = forms.DecimalField(label=_("Tax rate %"), initial=Decimal(13), **PERCENT)
    commission_percent = forms.DecimalField(
        label=_("Commission % (blank: the rep's rate)"), required=False, **PERCENT
    )
    lead_time_days = forms.IntegerField(
        label=_("Usual lead time (days)"), min_value=0, max_value=3650, initial=14
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, product: Product | None = None, **kwargs: Any):
        if product is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": product.name,
                    "unit": product.unit,
                    "list_price": product.list_price,
                    "floor_price": product.floor_price,
                    "tax_percent": percent_of(product.tax_rate),
                    "commission_percent": percent_of(product.commission_rate),
                    "lead_time_days": product.lead_time_days,
                    "active": product.active,
                },
            )
        super().__init__(*args, **kwargs)
        del self.fields["sku" if product is not None else "active"]

    def values(self) -> dict[str, Any]:
        """The fields as product_create / product_update take them."""
        data = dict(self.cleaned_data)
        data["tax_rate"] = _rate(data.pop("tax_percent"))
        data["commission_rate"] = _rate(data.pop("commission_percent"))
        return data


class PriceListForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE, required=False)
    valid_until = forms.DateField(label=_("Valid until"), widget=DATE, required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, price_list: PriceList | None = None, **kwargs: Any):
        if price_list is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": price_list.name,
                    "valid_from": price_list.valid_from,
                    "valid_until": price_list.valid_until,
                    "active": price_list.active,
                },
            )
        super().__init__(*args, **kwargs)
        if price_list is None:
            del self.fields["active"]


class PriceListPricesForm(forms.Form):
    """One price per product, named price_<id>; blank takes the product off the list."""

    def __init__(
        self, *args: Any, products: list[Product], prices: dict[int, Decimal], **kwargs: Any
    ):
        kwargs.setdefault("initial", {f"price_{pk}": price for pk, price in prices.items()})
        super().__init__(*args, **kwargs)
        self.products = {f"price_{product.pk}": product for product in products}
        for name, product in self.products.items():
            field = _money(f"{product.sku} {product.name}", required=False)
            field.widget.attrs["data-product"] = product.sku
            self.fields[name] = field

    def rows(self) -> list[tuple[Product, forms.BoundField]]:
        return [(product, self[name]) for name, product in self.products.items()]

    def prices(self) -> dict[Product, Decimal | None]:
        return {product: self.cleaned_data.get(name) for name, product in self.products.items()}


class LostReasonForm(forms.Form):
    """A new reason (with its code) or a reason's changes (with its active flag)."""

    code = forms.CharField(label=_("Code (letters, digits, - or _)"), max_length=30)
    label = forms.CharField(label=_("Reason"), max_length=100)
    needs_competitor = forms.BooleanField(label=_("Asks for the competitor"), required=False)
    position = forms.IntegerField(
        label=_("Position in the list"), min_value=0, max_value=32767, required=False
    )
    active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args: Any, reason: LostReason | None = None, **kwargs: Any):
        if reason is not None:
            kwargs.setdefault(
                "initial",
                {
                    "label": reason.label,
                    "needs_competitor": reason.needs_competitor,
                    "position": reason.position,
                    "active": reason.active,
                },
            )
        super().__init__(*args, **kwargs)
        if reason is None:
            del self.fields["active"]
        else:
            del self.fields["code"]
            self.fields["position"].required = True


class RepTermsForm(forms.Form):
    max_discount_percent = forms.DecimalField(label=_("Discount limit %"), **PERCENT)
    commission_percent = forms.DecimalField(label=_("Commission %"), **PERCENT)

    def rates(self) -> dict[str, Decimal]:
        return {
            "max_discount_rate": self.cleaned_data["max_discount_percent"] / 100,
            "commission_rate": self.cleaned_data["commission_percent"] / 100,
        }
