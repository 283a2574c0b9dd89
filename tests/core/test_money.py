from decimal import Decimal

import pytest
from django.template import Context, Template

from kedun.core.templatetags.money import money


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("11500"), "¥11,500.00"),
        (Decimal("11500.005"), "¥11,500.01"),
        (Decimal("0"), "¥0.00"),
        (Decimal("-1234.5"), "-¥1,234.50"),
        (Decimal("1234567.891"), "¥1,234,567.89"),
        ("980.4", "¥980.40"),
        (None, "—"),
    ],
)
def test_money_reads_as_yuan_with_thousands_and_cents(value, shown):
    assert money(value) == shown


def test_the_filter_is_loaded_by_name_in_templates():
    page = Template("{% load money %}{{ amount|money }}").render(
        Context({"amount": Decimal("11500")})
    )
    assert page == "¥11,500.00"
