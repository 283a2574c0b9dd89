"""Syncing INBOX and Sent from a real Dovecot: incremental by UID, every message stored once
by Message-ID, matched to customers, and every kind of bad input said in the mailbox's
status with nothing lost."""

from __future__ import annotations

import pytest

from kedun.comms.models import (
    Attachment,
    MailboxStatus,
    MailFolder,
    Message,
    MessageCustomer,
    MessageOwner,
)
from kedun.comms.problems import problem_text
from kedun.comms.sync import mail_sync, mailbox_sync
from kedun.customers.services import ContactInput, customer_register

from .conftest import corpus
from .mailservers import SENT_FOLDER

pytestmark = pytest.mark.django_db


@pytest.fixture
def hengda(cast):
    return customer_register(
        actor=cast.east_rep,
        name="上海市恒达机械有限公司",
        phone="021-62345678",
        website="www.hengda-jx.com",
        contacts=[ContactInput(name="王喆", email="wangzhe@hengda-jx.com")],
    )


def test_inbox_and_sent_are_archived_once_and_matched(cast, mail, hengda):
    mailbox = mail.mailbox(cast.east_rep)
    me = mailbox.address
    mail.dovecot.append(me, corpus("gb2312_holding_gbk.eml", **{"rep1@kedun.test": me}))
    mail.dovecot.append(me, corpus("big5_with_attachment.eml", **{"rep1@kedun.test": me}))
    mail.dovecot.append(
        me, corpus("multipart_quote.eml", **{"rep1@kedun.test": me}), folder=SENT_FOLDER
    )

    report = mailbox_sync(mailbox=mailbox)

    assert report.errors == [] and report.problems == []
    assert report.counts() == {"fetched": 3, "stored": 3, "already_stored": 0, "matched": 2}
    assert report.folders == {"INBOX": 2, SENT_FOLDER: 1}
    gbk = Message.objects.get(message_id="gbk-001@hengda-jx.com")
    assert gbk.subject == "关于朱镕基路仓库的报价"
    assert gbk.from_name == "王喆" and gbk.body_text == "王喆：堃哥说镕基路仓库下周到货，请报价。"
    reply = Message.objects.get(message_id="quote-reply-001@kedun.test")
    assert reply.thread_root == "gbk-001@hengda-jx.com"
    assert list(
        MessageCustomer.objects.filter(customer=hengda)
        .values_list("message__message_id", flat=True)
        .order_by("sent_at")
    ) == ["gbk-001@hengda-jx.com", "quote-reply-001@kedun.test"]
    assert [
        (a.filename, a.size) for a in Attachment.objects.filter(message=reply).order_by("position")
    ] == [
        ("报价单-2027.pdf", 45),
        ("logo.png", 70),
    ]
    assert MessageOwner.objects.filter(user=cast.east_rep, mailbox=mailbox).count() == 3
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.OK
    assert mailbox.status_counts["stored"] == 3

    # Nothing new: nothing fetched. Something new: only that.
    assert mailbox_sync(mailbox=mailbox).counts() == {
        "fetched": 0,
        "stored": 0,
        "already_stored": 0,
        "matched": 0,
    }
    mail.dovecot.append(me, corpus("raw_gbk_headers.eml", **{"rep1@kedun.test": me}))
    assert mailbox_sync(mailbox=mailbox).counts()["stored"] == 1
    assert Message.objects.count() == 4


def test_a_message_in_two_mailboxes_is_one_message_with_two_owners(cast, mail, hengda):
    first = mail.mailbox(cast.east_rep)
    second = mail.mailbox(cast.east_mgr, local="mgr")
    raw = corpus("gb2312_holding_gbk.eml")
    mail.dovecot.append(first.address, raw)
    mail.dovecot.append(second.address, raw)

    reports = mail_sync()

    # In address order: mgr… first, then rep….
    assert [r.mailbox for r in reports] == [second.address, first.address]
    assert [r.counts() for r in reports] == [
        {"fetched": 1, "stored": 1, "already_stored": 0, "matched": 1},
        {"fetched": 1, "stored": 0, "already_stored": 1, "matched": 0},
    ]
    message = Message.objects.get()
    assert set(message.owners.values_list("user__username", flat=True)) == {"east_rep", "east_mgr"}


def test_a_wrong_password_is_said_in_the_status_and_the_next_sync_goes_on(cast, mail):
    from kedun.comms.secrets import password_encrypt

    mailbox = mail.mailbox(cast.east_rep)
    mail.dovecot.append(mailbox.address, corpus("raw_utf8_headers.eml"))
    mailbox.password_encrypted = password_encrypt("wrong-password")
    mailbox.save(update_fields=["password_encrypted"])

    report = mailbox_sync(mailbox=mailbox)

    assert [e["code"] for e in report.errors] == ["login"]
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ERROR
    assert problem_text(mailbox.status_problems[0]).startswith(
        f"The server refused the login for {mailbox.address}"
    )
    assert Message.objects.count() == 0
    mailbox.password_encrypted = password_encrypt("mail-pass-1")
    mailbox.save(update_fields=["password_encrypted"])
    assert mailbox_sync(mailbox=mailbox).counts()["stored"] == 1
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.OK and mailbox.status_problems == []


def test_an_unreachable_server_is_said_in_the_status(cast, mail):
    from .mailservers import free_port

    mailbox = mail.mailbox(cast.east_rep)
    mailbox.imap_port = free_port()
    mailbox.save(update_fields=["imap_port"])
    report = mailbox_sync(mailbox=mailbox)
    assert [e["code"] for e in report.errors] == ["refused"]
    mailbox.refresh_from_db()
    assert problem_text(mailbox.status_problems[0]) == (
        f"The server 127.0.0.1:{mailbox.imap_port} refused the connection."
    )


def test_a_changed_uidvalidity_reads_the_folder_again_without_doubling(cast, mail):
    mailbox = mail.mailbox(cast.east_rep)
    for name in ("raw_utf8_headers.eml", "raw_gbk_headers.eml"):
        mail.dovecot.append(mailbox.address, corpus(name))
    assert mailbox_sync(mailbox=mailbox).counts()["stored"] == 2
    old = MailFolder.objects.get(mailbox=mailbox, role="inbox").uidvalidity

    mail.dovecot.uidvalidity_set(mailbox.address, old + 1000)
    mail.dovecot.append(mailbox.address, corpus("html_only_gb2312.eml"))
    report = mailbox_sync(mailbox=mailbox)

    assert report.counts() == {"fetched": 3, "stored": 1, "already_stored": 2, "matched": 0}
    assert [p["code"] for p in report.problems] == ["uidvalidity"]
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.WARNING
    assert f"UIDVALIDITY {old} → {old + 1000}" in problem_text(mailbox.status_problems[0])
    assert MailFolder.objects.get(mailbox=mailbox, role="inbox").uidvalidity == old + 1000
    assert Message.objects.count() == 3


def test_broken_mime_is_kept_with_what_could_be_read(cast, mail):
    mailbox = mail.mailbox(cast.east_rep)
    mail.dovecot.append(mailbox.address, corpus("broken_mime.eml"))
    mail.dovecot.append(mailbox.address, corpus("raw_utf8_headers.eml"))

    report = mailbox_sync(mailbox=mailbox)

    assert report.counts()["stored"] == 2
    message = Message.objects.get(message_id="broken-001@hengda-jx.com")
    assert message.subject == "技术规格书"
    assert message.body_text == "规格书见附件（传了一半）。"
    assert "boundary is missing" in message.parse_problem
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.WARNING
    text = problem_text(mailbox.status_problems[0])
    assert text.startswith("A message could not be read completely (“技术规格书”, UID 1 in INBOX)")
    assert mailbox_sync(mailbox=mailbox).counts()["fetched"] == 0
