from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kedun.org.access import acting_user
from kedun.org.models import Department

from ..models import QuoteLine, QuoteStatus
from ..selectors import quote_get_for_viewer, quote_lines_of

# A printout of these is a document the customer may hold; any other is marked as not valid.
_ISSUED = (QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.ACCEPTED)


@dataclass(frozen=True)
class PrintedLine:
    position: int
    sku: str
    name: str
    description: str
    unit: str
    quantity: str
    unit_price: Decimal
    discount: str
    net: Decimal
    tax_rate: str
    tax: Decimal
    gross: Decimal


def _plain(number: Decimal) -> str:
    """2.500 → "2.5", 3.000 → "3" (never "3E+0")."""
    return f"{number.normalize():f}"


def _percent(rate: Decimal) -> str:
    return _plain(rate * 100) + " %"


def _printed(line: QuoteLine) -> PrintedLine:
    return PrintedLine(
        position=line.position,
        sku=line.product.sku,
        name=line.product.name,
        description=line.description,
        unit=line.product.unit,
        quantity=_plain(line.quantity),
        unit_price=line.unit_price,
        discount=_percent(line.discount_rate) if line.discount_rate else "",
        net=line.net_amount,
        tax_rate=_percent(line.tax_rate),
        tax=line.tax_amount,
        gross=line.net_amount + line.tax_amount,
    )


def _company_name() -> str:
    top = Department.objects.filter(parent__isnull=True).order_by("pk").first()
    return top.name if top else ""


@login_required
def quote_print(request: HttpRequest, quote_id: int) -> HttpResponse:
    """A quote version as the customer would read it: company, customer, lines, tax, totals
    and validity. The same 404 for a quote that is missing and one the viewer may not see."""
    quote = quote_get_for_viewer(viewer=acting_user(request), quote_id=quote_id)
    context = {
        "quote": quote,
        "company": _company_name(),
        "lines": [_printed(line) for line in quote_lines_of(quote=quote)],
        "issued": quote.status in _ISSUED,
    }
    return render(request, "sales/quote_print.html", context)
