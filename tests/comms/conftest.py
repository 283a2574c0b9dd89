from __future__ import annotations

import itertools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from kedun.comms.mailboxes import MailboxSettings, mailbox_add
from kedun.comms.models import Mailbox, Security
from kedun.org.models import User

from .mailservers import PASSWORD, Dovecot, SmtpServer, dovecot_available

CORPUS = Path(__file__).parent / "corpus"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def mail_servers():
    if not dovecot_available():
        pytest.skip(
            "Debian's dovecot-imapd is not installed (.ci/run installs it: "
            "apt-get install dovecot-imapd dovecot-lmtpd)"
        )
    root = Path(tempfile.mkdtemp(prefix="kedun-dovecot-"))
    dovecot = Dovecot(root).start()
    smtp = SmtpServer(dovecot).start()
    try:
        yield dovecot, smtp
    finally:
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class MailWorld:
    dovecot: Dovecot
    smtp: SmtpServer

    def address(self, local: str) -> str:
        """A fresh address on the company's domain, unique in the session's Dovecot."""
        return f"{local}{next(_numbers)}@kedun.test"

    def account(self, address: str) -> str:
        self.dovecot.user_add(address)
        return address

    def mailbox(self, user: User, *, local: str = "rep") -> Mailbox:
        address = self.account(self.address(local))
        mailbox, warnings = mailbox_add(
            actor=None, values=self.settings(address, user), password=PASSWORD
        )
        assert warnings == []
        return mailbox

    def settings(self, address: str, user: User, **overrides) -> MailboxSettings:
        values = {
            "address": address,
            "user": user,
            "imap_host": "127.0.0.1",
            "imap_port": self.dovecot.imap_port,
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp.port,
            "login": address,
            "imap_security": Security.NONE,
            "smtp_security": Security.NONE,
        }
        values.update(overrides)
        return MailboxSettings(**values)


@pytest.fixture
def mail(mail_servers) -> MailWorld:
    dovecot, smtp = mail_servers
    return MailWorld(dovecot, smtp)


def corpus(name: str, **replace: str) -> bytes:
    """A corpus message, with its placeholder recipient (rep1@kedun.test) and other strings
    replaced for the test at hand."""
    raw = (CORPUS / name).read_bytes()
    for old, new in replace.items():
        raw = raw.replace(old.encode(), new.encode())
    return raw


def store(raw: bytes, *, owner, source: str = "imap", sent_by=None):
    """Archive a message as the sync would (no IMAP needed): returns the Message."""
    import datetime as dt

    from django.db import transaction

    from kedun.comms.archive import Incoming, messages_store
    from kedun.comms.matching import AddressBook
    from kedun.comms.mime import message_parse

    parsed = message_parse(raw, received_at=dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    with transaction.atomic():
        outcome = messages_store(
            incoming=[Incoming(raw=raw, parsed=parsed)],
            source=source,
            book=AddressBook(),
            owner_id=owner.pk if owner else None,
            sender_id=sent_by.pk if sent_by else None,
        )
    return (outcome.stored or outcome.already)[0]


@pytest.fixture(autouse=True)
def _sentences_in_english(sentences_in_english):
    yield
