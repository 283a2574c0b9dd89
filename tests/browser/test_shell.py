"""The web shell in Chromium, on a phone screen: log in, the menu, htmx search, languages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, DepartmentFactory, UserFactory

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("KEDUN_SCREENSHOTS", "/tmp/kedun-screenshots"))


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_salesperson_uses_kedun_from_a_phone(live_server, phone):
    department = DepartmentFactory(name="华东销售部")
    rep = UserFactory(username="zhangwei", full_name="张伟", department=department)
    CustomerFactory(owner=rep, name="杭州恒达机械有限公司")
    CustomerFactory(owner=rep, name="上海宏远电子有限公司")
    CustomerFactory(name="深圳别人的客户有限公司")  # someone else's: never listed

    phone.goto(f"{live_server.url}/")
    assert phone.url.startswith(f"{live_server.url}/login/")
    phone.fill("#id_username", "zhangwei")
    phone.fill("#id_password", "wrong-password")
    phone.click("button[type=submit].primary")
    assert phone.locator("[role=alert]").inner_text() == "用户名或密码不正确。"
    shot(phone, "login-error")

    phone.fill("#id_password", PASSWORD)
    phone.click("button[type=submit].primary")
    phone.wait_for_url(f"{live_server.url}/")
    assert phone.locator("h1").inner_text() == "您好，张伟"
    assert phone.locator('[data-count="my_customers"]').inner_text() == "2"
    shot(phone, "home-phone")

    # On a phone the menu folds behind a button.
    assert not phone.locator("#nav").is_visible()
    phone.click("[data-menu-toggle]")
    phone.locator("#nav").get_by_role("link", name="客户", exact=True).click()
    phone.wait_for_url(f"{live_server.url}/customers/")
    assert phone.locator("table.list tbody tr").count() == 2
    assert "深圳别人的客户有限公司" not in phone.content()

    # Search as you type: htmx swaps the rows in place.
    phone.fill("#q", "恒达")
    expect(phone.locator("table.list tbody tr")).to_have_count(1)
    assert "杭州恒达机械有限公司" in phone.locator("table.list").inner_text()
    shot(phone, "customers-search")

    phone.select_option("#language", "en")
    expect(phone.locator("h1")).to_have_text("Customers")
    phone.select_option("#language", "zh-hant")
    expect(phone.locator("h1")).to_have_text("客戶")
    shot(phone, "customers-zh-hant")
