"""The article's scene in Chromium: 小李 takes a call, finds the company is 小张's customer,
records the contact and the need; 小张 logs in later and sees the notification and the note."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kedun.customers.services import ContactInput, customer_register
from tests.conftest import PASSWORD
from tests.factories import DepartmentFactory, UserFactory

from .test_shell import shot

pytestmark = pytest.mark.browser


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/")


def test_xiaoli_records_a_need_on_xiaozhangs_customer(live_server, phone):
    east = DepartmentFactory(name="华东销售部")
    manager = UserFactory(username="east_mgr", full_name="李经理", role="manager", department=east)
    zhang = UserFactory(username="xiaozhang", full_name="小张", department=east, manager=manager)
    UserFactory(username="xiaoli", full_name="小李", department=east, manager=manager)
    customer_register(
        actor=zhang,
        name="杭州市蓝海科技有限公司",
        phone="0571-88886666",
        contacts=[ContactInput(name="王采购", phone="13900001111")],
    )
    base = live_server.url

    # 小李 takes the call and looks the company up.
    log_in(phone, base, "xiaoli")
    phone.goto(f"{base}/registry/")
    phone.fill("#q", "蓝海科技")
    row = phone.locator("table.matches tbody tr").first
    expect(row).to_contain_text("小张")
    expect(row).to_contain_text("华东销售部")
    assert "88886666" not in phone.content()
    shot(phone, "scene-1-registry-search")
    row.get_by_role("link", name="杭州市蓝海科技有限公司").click()
    expect(phone.locator("[data-field=owner]")).to_have_text("小张")
    phone.fill("#id_contact_name", "王采购")
    phone.fill("#id_contact_phone", "13900001111")
    phone.fill("#id_content", "客户来电，要求下周一前报价")
    phone.fill("#id_need_what", "数控机床")
    phone.fill("#id_need_quantity", "3 台")
    phone.click("button[type=submit].primary")
    expect(phone.locator(".messages")).to_contain_text("小张")
    shot(phone, "scene-2-note-recorded")
    phone.locator("form[action='/logout/'] button").click()

    # 小张 comes back and is told at once.
    log_in(phone, base, "xiaozhang")
    expect(phone.locator(".messages")).to_contain_text("小李")
    expect(phone.locator(".bell .count")).to_have_text("1")
    shot(phone, "scene-3-owner-told")
    phone.locator(".bell").click()
    phone.get_by_role("link", name="小李").first.click()
    timeline = phone.locator("ul.timeline")
    expect(timeline).to_contain_text("客户来电，要求下周一前报价")
    expect(timeline).to_contain_text("数控机床")
    expect(timeline).to_contain_text("13900001111")
    shot(phone, "scene-4-timeline")
