"""Every line of a history becomes Kedun's own record, with the values Kedun itself would have
written (HISTORY-FORMAT.md): the same tables the pages write, the same rules (the pool's
qualifying follow-ups, the order's road from confirmed to paid, the payer and consignee
checks, the customer's stage and clocks)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
from django.utils import timezone

from kedun.audit.models import AccessEvent, AccessKind
from kedun.comms.models import Message, MessageAddress, MessageCustomer, MessageOwner
from kedun.customers.identity.keys import identity_keys
from kedun.customers.matching import duplicates_find
from kedun.customers.models import (
    ContactChange,
    Customer,
    FollowUp,
    LocationSource,
    OwnershipEvent,
    OwnershipKind,
    Stage,
)
from kedun.field.models import CheckIn, CheckInSource
from kedun.lifecycle.models import PoolPolicy
from kedun.org.models import Department, Role, User
from kedun.org.services import department_root
from kedun.sales.models import (
    Invoice,
    Order,
    OrderStatus,
    Payment,
    Product,
    ProductDelivery,
    Quote,
    QuoteStatus,
    Shipment,
    ShipmentLine,
)
from tests.history.builder import SHANGHAI
from tests.history.conftest import HANGZHOU

pytestmark = pytest.mark.django_db

D = Decimal


def customer(code: str) -> Customer:
    return Customer.objects.get(code=code)


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Written out here rather than calling core.geo, so a slip there shows up here."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


# -- entities -----------------------------------------------------------------------------------


def test_departments_sit_under_the_company_and_nest_by_code(history, import_history):
    history.department("D11", "华东一组", parent="D1")

    imported = import_history(history)

    root = department_root()
    east = Department.objects.get(name="华东销售部")
    team = Department.objects.get(name="华东一组")
    assert east.parent == root
    assert team.parent == east
    assert team.path == f"{east.path}{team.pk}/"
    assert imported.summary["by_type"]["department"] == 2


def test_users_keep_their_department_role_contact_data_and_joining_date(history, import_history):
    import_history(history)

    rep = User.objects.get(username="rep1")
    assert (rep.role, rep.department.name, rep.full_name) == (Role.SALES, "华东销售部", "何涛")
    assert (rep.phone, rep.email) == ("13983604450", "rep1@kedun-demo.cn")
    assert rep.date_joined == history.start - dt.timedelta(days=365)
    assert rep.is_active
    assert not rep.has_usable_password()  # history users log in only once the boss sets one


def test_a_users_department_may_be_named_by_its_code(history, import_history):
    history.department("D2", "华南销售部")
    history.user("rep3", department="D2")

    imported = import_history(history)

    assert imported.bad == {}
    assert User.objects.get(username="rep3").department.name == "华南销售部"


def test_reps_report_to_their_departments_one_manager_declared_before_or_after_them(
    import_history,
):
    from tests.history.builder import HistoryBuilder

    history = HistoryBuilder()
    history.department("D1", "华东销售部")
    history.department("D2", "华南销售部")
    history.user("east1", department="华东销售部")
    history.user("mgr_east", role="manager", department="华东销售部")  # after the rep
    history.user("mgr_south", role="manager", department="华南销售部")  # before the rep
    history.user("south1", department="华南销售部")
    history.user("mgr_south2", role="manager", department="华南销售部")
    history.user("south2", department="华南销售部")  # two managers: nobody chosen for them

    import_history(history)

    managers = dict(User.objects.values_list("username", "manager__username"))
    assert managers["east1"] == "mgr_east"
    assert managers["south1"] == "mgr_south"
    assert managers["south2"] is None
    assert managers["mgr_east"] is None


def test_products_keep_their_prices_and_unit(history, import_history):
    import_history(history)

    pump = Product.objects.get(sku="P1")
    assert (pump.name, pump.unit, pump.list_price, pump.floor_price) == (
        "离心泵",
        "台",
        D("1000.00"),
        D("850.00"),
    )


def test_customers_are_registered_to_their_owner_with_location_and_identity(
    history, import_history
):
    import_history(history)

    c1 = customer("C1")
    assert c1.name == "杭州远丰机械有限公司"
    assert c1.owner.username == "rep1"
    assert c1.registered_by.username == "rep1"
    assert c1.registered_at == history.start - dt.timedelta(days=60)
    assert c1.owned_since == c1.registered_at  # the pool clock starts at registration
    assert (c1.grade, c1.stage, c1.address) == ("A", Stage.LEAD, "杭州市西湖区")
    assert (c1.lat, c1.lng, c1.location_source) == (*HANGZHOU, LocationSource.IMPORTED)
    events = OwnershipEvent.objects.filter(customer=c1).values_list("kind", "to_owner__username")
    assert list(events) == [(OwnershipKind.IMPORTED, "rep1")]
    # The duplicate check knows it at once: by name, and by its phone.
    keys = identity_keys(name="杭州远丰机械有限公司")
    assert [c.customer_id for c in duplicates_find(keys) if c.is_duplicate] == [c1.pk]
    by_phone = duplicates_find(identity_keys(name="无关贸易有限公司", phones=["057188886666"]))
    assert [c.customer_id for c in by_phone] == [c1.pk]


def test_a_customer_without_an_owner_is_registered_in_the_pool(history, import_history):
    history.customer("C3", "宁波恒远五金有限公司", owner=None)

    import_history(history)

    c3 = customer("C3")
    assert c3.owner is None
    assert c3.owned_since is None
    assert c3.registered_by.username == "history-import"


# -- follow-ups and check-ins --------------------------------------------------------------------


def test_follow_ups_qualify_by_the_pool_rules_and_move_the_pool_clock(history, import_history):
    call = history.follow_up("C1", "rep1", at=history.day(5), kind="call")
    history.follow_up(
        "C1", "rep1", at=history.day(8), kind="wechat", content="微信发了新品图片给采购"
    )
    history.follow_up("C1", "rep1", at=history.day(9), kind="visit", content="好的")  # too short
    history.follow_up("C2", "rep2", at=history.day(9), kind="meeting", content="")

    import_history(history)

    rows = list(
        FollowUp.objects.order_by("happened_at", "pk").values_list(
            "customer__code", "author__username", "kind", "content", "happened_at", "qualifying"
        )
    )
    assert rows == [
        ("C1", "rep1", "call", call["content"], history.day(5), True),
        ("C1", "rep1", "wechat", "微信发了新品图片给采购", history.day(8), False),
        ("C1", "rep1", "visit", "好的", history.day(9), False),
        ("C2", "rep2", "meeting", "—", history.day(9), False),
    ]
    # Only a qualifying follow-up restarts the pool clock.
    assert customer("C1").last_follow_up_at == history.day(5)
    assert customer("C2").last_follow_up_at is None


def test_an_older_follow_up_never_moves_the_pool_clock_back(history, import_history):
    history.follow_up("C1", "rep1", at=history.day(20))
    import_history(history, "--batch", "3")

    later = history.__class__()
    later.lines = list(history.lines)
    later.follow_up("C1", "rep1", at=history.day(10), content="补录：上个月的电话拜访记录")
    import_history(later)

    assert customer("C1").last_follow_up_at == history.day(20)
    assert FollowUp.objects.count() == 2


def test_the_company_pool_policy_decides_what_qualifies(history, import_history):
    PoolPolicy.objects.create(qualifying_kinds=["wechat"], min_note_length=2)
    history.follow_up("C1", "rep1", at=history.day(1), kind="wechat", content="在吗")
    history.follow_up(
        "C1", "rep1", at=history.day(2), kind="call", content="电话沟通了下一季度的采购计划"
    )

    import_history(history)

    assert list(FollowUp.objects.order_by("happened_at").values_list("kind", "qualifying")) == [
        ("wechat", True),
        ("call", False),
    ]


def test_a_policy_on_the_company_department_reaches_the_departments_the_file_creates(
    history, import_history
):
    """The rule book is read before the file's departments exist: the new ones must still
    inherit from the department they are created under."""
    root = department_root()
    PoolPolicy.objects.create(department=root, qualifying_kinds=["wechat"], min_note_length=2)
    history.follow_up("C1", "rep1", at=history.day(1), kind="wechat", content="在吗")

    import_history(history)

    assert FollowUp.objects.get().qualifying is True


def test_follow_ups_move_a_new_customer_to_contacted(history, import_history):
    history.follow_up("C1", "rep1", at=history.day(1), kind="wechat", content="在吗")

    import_history(history)

    assert customer("C1").stage == Stage.CONTACTED
    assert customer("C2").stage == Stage.LEAD


def test_check_ins_keep_position_accuracy_and_distance_from_the_customer(history, import_history):
    there = history.check_in("C1", "rep1", lat=HANGZHOU[0], lng=HANGZHOU[1], accuracy=8.5)
    away = (HANGZHOU[0] + 0.05, HANGZHOU[1])
    history.check_in("C1", "rep1", lat=away[0], lng=away[1], accuracy=30)
    history.customer("C3", "宁波恒远五金有限公司", owner="rep1")  # not located
    history.check_in("C3", "rep1", lat=29.87, lng=121.54, at=history.day(3))

    import_history(history)

    check_ins = list(CheckIn.objects.order_by("captured_at", "pk"))
    assert [(c.customer.code, c.rep.username) for c in check_ins] == [
        ("C1", "rep1"),
        ("C1", "rep1"),
        ("C3", "rep1"),
    ]
    first, second, third = check_ins
    at = dt.datetime.fromisoformat(there["at"])
    assert (first.captured_at, first.received_at) == (at, at)
    assert (first.lat, first.lng, first.accuracy_m, first.mock) == (*HANGZHOU, 8.5, False)
    assert first.distance_m == 0.0
    assert second.distance_m == pytest.approx(haversine_m(away, HANGZHOU), abs=0.01)
    assert second.distance_m == pytest.approx(5_560, abs=2)
    assert third.distance_m is None
    assert {c.source for c in check_ins} == {CheckInSource.IMPORT}
    assert len({c.idempotency_key for c in check_ins}) == 3


# -- quotes and orders ----------------------------------------------------------------------------


def test_a_quote_keeps_its_lines_and_totals(history, import_history):
    line = history.quote(
        "C1", "rep1", [("P1", 2, "950.00"), ("P2", "10.5", "110.00")], at=history.day(3)
    )

    import_history(history)

    quote = Quote.objects.get(number=line["code"])
    assert (quote.customer.code, quote.owner.username, quote.created_by.username) == (
        "C1",
        "rep1",
        "rep1",
    )
    assert (quote.status, quote.version, quote.created_at) == (QuoteStatus.SENT, 1, history.day(3))
    assert (quote.net_total, quote.tax_total, quote.list_total) == (
        D("3055.00"),  # 2 × 950 + 10.5 × 110
        D("0.00"),
        D("3265.25"),  # 2 × 1000 + 10.5 × 120.50
    )
    assert list(
        quote.lines.values_list("product__sku", "quantity", "unit_price", "net_amount", "position")
    ) == [
        ("P1", D("2.000"), D("950.00"), D("1900.00"), 0),
        ("P2", D("10.500"), D("110.00"), D("1155.00"), 1),
    ]
    assert customer("C1").stage == Stage.QUOTED


def test_a_quote_accepted(history, import_history):
    quote = history.quote("C1", "rep1", [("P1", 1, "990.00")], at=history.day(1))
    history.quote_result(quote["code"], "accepted", at=history.day(2))

    import_history(history)

    accepted = Quote.objects.get(number=quote["code"])
    assert (accepted.status, accepted.lost_at, accepted.lost_reason) == (
        QuoteStatus.ACCEPTED,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("reason", "competitor", "code", "note"),
    [
        ("price", None, "price", ""),
        ("delivery", None, "delivery_time", ""),
        ("competitor", "恒达机械", "competitor", ""),
        ("budget", None, "budget", ""),
        ("other", None, "other", ""),
        (None, None, "other", ""),
        (
            "客户搬迁",
            None,
            "other",
            "客户搬迁",
        ),  # a reason the format does not name: kept as a note
    ],
)
def test_a_lost_quote_keeps_its_reason_competitor_and_moment(
    history, import_history, reason, competitor, code, note
):
    quote = history.quote("C1", "rep1", [("P1", 1, "990.00")], at=history.day(1))
    history.quote_result(
        quote["code"], "lost", reason=reason, competitor=competitor, at=history.day(4, 15, 30)
    )

    import_history(history)

    lost = Quote.objects.get(number=quote["code"])
    assert lost.status == QuoteStatus.LOST
    assert lost.lost_reason is not None and lost.lost_reason.code == code
    assert (lost.lost_competitor, lost.lost_note, lost.lost_at) == (
        competitor or "",
        note,
        history.day(4, 15, 30),
    )


def test_a_quote_result_in_a_later_batch_updates_the_stored_quote(history, import_history):
    quote = history.quote("C1", "rep1", [("P1", 1, "990.00")], at=history.day(1))
    for n in range(4):
        history.view("rep1", "C1", at=history.day(1, 10 + n))
    history.quote_result(
        quote["code"], "lost", reason="competitor", competitor="恒达", at=history.day(3)
    )

    import_history(history, "--batch", "2")

    lost = Quote.objects.get(number=quote["code"])
    assert (lost.status, lost.lost_reason.code, lost.lost_competitor, lost.lost_at) == (
        QuoteStatus.LOST,
        "competitor",
        "恒达",
        history.day(3),
    )


def test_an_order_from_a_quote_takes_its_lines_and_wins_the_customer(history, import_history):
    quote = history.quote("C1", "rep1", [("P1", 2, "950.00"), ("P2", 10, "110.00")])
    order = history.order(
        "C1",
        "rep1",
        "3000.00",
        quote=quote["code"],
        at=history.day(2, 14),
        promised_at=history.day(16, 9, 45),
    )

    import_history(history)

    stored = Order.objects.get(number=order["code"])
    assert stored.quote.number == quote["code"]
    assert (stored.customer.code, stored.owner.username, stored.created_by.username) == (
        "C1",
        "rep1",
        "rep1",
    )
    assert (stored.status, stored.created_at, stored.promised_date) == (
        OrderStatus.CONFIRMED,
        history.day(2, 14),
        dt.date(2025, 10, 17),
    )
    assert (stored.net_total, stored.tax_total, stored.invoiced_total, stored.paid_total) == (
        D("3000.00"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )
    assert (stored.delivered_at, stored.days_late) == (None, None)
    assert list(
        stored.lines.values_list("product__sku", "quantity", "shipped_quantity", "unit_price")
    ) == [("P1", D("2.000"), D("0.000"), D("950.00")), ("P2", D("10.000"), D("0.000"), D("110.00"))]
    c1 = customer("C1")
    assert (c1.stage, c1.last_order_at) == (Stage.WON, history.day(2, 14))


def test_a_customers_second_order_makes_it_a_repeat_customer(history, import_history):
    history.order("C1", "rep1", "500.00", at=history.day(2))
    history.order("C2", "rep2", "500.00", at=history.day(3))
    history.order("C1", "rep1", "700.00", at=history.day(40))

    import_history(history, "--batch", "1")

    assert customer("C1").stage == Stage.REPEAT
    assert customer("C2").stage == Stage.WON
    assert customer("C1").last_order_at == history.day(40)


def test_an_order_without_a_quote_has_no_lines(history, import_history):
    order = history.order("C2", "rep2", "800.00", at=history.day(1))

    import_history(history)

    stored = Order.objects.get(number=order["code"])
    assert (stored.quote, stored.net_total, stored.lines.count()) == (None, D("800.00"), 0)


# -- delivery and cash -----------------------------------------------------------------------------


def test_a_shipment_delivers_the_order_with_its_lead_time(history, import_history):
    quote = history.quote("C1", "rep1", [("P1", 2, "950.00"), ("P2", 10, "110.00")])
    order = history.order(
        "C1", "rep1", "3000.00", quote=quote["code"], at=history.day(2), promised_at=history.day(16)
    )
    shipment = history.shipment(order["code"], user="logistics", at=history.day(19, 23, 30))

    imported = import_history(history)

    stored = Order.objects.get(number=order["code"])
    assert (stored.status, stored.delivered_at, stored.days_late) == (
        OrderStatus.DELIVERED,
        history.day(19, 23, 30),
        3,  # promised on the 17th of October, delivered late on the 20th (local dates)
    )
    assert list(stored.lines.values_list("quantity", "shipped_quantity")) == [
        (D("2.000"), D("2.000")),
        (D("10.000"), D("10.000")),
    ]
    record = Shipment.objects.get(order=stored)
    assert (record.shipped_at, record.delivered_at, record.recorded_at) == (
        history.day(19, 23, 30),
        history.day(19, 23, 30),
        history.day(19, 23, 30),
    )
    assert (record.consignee, record.consignee_differs) == ("杭州远丰机械有限公司", False)
    assert record.recorded_by.username == "logistics"
    assert sorted(ShipmentLine.objects.values_list("order_line__product__sku", "quantity")) == [
        ("P1", D("2.000")),
        ("P2", D("10.000")),
    ]
    assert sorted(
        ProductDelivery.objects.values_list("product__sku", "owner__username", "days_late")
    ) == [("P1", "rep1", 3), ("P2", "rep1", 3)]
    assert imported.summary["by_type"]["shipment"] == 1
    del shipment


def test_an_early_delivery_has_negative_days_late(history, import_history):
    order = history.order("C2", "rep2", "800.00", at=history.day(1), promised_at=history.day(10))
    history.shipment(order["code"], at=history.day(8))

    import_history(history)

    assert Order.objects.get(number=order["code"]).days_late == -2


@pytest.mark.parametrize(
    ("ship_to", "differs"),
    [
        (None, False),
        ("杭州远丰机械有限公司", False),
        ("远丰机械（杭州）有限公司", False),  # the same company written another way
        ("杭州远帆贸易有限公司", True),
    ],
)
def test_a_consignee_other_than_the_customer_is_flagged(history, import_history, ship_to, differs):
    order = history.order("C1", "rep1", "800.00", at=history.day(1))
    history.shipment(order["code"], ship_to=ship_to, at=history.day(8))

    import_history(history)

    shipment = Shipment.objects.get()
    assert (shipment.consignee, shipment.consignee_differs) == (
        ship_to or "杭州远丰机械有限公司",
        differs,
    )


def test_invoices_and_payments_carry_the_order_to_paid(history, import_history):
    deal = history.won_deal("C1", "rep1", [("P1", 3, "1000.00")], at=history.day(1), paid=False)
    history.payment(deal["invoice"], "1000.00", at=history.day(30))
    order_after_part = None

    import_history(history)

    invoice = Invoice.objects.get(number=deal["invoice"])
    order = invoice.order
    order_after_part = (order.status, order.invoiced_total, order.paid_total)
    assert order_after_part == (OrderStatus.INVOICED, D("3000.00"), D("1000.00"))
    assert (invoice.amount, invoice.paid_amount, invoice.owner.username) == (
        D("3000.00"),
        D("1000.00"),
        "rep1",
    )
    assert invoice.recorded_by.username == "history-import"
    assert (invoice.issued_on, invoice.due_on) == (dt.date(2025, 10, 15), dt.date(2025, 11, 14))

    more = history.__class__()
    more.lines = list(history.lines)
    more.payment(deal["invoice"], "2000.00", at=history.day(45))
    import_history(more)

    order.refresh_from_db()
    invoice.refresh_from_db()
    assert (order.status, order.paid_total, invoice.paid_amount) == (
        OrderStatus.PAID,
        D("3000.00"),
        D("3000.00"),
    )
    assert list(
        Payment.objects.order_by("received_on").values_list("amount", "received_on", "payer_name")
    ) == [
        (D("1000.00"), dt.date(2025, 10, 31), "杭州远丰机械有限公司"),
        (D("2000.00"), dt.date(2025, 11, 15), "杭州远丰机械有限公司"),
    ]


@pytest.mark.parametrize(
    ("payer", "differs"),
    [
        (None, False),
        ("杭州远丰机械有限公司", False),
        ("杭州 远丰机械 有限公司", False),
        ("杭州远帆贸易有限公司", True),
        ("何涛", True),  # the rep's own name
    ],
)
def test_a_payer_other_than_the_customer_is_flagged(history, import_history, payer, differs):
    deal = history.won_deal("C1", "rep1", [("P1", 1, "1000.00")], at=history.day(1), payer=payer)

    import_history(history)

    payment = Payment.objects.get(invoice__number=deal["invoice"])
    assert (payment.payer_name, payment.payer_differs, payment.payer_account) == (
        payer or "杭州远丰机械有限公司",
        differs,
        "6222000011112222",
    )
    assert payment.recorded_by.username == "history-import"


def test_a_partly_invoiced_delivered_order_is_delivered_not_invoiced(history, import_history):
    """The order's status follows the same road as for orders Kedun records itself
    (sales.orders.common._road_status): invoiced once invoiced in full."""
    order = history.order("C2", "rep2", "1000.00", at=history.day(1))
    history.shipment(order["code"], at=history.day(5))
    history.invoice(order["code"], "400.00", at=history.day(6))

    import_history(history)

    stored = Order.objects.get(number=order["code"])
    assert (stored.status, stored.invoiced_total) == (OrderStatus.DELIVERED, D("400.00"))


def test_an_order_paid_before_delivery_is_paid_once_delivered(history, import_history):
    """款到发货: invoiced and paid in advance, then shipped."""
    order = history.order("C2", "rep2", "1000.00", at=history.day(1))
    invoice = history.invoice(order["code"], "1000.00", at=history.day(2))
    history.payment(invoice["code"], "1000.00", at=history.day(3))
    import_history(history, "--batch", "50")

    stored = Order.objects.get(number=order["code"])
    assert (stored.status, stored.paid_total) == (OrderStatus.CONFIRMED, D("1000.00"))

    more = history.__class__()
    more.lines = list(history.lines)
    more.shipment(order["code"], at=history.day(9))
    import_history(more)

    stored.refresh_from_db()
    assert (stored.status, stored.delivered_at) == (OrderStatus.PAID, history.day(9))


def test_an_order_paid_before_delivery_in_one_batch(history, import_history):
    order = history.order("C2", "rep2", "1000.00", at=history.day(1))
    invoice = history.invoice(order["code"], "1000.00", at=history.day(2))
    history.payment(invoice["code"], "1000.00", at=history.day(3))
    history.shipment(order["code"], at=history.day(9))

    import_history(history)

    stored = Order.objects.get(number=order["code"])
    assert (stored.status, stored.delivered_at) == (OrderStatus.PAID, history.day(9))


# -- contact data, mail, access --------------------------------------------------------------------


def test_a_contact_change_is_kept_and_applied_to_the_customer_and_its_identity(
    history, import_history
):
    history.contact_change(
        "C1", "rep1", "phone", "0571-88886666", "13983604450", at=history.day(12)
    )
    history.contact_change(
        "C1", "rep1", "email", "purchase@yuanfeng-jx.com", "hetao1988@qq.com", at=history.day(12)
    )

    import_history(history)

    c1 = customer("C1")
    assert (c1.phone, c1.email) == ("13983604450", "hetao1988@qq.com")
    assert list(
        ContactChange.objects.order_by("pk").values_list(
            "customer__code",
            "field",
            "old_value",
            "new_value",
            "changed_by__username",
            "changed_at",
        )
    ) == [
        ("C1", "phone", "0571-88886666", "13983604450", "rep1", history.day(12)),
        ("C1", "email", "purchase@yuanfeng-jx.com", "hetao1988@qq.com", "rep1", history.day(12)),
    ]
    # The duplicate check finds the customer by its new number, no longer by the old one.
    someone = "无关贸易有限公司"
    assert [
        c.customer_id for c in duplicates_find(identity_keys(name=someone, phones=["13983604450"]))
    ] == [c1.pk]
    assert duplicates_find(identity_keys(name=someone, phones=["0571-88886666"])) == []
    # Its name keys are untouched: still the same company by name.
    by_name = duplicates_find(identity_keys(name="杭州远丰机械有限公司"))
    assert [c.customer_id for c in by_name if c.is_duplicate] == [c1.pk]


def test_the_last_contact_change_of_a_field_wins(history, import_history):
    history.contact_change("C2", "rep2", "phone", "0512-66001234", "13900000001", at=history.day(1))
    history.contact_change("C2", "rep2", "phone", "13900000001", "13900000002", at=history.day(2))

    import_history(history)

    assert customer("C2").phone == "13900000002"
    assert ContactChange.objects.count() == 2


def test_an_email_is_archived_with_its_addresses_owner_and_customer(history, import_history):
    line = history.email(
        "rep1",
        ["Purchase@YuanFeng-JX.com", "boss@hengda-jx.com"],
        subject="离心泵报价单",
        customer="C1",
        at=history.day(4, 10),
    )

    import_history(history)

    message = Message.objects.get()
    assert (message.subject, message.from_address, message.sent_at, message.source) == (
        "离心泵报价单",
        "rep1@kedun-demo.cn",
        history.day(4, 10),
        "import",
    )
    assert message.message_id.endswith("@history.kedun")
    assert sorted(MessageAddress.objects.values_list("role", "address", "domain")) == [
        ("from", "rep1@kedun-demo.cn", "kedun-demo.cn"),
        ("to", "boss@hengda-jx.com", "hengda-jx.com"),
        ("to", "purchase@yuanfeng-jx.com", "yuanfeng-jx.com"),
    ]
    owner = MessageOwner.objects.get()
    assert (owner.user.username, owner.sent_at, owner.hidden_at) == (
        "rep1",
        history.day(4, 10),
        None,
    )
    assert list(MessageCustomer.objects.values_list("customer__code", "sent_at")) == [
        ("C1", history.day(4, 10))
    ]
    del line


def test_mail_the_rep_deleted_is_hidden_for_them_and_kept(history, import_history):
    history.email("rep1", ["someone@gmail.com"], deleted_by_user=True, at=history.day(2))
    history.email("rep1", ["someone@gmail.com"], subject="另一封", at=history.day(3))

    import_history(history)

    assert list(MessageOwner.objects.order_by("sent_at").values_list("hidden_at", flat=True)) == [
        history.day(2),
        None,
    ]
    assert MessageCustomer.objects.count() == 0  # no customer named: no link


def test_views_and_exports_are_access_events(history, import_history):
    history.view("rep2", "C1", at=history.day(3, 11))
    history.export("rep2", 88, at=history.day(3, 12))

    import_history(history)

    assert list(
        AccessEvent.objects.order_by("at").values_list(
            "user__username", "kind", "customer__code", "rows", "subject", "at"
        )
    ) == [
        ("rep2", AccessKind.VIEW, "C1", 0, "", history.day(3, 11)),
        ("rep2", AccessKind.EXPORT, None, 88, "customers", history.day(3, 12)),
    ]


def test_a_deactivation_ends_the_users_access_at_its_moment(history, import_history):
    history.user_deactivated("rep2", at=history.day(200, 18, 39))

    import_history(history)

    rep2 = User.objects.get(username="rep2")
    assert (rep2.is_active, rep2.deactivated_at) == (False, history.day(200, 18, 39))
    assert User.objects.get(username="rep1").is_active


# -- users the file never declares ----------------------------------------------------------------


def test_undeclared_users_are_inactive_placeholders_reported_with_their_events(
    history, import_history
):
    order = history.order("C1", "rep1", "800.00", at=history.day(1))
    history.shipment(order["code"], user="logistics", at=history.day(5))
    history.follow_up("C2", "old_rep", at=history.day(6))
    history.view("old_rep", "C2", at=history.day(7))

    imported = import_history(history)

    assert imported.summary["placeholder_users"] == {"logistics": 1, "old_rep": 2}
    assert (
        "user 'old_rep' is not declared in the file: 2 events kept under an inactive "
        "placeholder user of that name"
    ) in imported.printed
    logistics = User.objects.get(username="logistics")
    old_rep = User.objects.get(username="old_rep")
    assert (logistics.is_active, logistics.role) == (False, Role.LOGISTICS)
    assert (old_rep.is_active, old_rep.role) == (False, Role.SALES)
    assert old_rep.department == department_root()
    assert FollowUp.objects.get().author == old_rep
    assert Shipment.objects.get().recorded_by == logistics


def test_a_deactivation_of_an_undeclared_user_keeps_its_moment(history, import_history):
    history.follow_up("C2", "old_rep", at=history.day(6))
    history.user_deactivated("old_rep", at=history.day(30))

    import_history(history)

    old_rep = User.objects.get(username="old_rep")
    assert (old_rep.is_active, old_rep.deactivated_at) == (False, history.day(30))


def test_the_summary_counts_every_line_by_type(history, import_history):
    deal = history.won_deal("C1", "rep1", [("P1", 1, "1000.00")], at=history.day(1))
    history.lost_deal("C2", "rep2", [("P2", 5, "110.00")], at=history.day(2))
    history.follow_up("C1", "rep1")
    history.check_in("C1", "rep1", lat=HANGZHOU[0], lng=HANGZHOU[1])
    history.contact_change("C2", "rep2", "email", "", "a@b.com")
    history.email("rep1", ["purchase@yuanfeng-jx.com"], customer="C1")
    history.view("rep1", "C1")
    history.export("rep1", 5)
    history.user_deactivated("rep2")

    imported = import_history(history)

    assert imported.summary["by_type"] == {
        "check_in": 1,
        "contact_change": 1,
        "customer": 2,
        "department": 1,
        "email": 1,
        "export": 1,
        "follow_up": 1,
        "invoice": 1,
        "order": 1,
        "payment": 1,
        "product": 2,
        "quote": 2,
        "quote_result": 2,
        "shipment": 1,
        "user": 3,
        "user_deactivated": 1,
        "view": 1,
    }
    assert imported.summary["lines"] == len(history.lines) == 23
    assert imported.summary["imported"] == 23
    assert (imported.summary["already_imported"], imported.summary["bad_lines"]) == (0, 0)
    assert imported.summary["placeholder_users"] == {"logistics": 1}  # won_deal's shipper
    assert deal["amount"] == "1000.00"


def test_times_without_an_offset_are_local_time(history, import_history):
    history.add(
        {
            "type": "follow_up",
            "at": "2025-10-03T09:30:00",
            "customer": "C1",
            "user": "rep1",
            "kind": "call",
            "content": "电话沟通了下一季度的采购计划",
        }
    )

    import_history(history)

    assert FollowUp.objects.get().happened_at == dt.datetime(2025, 10, 3, 9, 30, tzinfo=SHANGHAI)
    assert timezone.is_aware(FollowUp.objects.get().happened_at)
