"""What can go wrong with a mailbox, in words: stored as a code with parameters, said in the
reader's language when shown (the sync runs in a worker with no reader)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

TEMPLATES: dict[str, Any] = {
    "login": _(
        "The server refused the login for %(login)s: wrong user name or password? "
        "The server said: %(said)s"
    ),
    "dns": _("The server name %(host)s could not be found."),
    "refused": _("The server %(host)s:%(port)s refused the connection."),
    "timeout": _("The server %(host)s:%(port)s did not answer within %(seconds)s seconds."),
    "unreachable": _("The server %(host)s:%(port)s could not be reached: %(reason)s"),
    "tls": _(
        "The secure connection to %(host)s:%(port)s failed (%(reason)s): check the security "
        "setting (SSL/TLS, STARTTLS or none)."
    ),
    "server": _("The server answered with an error: %(said)s"),
    "password": _(
        "The stored password cannot be read (the encryption key changed): enter it again."
    ),
    "no_sent": _(
        "No Sent folder was found on the server (none is marked \\Sent or named like one): "
        "only the inbox is archived."
    ),
    "uidvalidity": _(
        "The server renumbered the folder %(folder)s (UIDVALIDITY %(old)s → %(new)s). It was "
        "read again; messages already archived were not stored twice."
    ),
    "broken": _(
        "A message could not be read completely (“%(subject)s”, UID %(uid)s in %(folder)s): "
        "%(problems)s. It is archived with what could be read."
    ),
    "vanished": _(
        "%(count)s messages of %(folder)s were deleted on the server while being read; the "
        "next sync goes on."
    ),
    "busy": _("Another sync of this mailbox is running (%(holder)s)."),
    "smtp_unreachable": _("The SMTP server %(host)s:%(port)s could not be reached: %(reason)s"),
}


def problem(code: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "params": {k: str(v) for k, v in params.items()}}


def problem_text(entry: dict[str, Any]) -> str:
    template = TEMPLATES.get(entry.get("code", ""))
    if template is None:
        return str(entry.get("params", {}).get("said", entry.get("code", "")))
    try:
        return str(template) % entry.get("params", {})
    except (KeyError, TypeError, ValueError):
        return str(template)
