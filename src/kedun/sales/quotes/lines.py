"""Quote lines and their totals, priced from the price list or the list price."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from kedun.core.errors import Invalid

from .. import money
from ..catalogue import (
    MONEY_LIMIT,
    list_prices,
    parse_money,
    parse_quantity,
    parse_rate,
)
from ..models import PriceList, Product, Quote, QuoteLine
from .common import MAX_LINES, LineSpec, QuoteLineInput

# -- lines and totals -----------------------------------------------------------------------


def _line_input(spec: LineSpec) -> QuoteLineInput:
    if isinstance(spec, QuoteLineInput):
        return spec
    known = {"product", "quantity", "unit_price", "discount_rate", "description"}
    unknown = set(spec) - known
    if unknown or "product" not in spec or "quantity" not in spec:
        raise Invalid(_("Each line needs a product and a quantity."), code="line")
    return QuoteLineInput(**spec)


def _priced_lines(
    specs: Sequence[LineSpec], *, price_list: PriceList | None
) -> tuple[list[QuoteLine], money.Totals]:
    """Unsaved lines with their amounts, and the totals (money.py's rounding)."""
    if not specs:
        raise Invalid(_("A quote needs at least one line."), code="no_lines")
    if len(specs) > MAX_LINES:
        raise Invalid(_("A quote has at most %(max)d lines.") % {"max": MAX_LINES})
    inputs = [_line_input(spec) for spec in specs]
    ids = {i.product.pk if isinstance(i.product, Product) else i.product for i in inputs}
    products = Product.objects.filter(active=True).in_bulk([i for i in ids if i is not None])
    prices = list_prices(price_list, list(products.values()))
    lines: list[QuoteLine] = []
    amounts: list[tuple[money.LineAmounts, Decimal]] = []
    for position, given in enumerate(inputs, start=1):
        pk = given.product.pk if isinstance(given.product, Product) else given.product
        product = products.get(pk) if isinstance(pk, int) else None
        if product is None:
            raise Invalid(
                _("Line %(line)d: the product is not in the catalogue (or no longer sold).")
                % {"line": position},
                code="product",
            )
        field = _("Line %(line)d") % {"line": position}
        quantity = parse_quantity(given.quantity, field=field + " · " + _("quantity"))
        if given.unit_price is None:
            unit_price = prices.get(product.pk, product.list_price)
        else:
            unit_price = parse_money(given.unit_price, field=field + " · " + _("unit price"))
        discount = parse_rate(given.discount_rate, field=field + " · " + _("discount"))
        line_amounts = money.line_amounts(
            quantity=quantity,
            unit_price=unit_price,
            discount_rate=discount,
            tax_rate=product.tax_rate,
        )
        if line_amounts.net >= MONEY_LIMIT:
            raise Invalid(_("%(field)s: the amount is too large.") % {"field": field})
        description = " ".join(given.description.split())
        if len(description) > 300:
            raise Invalid(
                _("%(field)s: the description has at most 300 characters.") % {"field": field}
            )
        lines.append(
            QuoteLine(
                product=product,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                discount_rate=discount,
                tax_rate=product.tax_rate,
                net_amount=line_amounts.net,
                tax_amount=line_amounts.tax,
                position=position,
            )
        )
        amounts.append((line_amounts, money.to_cents(quantity * product.list_price)))
    totals = money.totals(amounts)
    if max(totals.net + totals.tax, totals.list_value) >= MONEY_LIMIT:
        raise Invalid(_("The quote's total is too large."))
    return lines, totals


def _store_lines(quote: Quote, lines: list[QuoteLine], totals: money.Totals) -> None:
    for line in lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(lines)
    quote.net_total = totals.net
    quote.tax_total = totals.tax
    quote.list_total = totals.list_value


def _totals_changes(quote: Quote) -> dict[str, Any]:
    return {
        "net_total": quote.net_total,
        "tax_total": quote.tax_total,
        "list_total": quote.list_total,
        "lines": quote.lines.count(),
    }
