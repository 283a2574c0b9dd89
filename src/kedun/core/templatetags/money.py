"""Money as people read it on every page: `{{ amount|money }}` → ¥11,500.00.

One filter, so a list, a card and a total never disagree (a bare Decimal prints as 11500.00,
which a rep reads as eleven thousand or as one hundred and fifteen thousand depending on the
screen). Amounts are CNY (Kedun keeps one currency); two places always, a thousands comma
whatever the language (Chinese also groups by three in commercial figures).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

_CENT = Decimal("0.01")


@register.filter
def money(value: object) -> str:
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"
