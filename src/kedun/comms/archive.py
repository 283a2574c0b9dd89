"""Storing messages: once per Message-ID, with their addresses, attachments, customers,
thread and signals, and a MessageOwner for every user whose mailbox holds them.

Sync, sending and (later) imports all store through `messages_store`, inside the caller's
transaction, so that a batch of messages and whatever the caller records with it (a folder's
last UID, a sent draft) commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from kedun.core import clock
from kedun.customers.identity_index import insert_values

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


StoredFiles = dict[str, tuple[str, list[tuple[str, str]]]]


def files_write_one(item: Incoming) -> tuple[str, list[tuple[str, str]]]:
    """One message's raw text and attachments in storage: (raw name, [(name, sha256)]).
    Content-addressed, so writing a message that is archived already costs a look-up; no
    database access, so the sync runs it in a thread while it parses the next message."""
    raw_name, _digest = content_store(item.raw, folder="mail/raw")
    parts = [
        content_store(part.data, folder="mail/files", digest=part.sha256)
        for part in item.parsed.attachments
    ]
    return raw_name, parts


def files_write(items: list[Incoming]) -> StoredFiles:
    """The files of the messages not archived yet: {message_id: (raw name, [(name, sha256)])}.
    Callers run it (or files_write_one) before their transaction, so the database is not held
    while files are written; a killed run leaves files the rerun finds by name, nothing else."""
    unique: dict[str, Incoming] = {}
    for item in items:
        unique.setdefault(item.parsed.message_id, item)
    stored = set(
        Message.objects.filter(message_id__in=list(unique)).values_list("message_id", flat=True)
    )
    return {key: files_write_one(item) for key, item in unique.items() if key not in stored}


def messages_store(
    *,
    incoming: list[Incoming],
    source: str,
    book: AddressBook,
    owner_id: int | None,
    mailbox: Mailbox | None = None,
    folder_is_sent: bool = False,
    sender_id: int | None = None,
    files: StoredFiles | None = None,
) -> StoreOutcome:
    """Store what is new, link what is known to `owner_id`. Runs in the caller's transaction;
    set-based: a handful of statements per batch, not per message. `files`: what files_write
    wrote before the transaction (whatever is missing is written here)."""
    outcome = StoreOutcome()
    unique: dict[str, Incoming] = {}
    for item in incoming:
        unique.setdefault(item.parsed.message_id, item)
    _lock_store()
    existing = {m.message_id: m for m in Message.objects.filter(message_id__in=list(unique))}
    outcome.already = list(existing.values())
    now = clock.now()
    fresh = [(key, item) for key, item in unique.items() if key not in existing]
    files = dict(files or {})
    missing = [item for key, item in fresh if key not in files]
    if missing:
        files.update(files_write(missing))
    if not fresh:
        _owners_link(outcome, owner_id=owner_id, mailbox=mailbox)
        return outcome
    known_roots = _known_roots([item.parsed for _key, item in fresh])
    messages: list[Message] = []
    for key, item in fresh:
        parsed = item.parsed
        messages.append(
            Message(
                message_id=parsed.message_id,
                subject=_clean(parsed.subject, 1000),
                from_address=_clean(parsed.from_address, 254),
                from_name=_clean(parsed.from_name, 200),
                sent_at=parsed.sent_at,
                in_reply_to=parsed.in_reply_to,
                references=" ".join(parsed.references),
                thread_root=_thread_root(parsed, known_roots),
                body_text=_clean(parsed.body_text, 1_000_000),
                raw=files[key][0],
                size=len(item.raw),
                source=source,
                stored_at=now,
                parse_problem="; ".join(parsed.problems)[:500],
            )
        )
    _messages_insert(messages)
    _threads_join(messages)
    own_senders = dict(
        Mailbox.objects.filter(
            address__in={item.parsed.from_address for _key, item in fresh}
        ).values_list("address", "user_id")
    )
    addresses: list[tuple[Any, ...]] = []
    attachments: list[tuple[Any, ...]] = []
    links: list[tuple[Any, ...]] = []
    signals: list[MessageSignal] = []
    moment = connection.ops.adapt_datetimefield_value
    for message, (key, item) in zip(messages, fresh, strict=True):
        parsed = item.parsed
        addresses += [
            (
                message.pk,
                role,
                _clean(address, 254),
                _clean(address.rpartition("@")[2], 200),
                _clean(name, 200),
            )
            for role, address, name in parsed.addresses
        ]
        for position, (part, (name, digest)) in enumerate(
            zip(parsed.attachments, files[key][1], strict=True), start=1
        ):
            attachments.append(
                (
                    message.pk,
                    position,
                    _clean(part.filename, 300) or f"attachment-{position}",
                    _clean(part.content_type, 150),
                    len(part.data),
                    digest,
                    name,
                )
            )
        customers_by_address = {
            address: book.customers_of(address) for _role, address, _name in parsed.addresses
        }
        linked = set().union(
            *(customers_by_address[a] for role, a, _n in parsed.addresses if role in LINKED_ROLES)
        )
        writers = customers_by_address.get(parsed.from_address, set())
        links += [
            (message.pk, customer_id, moment(parsed.sent_at), customer_id in writers)
            for customer_id in sorted(linked)
        ]
        if linked:
            outcome.matched += 1
        sender = _sender_of(
            parsed,
            mailbox=mailbox,
            folder_is_sent=folder_is_sent,
            sender_id=sender_id or own_senders.get(parsed.from_address),
        )
        if sender is not None:
            signals += [
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
            ]
        if parsed.problems:
            outcome.problems.append(f"{parsed.subject[:60]!r}: {'; '.join(parsed.problems)}")
        outcome.stored.append(message)
    # Plain multi-row INSERTs (COPY on PostgreSQL): building a model instance per address
    # cost more than the database's work (profiled: 1.1 of 6.7 s in Model.__init__).
    insert_values(
        MessageAddress._meta.db_table,
        ("message_id", "role", "address", "domain", "name"),
        addresses,
    )
    insert_values(
        Attachment._meta.db_table,
        ("message_id", "position", "filename", "content_type", "size", "sha256", "file"),
        attachments,
    )
    insert_values(
        MessageCustomer._meta.db_table,
        ("message_id", "customer_id", "sent_at", "from_customer"),
        links,
    )
    MessageSignal.objects.bulk_create(signals, batch_size=500)
    _owners_link(outcome, owner_id=owner_id, mailbox=mailbox)
    return outcome


def _messages_insert(messages: list[Message]) -> None:
    """Insert the new messages and give the instances their primary keys."""
    moment = connection.ops.adapt_datetimefield_value
    columns = (
        "message_id", "subject", "from_address", "from_name", "sent_at", "in_reply_to",
        "references", "thread_root", "body_text", "raw", "size", "source", "stored_at",
        "parse_problem",
    )  # fmt: skip
    insert_values(
        Message._meta.db_table,
        columns,
        [
            (
                m.message_id,
                m.subject,
                m.from_address,
                m.from_name,
                moment(m.sent_at),
                m.in_reply_to,
                m.references,
                m.thread_root,
                m.body_text,
                m.raw.name,
                m.size,
                m.source,
                moment(m.stored_at),
                m.parse_problem,
            )
            for m in messages
        ],
    )
    keys = dict(
        Message.objects.filter(message_id__in=[m.message_id for m in messages]).values_list(
            "message_id", "pk"
        )
    )
    for message in messages:
        message.pk = keys[message.message_id]
        message._state.adding = False


def _owners_link(outcome: StoreOutcome, *, owner_id: int | None, mailbox: Mailbox | None) -> None:
    """The owner's link to every message of the batch (new or archived already), once."""
    if owner_id is None:
        return
    moment = connection.ops.adapt_datetimefield_value
    rows = [
        (m.pk, owner_id, moment(m.sent_at), mailbox.pk if mailbox else None)
        for m in [*outcome.stored, *outcome.already]
    ]
    insert_values(
        MessageOwner._meta.db_table,
        ("message_id", "user_id", "sent_at", "mailbox_id"),
        rows,
        suffix=" ON CONFLICT (message_id, user_id) DO NOTHING",
    )


def _known_roots(batch: list[ParsedMessage]) -> dict[str, str]:
    """{message_id: thread_root} of the stored messages this batch refers to."""
    wanted = {p.references[0] for p in batch if p.references}
    wanted |= {p.in_reply_to for p in batch if p.in_reply_to and not p.references}
    if not wanted:
        return {}
    return dict(
        Message.objects.filter(message_id__in=wanted).values_list("message_id", "thread_root")
    )


def _threads_join(messages: list[Message]) -> None:
    """Replies stored before the message they belong under started threads of their own
    (their root is this message's id): move them to this message's thread."""
    moving = {m.message_id: m.thread_root for m in messages if m.thread_root != m.message_id}
    if not moving:
        return
    stranded = Message.objects.filter(thread_root__in=list(moving)).values_list(
        "thread_root", flat=True
    )
    for old_root in set(stranded):
        Message.objects.filter(thread_root=old_root).update(thread_root=moving[old_root])


def _thread_root(parsed: ParsedMessage, known: dict[str, str]) -> str:
    """The thread's first message: the one References starts with (known or not), else the
    root of the message this one replies to, else the message itself."""
    if parsed.references:
        first = parsed.references[0]
        return known.get(first) or first
    if parsed.in_reply_to:
        return known.get(parsed.in_reply_to) or parsed.in_reply_to
    return parsed.message_id
