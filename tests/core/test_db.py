"""The bulk writers' helpers (core/db.py), on the engine the suite runs on."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from kedun.core.db import planner_statistics_refresh, rows_update
from kedun.sales.models import Order
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_rows_update_sets_each_row_its_own_values_by_id():
    first, second, untouched = OrderFactory.create_batch(3)
    delivered = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    adapt_dt = connection.ops.adapt_datetimefield_value
    adapt_money = connection.ops.adapt_decimalfield_value

    rows_update(
        Order,
        ("status", "delivered_at", "days_late", "invoiced_total"),
        [
            ("delivered", adapt_dt(delivered), 2, adapt_money(Decimal("400.00")), first.pk),
            ("confirmed", None, None, adapt_money(Decimal("0")), second.pk),
        ],
    )

    first.refresh_from_db()
    second.refresh_from_db()
    before = untouched.status, untouched.delivered_at
    untouched.refresh_from_db()
    assert (first.status, first.delivered_at, first.days_late) == ("delivered", delivered, 2)
    assert first.invoiced_total == Decimal("400.00")
    assert (second.status, second.delivered_at, second.days_late) == ("confirmed", None, None)
    assert (untouched.status, untouched.delivered_at) == before


def test_rows_update_is_checked_by_the_tables_constraints():
    order = OrderFactory()
    adapt_dt = connection.ops.adapt_datetimefield_value
    moment = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

    # Delivered without its days late: the CHECK refuses it, nothing is written.
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_update(Order, ("delivered_at", "days_late"), [(adapt_dt(moment), None, order.pk)])

    order.refresh_from_db()
    assert order.delivered_at is None


def test_rows_update_of_no_rows_does_nothing():
    rows_update(Order, ("status",), [])


def test_statistics_refresh_of_named_tables_gives_the_planner_their_sizes():
    OrderFactory.create_batch(3)
    planner_statistics_refresh(tables=[Order._meta.db_table])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE relname = %s", [Order._meta.db_table]
            )
            assert cursor.fetchone()[0] == 3
        else:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [Order._meta.db_table])
            assert all(stat.startswith("3") for (stat,) in cursor.fetchall())


def test_any_of_finds_what_in_finds_for_plain_values_and_foreign_keys():
    first, second, _third = OrderFactory.create_batch(3)
    wanted = [first.number, second.number, "NO-SUCH", None]

    assert set(Order.objects.filter(number__any_of=wanted)) == {first, second}
    assert set(Order.objects.filter(customer_id__any_of={first.customer_id})) == {first}
    assert set(Order.objects.exclude(number__any_of=wanted)) == set(
        Order.objects.exclude(number__in=wanted[:3])
    )
    assert list(Order.objects.filter(pk__any_of=[])) == []
