"""The pool in Chromium (MISSION §4): 小张 sees the countdown on a customer he neglects; the
nightly sweep releases it; after the fresh-release embargo 小李 finds it in the pool and claims
it. The live server runs in this process, so the clock frozen here is the server's clock too."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kedun.core import clock
from kedun.customers.models import Customer, OwnershipKind
from kedun.customers.services import ContactInput, customer_register
from kedun.lifecycle.services import customer_release, follow_up_log
from kedun.lifecycle.sweep import pool_sweep
from tests.factories import DepartmentFactory, UserFactory

from .test_collaboration_scene import log_in
from .test_shell import shot

pytestmark = pytest.mark.browser


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


@pytest.fixture
def company():
    root = DepartmentFactory(name="客盾示范有限公司")
    east = DepartmentFactory(name="华东销售部", parent=root)
    manager = UserFactory(username="east_mgr", full_name="李明", role="manager", department=east)
    zhang = UserFactory(username="xiaozhang", full_name="小张", department=east, manager=manager)
    li = UserFactory(username="xiaoli", full_name="小李", department=east, manager=manager)
    return {"east": east, "manager": manager, "zhang": zhang, "li": li}


def register(
    owner,
    name: str,
    *,
    at: dt.datetime,
    grade: str = "",
    phone: str = "0571-88886666",
    mobile: str = "13900001111",
) -> Customer:
    with clock.frozen_at(at):
        customer = customer_register(
            actor=owner,
            name=name,
            phone=phone,
            contacts=[ContactInput(name="王采购", phone=mobile)],
            details={"city": "杭州", "industry": "软件"},
        )
    if grade:
        Customer.objects.filter(pk=customer.pk).update(grade=grade)
    return customer


def log_out(page) -> None:
    page.locator("form[action='/logout/'] button").click()


def test_a_neglected_customer_goes_to_the_pool_and_a_colleague_claims_it(
    live_server, phone, company
):
    base = live_server.url
    now = clock.now()
    # Registered 28 days ago and never followed up: 30 days allowed, so 2 days left.
    customer = register(company["zhang"], "杭州市蓝海科技有限公司", at=now - days(28))
    row = f'tr[data-customer="{customer.code}"]'

    log_in(phone, base, "xiaozhang")
    phone.goto(f"{base}/my/customers/")
    countdown = phone.locator(f"{row} .countdown")
    expect(countdown).to_have_attribute("data-days-left", "2")
    expect(countdown).to_have_class(re.compile(r"\berror\b"))  # highlighted: 3 days or fewer
    expect(countdown).to_contain_text("2")
    shot(phone, "pool-1-my-customers-countdown")
    phone.locator(row).get_by_role("link", name="杭州市蓝海科技有限公司").click()
    expect(phone.locator("[data-field=countdown] .countdown")).to_have_attribute(
        "data-days-left", "2"
    )
    shot(phone, "pool-2-customer-countdown")

    # Nobody follows up. Three days later the nightly sweep releases the customer.
    released_at = now + days(3)
    with clock.frozen_at(released_at):
        result = pool_sweep()
        assert result.released == 1 and result.by_reason == {"no_follow_up:30": 1}
        phone.goto(f"{base}/my/customers/")
        expect(phone.locator(row)).to_have_count(0)
        expect(phone.locator(".bell .count")).to_have_text("1")
        log_out(phone)

    # 小李, an hour later: the customer is in the pool but nobody may claim it yet.
    with clock.frozen_at(released_at + dt.timedelta(hours=1)):
        log_in(phone, base, "xiaoli")
        phone.goto(f"{base}/pool/")
        expect(phone.locator(row)).to_contain_text("华东销售部")  # the previous department
        expect(phone.locator(f"{row} [data-embargo]")).to_be_visible()
        expect(phone.locator(f"{row} [data-claim]")).to_have_count(0)
        assert "88886666" not in phone.content() and "13900001111" not in phone.content()
        shot(phone, "pool-3-embargo")

    # The next day the embargo is over: he claims it, and it is his.
    with clock.frozen_at(released_at + dt.timedelta(hours=25)):
        phone.goto(f"{base}/pool/")
        phone.fill("#q", "蓝海")
        expect(phone.locator("#pool tbody tr")).to_have_count(1)
        shot(phone, "pool-4-claimable")
        phone.locator(f"{row} [data-claim]").click()
        phone.wait_for_url(f"{base}/customers/{customer.pk}/")
        expect(phone.locator("[data-field=owner]")).to_have_text("小李")
        expect(phone.locator("[data-field=countdown] .countdown")).to_have_attribute(
            "data-days-left", "30"
        )
        history = phone.locator("#ownership-history tbody")
        expect(history.locator("tr[data-kind=claimed]")).to_contain_text("小李")
        expect(history.locator("tr[data-kind=released_auto]")).to_contain_text("小张")
        shot(phone, "pool-5-claimed")
    customer.refresh_from_db()
    assert customer.owner == company["li"]
    events = list(customer.ownership_events.order_by("at").values_list("kind", flat=True))
    assert events == [OwnershipKind.REGISTERED, OwnershipKind.RELEASED_AUTO, OwnershipKind.CLAIMED]


@pytest.fixture
def desktop(browser):
    """A desk-sized page in Simplified Chinese, failing the test on any console error."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def test_a_manager_works_through_the_lifecycle_pages(live_server, desktop, company):
    base = live_server.url
    page = desktop
    now = clock.now()
    zhang, li = company["zhang"], company["li"]
    key = register(
        zhang,
        "上海宏远电子有限公司",
        at=now - days(20),
        grade="A",
        phone="021-62345678",
        mobile="13711112222",
    )
    due = register(
        zhang,
        "苏州新辉包装材料有限公司",
        at=now - days(5),
        phone="0512-66778899",
        mobile="13633334444",
    )
    with clock.frozen_at(now - days(1)):
        follow_up_log(
            actor=zhang,
            customer=due,
            kind="call",
            content="客户要求明天再电话确认交期",
            next_follow_up_on=timezone.localdate(now - days(1)),
        )

    log_in(page, base, "east_mgr")
    nav = page.locator("#nav")
    for url in ("/pool/", "/pool/settings/", "/people/handover/", "/reports/key-customers/"):
        expect(nav.locator(f"a[href='{url}']")).to_have_count(1)

    # The key customer known to 小张 alone; the manager adds 小李 to its account team.
    page.goto(f"{base}/reports/key-customers/")
    expect(page.locator(f'tr[data-customer="{key.code}"]')).to_be_visible()
    shot(page, "lifecycle-key-customers")
    page.locator(f'tr[data-customer="{key.code}"] a').click()
    page.locator("#team-add summary").click()
    page.select_option("#id_team_add-user", str(li.pk))
    page.locator("#team-add button[type=submit]").click()
    expect(page.locator('#account-team tr[data-member="xiaoli"]')).to_be_visible()
    page.locator("#hold summary").click()
    page.fill("#id_hold-reason", "战略客户，经理特批保留")
    page.locator("#hold button[type=submit]").click()
    expect(page.locator("[data-field=countdown] [data-exempt=hold]")).to_be_visible()
    shot(page, "lifecycle-customer-as-manager")

    page.goto(f"{base}/pool/settings/?department={company['east'].pk}")
    page.fill("#id_rules-A_no_follow_up_days", "45")  # and no "days without a deal"
    page.locator("#release-rules button[type=submit]").click()
    expect(page.locator("#release-rules .error").first).to_be_visible()
    shot(page, "lifecycle-pool-settings-error")
    page.fill("#id_rules-A_no_deal_days", "120")
    page.locator("#release-rules button[type=submit]").click()
    expect(page.locator(".messages")).to_be_visible()
    expect(page.locator("#id_rules-A_no_follow_up_days")).to_have_value("45")
    shot(page, "lifecycle-pool-settings")

    # A customer 小李 gave up two days ago: he may not have it back yet, 小张 may.
    given_up = register(
        li, "宁波海天塑胶有限公司", at=now - days(10), phone="0574-87654321", mobile="13555556666"
    )
    with clock.frozen_at(now - days(2)):
        customer_release(actor=li, customer_id=given_up.pk, reason="客户暂无采购计划")
    page.goto(f"{base}/pool/")
    row = page.locator(f'tr[data-customer="{given_up.code}"]')
    row.locator("details.assign summary").click()
    row.locator("select[name=to]").select_option(str(li.pk))
    row.locator("details.assign button[type=submit]").click()
    expect(page.locator(".messages .error")).to_contain_text("小李")  # the cooldown
    shot(page, "lifecycle-pool-assign-refused")
    row.locator("details.assign summary").click()
    row.locator("select[name=to]").select_option(str(zhang.pk))
    row.locator("details.assign button[type=submit]").click()
    expect(page.locator(f'tr[data-customer="{given_up.code}"]')).to_have_count(0)

    page.goto(f"{base}/people/handover/")
    shot(page, "lifecycle-handover-form")
    page.select_option("#id_user", str(zhang.pk))
    page.check(f"input[name=to][value='{li.pk}']")
    page.fill("#id_reason", "小张离职")
    page.locator("button[type=submit].primary").click()
    expect(page.locator("#handover-confirm")).to_contain_text("小李")
    shot(page, "lifecycle-handover-confirm")
    page.locator("#handover-confirm button[type=submit]").click()
    expect(page.locator("#handover-report [data-field=customers]")).to_have_text("3")
    shot(page, "lifecycle-handover-report")
    log_out(page)

    log_in(page, base, "xiaoli")
    page.goto(f"{base}/my/follow-ups/")
    expect(page.locator(f'tr[data-customer="{due.code}"] [data-late="1"]')).to_be_visible()
    shot(page, "lifecycle-follow-ups-today")
    page.goto(f"{base}/my/customers/")
    expect(page.locator("#my-customers tbody tr")).to_have_count(3)
    shot(page, "lifecycle-my-customers-desktop")
