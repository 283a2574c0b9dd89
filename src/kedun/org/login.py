"""Logging in and out of the pages, with throttling; every attempt is an audit event."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import DomainError
from kedun.core.middleware import client_address
from kedun.org.models import LoginThrottle, User

# One message for an unknown user and a wrong password: the form must not reveal which
# usernames exist.
BAD_CREDENTIALS = _("Incorrect username or password.")
LOCKED = _("Too many failed attempts. Try again in %(minutes)d minutes.")


class LoginRefused(DomainError):
    code = "login_refused"
    status = 401


def session_login(*, request: HttpRequest, username: str, password: str) -> User:
    username = (username or "").strip()
    key = username.lower()[:150]
    ip = client_address(request) or ""
    now = clock.now()
    throttle = LoginThrottle.objects.filter(username=key, ip=ip).first()
    if throttle and throttle.locked_until and throttle.locked_until > now:
        _record_failure(username=username, ip=ip, reason="locked")
        raise LoginRefused(LOCKED % {"minutes": settings.LOGIN_LOCK_MINUTES}, code="locked")

    user = authenticate(request, username=username, password=password)
    if user is None:
        locked = _count_failure(key=key, ip=ip, now=now)
        _record_failure(username=username, ip=ip, reason="locked_now" if locked else "bad")
        if locked:
            raise LoginRefused(LOCKED % {"minutes": settings.LOGIN_LOCK_MINUTES}, code="locked")
        raise LoginRefused(BAD_CREDENTIALS, code="bad_credentials")

    with transaction.atomic():
        LoginThrottle.objects.filter(username=key, ip=ip).delete()
        login(request, user)  # rotates the session key; also sets last_login
        audit_record(actor=user, action="auth.login", target=user, ip=ip)
    assert isinstance(user, User)
    return user


def session_logout(*, request: HttpRequest) -> None:
    user = request.user
    with transaction.atomic():
        if user.is_authenticated:
            audit_record(
                actor=user, action="auth.logout", target=user, ip=client_address(request) or ""
            )
        logout(request)


def _count_failure(*, key: str, ip: str, now: dt.datetime) -> bool:
    """Count one failure for (username, ip); True when this failure locks the pair."""
    window = dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    with transaction.atomic():
        # Failures older than the lock window no longer count towards a lock.
        LoginThrottle.objects.filter(username=key, ip=ip, last_failure_at__lt=now - window).update(
            failures=0, locked_until=None
        )
        updated = LoginThrottle.objects.filter(username=key, ip=ip).update(
            failures=F("failures") + 1, last_failure_at=now
        )
        if not updated:
            try:
                with transaction.atomic():
                    LoginThrottle.objects.create(
                        username=key, ip=ip, failures=1, last_failure_at=now
                    )
            except IntegrityError:  # a parallel failure created it first
                LoginThrottle.objects.filter(username=key, ip=ip).update(
                    failures=F("failures") + 1, last_failure_at=now
                )
        locked = LoginThrottle.objects.filter(
            username=key, ip=ip, failures__gte=settings.LOGIN_FAILURE_LIMIT, locked_until=None
        ).update(locked_until=now + window)
    return bool(locked)


def _record_failure(*, username: str, ip: str, reason: str) -> None:
    with transaction.atomic():
        user = User.objects.filter(username__iexact=username).first()
        audit_record(
            actor=None,
            actor_label="anonymous",
            action="auth.login_failed",
            object_type="org.user",
            object_id=user.pk if user else "",
            changes={"username": username[:150], "reason": reason},
            ip=ip,
        )
