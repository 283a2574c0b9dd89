"""Two-factor login in Chromium, on a phone, under the Content-Security-Policy: a manager
scans (or types) the key, confirms with a code, logs in again with password and code, then
logs out everywhere."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from kedun.audit.models import AuditEvent
from tests.conftest import PASSWORD
from tests.factories import DepartmentFactory, UserFactory

from .test_shell import shot

pytestmark = pytest.mark.browser


def app_code(secret: str, steps_ahead: int = 0) -> str:
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key, 30, -30 * steps_ahead, 6):06d}"


def test_a_manager_turns_on_two_factor_and_logs_in_with_it(live_server, phone):
    base = live_server.url
    east = DepartmentFactory(name="华东销售部")
    manager = UserFactory(username="east_mgr", full_name="李明", role="manager", department=east)

    phone.goto(f"{base}/login/")
    phone.fill("#id_username", "east_mgr")
    phone.fill("#id_password", PASSWORD)
    phone.click("button[type=submit].primary")
    phone.wait_for_url(f"{base}/")
    phone.click("a.who")
    phone.click("a[href='/account/two-factor/']")
    expect(phone.locator("[data-totp-qr] svg")).to_be_visible()
    secret = phone.locator("[data-totp-secret]").inner_text()
    shot(phone, "two-factor-enrol")
    phone.fill("#id_code", app_code(secret))
    phone.click("button[type=submit].primary")
    phone.wait_for_url(f"{base}/account/")

    phone.locator("form[action='/logout/'] button").first.click()
    phone.wait_for_url(f"{base}/login/")
    phone.fill("#id_username", "east_mgr")
    phone.fill("#id_password", PASSWORD)
    phone.click("button[type=submit].primary")
    phone.wait_for_url(f"{base}/login/two-factor/")
    phone.goto(f"{base}/pool/")  # the password alone opens nothing
    phone.wait_for_url(f"{base}/login/two-factor/?next=%2Fpool%2F")
    phone.fill("#id_code", app_code(secret, 1))
    phone.click("button[type=submit].primary")
    phone.wait_for_url(f"{base}/pool/")

    phone.goto(f"{base}/account/")
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("form[action='/account/logout-everywhere/'] button")
    phone.wait_for_url(f"{base}/login/")
    phone.goto(f"{base}/pool/")
    phone.wait_for_url(f"{base}/login/?next=/pool/")
    assert list(
        AuditEvent.objects.filter(object_id=str(manager.pk), action__startswith="user.")
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["user.two_factor_enrolment_started", "user.two_factor_enrolled", "user.sessions_ended"]
