"""Two-factor login with an authenticator app: TOTP (RFC 6238) devices from django-otp.

After the password, a user with a confirmed device must give a code before the session is
good for anything; a user whose role is in KEDUN_TOTP_REQUIRED_ROLES must enrol first.
Enrolling, disabling and every code tried at login are audit events.
"""

from __future__ import annotations

import base64

import django_otp
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from kedun.audit.services import audit_record
from kedun.core.errors import Forbidden, Invalid
from kedun.core.middleware import client_address
from kedun.org.models import User
from kedun.org.selectors import is_above

# What the session still lacks after the password.
NEEDS_CODE = "code"
NEEDS_ENROLMENT = "enrol"
BAD_CODE = gettext_lazy("That code is not right. Check the app and try again.")


def confirmed_device(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def required_for(user: User) -> bool:
    return user.role in settings.KEDUN_TOTP_REQUIRED_ROLES


def is_verified(request: HttpRequest) -> bool:
    """The session passed the second factor (django-otp's middleware records the device)."""
    check = getattr(request.user, "is_verified", None)
    return bool(check and check())


def missing_step(request: HttpRequest) -> str | None:
    """What the logged-in session must still do before it may use the app; None when done."""
    user = request.user
    if not isinstance(user, User) or is_verified(request):
        return None
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return NEEDS_CODE
    if required_for(user):
        return NEEDS_ENROLMENT
    return None


def secret_groups(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(url: str) -> str:
    """The otpauth:// link as an inline SVG QR code, drawn here: no image service sees the key."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return image.to_string(encoding="unicode")


def enrolment_device(*, user: User) -> TOTPDevice:
    """The user's unconfirmed device, made on first visit to the enrolment page."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
            audit_record(actor=user, action="user.two_factor_enrolment_started", target=user)
    return device


def _check(device: TOTPDevice, code: str) -> bool:
    code = "".join((code or "").split())
    # verify_token refuses a code whose time step is not after the last one used (no replay)
    # and slows down repeated failures.
    return code.isdigit() and len(code) == device.digits and bool(device.verify_token(code))


def enrol_confirm(*, request: HttpRequest, code: str) -> TOTPDevice:
    """Confirm the pending device with a code from the app; this session counts as verified."""
    user = request.user
    assert isinstance(user, User)
    if missing_step(request) == NEEDS_CODE:
        # A password alone must not swap the confirmed app for the caller's own.
        raise Forbidden(_("Enter the code from your authenticator app first."))
    ip = client_address(request) or ""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        raise Invalid(_("Start the enrolment again."), code="no_pending_device")
    # The failure is committed (its audit event and django-otp's throttle) before refusing.
    with transaction.atomic():
        accepted = _check(device, code)
        if accepted:
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        action = "user.two_factor_enrolled" if accepted else "user.two_factor_enrolment_failed"
        audit_record(actor=user, action=action, target=user, ip=ip)
    if not accepted:
        raise Invalid(BAD_CODE, code="bad_code")
    django_otp.login(request, device)
    return device


def verify_login(*, request: HttpRequest, code: str) -> None:
    """The second step of logging in."""
    user = request.user
    assert isinstance(user, User)
    device = confirmed_device(user=user)
    if device is None:
        raise Invalid(_("You have no authenticator app set up."), code="no_device")
    ip = client_address(request) or ""
    with transaction.atomic():
        accepted = _check(device, code)
        action = "auth.two_factor_verified" if accepted else "auth.two_factor_failed"
        audit_record(actor=user, action=action, target=user, ip=ip)
    if not accepted:
        raise Invalid(BAD_CODE, code="bad_code")
    django_otp.login(request, device)


def disable(*, actor: User, user: User, code: str = "") -> None:
    """Remove the user's authenticator. The user needs a current code; the boss or a manager
    above them (a lost phone) does not. A role that must use two-factor cannot remove it
    for itself."""
    if actor.pk == user.pk:
        if required_for(user):
            raise Forbidden(_("Your role must log in with an authenticator app."))
        device = confirmed_device(user=user)
        if device is None or not _check(device, code):
            raise Invalid(BAD_CODE, code="bad_code")
    elif not is_above(actor=actor, user=user):
        raise Forbidden()
    with transaction.atomic():
        removed, _kinds = TOTPDevice.objects.filter(user=user).delete()
        audit_record(
            actor=actor,
            action="user.two_factor_disabled",
            target=user,
            changes={"devices_removed": removed},
        )
