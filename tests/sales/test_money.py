"""The rounding rules of money.py, against exact arithmetic: a line is rounded once, half up
to the cent, and a quote's stored totals are the sums of its stored lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kedun.core import clock
from kedun.sales import money
from kedun.sales.models import Quote
from kedun.sales.quotes import quote_create
from tests.factories import ProductFactory

from .conftest import T0, TODAY

pytestmark = pytest.mark.django_db


def scaled(places: int, high: int, low: int = 0):
    """Decimals with exactly `places` decimal places, from low to high (in those units)."""
    return st.integers(low, high).map(lambda n: Decimal(n).scaleb(-places))


# The widest values the columns hold: quantity (14, 3), price (14, 2), rates (5, 4).
quantities = scaled(3, 10**11 - 1, low=1)
prices = scaled(2, 10**12 - 1)
rates = scaled(4, 9999)
# What a real quote holds, so that most examples pass the service's limits.
everyday_quantities = scaled(3, 10**7, low=1)
everyday_prices = scaled(2, 10**8)


def cents_half_up(exact: Fraction) -> Decimal:
    """Round a non-negative exact value half up to the cent, with no Decimal context."""
    hundredths = exact * 100
    whole, rest = divmod(hundredths.numerator, hundredths.denominator)
    if 2 * rest >= hundredths.denominator:
        whole += 1
    return Decimal(whole).scaleb(-2)


def exact_line(quantity, unit_price, discount_rate, tax_rate) -> tuple[Decimal, Decimal]:
    net = cents_half_up(Fraction(quantity) * Fraction(unit_price) * (1 - Fraction(discount_rate)))
    return net, cents_half_up(Fraction(net) * Fraction(tax_rate))


@given(quantities, prices, rates, rates)
@example(Decimal("1.000"), Decimal("0.05"), Decimal("0.5000"), Decimal("0"))  # 0.025 → 0.03
@example(Decimal("3.000"), Decimal("120.50"), Decimal("0"), Decimal("0.1300"))  # tax 46.995
@example(Decimal("0.001"), Decimal("0.01"), Decimal("0"), Decimal("0"))  # 0.00001 → 0.00
@example(Decimal("99999999999.999"), Decimal("0.01"), Decimal("0.9999"), Decimal("0.9999"))
def test_a_line_is_rounded_once_half_up_to_the_cent(quantity, unit_price, discount, tax_rate):
    exact = Fraction(quantity) * Fraction(unit_price) * (1 - Fraction(discount))
    if exact >= 10**12:  # the service refuses a line that does not fit the column
        return

    amounts = money.line_amounts(
        quantity=quantity, unit_price=unit_price, discount_rate=discount, tax_rate=tax_rate
    )

    assert (amounts.net, amounts.tax) == exact_line(quantity, unit_price, discount, tax_rate)
    # Never a cent lost or invented: within half a cent of the exact value.
    assert abs(Fraction(amounts.net) - exact) <= Fraction(1, 200)
    assert amounts.net.as_tuple().exponent == -2 and amounts.tax.as_tuple().exponent == -2
    assert amounts.gross == amounts.net + amounts.tax


line_values = st.tuples(everyday_quantities, everyday_prices, rates, rates)


@given(st.lists(line_values, min_size=0, max_size=12))
def test_totals_are_the_sums_of_the_rounded_lines(values):
    lines = [
        (
            money.line_amounts(quantity=q, unit_price=p, discount_rate=d, tax_rate=t),
            money.to_cents(q * p),
        )
        for q, p, d, t in values
    ]

    totals = money.totals(lines)

    assert totals.net == sum((exact_line(*v)[0] for v in values), Decimal("0.00"))
    assert totals.tax == sum((exact_line(*v)[1] for v in values), Decimal("0.00"))
    assert totals.gross == totals.net + totals.tax
    assert totals.discount == totals.list_value - totals.net
    # The rounding drifts at most half a cent a line from the exact sum, never more.
    exact_sum = sum(
        (Fraction(q) * Fraction(p) * (1 - Fraction(d)) for q, p, d, _t in values), Fraction(0)
    )
    assert abs(Fraction(totals.net) - exact_sum) <= Fraction(len(values), 200)


quote_lines = st.lists(
    st.tuples(scaled(3, 10**6, low=1), scaled(2, 10**7), rates, rates), min_size=1, max_size=6
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=quote_lines)
@example(values=[(Decimal("3.000"), Decimal("120.50"), Decimal("0"), Decimal("0.1300"))] * 3)
def test_a_quotes_stored_totals_are_the_sums_of_its_lines(cast, owned_customer, values):
    lines = []
    for quantity, price, discount, tax_rate in values:
        # The list price stays on the floor-free side; the tax rate is the product's.
        product = ProductFactory(list_price=price, floor_price="0", tax_rate=tax_rate)
        lines.append(
            {
                "product": product,
                "quantity": quantity,
                "unit_price": price,
                "discount_rate": discount,
            }
        )

    with clock.frozen_at(T0):
        quote = quote_create(
            actor=cast.east_rep,
            customer=owned_customer,
            lines=lines,
            valid_until=TODAY + dt.timedelta(days=7),
        )

    stored = Quote.objects.get(pk=quote.pk)
    stored_lines = list(stored.lines.order_by("position"))
    expected = [exact_line(*v) for v in values]
    assert [(x.net_amount, x.tax_amount) for x in stored_lines] == expected
    assert stored.net_total == sum((x.net_amount for x in stored_lines), Decimal(0))
    assert stored.tax_total == sum((x.tax_amount for x in stored_lines), Decimal(0))
    assert stored.net_total == sum((net for net, _tax in expected), Decimal(0))
    assert stored.tax_total == sum((tax for _net, tax in expected), Decimal(0))
    assert stored.list_total == sum(
        (cents_half_up(Fraction(q) * Fraction(p)) for q, p, _d, _t in values), Decimal(0)
    )
