"""Sending mail through Kedun: composed from a customer's card or as a reply in a thread, sent
over the mailbox's SMTP server (Django's mail), then archived like synced mail and copied to
the mailbox's Sent folder. A send that fails says why and stays a draft.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid
from kedun.customers.contact_identity import normalize_email
from kedun.customers.models import Customer
from kedun.org.models import User

from .archive import Incoming, messages_store
from .files import content_read, content_store
from .imap import Endpoint, MailServerError, folders_find, imap_session
from .matching import AddressBook
from .mime import message_parse
from .models import (
    DraftAttachment,
    DraftStatus,
    Mailbox,
    MailDraft,
    Message,
    MessageSource,
    Security,
)
from .secrets import PasswordUnreadable, password_decrypt

MAX_RECIPIENTS = 100
MAX_ATTACHMENTS_BYTES = 25 * 1024 * 1024


class SendFailed(Invalid):
    code = "send_failed"


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def mailbox_of(user: User, *, mailbox_id: int | None = None) -> Mailbox:
    """The user's own active mailbox (the one asked for, or their first)."""
    boxes = Mailbox.objects.filter(user=user, active=True).order_by("pk")
    if mailbox_id is not None:
        boxes = boxes.filter(pk=mailbox_id)
    mailbox = boxes.first()
    if mailbox is None:
        raise Forbidden(_("You have no company mailbox to send from; the boss sets one up."))
    return mailbox


def addresses_parse(text: str, *, field: str) -> list[str]:
    """ "a@x.com; 张三 <b@y.com>, c@z.cn" → the addresses, or Invalid naming the bad ones."""
    pieces = [
        p.strip() for p in text.replace("；", ";").replace("，", ",").replace(";", ",").split(",")
    ]
    found: list[str] = []
    bad: list[str] = []
    for piece in pieces:
        if not piece:
            continue
        address = normalize_email(piece)
        if address is None:
            bad.append(piece)
        elif address not in found:
            found.append(address)
    if bad:
        raise Invalid(
            _("Not a mail address: %(bad)s") % {"bad": ", ".join(bad)}, detail={field: bad}
        )
    return found


def draft_save(
    *,
    actor: User,
    to: str,
    subject: str,
    body: str,
    cc: str = "",
    bcc: str = "",
    customer: Customer | None = None,
    reply_to: Message | None = None,
    uploads: list[Upload] | None = None,
    mailbox: Mailbox | None = None,
    draft: MailDraft | None = None,
) -> MailDraft:
    """Keep what the user composed (checked: addresses, sizes), with its attachments."""
    mailbox = mailbox or mailbox_of(actor)
    if mailbox.user_id != actor.pk:
        raise Forbidden(_("You can send only from your own mailbox."))
    recipients = [
        *addresses_parse(to, field="to"),
        *addresses_parse(cc, field="cc"),
        *addresses_parse(bcc, field="bcc"),
    ]
    if not addresses_parse(to, field="to"):
        raise Invalid(_("Say whom the message is to."), detail={"to": ["required"]})
    if len(recipients) > MAX_RECIPIENTS:
        raise Invalid(_("At most %(n)s recipients.") % {"n": MAX_RECIPIENTS})
    if not subject.strip() and not body.strip():
        raise Invalid(_("The message has neither a subject nor a text."))
    uploads = uploads or []
    existing = sum(a.size for a in draft.attachments.all()) if draft is not None else 0
    if existing + sum(len(u.data) for u in uploads) > MAX_ATTACHMENTS_BYTES:
        raise Invalid(_("Attachments may add up to 25 MB at most."))
    stored = [(u, *content_store(u.data, folder="mail/files")) for u in uploads]
    now = clock.now()
    with transaction.atomic():
        if draft is None:
            draft = MailDraft(author=actor, created_at=now)
        elif draft.author_id != actor.pk or draft.status == DraftStatus.SENT:
            raise Forbidden()
        draft.mailbox = mailbox
        draft.customer = customer
        draft.reply_to = reply_to
        draft.to, draft.cc, draft.bcc = to.strip(), cc.strip(), bcc.strip()
        draft.subject = subject.strip()[:1000]
        draft.body = body
        draft.updated_at = now
        draft.save()
        DraftAttachment.objects.bulk_create(
            DraftAttachment(
                draft=draft,
                filename=upload.filename[:300] or "attachment",
                content_type=(upload.content_type or "application/octet-stream")[:150],
                size=len(upload.data),
                sha256=digest,
                file=name,
            )
            for upload, name, digest in stored
        )
    return draft


def _smtp_reason(error: BaseException, mailbox: Mailbox) -> str:
    where = f"{mailbox.smtp_host}:{mailbox.smtp_port}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return _("the SMTP server refused the login for %(login)s (wrong password?)") % {
            "login": mailbox.login
        }
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return _("the server refused the recipients %(who)s") % {
            "who": ", ".join(sorted(error.recipients))
        }
    if isinstance(error, smtplib.SMTPSenderRefused):
        return _("the server refused the sender %(who)s") % {"who": mailbox.address}
    if isinstance(error, socket.gaierror):
        return _("the server name %(host)s could not be found") % {"host": mailbox.smtp_host}
    if isinstance(error, ConnectionRefusedError):
        return _("the SMTP server %(where)s refused the connection") % {"where": where}
    if isinstance(error, TimeoutError | socket.timeout):
        return _("the SMTP server %(where)s did not answer in time") % {"where": where}
    if isinstance(error, ssl.SSLError):
        return _("the secure connection to %(where)s failed; check the security setting") % {
            "where": where
        }
    if isinstance(error, PasswordUnreadable):
        return _("the mailbox's stored password cannot be read; the boss must enter it again")
    return _("the SMTP server %(where)s said: %(said)s") % {"where": where, "said": error}


def _email_of(draft: MailDraft, mailbox: Mailbox, password: str) -> EmailMessage:
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=mailbox.smtp_host,
        port=mailbox.smtp_port,
        username=mailbox.login,
        password=password,
        use_tls=mailbox.smtp_security == Security.STARTTLS,
        use_ssl=mailbox.smtp_security == Security.SSL,
        timeout=settings.KEDUN_MAIL_TIMEOUT,
        fail_silently=False,
    )
    headers = {
        "Message-ID": make_msgid(domain=mailbox.address.rpartition("@")[2]),
        "Date": formatdate(localtime=True),
    }
    if draft.reply_to is not None:
        parent = draft.reply_to
        chain = [*parent.references.split(), parent.message_id]
        headers["In-Reply-To"] = f"<{parent.message_id}>"
        headers["References"] = " ".join(f"<{m}>" for m in chain[-20:])
    message = EmailMessage(
        subject=draft.subject,
        body=draft.body,
        from_email=formataddr((draft.author.display_name, mailbox.address)),
        to=addresses_parse(draft.to, field="to"),
        cc=addresses_parse(draft.cc, field="cc"),
        bcc=addresses_parse(draft.bcc, field="bcc"),
        headers=headers,
        connection=connection,
    )
    for attachment in draft.attachments.order_by("pk"):
        message.attach(
            attachment.filename, content_read(str(attachment.file.name)), attachment.content_type
        )
    return message


def draft_send(*, actor: User, draft: MailDraft) -> Message:
    """Send the draft; archive it and copy it to the mailbox's Sent folder. On failure the
    draft stays, marked with the reason, and SendFailed says it."""
    if draft.author_id != actor.pk:
        raise Forbidden()
    if draft.status == DraftStatus.SENT:
        raise Invalid(_("This message was sent already."))
    mailbox = draft.mailbox
    try:
        password = password_decrypt(mailbox.password_encrypted)
        email = _email_of(draft, mailbox, password)
        raw = email.message().as_bytes()
        email.send()
    except (smtplib.SMTPException, OSError, PasswordUnreadable) as error:
        reason = _smtp_reason(error, mailbox)
        with transaction.atomic():
            MailDraft.objects.filter(pk=draft.pk).update(
                status=DraftStatus.FAILED, error=reason, updated_at=clock.now()
            )
            audit_record(
                actor=actor, action="mail.send_failed", target=draft, changes={"reason": reason}
            )
        draft.status, draft.error = DraftStatus.FAILED, reason
        raise SendFailed(
            _("The message was not sent: %(reason)s. It is kept as a draft.") % {"reason": reason},
            detail={"draft": draft.pk},
        ) from None
    parsed = message_parse(raw, received_at=clock.now())
    # The Bcc line is not in what the recipients get; the archive keeps it.
    parsed.addresses += [("bcc", a, "") for a in addresses_parse(draft.bcc, field="bcc")]
    with transaction.atomic():
        outcome = messages_store(
            incoming=[Incoming(raw=raw, parsed=parsed)],
            source=MessageSource.SENT,
            book=AddressBook(),
            owner_id=actor.pk,
            mailbox=mailbox,
            sender_id=actor.pk,
        )
        message = (outcome.stored or outcome.already)[0]
        MailDraft.objects.filter(pk=draft.pk).update(
            status=DraftStatus.SENT, error="", message=message, updated_at=clock.now()
        )
        audit_record(
            actor=actor,
            action="mail.sent",
            target=message,
            changes=_sent_facts(draft, parsed.recipients()),
        )
    draft.status, draft.message = DraftStatus.SENT, message
    _copy_to_sent(mailbox, password, raw)
    return message


def _sent_facts(draft: MailDraft, recipients: list[str]) -> dict[str, Any]:
    return {
        "subject": draft.subject,
        "recipients": recipients,
        "customer": draft.customer_id,
        "reply_to": draft.reply_to.message_id if draft.reply_to else None,
        "attachments": [a.filename for a in draft.attachments.order_by("pk")],
    }


def _copy_to_sent(mailbox: Mailbox, password: str, raw: bytes) -> None:
    """What the rep's own mail client shows: the message in Sent. Best effort — the archive has
    it already, and the next sync finds this copy stored (same Message-ID)."""
    endpoint = Endpoint(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security)
    with (
        contextlib.suppress(MailServerError, OSError),
        imap_session(endpoint, login=mailbox.login, password=password) as box,
    ):
        sent = folders_find(box).get("sent")
        if sent:
            box.append(raw, sent, dt=clock.now(), flag_set=["\\Seen"])


def mail_send(*, actor: User, **compose: Any) -> Message:
    """Compose and send in one step (the API and the pages): the draft is kept if it fails."""
    draft = draft_save(actor=actor, **compose)
    return draft_send(actor=actor, draft=draft)
