"""What the customer's card shows of its mail, documents and SMS, and the timeline's entries
for them (customers/selectors.customer_timeline asks for these)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from kedun.customers import contact_identity
from kedun.customers.models import Customer
from kedun.lifecycle.services import works_the_account
from kedun.org.models import User

from .documents import documents_of, may_add_documents
from .models import Mailbox, SmsStatus
from .reading import customer_mail_shown
from .selectors import customer_messages
from .sms import sms_of_customer

CARD_ROWS = 10


def customer_comms_context(*, viewer: User, customer: Customer, masked: bool) -> dict[str, Any]:
    """For the customer's page: the latest mail, the documents, the latest SMS, and what the
    viewer may do (compose, add a document, send an SMS)."""
    messages = list(customer_messages(viewer=viewer, customer=customer)[:CARD_ROWS])
    sms = list(sms_of_customer(customer)[:CARD_ROWS])
    for message in sms:
        message.shown_phone = (
            contact_identity.mask_phone(message.phone) if masked else message.phone
        )
    return {
        "mail": customer_mail_shown(
            viewer=viewer, customer=customer, messages=messages, revealed=not masked
        ),
        "documents": list(documents_of(viewer=viewer, customer=customer)[:50]),
        "sms": sms,
        "can_compose": Mailbox.objects.filter(user=viewer, active=True).exists(),
        "can_add_documents": may_add_documents(viewer, customer),
        "can_sms": works_the_account(viewer, customer),
    }


@dataclass(frozen=True)
class CommsEntry:
    at: dt.datetime
    kind: str  # "mail" or "sms"
    who: str
    text: str
    contact: str
    url: str
    attachments: tuple[str, ...]


def mail_timeline_entries(
    *, viewer: User, customer: Customer, masked: bool, limit: int = 50
) -> list[CommsEntry]:
    """The customer's latest mail for its timeline: subject, from → to (masked per the rules),
    attachments; what the viewer deleted is not there."""
    messages = list(customer_messages(viewer=viewer, customer=customer)[:limit])
    shown = customer_mail_shown(
        viewer=viewer, customer=customer, messages=messages, revealed=not masked
    )
    return [
        CommsEntry(
            at=s.sent_at,
            kind="mail",
            who=s.sender.name or s.sender.address,
            text=s.subject,
            contact=f"{s.sender.address} → {', '.join(a.address for a in [*s.to, *s.cc])}",
            url=reverse("mail-thread", args=[s.pk]),
            attachments=tuple(a.filename for a in s.attachments),
        )
        for s in shown
    ]


def sms_timeline_entries(*, customer: Customer, masked: bool, limit: int = 50) -> list[CommsEntry]:
    entries = []
    for message in sms_of_customer(customer)[:limit]:
        phone = contact_identity.mask_phone(message.phone) if masked else message.phone
        state = "" if message.status == SmsStatus.SENT else f" ({message.get_status_display()})"
        entries.append(
            CommsEntry(
                at=message.sent_at,
                kind="sms",
                who=message.sender.display_name,
                text=message.text + state,
                contact=phone,
                url="",
                attachments=(),
            )
        )
    return entries
