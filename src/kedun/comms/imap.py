"""Talking to a mailbox's IMAP server (imap-tools), with every failure turned into a problem
a person can act on: wrong password, unknown host, refused, timed out, TLS mismatch."""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError, MailboxLoginError

from .models import Security
from .problems import problem

# Sent folders on servers without SPECIAL-USE, by the names clients give them.
SENT_NAMES = (
    "sent",
    "sent messages",
    "sent items",
    "sent mail",
    "已发送",
    "已发送邮件",
    "已傳送郵件",
    "寄件備份",
    "inbox.sent",
    "inbox/sent",
    "[gmail]/sent mail",
)
_FETCH_UID_RE = re.compile(rb"UID (\d+)")
_FETCH_DATE_RE = re.compile(rb'INTERNALDATE "([^"]+)"')


class MailServerError(Exception):
    """A failure to talk to the server, as a problem entry (see problems.py)."""

    def __init__(self, entry: dict[str, Any]):
        self.entry = entry
        super().__init__(f"{entry['code']}: {entry['params']}")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    security: str


def _said(error: BaseException) -> str:
    text = str(error)
    for prefix in ("b'", 'b"'):
        text = text.replace(prefix, "")
    return text.strip("'\"[]")[:300]


def translate_error(
    error: BaseException, endpoint: Endpoint, *, login: str = ""
) -> MailServerError:
    host, port = endpoint.host, endpoint.port
    if isinstance(error, MailboxLoginError):
        return MailServerError(problem("login", login=login, said=_said(error)))
    if isinstance(error, socket.gaierror):
        return MailServerError(problem("dns", host=host))
    if isinstance(error, ConnectionRefusedError):
        return MailServerError(problem("refused", host=host, port=port))
    if isinstance(error, TimeoutError | socket.timeout):
        return MailServerError(
            problem("timeout", host=host, port=port, seconds=settings.KEDUN_MAIL_TIMEOUT)
        )
    if isinstance(error, ssl.SSLError):
        return MailServerError(problem("tls", host=host, port=port, reason=error.reason or error))
    if isinstance(error, ImapToolsError | imaplib.IMAP4.error):
        text = _said(error)
        if "AUTHENTICATIONFAILED" in text.upper() or "LOGIN" in text.upper():
            return MailServerError(problem("login", login=login, said=text))
        return MailServerError(problem("server", said=text))
    if isinstance(error, OSError):
        return MailServerError(
            problem("unreachable", host=host, port=port, reason=error.strerror or error)
        )
    return MailServerError(problem("server", said=_said(error)))


def _client(endpoint: Endpoint) -> BaseMailBox:
    timeout = settings.KEDUN_MAIL_TIMEOUT
    if endpoint.security == Security.SSL:
        return MailBox(endpoint.host, endpoint.port, timeout=timeout)
    if endpoint.security == Security.STARTTLS:
        return MailBoxStartTls(endpoint.host, endpoint.port, timeout=timeout)
    return MailBoxUnencrypted(endpoint.host, endpoint.port, timeout=timeout)


@contextlib.contextmanager
def imap_session(endpoint: Endpoint, *, login: str, password: str) -> Iterator[BaseMailBox]:
    """A logged-in session; any failure on the way in or during use is a MailServerError."""
    try:
        box = _client(endpoint)
        box.login(login, password, initial_folder=None)
    except Exception as error:
        raise translate_error(error, endpoint, login=login) from error
    try:
        yield box
    except MailServerError:
        raise
    except (ImapToolsError, imaplib.IMAP4.error, OSError) as error:
        raise translate_error(error, endpoint, login=login) from error
    finally:
        with contextlib.suppress(Exception):
            box.logout()


def folders_find(box: BaseMailBox) -> dict[str, str]:
    """{"inbox": name, "sent": name}: the inbox, and the Sent folder by its SPECIAL-USE flag
    (RFC 6154), else by a name clients use. Drafts, Trash, Junk and All are never archived."""
    found = {"inbox": "INBOX"}
    folders = box.folder.list()
    for info in folders:
        if "\\Sent" in info.flags:
            found["sent"] = info.name
            break
    else:
        excluded = ("\\Drafts", "\\Trash", "\\Junk", "\\All", "\\Noselect")
        for info in folders:
            if info.name.lower() in SENT_NAMES and not set(info.flags) & set(excluded):
                found["sent"] = info.name
                break
    return found


@dataclass(frozen=True)
class Fetched:
    uid: int
    internal_date: Any  # aware datetime or None
    raw: bytes


def fetch_raw(box: BaseMailBox, uids: list[int]) -> list[Fetched]:
    """The whole messages (BODY.PEEK[]: nothing is marked read) for these UIDs."""
    import datetime as dt
    import time

    if not uids:
        return []
    status, data = box.client.uid(
        "FETCH", ",".join(str(u) for u in uids), "(UID INTERNALDATE BODY.PEEK[])"
    )
    if status != "OK":
        raise MailServerError(problem("server", said=str(data)[:300]))
    fetched: list[Fetched] = []
    for item in data:
        if not isinstance(item, tuple) or len(item) < 2:
            continue
        header, raw = item[0], item[1]
        uid_match = _FETCH_UID_RE.search(header)
        if uid_match is None:
            continue
        moment = None
        date_match = _FETCH_DATE_RE.search(header)
        if date_match is not None:
            parsed = imaplib.Internaldate2tuple(b'INTERNALDATE "' + date_match.group(1) + b'"')
            if parsed is not None:
                moment = dt.datetime.fromtimestamp(time.mktime(parsed), tz=dt.UTC)
        fetched.append(Fetched(int(uid_match.group(1)), moment, raw))
    return fetched


def uids_after(box: BaseMailBox, last_uid: int) -> list[int]:
    """UIDs above `last_uid`, ascending ("UID n:*" also answers the last message when n is
    beyond it, so the answer is filtered)."""
    found = box.uids(f"UID {last_uid + 1}:*")
    return sorted(u for u in (int(x) for x in found) if u > last_uid)
