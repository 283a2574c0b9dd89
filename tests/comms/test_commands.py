"""The commands' contract: `kedun mailbox add/list`, `kedun mail sync` (one JSON line per
mailbox, then the totals)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from kedun.comms.models import Mailbox

from .conftest import corpus
from .mailservers import PASSWORD, free_port

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str = "", monkeypatch=None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def add_args(address: str, mail, *, smtp_port: int | None = None) -> list[str]:
    return [
        "mailbox",
        "add",
        address,
        "--user",
        "east_rep",
        "--imap",
        f"127.0.0.1:{mail.dovecot.imap_port}",
        "--smtp",
        f"127.0.0.1:{smtp_port or mail.smtp.port}",
        "--login",
        address,
        "--security",
        "none",
        "--password-stdin",
    ]


def test_mailbox_add_checks_the_login_and_warns_about_smtp(cast, mail, monkeypatch):
    address = mail.account(mail.address("rep"))
    with pytest.raises(CommandError, match="refused the login"):
        run(*add_args(address, mail), stdin="wrong\n", monkeypatch=monkeypatch)
    assert not Mailbox.objects.exists()

    dead = free_port()
    out, err = run(
        *add_args(address, mail, smtp_port=dead), stdin=f"{PASSWORD}\n", monkeypatch=monkeypatch
    )
    assert out.strip() == f"added {address} for east_rep; the IMAP login works"
    assert err.strip().startswith(f"warning: The SMTP server 127.0.0.1:{dead} could not be reached")
    mailbox = Mailbox.objects.get()
    assert mailbox.password_encrypted and PASSWORD not in mailbox.password_encrypted

    listed = json.loads(run("mailbox", "list")[0].strip())
    assert listed["address"] == address and listed["user"] == "east_rep"
    assert listed["status"] == "new"


def test_mail_sync_prints_a_json_line_per_mailbox_and_the_totals(cast, mail):
    first = mail.mailbox(cast.east_rep)
    second = mail.mailbox(cast.east_mgr, local="zz")
    mail.dovecot.append(first.address, corpus("raw_utf8_headers.eml"))
    mail.dovecot.append(second.address, corpus("raw_utf8_headers.eml"))
    mail.dovecot.append(second.address, corpus("html_only_gb2312.eml"))

    out, _err = run("mail", "sync")

    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert [line["mailbox"] for line in lines[:-1]] == [first.address, second.address]
    assert lines[-1] == {
        "mailboxes": 2,
        "fetched": 3,
        "stored": 2,
        "already_stored": 1,
        "matched": 0,
        "errors": [],
        "problems": 0,
    }
    out, _err = run("mail", "sync", "--mailbox", first.address.upper())
    assert json.loads(out.strip().splitlines()[-1])["fetched"] == 0


def test_mail_sync_exits_1_with_the_error_when_a_mailbox_fails(cast, mail):
    mailbox = mail.mailbox(cast.east_rep)
    mailbox.imap_port = free_port()
    mailbox.save(update_fields=["imap_port"])
    with pytest.raises(SystemExit) as exit_:
        out = io.StringIO()
        try:
            call_command("mail", "sync", stdout=out)
        finally:
            last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert exit_.value.code == 1
    assert last["errors"] == [
        {
            "mailbox": mailbox.address,
            "message": f"The server 127.0.0.1:{mailbox.imap_port} refused the connection.",
        }
    ]
