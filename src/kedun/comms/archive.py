"""Storing messages: once per Message-ID, with their addresses, attachments, customers,
thread and signals, and a MessageOwner for every user whose mailbox holds them.

Sync, sending and (later) imports all store through `messages_store`, inside the caller's
transaction, so that a batch of messages and whatever the caller records with it (a folder's
last UID, a sent draft) commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from kedun.core import clock

from .files import content_store
from .matching import AddressBook
from .mime import ParsedMessage
from .models import (
    Attachment,
    Mailbox,
    Message,
    MessageAddress,
    MessageCustomer,
    MessageOwner,
    MessageSignal,
)
from .signals import signals_find

# Any fixed 64-bit number: serialises the "is it stored yet?" check and the insert on
# PostgreSQL, so two mailboxes syncing one message at the same moment store it once.
_STORE_LOCK_KEY = 0x4B4544554E5F4D4C  # "KEDUN_ML"
LINKED_ROLES = ("from", "to", "cc")


@dataclass
class Incoming:
    raw: bytes
    parsed: ParsedMessage


@dataclass
class StoreOutcome:
    stored: list[Message] = field(default_factory=list)
    already: list[Message] = field(default_factory=list)
    matched: int = 0
    problems: list[str] = field(default_factory=list)


def _clean(text: str, limit: int) -> str:
    """PostgreSQL refuses NUL in text; fields have their lengths."""
    return text.replace("\x00", "")[:limit]


def _lock_store() -> None:
    # SQLite: our transactions BEGIN IMMEDIATE and already hold the write lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_STORE_LOCK_KEY])


def _sender_of(
    parsed: ParsedMessage, *, mailbox: Mailbox | None, folder_is_sent: bool, sender_id: int | None
) -> int | None:
    """The colleague who sent the message, if one did."""
    if sender_id is not None:
        return sender_id
    if mailbox is not None and (folder_is_sent or parsed.from_address == mailbox.address):
        return mailbox.user_id
    return None


def messages_store(
    *,
    incoming: list[Incoming],
    source: str,
    book: AddressBook,
    owner_id: int | None,
    mailbox: Mailbox | None = None,
    folder_is_sent: bool = False,
    sender_id: int | None = None,
) -> StoreOutcome:
    """Store what is new, link what is known to `owner_id`. Runs in the caller's transaction."""
    outcome = StoreOutcome()
    _lock_store()
    unique: dict[str, Incoming] = {}
    for item in incoming:
        unique.setdefault(item.parsed.message_id, item)
    existing = {m.message_id: m for m in Message.objects.filter(message_id__in=list(unique))}
    outcome.already = list(existing.values())
    now = clock.now()
    own_senders = dict(
        Mailbox.objects.filter(
            address__in={i.parsed.from_address for i in unique.values()}
        ).values_list("address", "user_id")
    )
    for message_id, item in unique.items():
        if message_id in existing:
            continue
        parsed = item.parsed
        raw_name, _digest = content_store(item.raw, folder="mail/raw")
        root = _thread_root(parsed)
        message = Message.objects.create(
            message_id=message_id,
            subject=_clean(parsed.subject, 1000),
            from_address=_clean(parsed.from_address, 254),
            from_name=_clean(parsed.from_name, 200),
            sent_at=parsed.sent_at,
            in_reply_to=parsed.in_reply_to,
            references=" ".join(parsed.references),
            thread_root=root,
            body_text=_clean(parsed.body_text, 1_000_000),
            raw=raw_name,
            size=len(item.raw),
            source=source,
            stored_at=now,
            parse_problem="; ".join(parsed.problems)[:500],
        )
        if root != message_id:
            # Replies stored before this message started a thread of their own: join them.
            Message.objects.filter(thread_root=message_id).update(thread_root=root)
        MessageAddress.objects.bulk_create(
            MessageAddress(
                message=message,
                role=role,
                address=_clean(address, 254),
                domain=_clean(address.rpartition("@")[2], 200),
                name=_clean(name, 200),
            )
            for role, address, name in parsed.addresses
        )
        attachments = []
        for position, part in enumerate(parsed.attachments, start=1):
            name, digest = content_store(part.data, folder="mail/files")
            attachments.append(
                Attachment(
                    message=message,
                    position=position,
                    filename=_clean(part.filename, 300) or f"attachment-{position}",
                    content_type=_clean(part.content_type, 150),
                    size=len(part.data),
                    sha256=digest,
                    file=name,
                )
            )
        Attachment.objects.bulk_create(attachments)
        customers_by_address = {
            address: book.customers_of(address) for _role, address, _name in parsed.addresses
        }
        linked = set().union(
            *(customers_by_address[a] for role, a, _n in parsed.addresses if role in LINKED_ROLES)
        )
        writers = customers_by_address.get(parsed.from_address, set())
        MessageCustomer.objects.bulk_create(
            MessageCustomer(
                message=message,
                customer_id=customer_id,
                sent_at=parsed.sent_at,
                from_customer=customer_id in writers,
            )
            for customer_id in sorted(linked)
        )
        if linked:
            outcome.matched += 1
        sender = _sender_of(
            parsed,
            mailbox=mailbox,
            folder_is_sent=folder_is_sent,
            sender_id=sender_id or own_senders.get(parsed.from_address),
        )
        if sender is not None:
            MessageSignal.objects.bulk_create(
                MessageSignal(
                    message=message,
                    kind=found.kind,
                    user_id=sender,
                    sent_at=parsed.sent_at,
                    detail=found.detail,
                )
                for found in signals_find(
                    parsed, book=book, customers_by_address=customers_by_address
                )
            )
        if parsed.problems:
            outcome.problems.append(f"{parsed.subject[:60]!r}: {'; '.join(parsed.problems)}")
        outcome.stored.append(message)
    if owner_id is not None:
        everything = [*outcome.stored, *outcome.already]
        MessageOwner.objects.bulk_create(
            [
                MessageOwner(message=m, user_id=owner_id, sent_at=m.sent_at, mailbox=mailbox)
                for m in everything
            ],
            ignore_conflicts=True,
        )
    return outcome


def _thread_root(parsed: ParsedMessage) -> str:
    """The thread's first message: the one References starts with (known or not), else the
    root of the message this one replies to, else the message itself."""
    if parsed.references:
        first = parsed.references[0]
        known = Message.objects.filter(message_id=first).values_list("thread_root", flat=True)
        return next(iter(known), "") or first
    if parsed.in_reply_to:
        known = Message.objects.filter(message_id=parsed.in_reply_to).values_list(
            "thread_root", flat=True
        )
        return next(iter(known), "") or parsed.in_reply_to
    return parsed.message_id
