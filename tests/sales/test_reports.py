"""The sales reports (MISSION §5, §9) on hand-built data with exact expected figures, each
scoped to the viewer; and the SVG charts: well-formed, and every text escaped."""

from __future__ import annotations

import datetime as dt
import itertools
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from kedun.sales import charts
from kedun.sales.models import LostReason, OrderStatus, Quote, QuoteStatus
from kedun.sales.orders.logistics import days_late_of, delivery_facts_write
from kedun.sales.reports import (
    collection_by_rep,
    delivery_by_customer,
    delivery_by_product,
    orders_in_execution,
    pipeline_by_stage,
    receivables_ageing,
    wins_and_losses,
    with_customer_names,
)
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)

from .conftest import TODAY

FEBRUARY = {"since": dt.date(2026, 2, 1), "until": dt.date(2026, 2, 28)}
IN_FEBRUARY = timezone.make_aware(dt.datetime(2026, 2, 10, 9, 0))
SVG = "{http://www.w3.org/2000/svg}"
_numbers = itertools.count(1)


def D(text: str) -> Decimal:
    return Decimal(text)


def local(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def customers(cast):
    return {
        rep: CustomerFactory(name=f"{rep}的客户", owner=getattr(cast, rep))
        for rep in ("east_rep", "east_rep2", "south_rep")
    }


def order(customers, rep, status=OrderStatus.CONFIRMED, net="1000.00", **fields):
    fields.setdefault("created_at", IN_FEBRUARY)
    return OrderFactory(customer=customers[rep], status=status, net_total=net, **fields)


def quote(customers, rep, status, net, *, created_at=IN_FEBRUARY, **fields):
    customer = customers[rep]
    return Quote.objects.create(
        number=f"Q{next(_numbers):06d}",
        customer=customer,
        owner=customer.owner,
        status=status,
        net_total=Decimal(net),
        created_by=customer.owner,
        created_at=created_at,
        lost_at=created_at if status == QuoteStatus.LOST else None,
        **fields,
    )


# -- pipeline --------------------------------------------------------------------------------------


def counts(rows):
    return {row.status: (row.count, row.amount) for row in rows if row.count}


def test_the_pipeline_counts_and_sums_quotes_and_orders_by_stage(
    cast, customers, django_assert_num_queries
):
    quote(customers, "east_rep", QuoteStatus.DRAFT, "100.00")
    quote(customers, "east_rep", QuoteStatus.SENT, "200.00")
    quote(customers, "east_rep2", QuoteStatus.SENT, "300.50")
    quote(customers, "east_rep", QuoteStatus.LOST, "50.00")
    quote(customers, "east_rep", QuoteStatus.SUPERSEDED, "999.00")  # an old version
    quote(customers, "south_rep", QuoteStatus.ACCEPTED, "400.00")
    order(customers, "east_rep", OrderStatus.CONFIRMED, "1000.00")
    order(customers, "east_rep", OrderStatus.CONFIRMED, "2000.00")
    order(customers, "east_rep2", OrderStatus.PAID, "1500.00")
    order(customers, "south_rep", OrderStatus.DELIVERED, "700.00")

    with django_assert_num_queries(3):  # the team's ids, then one GROUP BY per table
        pipeline = pipeline_by_stage(viewer=cast.east_mgr)

    assert counts(pipeline.quotes) == {
        "draft": (1, D("100.00")),
        "sent": (2, D("500.50")),
        "lost": (1, D("50.00")),
    }
    assert counts(pipeline.orders) == {"confirmed": (2, D("3000.00")), "paid": (1, D("1500.00"))}
    # Every stage is listed, in the workflow's order, superseded versions never.
    assert [row.status for row in pipeline.orders] == OrderStatus.values
    assert "superseded" not in [row.status for row in pipeline.quotes]
    assert counts(pipeline_by_stage(viewer=cast.south_mgr).quotes) == {"accepted": (1, D("400"))}
    assert counts(pipeline_by_stage(viewer=cast.east_rep).quotes)["sent"] == (1, D("200.00"))


def test_the_pipeline_keeps_to_the_period(cast, customers):
    quote(customers, "east_rep", QuoteStatus.SENT, "200.00")
    quote(customers, "east_rep", QuoteStatus.SENT, "80.00", created_at=local(dt.date(2026, 1, 31)))
    # 23:30 on the last day is still February in Shanghai (15:30 UTC).
    order(customers, "east_rep", created_at=local(dt.date(2026, 2, 28), 23, 30))
    order(customers, "east_rep", created_at=local(dt.date(2026, 3, 1), 0, 30))

    pipeline = pipeline_by_stage(viewer=cast.east_mgr, **FEBRUARY)

    assert counts(pipeline.quotes) == {"sent": (1, D("200.00"))}
    assert counts(pipeline.orders) == {"confirmed": (1, D("1000.00"))}


# -- orders in execution ---------------------------------------------------------------------------


def test_orders_in_execution_with_their_promised_dates_and_days_late(cast, customers):
    late = order(customers, "east_rep", OrderStatus.CONFIRMED, "1000.00", promised_date=days_ago(5))
    due = order(customers, "east_rep2", OrderStatus.PARTLY_SHIPPED, "500.00", promised_date=TODAY)
    ahead = order(
        customers, "east_rep", OrderStatus.IN_PRODUCTION, "2000.00", promised_date=days_ago(-10)
    )
    order(customers, "east_rep", OrderStatus.SHIPPED, promised_date=days_ago(20))
    order(customers, "east_rep", OrderStatus.CANCELLED, promised_date=days_ago(20))
    order(customers, "south_rep", OrderStatus.CONFIRMED, "900.00", promised_date=days_ago(2))

    execution = orders_in_execution(viewer=cast.east_mgr, today=TODAY)

    assert [(o.pk, o.promised_date, o.days_overdue) for o in execution.orders] == [
        (late.pk, days_ago(5), 5),
        (due.pk, TODAY, 0),
        (ahead.pk, days_ago(-10), -10),
    ]
    assert (execution.count, execution.amount, execution.late, execution.late_amount) == (
        3,
        D("3500.00"),
        1,
        D("1000.00"),
    )
    everyone = orders_in_execution(viewer=cast.boss, today=TODAY)
    assert (everyone.count, everyone.late, everyone.late_amount) == (4, 2, D("1900.00"))
    mine = orders_in_execution(viewer=cast.east_rep2, today=TODAY)
    assert [o.pk for o in mine.orders] == [due.pk]


# -- delivery lead time ----------------------------------------------------------------------------


@pytest.fixture
def deliveries(cast, customers):
    """Delivered in February: east_rep's O1 3 days late (pump, valve) and O2 2 days early
    (two pump lines); east_rep2's O3 1 day late (valve: 00:30 local on the 16th, still the
    15th in UTC); south_rep's O4 10 days late (pump). Outside February: east_rep's O5."""
    pump, valve = (
        ProductFactory(sku="PUMP", name="离心泵"),
        ProductFactory(sku="VALVE", name="闸阀"),
    )

    def delivered(rep, promised, at, *products):
        made = order(customers, rep, OrderStatus.DELIVERED, promised_date=promised, delivered_at=at)
        for product in products:
            OrderLineFactory(order=made, product=product, net_amount="500.00")
        delivery_facts_write(made)  # as delivery_confirm does
        return made

    delivered("east_rep", dt.date(2026, 2, 10), local(dt.date(2026, 2, 13)), pump, valve)
    delivered("east_rep", dt.date(2026, 2, 20), local(dt.date(2026, 2, 18)), pump, pump)
    delivered("east_rep2", dt.date(2026, 2, 15), local(dt.date(2026, 2, 16), 0, 30), valve)
    delivered("south_rep", dt.date(2026, 2, 1), local(dt.date(2026, 2, 11)), pump)
    delivered("east_rep", dt.date(2026, 1, 1), local(dt.date(2026, 1, 31), 23, 0), pump)
    order(customers, "east_rep", OrderStatus.SHIPPED, promised_date=dt.date(2026, 2, 1))
    return pump, valve


def lateness(row):
    """(orders, late, early, average days late, most days late)"""
    return (
        row["orders"],
        row["late"],
        row["early"],
        round(row["average_days_late"], 3),
        row["most_days_late"],
    )


def test_delivery_lead_time_per_product(cast, deliveries):
    rows = list(delivery_by_product(viewer=cast.east_mgr, **FEBRUARY))
    # valve: +3 and +1; pump: +3 and −2 (O2's two pump lines count once).
    assert [(row["sku"], row["name"], *lateness(row)) for row in rows] == [
        ("VALVE", "闸阀", 2, 2, 0, 2.0, 3),
        ("PUMP", "离心泵", 2, 1, 1, 0.5, 3),
    ]
    everyone = {
        row["sku"]: lateness(row) for row in delivery_by_product(viewer=cast.boss, **FEBRUARY)
    }
    assert everyone["PUMP"] == (3, 2, 1, 3.667, 10)


def test_delivery_lead_time_per_customer(cast, customers, deliveries):
    rows = with_customer_names(delivery_by_customer(viewer=cast.east_mgr, **FEBRUARY)[:10])
    assert [(row["customer_id"], row["name"], *lateness(row)) for row in rows] == [
        (customers["east_rep2"].pk, "east_rep2的客户", 1, 1, 0, 1.0, 1),
        (customers["east_rep"].pk, "east_rep的客户", 2, 1, 1, 0.5, 3),
    ]
    south = list(delivery_by_customer(viewer=cast.south_mgr, **FEBRUARY))
    assert [lateness(row) for row in south] == [(1, 1, 0, 10.0, 10)]
    january = list(
        delivery_by_customer(
            viewer=cast.east_rep, since=dt.date(2026, 1, 1), until=dt.date(2026, 1, 31)
        )
    )
    assert [lateness(row) for row in january] == [(1, 1, 0, 30.0, 30)]


def test_local_dates_are_exact_in_a_zone_with_daylight_saving_time(cast, customers):
    with timezone.override("Europe/Berlin"):
        # 00:30 on 16 February in Berlin is 23:30 UTC on the 15th; in July, 22:30 UTC.
        for promised, delivered in (
            (dt.date(2026, 2, 15), dt.datetime(2026, 2, 15, 23, 30, tzinfo=dt.UTC)),
            (dt.date(2026, 7, 15), dt.datetime(2026, 7, 15, 22, 30, tzinfo=dt.UTC)),
        ):
            made = order(
                customers,
                "east_rep",
                OrderStatus.DELIVERED,
                promised_date=promised,
                delivered_at=delivered,
            )
            assert days_late_of(made) == 1  # what delivery_confirm stores
        rows = list(
            delivery_by_customer(
                viewer=cast.east_rep, since=dt.date(2026, 1, 1), until=dt.date(2026, 12, 31)
            )
        )
    assert [lateness(row) for row in rows] == [(2, 2, 0, 1.0, 1)]


# -- receivables ageing ----------------------------------------------------------------------------


def invoice(customers, rep, amount, paid, due_on):
    return InvoiceFactory(
        order=order(customers, rep, net="5000.00"),
        amount=amount,
        paid_amount=paid,
        issued_on=due_on - dt.timedelta(days=30),
        due_on=due_on,
    )


def buckets(ageing):
    return {b.key: (b.invoices, b.open_amount) for b in ageing.buckets}


def test_receivables_ageing_buckets_the_open_amounts_by_days_past_due(
    cast, customers, django_assert_num_queries
):
    invoice(customers, "east_rep", "1000.00", "0.00", days_ago(-8))  # not yet due
    invoice(customers, "east_rep", "500.00", "200.00", TODAY)  # due today: 0 days
    invoice(customers, "east_rep", "800.00", "0.00", days_ago(30))
    invoice(customers, "east_rep", "700.00", "100.00", days_ago(31))
    invoice(customers, "east_rep", "400.00", "400.00", days_ago(40))  # paid: not open
    invoice(customers, "east_rep", "900.00", "0.00", days_ago(90))
    invoice(customers, "east_rep", "250.55", "0.00", days_ago(91))
    invoice(customers, "east_rep2", "100.00", "0.00", days_ago(45))
    invoice(customers, "south_rep", "999.00", "0.00", days_ago(100))

    with django_assert_num_queries(3):  # the team's ids, one GROUP BY, the reps' names
        ageing = receivables_ageing(viewer=cast.east_mgr, today=TODAY)

    assert buckets(ageing) == {
        "not_due": (1, D("1000.00")),
        "0_30": (2, D("1100.00")),
        "31_60": (2, D("700.00")),
        "61_90": (1, D("900.00")),
        "over_90": (1, D("250.55")),
    }
    assert ageing.open_amount == D("3950.55")
    assert [(rep.username, rep.open_amount) for rep in ageing.by_rep] == [
        ("east_rep", D("3850.55")),
        ("east_rep2", D("100.00")),
    ]
    assert [b.open_amount for b in ageing.by_rep[1].buckets] == [
        D("0.00"),
        D("0.00"),
        D("100.00"),
        D("0.00"),
        D("0.00"),
    ]
    south = receivables_ageing(viewer=cast.south_mgr, today=TODAY)
    assert south.open_amount == D("999.00") and buckets(south)["over_90"] == (1, D("999.00"))
    assert [
        rep.username for rep in receivables_ageing(viewer=cast.east_rep2, today=TODAY).by_rep
    ] == ["east_rep2"]


# -- collection rate -------------------------------------------------------------------------------


def test_collection_rate_per_rep_over_the_invoices_due_in_the_period(cast, customers):
    invoice(customers, "east_rep", "1000.00", "1000.00", dt.date(2026, 2, 5))
    invoice(customers, "east_rep", "600.00", "150.00", dt.date(2026, 2, 28))
    invoice(customers, "east_rep", "500.00", "0.00", dt.date(2026, 3, 5))  # not in the period
    invoice(customers, "east_rep", "300.00", "300.00", dt.date(2026, 1, 31))  # nor this
    invoice(customers, "east_rep2", "200.00", "0.00", dt.date(2026, 2, 10))
    invoice(customers, "south_rep", "800.00", "800.00", dt.date(2026, 2, 10))

    collection = collection_by_rep(viewer=cast.east_mgr, **FEBRUARY)

    assert [
        (row.username, row.invoices, row.invoiced, row.paid, row.rate) for row in collection.by_rep
    ] == [
        ("east_rep", 2, D("1600.00"), D("1150.00"), D("0.7188")),  # 0.71875, half up
        ("east_rep2", 1, D("200.00"), D("0.00"), D("0.0000")),
    ]
    assert (collection.invoiced, collection.paid, collection.rate) == (
        D("1800.00"),
        D("1150.00"),
        D("0.6389"),
    )
    assert [
        row.username for row in collection_by_rep(viewer=cast.south_mgr, **FEBRUARY).by_rep
    ] == ["south_rep"]
    nothing = collection_by_rep(viewer=cast.east_rep2, since=TODAY, until=TODAY)
    assert (nothing.by_rep, nothing.rate) == ([], None)


# -- wins and losses -------------------------------------------------------------------------------


def test_wins_and_losses_with_reasons_and_competitors(cast, customers):
    price = LostReason.objects.create(code="too_dear", label="价格高")
    rival = LostReason.objects.create(code="rival_won", label="输给竞争对手", needs_competitor=True)
    slow = LostReason.objects.create(code="too_slow", label="交期长")

    def lost_quote(rep, net, reason=None, competitor="", **kwargs):
        quote(
            customers,
            rep,
            QuoteStatus.LOST,
            net,
            lost_reason=reason,
            lost_competitor=competitor,
            **kwargs,
        )

    quote(customers, "east_rep", QuoteStatus.ACCEPTED, "1000.00")
    quote(customers, "east_rep", QuoteStatus.ACCEPTED, "500.00")
    quote(customers, "east_rep", QuoteStatus.SENT, "700.00")  # undecided
    lost_quote("east_rep", "300.00", price)
    lost_quote("east_rep", "200.00", rival, "华为")
    lost_quote("east_rep2", "100.00", rival, "华为")
    lost_quote("east_rep", "50.00")  # no reason recorded
    lost_quote("east_rep", "80.00", rival, "三一", created_at=local(dt.date(2026, 1, 20)))
    lost_quote("south_rep", "999.00", rival, "中兴")
    order(customers, "east_rep", OrderStatus.CONFIRMED, "2000.00")
    order(customers, "east_rep", OrderStatus.PAID, "1500.00")
    order(customers, "east_rep", OrderStatus.CANCELLED, "100.00")
    order(customers, "east_rep", OrderStatus.LOST, "400.00", lost_reason=slow)
    order(
        customers,
        "east_rep2",
        OrderStatus.LOST,
        "600.00",
        lost_reason=rival,
        lost_competitor="华为",
    )
    order(
        customers, "east_rep2", OrderStatus.LOST, "50.00", lost_reason=rival, lost_competitor="三一"
    )

    with translation.override("en"):
        result = wins_and_losses(viewer=cast.east_mgr, **FEBRUARY)

    assert (result.quotes_won.count, result.quotes_won.amount) == (2, D("1500.00"))
    assert (result.quotes_lost.count, result.quotes_lost.amount) == (4, D("650.00"))
    assert (result.orders_won.count, result.orders_won.amount) == (2, D("3500.00"))
    assert (result.orders_lost.count, result.orders_lost.amount) == (3, D("1050.00"))
    assert result.quote_win_rate == D("0.3333")
    assert [(r.reason_id, r.label, r.quotes, r.orders, r.amount) for r in result.reasons] == [
        (rival.pk, "输给竞争对手", 2, 2, D("950.00")),
        (slow.pk, "交期长", 0, 1, D("400.00")),
        (price.pk, "价格高", 1, 0, D("300.00")),
        (None, "No reason given", 1, 0, D("50.00")),
    ]
    assert [(c.name, c.quotes, c.orders) for c in result.competitors] == [
        ("华为", 2, 1),
        ("三一", 0, 1),
    ]
    assert [
        c.name for c in wins_and_losses(viewer=cast.east_mgr, top=1, **FEBRUARY).competitors
    ] == ["华为"]
    south = wins_and_losses(viewer=cast.south_mgr, **FEBRUARY)
    assert [(c.name, c.quotes) for c in south.competitors] == [("中兴", 1)]
    assert south.quote_win_rate == D("0.0000")
    assert wins_and_losses(viewer=cast.east_rep2, since=TODAY, until=TODAY).quote_win_rate is None


# -- charts ----------------------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script> & 腾讯'


def parsed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [
        element.text or ""
        for element in root.iter()
        if element.tag in (f"{SVG}text", f"{SVG}title")
    ]


def test_a_bar_chart_is_well_formed_and_escapes_its_labels():
    svg = charts.bar_chart(
        title=HOSTILE, bars=[(HOSTILE, D("12.50")), ("早到\x00", -3), ("准时", 0)], unit="天"
    )
    root = parsed(svg)
    assert "<script" not in svg
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    assert HOSTILE in texts(root)  # the title, drawn as text exactly as written
    assert root.get("aria-label") == HOSTILE
    assert "12.50 天" in texts(root) and "-3 天" in texts(root)
    assert "早到" in texts(root)  # the NUL that XML cannot carry is dropped
    assert len(root.findall(f".//{SVG}rect")) == 3


def test_a_stacked_bar_chart_is_well_formed_and_escapes_its_labels():
    svg = charts.stacked_bar_chart(
        title="账龄",
        categories=["east_rep", HOSTILE],
        series=[("未到期", [D("100.00"), D("5")]), (HOSTILE, [D("1.50"), 0])],
        unit="元",
    )
    root = parsed(svg)
    assert "<script" not in svg
    assert any(HOSTILE in text for text in texts(root))
    assert "101.50 元" in texts(root)  # the first bar's total
    assert len(root.findall(f".//{SVG}rect[@class='kd-segment']")) == 3  # zero draws nothing


def test_a_stacked_bar_chart_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError):
        charts.stacked_bar_chart(title="t", categories=["a", "b"], series=[("s", [1])])
    with pytest.raises(ValueError):
        charts.stacked_bar_chart(title="t", categories=["a"], series=[("s", [-1])])


def test_a_line_chart_is_well_formed_and_leaves_gaps_for_missing_points():
    svg = charts.line_chart(
        title="回款趋势",
        labels=["2026-01", "2026-02", HOSTILE, "2026-04"],
        series=[("回款", [D("1000"), None, D("2500.50"), D("300")]), (HOSTILE, [1, 2, 3, 4])],
    )
    root = parsed(svg)
    assert "<script" not in svg
    lines = root.findall(f".//{SVG}polyline")
    assert [len(line.get("points", "").split()) for line in lines] == [2, 4]
    assert len(root.findall(f".//{SVG}circle")) == 7


def test_charts_without_data_say_so():
    with translation.override("en"):
        drawn = [
            charts.bar_chart(title="t", bars=[]),
            charts.stacked_bar_chart(title="t", categories=[], series=[]),
            charts.line_chart(title="t", labels=["a"], series=[("s", [None])]),
        ]
    for svg in drawn:
        assert "No data" in texts(parsed(svg))
