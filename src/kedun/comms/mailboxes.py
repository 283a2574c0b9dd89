"""Configuring company mailboxes (the boss's work, or the `kedun mailbox` command).

Adding a mailbox checks the IMAP login at once — a wrong password is said now, not at the
first sync; an SMTP server that cannot be reached is only a warning (it may sit behind a
firewall that lets the web server through later, and sending says why it failed anyway).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.customers.contact_identity import normalize_email
from kedun.org.models import Role, User

from .imap import Endpoint, MailServerError, imap_session
from .models import Mailbox, Security
from .problems import problem, problem_text
from .secrets import password_encrypt

CONFIGURING_ROLES = (Role.ADMIN,)


@dataclass(frozen=True)
class MailboxSettings:
    address: str
    user: User
    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int
    login: str
    imap_security: str = Security.SSL
    smtp_security: str = Security.SSL


def _check_configurer(actor: User | None) -> None:
    if actor is not None and not actor.has_role(*CONFIGURING_ROLES):
        raise Forbidden(_("Only the boss configures company mailboxes."))


def host_port(text: str, *, what: str) -> tuple[str, int]:
    """ "imap.example.com:993" → ("imap.example.com", 993), or Invalid naming `what`."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise Invalid(
            _("%(what)s must be written HOST:PORT, e.g. imap.exmail.qq.com:993.") % {"what": what}
        )
    return host.strip("[]"), int(port)


def _validated(values: MailboxSettings) -> MailboxSettings:
    address = normalize_email(values.address)
    if address is None:
        raise Invalid(_("“%(address)s” is not a mail address.") % {"address": values.address})
    for security in (values.imap_security, values.smtp_security):
        if security not in Security.values:
            raise Invalid(_("Security must be ssl, starttls or none."))
    for port in (values.imap_port, values.smtp_port):
        if not 1 <= int(port) <= 65535:
            raise Invalid(_("A port is a number from 1 to 65535."))
    if not values.imap_host.strip() or not values.smtp_host.strip():
        raise Invalid(_("Give the IMAP and SMTP servers."))
    if not values.login.strip():
        raise Invalid(_("Give the login (usually the mail address)."))
    if not values.user.is_active:
        raise Invalid(_("%(name)s is deactivated.") % {"name": values.user.display_name})
    return MailboxSettings(
        address=address,
        user=values.user,
        imap_host=values.imap_host.strip(),
        imap_port=int(values.imap_port),
        smtp_host=values.smtp_host.strip(),
        smtp_port=int(values.smtp_port),
        login=values.login.strip(),
        imap_security=values.imap_security,
        smtp_security=values.smtp_security,
    )


def imap_login_check(values: MailboxSettings, password: str) -> None:
    """Log in once; Invalid with the reason when the server says no."""
    endpoint = Endpoint(values.imap_host, values.imap_port, values.imap_security)
    try:
        with imap_session(endpoint, login=values.login, password=password):
            pass
    except MailServerError as error:
        raise Invalid(problem_text(error.entry), code="imap_check_failed") from None


def smtp_reachable(values: MailboxSettings) -> dict[str, Any] | None:
    """None when the SMTP server greets us; else the problem (a warning, not a refusal)."""
    timeout = settings.KEDUN_MAIL_TIMEOUT
    try:
        if values.smtp_security == Security.SSL:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                values.smtp_host,
                values.smtp_port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(values.smtp_host, values.smtp_port, timeout=timeout)
            if values.smtp_security == Security.STARTTLS:
                client.starttls(context=ssl.create_default_context())
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
    except (smtplib.SMTPException, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        return problem(
            "smtp_unreachable", host=values.smtp_host, port=values.smtp_port, reason=reason
        )
    return None


def _audit_fields(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "address": mailbox.address,
        "user": mailbox.user_id,
        "imap": f"{mailbox.imap_host}:{mailbox.imap_port} {mailbox.imap_security}",
        "smtp": f"{mailbox.smtp_host}:{mailbox.smtp_port} {mailbox.smtp_security}",
        "login": mailbox.login,
        "active": mailbox.active,
    }


def mailbox_add(
    *, actor: User | None, values: MailboxSettings, password: str, check: bool = True
) -> tuple[Mailbox, list[dict[str, Any]]]:
    """Add a mailbox after checking its IMAP login; returns it and the warnings (SMTP)."""
    _check_configurer(actor)
    values = _validated(values)
    if not password:
        raise Invalid(_("Give the mailbox's password."))
    if Mailbox.objects.filter(address=values.address).exists():
        raise Conflict(_("The mailbox %(address)s exists already.") % {"address": values.address})
    warnings: list[dict[str, Any]] = []
    if check:
        imap_login_check(values, password)
        smtp = smtp_reachable(values)
        if smtp is not None:
            warnings.append(smtp)
    try:
        with transaction.atomic():
            mailbox = Mailbox.objects.create(
                address=values.address,
                user=values.user,
                imap_host=values.imap_host,
                imap_port=values.imap_port,
                imap_security=values.imap_security,
                smtp_host=values.smtp_host,
                smtp_port=values.smtp_port,
                smtp_security=values.smtp_security,
                login=values.login,
                password_encrypted=password_encrypt(password),
                created_by=actor,
                created_at=clock.now(),
            )
            # Never the password, not even encrypted: the trail is read by auditors.
            audit_record(
                actor=actor, action="mailbox.added", target=mailbox, changes=_audit_fields(mailbox)
            )
    except IntegrityError:
        raise Conflict(
            _("The mailbox %(address)s exists already.") % {"address": values.address}
        ) from None
    return mailbox, warnings


def mailbox_update(
    *,
    actor: User | None,
    mailbox: Mailbox,
    values: MailboxSettings,
    password: str = "",
    active: bool = True,
    check: bool = True,
) -> tuple[Mailbox, list[dict[str, Any]]]:
    """Change the servers, the login, the user or the password (blank: keep the old one)."""
    _check_configurer(actor)
    values = _validated(values)
    if values.address != mailbox.address:
        raise Invalid(_("A mailbox's address cannot change; add the new one instead."))
    warnings: list[dict[str, Any]] = []
    if check and active:
        if password:
            imap_login_check(values, password)
        smtp = smtp_reachable(values)
        if smtp is not None:
            warnings.append(smtp)
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        before = _audit_fields(mailbox)
        mailbox.user = values.user
        mailbox.imap_host, mailbox.imap_port = values.imap_host, values.imap_port
        mailbox.imap_security = values.imap_security
        mailbox.smtp_host, mailbox.smtp_port = values.smtp_host, values.smtp_port
        mailbox.smtp_security = values.smtp_security
        mailbox.login = values.login
        mailbox.active = active
        update = [
            "user",
            "imap_host",
            "imap_port",
            "imap_security",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "login",
            "active",
        ]
        if password:
            mailbox.password_encrypted = password_encrypt(password)
            update.append("password_encrypted")
        mailbox.save(update_fields=update)
        after = _audit_fields(mailbox)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if password:
            changes["password"] = ["***", "*** (changed)"]
        audit_record(actor=actor, action="mailbox.changed", target=mailbox, changes=changes)
    return mailbox, warnings
