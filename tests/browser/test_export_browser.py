"""An export in Chromium (MISSION §8): 小张 asks to export his 500 customers — more than 200,
so it waits; his manager approves it; 小张 downloads a file that names him on its first line
and hides a canary; when that file leaks, the boss types the canary's phone and finds him."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from kedun.exports.models import Canary, ExportRequest
from kedun.exports.services import export_permission_grant
from tests.factories import CustomerFactory, DepartmentFactory, UserFactory

from .test_collaboration_scene import log_in
from .test_pool_browser import log_out
from .test_shell import shot

pytestmark = pytest.mark.browser


def test_a_leaked_export_names_its_exporter(live_server, phone):
    base = live_server.url
    company = DepartmentFactory(name="客盾示范有限公司")
    east = DepartmentFactory(name="华东销售部", parent=company)
    boss = UserFactory(username="boss", full_name="王总", role="admin", department=company)
    manager = UserFactory(
        username="east_mgr", full_name="李明", role="manager", department=east, manager=boss
    )
    zhang = UserFactory(username="xiaozhang", full_name="小张", department=east, manager=manager)
    export_permission_grant(actor=manager, user=zhang)
    customers = CustomerFactory.create_batch(500, owner=zhang, phone="0571-88886666")
    codes = {c.code for c in customers}

    # 小张 asks for all 500: more than 200, so it waits for his manager.
    log_in(phone, base, "xiaozhang")
    phone.goto(f"{base}/exports/")
    phone.select_option("#id_kind", "customers")
    phone.select_option("#id_format", "csv")
    phone.fill("#id_reason", "年底客户回访")
    phone.click("#export-form button[type=submit]")
    export = ExportRequest.objects.get()
    row = phone.locator(f'#my-exports tr[data-export="{export.pk}"]')
    expect(row).to_have_attribute("data-status", "pending")
    expect(row).to_contain_text("500")
    expect(row.locator("a.download")).to_have_count(0)
    log_out(phone)

    # His manager approves it.
    log_in(phone, base, "east_mgr")
    phone.goto(f"{base}/exports/approvals/")
    pending = phone.locator(f'#pending-exports tr[data-export="{export.pk}"]')
    expect(pending).to_contain_text("小张")
    expect(pending).to_contain_text("年底客户回访")
    shot(phone, "export-approval")
    pending.locator("button[value=approve]").click()
    expect(phone.locator(f'#pending-exports tr[data-export="{export.pk}"]')).to_have_count(0)
    log_out(phone)

    # 小张 downloads the file: the watermark names him, the request and the time.
    log_in(phone, base, "xiaozhang")
    phone.goto(f"{base}/exports/")
    with phone.expect_download() as download_info:
        phone.locator(f'#my-exports tr[data-export="{export.pk}"] a.download').click()
    download = download_info.value
    assert download.suggested_filename == f"kedun-customers-{export.pk}.csv"
    with open(download.path(), encoding="utf-8-sig") as handle:
        lines = list(csv.reader(io.StringIO(handle.read())))
    assert f"#{export.pk}" in lines[0][0]
    assert "小张（xiaozhang）" in lines[0][0]  # the watermark speaks Chinese
    rows = lines[2:]
    assert len(rows) == 501
    strangers = [r for r in rows if r[0] not in codes]
    assert len(strangers) == 1  # the canary, somewhere among his customers
    leaked_phone = strangers[0][7]
    assert leaked_phone == Canary.objects.get(export=export).phone
    log_out(phone)

    # The list turns up at a competitor; the boss types the canary's phone.
    log_in(phone, base, "boss")
    phone.goto(f"{base}/exports/canary/")
    phone.fill(
        "#canary-form input[name=value]",
        f"{leaked_phone[:3]} {leaked_phone[3:7]} {leaked_phone[7:]}",
    )
    phone.click("#canary-form button[type=submit]")
    expect(phone.locator("#canary-result .exporter")).to_have_text("小张 (xiaozhang)")
    expect(phone.locator("#canary-result")).to_contain_text("李明")
    shot(phone, "export-canary-found")
