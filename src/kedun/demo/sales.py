"""The demo company's sales (MISSION §5): a catalogue of twelve products, a distributors' price
list, quotes in every status (three waiting for a manager's approval, so each regional manager
has something to decide), orders at every step — in production, partly shipped, delivered
late against the promised date, invoiced, paid (once by a payer other than the customer, so
the flag shows, once by an acceptance bill that bounced, so its commission is clawed back) —
invoices overdue across the ageing buckets, and the commission the payments earned. Written
through the services with the clock set back, as if it had happened, by the roles whose duty
each step is: reps sell, the order desk starts production, logistics ships,
finance invoices and collects, managers approve.

Each story goes to a rep's oldest customer not used yet, old enough for the story's history;
the reps take turns. Loaded once: when the catalogue is there, nothing is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from kedun.core import clock
from kedun.customers.models import Customer
from kedun.org.models import Role, User
from kedun.sales.catalogue import price_list_create, product_create
from kedun.sales.models import (
    Invoice,
    Order,
    OrderLine,
    Payment,
    PriceList,
    Product,
    Quote,
    ReversalKind,
)
from kedun.sales.orders import (
    OrderLineInput,
    delivery_confirm,
    invoice_record,
    order_cancel,
    order_contract_set,
    order_create,
    order_create_from_quote,
    order_mark_lost,
    order_production_start,
    payment_record,
    payment_reverse,
    shipment_record,
)
from kedun.sales.quotes import (
    QuoteLineInput,
    quote_accept,
    quote_approve,
    quote_create,
    quote_expire,
    quote_mark_lost,
    quote_reject,
    quote_revise,
    quote_send,
    quote_submit,
)

# sku, name, unit, list price, floor price, tax rate, usual lead time (days)
PRODUCTS = [
    ("KD-PLC-200", "PLC 控制器 S200", "台", "4800", "4100", "0.13", 21),
    ("KD-SRV-750", "伺服电机 750W", "台", "2650", "2250", "0.13", 14),
    ("KD-DRV-750", "伺服驱动器 750W", "台", "3100", "2600", "0.13", 14),
    ("KD-HMI-07", "7 寸触摸屏", "台", "1850", "1550", "0.13", 10),
    ("KD-VFD-55", "变频器 5.5kW", "台", "3900", "3300", "0.13", 21),
    ("KD-SEN-PH", "光电传感器", "个", "260", "210", "0.13", 7),
    ("KD-SEN-PX", "接近开关", "个", "120", "95", "0.13", 7),
    ("KD-CYL-50", "气缸 SC50×100", "个", "380", "310", "0.13", 10),
    ("KD-GUI-20", "直线导轨 HGR20（1 米）", "根", "560", "460", "0.13", 14),
    ("KD-CBL-10", "编码器电缆 10 米", "条", "150", "120", "0.13", 5),
    ("KD-CAB-01", "电控柜（定制）", "套", "28000", "23500", "0.13", 45),
    ("KD-SVC-DAY", "现场调试服务", "人天", "1500", "1200", "0.06", 3),
]
PRICE_LIST = "经销商价 2026"
CARRIERS = ["顺丰速运", "德邦物流", "中通快运"]
OTHER_PAYER = "东莞市恒信贸易有限公司"  # pays for a customer: a trace of diversion (MISSION §9)


def _demo_loaded() -> bool:
    return Product.objects.filter(sku=PRODUCTS[0][0]).exists()


@dataclass
class Demo:
    """Who does what, the catalogue, and the clock the stories are told against."""

    now: dt.datetime
    users: dict[str, User]
    products: dict[str, Product]
    price_list: PriceList
    invoices: int = 0

    def at(self, days_ago: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days_ago)

    def day(self, days_ago: float) -> dt.date:
        return timezone.localdate(self.at(days_ago))

    def manager_of(self, rep: User) -> User:
        assert rep.manager is not None
        return rep.manager

    # -- the roles' steps, each at its moment ------------------------------------------------

    def quote(
        self,
        customer: Customer,
        days_ago: float,
        lines: Sequence[tuple[str, int, str | None]],
        *,
        valid_days: int = 30,
        price_list: bool = False,
    ) -> Quote:
        assert customer.owner is not None
        with clock.frozen_at(self.at(days_ago)):
            return quote_create(
                actor=customer.owner,
                customer=customer,
                lines=[
                    QuoteLineInput(
                        product=self.products[sku],
                        quantity=quantity,
                        unit_price=None if price is None else Decimal(price),
                    )
                    for sku, quantity, price in lines
                ],
                valid_until=self.day(days_ago - valid_days),
                price_list=self.price_list if price_list else None,
            )

    def step(self, days_ago: float, action: Callable[..., object], **kwargs: object) -> object:
        with clock.frozen_at(self.at(days_ago)):
            return action(**kwargs)

    def order(
        self,
        customer: Customer,
        days_ago: float,
        lines: list[tuple[str, int]],
        *,
        promised_in: int,
        terms: int = 30,
    ) -> Order:
        assert customer.owner is not None
        with clock.frozen_at(self.at(days_ago)):
            return order_create(
                actor=customer.owner,
                customer=customer,
                lines=[OrderLineInput(product=self.products[sku], quantity=q) for sku, q in lines],
                promised_date=self.day(days_ago - promised_in),
                payment_terms_days=terms,
            )

    def produce(self, order: Order, days_ago: float) -> None:
        desk = self.users["orders"]
        self.step(days_ago, order_production_start, actor=desk, order=order)
        self.step(
            days_ago,
            order_contract_set,
            actor=desk,
            order=order,
            contract_number=f"HT-{order.number}",
            signed_on=self.day(days_ago),
        )

    def ship(self, order: Order, days_ago: float, *, part: bool = False) -> None:
        lines = list(OrderLine.objects.filter(order=order).order_by("position", "pk"))
        wanted = {lines[0]: lines[0].quantity} if part else {line: line.quantity for line in lines}
        self.step(
            days_ago,
            shipment_record,
            actor=self.users["logistics"],
            order=order,
            lines=wanted,
            carrier=CARRIERS[order.pk % len(CARRIERS)],
            tracking=f"{order.number[-6:]}{order.pk:06d}",
        )

    def deliver(self, order: Order, days_ago: float) -> None:
        self.step(days_ago, delivery_confirm, actor=self.users["logistics"], order=order)

    def invoice(self, order: Order, days_ago: float, *, due_ago: float | None = None) -> Invoice:
        order.refresh_from_db()
        self.invoices += 1
        invoice = self.step(
            days_ago,
            invoice_record,
            actor=self.users["finance"],
            order=order,
            amount=order.gross_total,
            number=f"{44031000 + self.invoices:08d}",
            issued_on=self.day(days_ago),
            due_on=None if due_ago is None else self.day(due_ago),
        )
        assert isinstance(invoice, Invoice)
        return invoice

    def pay(
        self, invoice: Invoice, days_ago: float, *, share: Decimal = Decimal(1), payer: str = ""
    ) -> Payment:
        customer = invoice.order.customer
        payment = self.step(
            days_ago,
            payment_record,
            actor=self.users["finance"],
            invoice=invoice,
            amount=(invoice.amount * share).quantize(Decimal("0.01")),
            received_on=self.day(days_ago),
            payer_name=payer or customer.name,
            payer_account=f"6222 0210 {customer.pk:04d} {invoice.pk:04d}",
        )
        assert isinstance(payment, Payment)
        return payment


# -- the stories: (how many days of history each needs, the story) -------------------------


def _paid_early(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 60, [("KD-PLC-200", 2), ("KD-HMI-07", 2)], promised_in=12)
    demo.produce(order, 59)
    demo.ship(order, 50)
    demo.deliver(order, 49)  # three days before the promise
    demo.pay(demo.invoice(order, 48), 20)


def _paid_late_from_quote(demo: Demo, customer: Customer) -> None:
    owner = customer.owner
    quote = demo.quote(customer, 62, [("KD-CAB-01", 1, None), ("KD-SVC-DAY", 3, None)])
    demo.step(62, quote_submit, actor=owner, quote=quote)
    demo.step(61, quote_send, actor=owner, quote=quote)
    demo.step(58, quote_accept, actor=owner, quote=quote)
    order = demo.step(
        57, order_create_from_quote, actor=owner, quote=quote, promised_date=demo.day(45)
    )
    assert isinstance(order, Order)
    demo.produce(order, 56)
    demo.ship(order, 40)
    demo.deliver(order, 38)  # a week after the promise
    demo.pay(demo.invoice(order, 37), 9)


def _paid_by_another(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 55, [("KD-VFD-55", 3), ("KD-CBL-10", 6)], promised_in=14)
    demo.produce(order, 54)
    demo.ship(order, 45)
    demo.deliver(order, 44)
    demo.pay(demo.invoice(order, 43), 12, payer=OTHER_PAYER)


def _paid_by_a_bill_that_bounced(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 40, [("KD-SEN-PH", 30), ("KD-SEN-PX", 40)], promised_in=7)
    demo.produce(order, 39)
    demo.ship(order, 33)
    demo.deliver(order, 32)
    payment = demo.pay(demo.invoice(order, 31), 18)
    demo.step(
        11,
        payment_reverse,
        actor=demo.users["finance"],
        payment=payment,
        kind=ReversalKind.BOUNCED,
        reason="银行承兑汇票到期提示付款被拒（出票人账户余额不足），已退票",
        reversed_on=demo.day(11),
    )


def _part_paid_overdue(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 50, [("KD-SRV-750", 4), ("KD-DRV-750", 4)], promised_in=10)
    demo.produce(order, 49)
    demo.ship(order, 42)
    demo.deliver(order, 41)  # a day late
    invoice = demo.invoice(order, 40)  # due 30 days later: 10 days overdue
    demo.pay(invoice, 5, share=Decimal("0.5"))


def _overdue_31_60(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 64, [("KD-GUI-20", 20), ("KD-CYL-50", 10)], promised_in=8)
    demo.produce(order, 63)
    demo.ship(order, 58)
    demo.deliver(order, 57)
    demo.invoice(order, 56, due_ago=46)


def _overdue_61_90(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 76, [("KD-SEN-PH", 40), ("KD-SEN-PX", 60)], promised_in=4)
    demo.produce(order, 75)
    demo.ship(order, 71)
    demo.deliver(order, 70)  # six days late
    demo.invoice(order, 69, due_ago=69)  # cash on delivery, still not paid


def _invoiced_not_due(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 30, [("KD-PLC-200", 1), ("KD-SVC-DAY", 2)], promised_in=12)
    demo.produce(order, 29)
    demo.ship(order, 20)
    demo.deliver(order, 19)
    demo.invoice(order, 18)


def _delivered_late(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 35, [("KD-VFD-55", 2)], promised_in=10)
    demo.produce(order, 34)
    demo.ship(order, 20)
    demo.deliver(order, 18)  # 7 days after the promise


def _shipped(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 20, [("KD-HMI-07", 5), ("KD-CBL-10", 5)], promised_in=21)
    demo.produce(order, 19)
    demo.ship(order, 3)


def _partly_shipped(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 25, [("KD-SRV-750", 6), ("KD-CAB-01", 1)], promised_in=30)
    demo.produce(order, 24)
    demo.ship(order, 4, part=True)  # the motors left; the cabinet is still being built


def _in_production(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 12, [("KD-PLC-200", 3), ("KD-DRV-750", 3)], promised_in=22)
    demo.produce(order, 11)


def _in_production_late(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 40, [("KD-CAB-01", 2)], promised_in=30)
    demo.produce(order, 39)  # promised ten days ago, still in production


def _confirmed(demo: Demo, customer: Customer) -> None:
    demo.order(customer, 2, [("KD-CYL-50", 20), ("KD-SEN-PX", 40)], promised_in=14)


def _cancelled(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 30, [("KD-GUI-20", 10)], promised_in=14)
    demo.step(
        28, order_cancel, actor=customer.owner, order=order, reason="客户重复下单，保留另一单"
    )


def _order_lost(demo: Demo, customer: Customer) -> None:
    order = demo.order(customer, 45, [("KD-VFD-55", 4)], promised_in=30)
    demo.step(
        43,
        order_mark_lost,
        actor=customer.owner,
        order=order,
        reason="competitor",
        competitor="汇川技术",
        note="对方交期两周，我们要一个月，客户撤单",
    )


def _draft(demo: Demo, customer: Customer) -> None:
    demo.quote(customer, 3, [("KD-SRV-750", 2, None), ("KD-DRV-750", 2, None)])


def _approved(demo: Demo, customer: Customer) -> None:
    quote = demo.quote(customer, 5, [("KD-PLC-200", 1, "4500")])  # within the rep's discount
    demo.step(5, quote_submit, actor=customer.owner, quote=quote)


def _approved_and_sent(demo: Demo, customer: Customer) -> None:
    owner = customer.owner
    assert owner is not None
    quote = demo.quote(customer, 20, [("KD-CAB-01", 1, "23000")], valid_days=45)  # below floor
    demo.step(20, quote_submit, actor=owner, quote=quote)
    note = "年度框架客户，同意特价"
    demo.step(19, quote_approve, actor=demo.manager_of(owner), quote=quote, note=note)
    demo.step(18, quote_send, actor=owner, quote=quote)


def _sent_at_distributor_prices(demo: Demo, customer: Customer) -> None:
    lines = [("KD-SEN-PH", 100, None), ("KD-SEN-PX", 200, None)]
    quote = demo.quote(customer, 10, lines, price_list=True)
    demo.step(10, quote_submit, actor=customer.owner, quote=quote)
    demo.step(9, quote_send, actor=customer.owner, quote=quote)


def _accepted(demo: Demo, customer: Customer) -> None:
    quote = demo.quote(customer, 15, [("KD-VFD-55", 2, None), ("KD-SVC-DAY", 1, None)])
    demo.step(15, quote_submit, actor=customer.owner, quote=quote)
    demo.step(14, quote_send, actor=customer.owner, quote=quote)
    demo.step(8, quote_accept, actor=customer.owner, quote=quote)


def _rejected(demo: Demo, customer: Customer) -> None:
    owner = customer.owner
    assert owner is not None
    quote = demo.quote(customer, 7, [("KD-HMI-07", 10, "1400")])  # below the floor
    demo.step(7, quote_submit, actor=owner, quote=quote)
    note = "低于底价太多，先按底价报"
    demo.step(6, quote_reject, actor=demo.manager_of(owner), quote=quote, note=note)


def _expired(demo: Demo, customer: Customer) -> None:
    quote = demo.quote(customer, 50, [("KD-GUI-20", 30, None)], valid_days=14)
    demo.step(50, quote_submit, actor=customer.owner, quote=quote)
    demo.step(49, quote_send, actor=customer.owner, quote=quote)
    demo.step(30, quote_expire, actor=customer.owner, quote=quote)


def _lost_to_competitor(demo: Demo, customer: Customer) -> None:
    quote = demo.quote(customer, 40, [("KD-SRV-750", 10, None), ("KD-DRV-750", 10, None)])
    demo.step(40, quote_submit, actor=customer.owner, quote=quote)
    demo.step(39, quote_send, actor=customer.owner, quote=quote)
    demo.step(
        30,
        quote_mark_lost,
        actor=customer.owner,
        quote=quote,
        reason_code="competitor",
        competitor="台达电子",
        note="对方报价低百分之十二",
    )


def _lost_on_price(demo: Demo, customer: Customer) -> None:
    quote = demo.quote(customer, 33, [("KD-PLC-200", 5, None)])
    demo.step(33, quote_submit, actor=customer.owner, quote=quote)
    demo.step(32, quote_send, actor=customer.owner, quote=quote)
    note = "客户预算只有报价的八成"
    demo.step(
        25, quote_mark_lost, actor=customer.owner, quote=quote, reason_code="price", note=note
    )


def _superseded(demo: Demo, customer: Customer) -> None:
    quote = demo.quote(customer, 22, [("KD-CAB-01", 1, None)])
    demo.step(22, quote_submit, actor=customer.owner, quote=quote)
    demo.step(21, quote_send, actor=customer.owner, quote=quote)
    revised = demo.step(16, quote_revise, actor=customer.owner, quote=quote)
    demo.step(16, quote_submit, actor=customer.owner, quote=revised)
    demo.step(15, quote_send, actor=customer.owner, quote=revised)


def _pending_below_floor(demo: Demo, customer: Customer) -> None:
    quote = demo.quote(customer, 1, [("KD-VFD-55", 5, "3200"), ("KD-CBL-10", 5, None)])
    demo.step(1, quote_submit, actor=customer.owner, quote=quote)


def _pending_over_discount(demo: Demo, customer: Customer) -> None:
    # 13.5 % off the list price: above the floor, over a rep's 10 % limit.
    quote = demo.quote(customer, 2, [("KD-PLC-200", 4, "4150")])
    demo.step(2, quote_submit, actor=customer.owner, quote=quote)


Story = Callable[[Demo, Customer], None]
# (days of history the story needs, the rep it must go to or "" for the next in turn, story)
STORIES: list[tuple[int, str, Story]] = [
    (77, "", _overdue_61_90),
    (65, "", _overdue_31_60),
    (63, "", _paid_late_from_quote),
    (61, "", _paid_early),
    (56, "", _paid_by_another),
    (51, "", _part_paid_overdue),
    (51, "", _expired),
    (46, "", _order_lost),
    (41, "", _in_production_late),
    (41, "", _lost_to_competitor),
    (36, "", _delivered_late),
    (34, "", _lost_on_price),
    (31, "", _invoiced_not_due),
    (31, "", _cancelled),
    (26, "", _partly_shipped),
    (23, "", _superseded),
    (21, "", _shipped),
    (21, "", _approved_and_sent),
    (16, "", _accepted),
    (13, "", _in_production),
    (11, "", _sent_at_distributor_prices),
    (8, "", _rejected),
    (6, "", _approved),
    (4, "", _draft),
    (3, "", _confirmed),
    # One quote waiting in each region, for its manager to approve.
    (2, "zhangwei", _pending_below_floor),
    (3, "zhaolei", _pending_over_discount),
    (2, "wuhao", _pending_below_floor),
    (41, "", _paid_by_a_bill_that_bounced),
]


def demo_sales_load(users: dict[str, User]) -> dict[str, int]:
    """The demo's sales history, unless the catalogue is there already. In the caller's
    transaction."""
    if _demo_loaded():
        return {}
    before = _counts()
    now = clock.now()
    boss = users["boss"]
    with clock.frozen_at(now - dt.timedelta(days=88)):
        products = {
            sku: product_create(
                actor=boss,
                sku=sku,
                name=name,
                unit=unit,
                list_price=Decimal(list_price),
                floor_price=Decimal(floor_price),
                tax_rate=Decimal(tax_rate),
                lead_time_days=lead_time,
            )
            for sku, name, unit, list_price, floor_price, tax_rate, lead_time in PRODUCTS
        }
        price_list = price_list_create(
            actor=boss,
            name=PRICE_LIST,
            valid_from=timezone.localdate(now - dt.timedelta(days=88)),
            prices={
                product: (product.list_price * Decimal("0.92")).quantize(Decimal("1"))
                for product in products.values()
                if product.sku in ("KD-SEN-PH", "KD-SEN-PX", "KD-CBL-10", "KD-CYL-50")
            },
        )
    demo = Demo(now=now, users=users, products=products, price_list=price_list)
    _tell_stories(demo)
    after = _counts()
    return {what: after[what] - before[what] for what in after}


def _counts() -> dict[str, int]:
    return {
        "products": Product.objects.count(),
        "quotes": Quote.objects.count(),
        "orders": Order.objects.count(),
        "invoices": Invoice.objects.count(),
    }


def _tell_stories(demo: Demo) -> None:
    reps = [u for u in demo.users.values() if u.role == Role.SALES]
    waiting: dict[int, list[tuple[float, Customer]]] = {rep.pk: [] for rep in reps}
    customers = (
        Customer.objects.filter(owner__in=reps, code__startswith="D", merged_into__isnull=True)
        .filter(on_hold=False)
        .select_related("owner", "owner__manager")
        .order_by("owned_since", "pk")
    )
    for customer in customers:
        assert customer.owner_id is not None and customer.owned_since is not None
        age = (demo.now - customer.owned_since).total_seconds() / 86400
        waiting[customer.owner_id].append((age, customer))
    turn = 0
    for needs, rep_name, story in STORIES:
        candidates = [demo.users[rep_name]] if rep_name else reps[turn:] + reps[:turn]
        for rep in candidates:
            if waiting[rep.pk] and waiting[rep.pk][0][0] > needs:
                _age, customer = waiting[rep.pk].pop(0)
                story(demo, customer)
                if not rep_name:
                    turn = (reps.index(rep) + 1) % len(reps)
                break
