"""The deleted-mail scene in Chromium (MISSION §7): 小张 deletes a customer's message; it is gone
from his pages and from the API; his manager finds it marked as deleted, restores it, and the
audit trail shows both steps."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kedun.customers.services import ContactInput, customer_register
from tests.comms.conftest import corpus, store
from tests.factories import DepartmentFactory, UserFactory

from .test_collaboration_scene import log_in
from .test_shell import shot

pytestmark = pytest.mark.browser


def test_a_deleted_message_is_hidden_from_the_rep_and_restored_by_the_manager(live_server, phone):
    root = DepartmentFactory(name="客盾示范有限公司")
    east = DepartmentFactory(name="华东销售部", parent=root)
    UserFactory(username="boss", full_name="王总", role="admin", department=root)
    manager = UserFactory(username="east_mgr", full_name="李经理", role="manager", department=east)
    zhang = UserFactory(username="xiaozhang", full_name="小张", department=east, manager=manager)
    customer = customer_register(
        actor=zhang,
        name="上海市恒达机械有限公司",
        website="www.hengda-jx.com",
        contacts=[ContactInput(name="王喆", email="wangzhe@hengda-jx.com")],
    )
    message = store(corpus("gb2312_holding_gbk.eml"), owner=zhang)
    base = live_server.url
    phone.on("dialog", lambda dialog: dialog.accept())  # "Delete this message?" — yes

    # 小张 finds the customer's mail on its card, opens it and deletes it.
    log_in(phone, base, "xiaozhang")
    phone.goto(f"{base}/customers/{customer.pk}/")
    mail = phone.locator("#customer-mail")
    expect(mail).to_contain_text("关于朱镕基路仓库的报价")
    mail.get_by_role("link", name="关于朱镕基路仓库的报价").click()
    expect(phone.locator(".mail-body")).to_contain_text("堃哥说镕基路仓库下周到货")
    shot(phone, "mail-1-thread")
    phone.locator("[data-delete]").click()
    expect(phone.locator(".messages")).to_contain_text("您的上级仍可查看并恢复")

    # Gone from his pages and from the API.
    expect(phone.locator("#mail")).not_to_contain_text("关于朱镕基路仓库的报价")
    phone.goto(f"{base}/customers/{customer.pk}/")
    expect(phone.locator("#customer-mail")).not_to_contain_text("关于朱镕基路仓库的报价")
    expect(phone.locator("ul.timeline")).not_to_contain_text("关于朱镕基路仓库的报价")
    api = phone.request.get(f"{base}/api/v1/customers/{customer.pk}/messages/").json()
    assert api["count"] == 0
    assert phone.request.get(f"{base}/api/v1/mail/{message.pk}/thread/").status == 404
    shot(phone, "mail-2-gone-for-the-rep")
    phone.locator("form[action='/logout/'] button").click()

    # The manager sees it, marked, and restores it.
    log_in(phone, base, "east_mgr")
    phone.goto(f"{base}/mail/deleted/")
    row = phone.locator("#deleted-mail tbody tr").first
    expect(row).to_contain_text("关于朱镕基路仓库的报价")
    expect(row).to_contain_text("小张")
    phone.goto(f"{base}/customers/{customer.pk}/")
    marked = phone.locator(f"#customer-mail [data-message='{message.pk}']")
    expect(marked.locator("[data-deleted]")).to_contain_text("小张")
    shot(phone, "mail-3-marked-for-the-manager")
    phone.goto(f"{base}/mail/deleted/")
    phone.locator("#deleted-mail [data-restore]").first.click()
    expect(phone.locator(".messages")).to_contain_text("小张")
    expect(phone.locator("#deleted-mail")).not_to_contain_text("关于朱镕基路仓库的报价")
    phone.locator("form[action='/logout/'] button").click()

    # 小张 has it back; the boss reads both steps in the audit trail.
    log_in(phone, base, "xiaozhang")
    phone.goto(f"{base}/mail/")
    expect(phone.locator("#mail")).to_contain_text("关于朱镕基路仓库的报价")
    phone.locator("form[action='/logout/'] button").click()
    log_in(phone, base, "boss")
    for action, actor in (("mail.deleted", "xiaozhang"), ("mail.restored", "east_mgr")):
        phone.goto(f"{base}/audit/?action={action}")
        rows = phone.locator("table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(actor)
        expect(rows.first).to_contain_text(f"comms.message {message.pk}")
    shot(phone, "mail-4-audit-trail")
