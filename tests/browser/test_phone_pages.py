"""Every page a salesperson uses, at 390 px in Chinese: nothing overflows sideways, the menu folds
with the rep's own pages first, touch targets are at least 44 px, the duplicate check sits
right under the name field, and money reads ¥11,500.00. Each page is photographed into
$KEDUN_SCREENSHOTS (default /tmp/kedun-screenshots/phone) for a person to look at."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kedun.core import clock
from kedun.customers.services import customer_register
from kedun.field.models import CheckInSource
from kedun.field.services import check_in_record
from kedun.lifecycle.services import follow_up_log
from kedun.notifications.services import notify
from kedun.sales.orders import order_create_from_quote
from kedun.sales.quotes import quote_accept, quote_create, quote_send, quote_submit
from tests.factories import CustomerFactory, DepartmentFactory, ProductFactory, UserFactory
from tests.field.conftest import PEOPLE_SQUARE, jpeg, located, north_of

from .test_collaboration_scene import log_in

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("KEDUN_SCREENSHOTS", "/tmp/kedun-screenshots")) / "phone"
WIDTH = 390


def overflow(page) -> list[str]:
    """The elements sticking out to the right of the screen (none when the page fits)."""
    return page.evaluate(
        """(width) => {
          const out = [];
          if (document.documentElement.scrollWidth > width) out.push(
            `document ${document.documentElement.scrollWidth}px`);
          for (const el of document.querySelectorAll("body *")) {
            const box = el.getBoundingClientRect();
            if (box.width && box.right > width + 1 && !el.closest(".table-wrap, figure")) {
              out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} right=${box.right}`);
            }
          }
          return out.slice(0, 10);
        }""",
        WIDTH,
    )


def small_targets(page) -> list[str]:
    """Buttons, menu entries and form controls under 44 px high (links inside text excepted)."""
    return page.evaluate(
        """() => {
          const out = [];
          const controls = document.querySelectorAll(
            "button, .button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), "
            + "select, textarea, .nav.open a, .menu-toggle");
          for (const el of controls) {
            const box = el.getBoundingClientRect();
            if (!box.width || !box.height) continue;  // not shown
            if (box.height < 43.5) out.push(`${el.tagName.toLowerCase()}#${el.id} ${box.height}`);
          }
          return out.slice(0, 10);
        }"""
    )


def look(page, name: str) -> None:
    page.wait_for_load_state("load")
    assert overflow(page) == [], name
    assert small_targets(page) == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def day(live_server):
    east = DepartmentFactory(name="华东销售部")
    manager = UserFactory(username="east_mgr", full_name="李经理", role="manager", department=east)
    rep = UserFactory(username="zhangwei", full_name="张伟", department=east, manager=manager)
    customer = located(
        rep, name="杭州恒达机械设备制造有限公司（萧山经济技术开发区分公司）", phone="0571-88886666"
    )
    for n in range(6):
        CustomerFactory(owner=rep, name=f"上海宏远电子科技股份有限公司第{n + 1}分厂")
    customer_register(actor=manager, name="杭州恒达机械有限公司", phone="0571-88886667")
    pump = ProductFactory(
        sku="PUMP-100-HEAVY-DUTY", name="离心泵（重型，不锈钢）", unit="台",
        list_price="11500.00", floor_price="9800.00",
    )  # fmt: skip
    now = clock.now()
    follow_up_log(
        actor=rep,
        customer=customer,
        kind="visit",
        content="约了王采购，下周报价。对方关心交货期和售后服务，需要提供三家同类客户案例。",
        next_follow_up_on=timezone.localdate(now),
    )
    today = timezone.localdate(now)
    quote = quote_create(
        actor=rep,
        customer=customer,
        lines=[{"product": pump, "quantity": 2}],
        valid_until=today + dt.timedelta(days=30),
    )
    second = quote_create(
        actor=rep,
        customer=customer,
        lines=[{"product": pump, "quantity": 1}],
        valid_until=today + dt.timedelta(days=30),
    )
    second = quote_accept(
        actor=rep, quote=quote_send(actor=rep, quote=quote_submit(actor=rep, quote=second))
    )
    order = order_create_from_quote(
        actor=rep, quote=second, promised_date=today + dt.timedelta(days=20)
    )
    notify(
        recipients=[rep],
        kind="pool_warning",
        title="杭州恒达机械设备制造有限公司（萧山经济技术开发区分公司）还有 2 天进入公海",
        body="请在 2 天内跟进，否则客户将被释放到公海。",
    )
    for minutes, at in ((90, PEOPLE_SQUARE), (30, north_of(PEOPLE_SQUARE, 800))):
        check_in_record(
            actor=rep,
            customer=customer,
            captured_at=now - dt.timedelta(minutes=minutes),
            lat=at[0],
            lng=at[1],
            accuracy_m=20,
            mock=False,
            photo=jpeg(),
            audio=None,
            note="",
            need_id=None,
            quote_id=None,
            idempotency_key=f"tour-{minutes}",
            source=CheckInSource.API,
        )
    return {"rep": rep, "customer": customer, "quote": quote, "order": order}


def test_every_salesperson_page_fits_a_phone(live_server, phone, day):
    base = live_server.url
    customer = day["customer"]
    log_in(phone, base, "zhangwei")
    look(phone, "01-home")

    # The menu folds behind a button; opened, the rep's own pages come first.
    phone.click("[data-menu-toggle]")
    entries = phone.locator("#nav a").all_inner_texts()
    assert entries[:6] == ["首页", "我的客户", "今日跟进", "我的外勤", "报价", "订单"]
    look(phone, "02-menu")
    phone.click("[data-menu-toggle]")

    pages = [
        ("03-my-customers", "/my/customers/"),
        ("04-follow-ups-today", "/my/follow-ups/"),
        ("05-customer-card", f"/customers/{customer.pk}/"),
        ("07-check-in", f"/customers/{customer.pk}/check-in/"),
        ("08-quotes", "/quotes/"),
        ("09-quote", f"/quotes/{day['quote'].pk}/"),
        ("10-orders", "/orders/"),
        ("11-order", f"/orders/{day['order'].pk}/"),
        ("12-notifications", "/notifications/"),
        ("13-my-day", "/field/day/"),
        ("14-customers", "/customers/"),
        ("15-commission", "/sales/commission/"),
    ]
    for name, url in pages:
        phone.goto(f"{base}{url}")
        look(phone, name)

    # Money reads as yuan with thousands and cents, in lists and on the quote.
    phone.goto(f"{base}/quotes/")
    assert "¥23,000.00" in phone.locator("main").inner_text()
    phone.goto(f"{base}/quotes/{day['quote'].pk}/")
    assert "¥11,500.00" in phone.locator("main").inner_text()

    # Registration: the duplicate check answers right under the name as the rep types.
    phone.goto(f"{base}/customers/new/")
    phone.fill("#id_name", "杭州恒达机械")
    check = phone.locator("#duplicate-check")
    expect(check.locator("table.matches")).to_be_visible()
    name_box = phone.locator("#id_name").bounding_box()
    check_box = check.bounding_box()
    assert 0 <= check_box["y"] - (name_box["y"] + name_box["height"]) < 40
    assert check_box["y"] < 844  # on the first screen, not below the fold
    look(phone, "06-register-duplicate-check")
    assert Decimal("11500.00") == day["quote"].lines.get().unit_price
