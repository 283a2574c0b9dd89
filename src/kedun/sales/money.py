"""Money arithmetic, stated once (MISSION §5).

Amounts are `Decimal` in yuan with two places. A line's net amount is quantity × unit price ×
(1 − discount), rounded half up to the cent; its tax is the net amount × the tax rate, rounded
half up to the cent; a document's totals are the sums of its rounded lines (so the printed
lines always add up to the printed total — what a Chinese 增值税 invoice does per line).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


def line_amounts(
    *, quantity: Decimal, unit_price: Decimal, discount_rate: Decimal, tax_rate: Decimal
) -> LineAmounts:
    net = to_cents(quantity * unit_price * (Decimal(1) - discount_rate))
    return LineAmounts(net=net, tax=to_cents(net * tax_rate))


@dataclass(frozen=True)
class Totals:
    net: Decimal
    tax: Decimal
    list_value: Decimal  # at list price, before discounts (what the discount is measured on)

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    @property
    def discount(self) -> Decimal:
        return self.list_value - self.net


def totals(lines: list[tuple[LineAmounts, Decimal]]) -> Totals:
    """Sum rounded lines; each item is (amounts, list value of the line)."""
    return Totals(
        net=sum((a.net for a, _ in lines), ZERO),
        tax=sum((a.tax for a, _ in lines), ZERO),
        list_value=sum((v for _, v in lines), ZERO),
    )
