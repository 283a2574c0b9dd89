"""Sending through Kedun over a real SMTP server: archived once (the Sent copy and the
colleague's inbox sync back as the same message), audited; a failed send says why and stays a
draft."""

from __future__ import annotations

import pytest

from kedun.audit.models import AuditEvent
from kedun.comms.models import DraftStatus, MailDraft, Message, MessageCustomer, MessageOwner
from kedun.comms.sending import SendFailed, Upload, draft_save, draft_send, mail_send
from kedun.comms.sync import mailbox_sync
from kedun.core.errors import Invalid
from kedun.customers.services import ContactInput, customer_register

from .mailservers import SENT_FOLDER, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def hengda(cast):
    return customer_register(
        actor=cast.east_rep,
        name="上海市恒达机械有限公司",
        website="www.hengda-jx.com",
        contacts=[ContactInput(name="王喆", email="wangzhe@hengda-jx.com")],
    )


def test_a_sent_message_is_archived_once_and_synced_back_as_the_same(cast, mail, hengda):
    mine = mail.mailbox(cast.east_rep)
    boss = mail.mailbox(cast.boss, local="boss")

    message = mail_send(
        actor=cast.east_rep,
        to="王喆 <WangZhe@hengda-jx.com>",
        cc=boss.address,
        subject="报价：数控机床",
        body="王总您好，报价见附件。",
        customer=hengda,
        uploads=[Upload("报价单.pdf", "application/pdf", b"%PDF-1.4 quote")],
    )

    assert message.source == "sent" and message.subject == "报价：数控机床"
    assert list(
        MessageCustomer.objects.filter(message=message).values_list("customer_id", flat=True)
    ) == [hengda.pk]
    assert [a.filename for a in message.attachments.all()] == ["报价单.pdf"]
    assert [rcpt for rcpt, _raw in mail.smtp.relay.outside][-1] == "wangzhe@hengda-jx.com"
    assert mail.dovecot.folder_count(mine.address, SENT_FOLDER) == 1
    event = AuditEvent.objects.get(action="mail.sent")
    assert event.actor_label == "east_rep"
    assert event.changes_data["recipients"] == ["wangzhe@hengda-jx.com", boss.address]

    mine_report = mailbox_sync(mailbox=mine)
    boss_report = mailbox_sync(mailbox=boss)

    assert mine_report.counts() == {"fetched": 1, "stored": 0, "already_stored": 1, "matched": 0}
    assert boss_report.counts() == {"fetched": 1, "stored": 0, "already_stored": 1, "matched": 0}
    assert Message.objects.count() == 1
    assert set(MessageOwner.objects.values_list("user__username", flat=True)) == {
        "east_rep",
        "boss",
    }


def test_a_reply_continues_the_thread(cast, mail, hengda):
    from .conftest import corpus

    mine = mail.mailbox(cast.east_rep)
    mail.dovecot.append(mine.address, corpus("gb2312_holding_gbk.eml"))
    mailbox_sync(mailbox=mine)
    question = Message.objects.get(message_id="gbk-001@hengda-jx.com")

    reply = mail_send(
        actor=cast.east_rep,
        to=question.from_address,
        subject="回复：" + question.subject,
        body="收到。",
        reply_to=question,
    )

    assert reply.in_reply_to == question.message_id
    assert reply.thread_root == question.message_id


def test_a_failed_send_says_why_and_is_kept_as_a_draft(cast, mail, hengda):
    mine = mail.mailbox(cast.east_rep)
    mine.smtp_port = free_port()
    mine.save(update_fields=["smtp_port"])

    with pytest.raises(SendFailed) as refusal:
        mail_send(actor=cast.east_rep, to="wangzhe@hengda-jx.com", subject="你好", body="…")

    assert str(refusal.value.message) == (
        f"The message was not sent: the SMTP server 127.0.0.1:{mine.smtp_port} refused the "
        "connection. It is kept as a draft."
    )
    draft = MailDraft.objects.get()
    assert draft.status == DraftStatus.FAILED and "refused the connection" in draft.error
    assert Message.objects.count() == 0
    assert AuditEvent.objects.filter(action="mail.send_failed").count() == 1

    mine.smtp_port = mail.smtp.port
    mine.save(update_fields=["smtp_port"])
    draft.refresh_from_db()
    message = draft_send(actor=cast.east_rep, draft=draft)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.SENT and draft.message == message


def test_a_wrong_smtp_password_is_said(cast, mail):
    from kedun.comms.secrets import password_encrypt

    mine = mail.mailbox(cast.east_rep)
    mine.password_encrypted = password_encrypt("not-it")
    mine.save(update_fields=["password_encrypted"])
    with pytest.raises(SendFailed, match="refused the login"):
        mail_send(actor=cast.east_rep, to="a@hengda-jx.com", subject="s", body="b")


def test_bad_addresses_are_named_and_nothing_is_kept(cast, mail):
    mail.mailbox(cast.east_rep)
    with pytest.raises(Invalid) as refusal:
        draft_save(actor=cast.east_rep, to="wangzhe@hengda-jx.com, 王总", subject="s", body="b")
    assert refusal.value.detail == {"to": ["王总"]}
    assert MailDraft.objects.count() == 0


def test_a_user_without_a_mailbox_cannot_send(cast):
    from kedun.core.errors import Forbidden

    with pytest.raises(Forbidden):
        mail_send(actor=cast.south_rep, to="a@hengda-jx.com", subject="s", body="b")
