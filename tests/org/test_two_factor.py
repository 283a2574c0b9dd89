"""Two-factor login (TOTP): enrolment, the code after the password, no replay, enforcement
by role, and the API's session auth held to the same rule."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from kedun.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_throttle_delay(settings):
    # django-otp waits 1 s, 2 s, 4 s... after each failure; tests try codes back to back.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """What the phone app shows now (or `steps_ahead` 30-second steps later)."""
    device.refresh_from_db()
    value = totp(device.bin_key, device.step, device.t0 - device.step * steps_ahead, device.digits)
    return f"{value:0{device.digits}d}"


def wrong(device: TOTPDevice) -> str:
    right = {code(device, ahead) for ahead in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def password_step(username: str, client_class=Client, next_url: str = ""):
    client = client_class()
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse("login"), data)
    return client, response


def device_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def actions(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(user.pk), action__contains="two_factor")
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_enrolment_shows_the_secret_and_confirms_with_a_code(cast):
    client, _ = password_step("east_mgr")
    page = client.get(reverse("account")).content.decode()
    assert reverse("account-two-factor") in page
    response = client.get(reverse("account-two-factor"))
    device = TOTPDevice.objects.get(user=cast.east_mgr)
    assert not device.confirmed
    body = response.content.decode()
    assert "otpauth://totp/Kedun:east_mgr?secret=" in body.replace("%3A", ":")
    grouped = response.context["secret"]
    assert all(len(group) == 4 for group in grouped.split()[:-1])
    assert grouped.replace(" ", "") in device.config_url

    refused = client.post(reverse("account-two-factor"), {"code": wrong(device)})
    assert refused.status_code == 200 and refused.context["form"].errors["code"]
    device.refresh_from_db()
    assert not device.confirmed

    done = client.post(reverse("account-two-factor"), {"code": code(device)})
    assert done.status_code == 302 and done["Location"] == reverse("account")
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home")).status_code == 200  # this session counts as verified
    assert actions(cast.east_mgr) == [
        "user.two_factor_enrolment_started",
        "user.two_factor_enrolment_failed",
        "user.two_factor_enrolled",
    ]


def test_login_asks_for_the_code_after_the_password(cast):
    device = device_for(cast.east_mgr)
    client, response = password_step("east_mgr", next_url="/pool/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login-two-factor") + "?next=%2Fpool%2F"
    # The password alone opens nothing.
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home["Location"].startswith(reverse("login-two-factor"))
    assert client.get(reverse("user-list")).status_code == 302

    refused = client.post(reverse("login-two-factor"), {"code": wrong(device), "next": "/pool/"})
    assert refused.status_code == 200 and refused.context["form"].errors["code"]
    assert client.get(reverse("home")).status_code == 302

    accepted = client.post(reverse("login-two-factor"), {"code": code(device), "next": "/pool/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/pool/"
    assert client.get(reverse("home")).status_code == 200
    assert actions(cast.east_mgr) == ["auth.two_factor_failed", "auth.two_factor_verified"]


def test_a_code_once_used_is_refused_the_second_time(cast):
    device = device_for(cast.east_mgr)
    first, _ = password_step("east_mgr")
    seen = code(device)
    assert first.post(reverse("login-two-factor"), {"code": seen}).status_code == 302
    thief, _ = password_step("east_mgr")
    replayed = thief.post(reverse("login-two-factor"), {"code": seen})
    assert replayed.status_code == 200 and replayed.context["form"].errors["code"]
    assert thief.get(reverse("home")).status_code == 302
    # The next step's code still works.
    assert thief.post(reverse("login-two-factor"), {"code": code(device, 1)}).status_code == 302
    assert thief.get(reverse("home")).status_code == 200


def test_api_with_session_auth_is_refused_until_the_code(cast):
    device = device_for(cast.boss)
    api, _ = password_step("boss", APIClient)
    refused = api.get(reverse("api-me"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "two_factor_required"
    assert refused.json()["detail"] == {"missing": "code"}
    api.post(reverse("login-two-factor"), {"code": code(device)})
    assert api.get(reverse("api-me")).status_code == 200


def test_users_without_a_device_log_in_with_the_password_alone(cast):
    client, response = password_step("east_mgr")
    assert response["Location"] == "/"
    assert client.get(reverse("home")).status_code == 200


def test_the_setting_forces_enrolment_for_its_roles(cast, settings):
    settings.KEDUN_TOTP_REQUIRED_ROLES = ["manager", "admin"]
    client, response = password_step("east_mgr")
    assert response["Location"] == reverse("account-two-factor")
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home["Location"].startswith(reverse("account-two-factor"))
    api, _ = password_step("east_mgr", APIClient)
    assert api.get(reverse("api-me")).json()["detail"] == {"missing": "enrol"}

    # Other roles are not touched.
    rep, rep_login = password_step("east_rep")
    assert rep_login["Location"] == "/" and rep.get(reverse("home")).status_code == 200

    client.get(reverse("account-two-factor"))
    device = TOTPDevice.objects.get(user=cast.east_mgr)
    client.post(reverse("account-two-factor"), {"code": code(device)})
    assert client.get(reverse("home")).status_code == 200
    # A role that must use it cannot turn it off for itself.
    client.post(reverse("account-two-factor-disable"), {"code": code(device, 1)})
    assert TOTPDevice.objects.filter(user=cast.east_mgr, confirmed=True).exists()


def test_turning_it_off_needs_a_code_and_is_audited(cast):
    device = device_for(cast.east_mgr)
    client, _ = password_step("east_mgr")
    client.post(reverse("login-two-factor"), {"code": code(device)})
    client.post(reverse("account-two-factor-disable"), {"code": wrong(device)})
    assert TOTPDevice.objects.filter(user=cast.east_mgr).exists()
    client.post(reverse("account-two-factor-disable"), {"code": code(device, 1)})
    assert not TOTPDevice.objects.filter(user=cast.east_mgr).exists()
    event = AuditEvent.objects.get(action="user.two_factor_disabled")
    assert event.actor_id == cast.east_mgr.pk and event.changes_data == {"devices_removed": 1}


def test_the_boss_resets_a_lost_authenticator_a_peer_cannot(cast):
    device_for(cast.east_mgr)
    peer = Client()
    peer.force_login(cast.south_mgr)
    assert peer.post(reverse("user-two-factor-reset", args=[cast.east_mgr.pk])).status_code == 403
    boss = Client()
    boss.force_login(cast.boss)
    people = boss.get(reverse("user-list")).content.decode()
    assert reverse("user-two-factor-reset", args=[cast.east_mgr.pk]) in people
    assert boss.post(reverse("user-two-factor-reset", args=[cast.east_mgr.pk])).status_code == 302
    assert not TOTPDevice.objects.filter(user=cast.east_mgr).exists()
    event = AuditEvent.objects.get(action="user.two_factor_disabled")
    assert event.actor_id == cast.boss.pk and event.object_id == str(cast.east_mgr.pk)


def test_an_unknown_role_in_the_setting_stops_start_up():
    from kedun.config.env import ConfigError
    from kedun.org.apps import check_totp_roles

    check_totp_roles(["admin", "manager"])
    with pytest.raises(ConfigError, match="managers"):
        check_totp_roles(["admin", "managers"])


def test_the_enrolment_qr_code_reads_back_as_the_otpauth_link(cast):
    import re

    import cv2
    import numpy as np

    client = Client()
    client.force_login(cast.east_mgr)
    response = client.get(reverse("account-two-factor"))
    svg = re.search(r"<svg.*?</svg>", response.content.decode(), re.S)
    assert svg, "the page draws the QR code inline"
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg.group(0)).group(1))
    modules = np.full((size, size), 255, dtype=np.uint8)
    for x, y in re.findall(r"M(\d+),(\d+)H", svg.group(0)):
        modules[int(y), int(x)] = 0
    picture = cv2.resize(modules, (size * 8, size * 8), interpolation=cv2.INTER_NEAREST)
    picture = cv2.copyMakeBorder(picture, 32, 32, 32, 32, cv2.BORDER_CONSTANT, value=255)
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(picture)
    assert text == TOTPDevice.objects.get(user=cast.east_mgr).config_url


def test_the_password_alone_cannot_enrol_a_new_app_over_the_confirmed_one(cast):
    from kedun.core.errors import Forbidden
    from kedun.org import two_factor

    device = device_for(cast.east_mgr)
    client, _ = password_step("east_mgr")
    response = client.get(reverse("account-two-factor"))
    assert response["Location"] == reverse("login-two-factor")
    pending = TOTPDevice.objects.create(user=cast.east_mgr, name="thief", confirmed=False)
    response = client.post(reverse("account-two-factor"), {"code": code(pending)})
    assert response.status_code == 302 and response["Location"] == reverse("login-two-factor")
    assert TOTPDevice.objects.get(user=cast.east_mgr, confirmed=True) == device

    class Request:  # the service refuses too, whoever calls it
        user = cast.east_mgr
        session: dict = {}
        META: dict = {}

    with pytest.raises(Forbidden):
        two_factor.enrol_confirm(request=Request(), code=code(pending))  # type: ignore[arg-type]
