"""A message as a given viewer may see it: addresses, names and text masked unless allowed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from kedun.customers import contact_identity

from .matching import AddressBook
from .models import Attachment, Message
from .selectors import Deletion, address_shown, text_shown


@dataclass(frozen=True)
class ShownAddress:
    address: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass
class ShownMessage:
    pk: int
    message_id: str
    subject: str
    sender: ShownAddress
    to: list[ShownAddress]
    cc: list[ShownAddress]
    bcc: list[ShownAddress]
    sent_at: dt.datetime
    body: str
    attachments: list[Attachment]
    masked: bool
    parse_problem: str
    thread_root: str
    deletions: list[Deletion] = field(default_factory=list)

    @property
    def deleted(self) -> bool:
        return bool(self.deletions)


def message_shown(
    message: Message,
    *,
    masked: bool,
    book: AddressBook,
    deletions: list[Deletion] | None = None,
    show_bcc: bool = False,
    names: list[str] | tuple[str, ...] = (),
) -> ShownMessage:
    by_role: dict[str, list[ShownAddress]] = {"from": [], "to": [], "cc": [], "bcc": []}
    for row in message.addresses.all():
        hide = masked and not book.is_own(row.address)
        name = contact_identity.mask_text(row.name, keep=1) if hide and row.name else row.name
        by_role[row.role].append(
            ShownAddress(address_shown(row.address, masked=masked, book=book), name)
        )
    sender = (by_role["from"] or [ShownAddress("", "")])[0]
    return ShownMessage(
        pk=message.pk,
        message_id=message.message_id,
        subject=message.subject,
        sender=sender,
        to=by_role["to"],
        cc=by_role["cc"],
        bcc=by_role["bcc"] if show_bcc and not masked else [],
        sent_at=message.sent_at,
        body=text_shown(message.body_text, masked=masked, book=book, names=names),
        attachments=list(message.attachments.all()),
        masked=masked,
        parse_problem=message.parse_problem,
        thread_root=message.thread_root or message.message_id,
        deletions=deletions or [],
    )
