"""Syncing company mailboxes: INBOX and Sent, incrementally, crash-safe.

Per folder, messages are fetched in batches above the folder's last archived UID; each batch
is stored and the folder's last UID advanced in one transaction, so a sync killed at any point
resumes where the last commit left it and stores nothing twice (Message-IDs are unique, and a
message already archived from another mailbox only gains an owner). When the server renumbers
a folder (a new UIDVALIDITY), the folder is read again from the start and the Message-IDs keep
it from being stored twice.

A sync holds its mailbox with a lease renewed every batch, so several workers (and the
`kedun mail sync` command) never sync one mailbox at once; a holder that died — a killed
process on this machine, or a lease that ran out — is passed over.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from kedun.audit.services import audit_record
from kedun.core import clock

from .archive import Incoming, files_write, messages_store
from .imap import Endpoint, MailServerError, fetch_raw, folders_find, imap_session, uids_after
from .matching import AddressBook
from .mime import message_parse
from .models import FolderRole, Mailbox, MailboxStatus, MailFolder, MessageSource
from .problems import problem
from .secrets import PasswordUnreadable, password_decrypt

LEASE = dt.timedelta(minutes=5)


@dataclass
class SyncReport:
    mailbox: str
    fetched: int = 0
    stored: int = 0
    already_stored: int = 0
    matched: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    folders: dict[str, int] = field(default_factory=dict)  # new messages per folder
    skipped: bool = False

    def counts(self) -> dict[str, int]:
        return {
            "fetched": self.fetched,
            "stored": self.stored,
            "already_stored": self.already_stored,
            "matched": self.matched,
        }


def sync_holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lease_take(*, mailbox_id: int, holder: str) -> bool:
    """Hold the mailbox for a sync: one conditional UPDATE, so two syncs cannot both win."""
    now = clock.now()
    free = Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now) | Q(sync_holder=holder)
    if Mailbox.objects.filter(free, pk=mailbox_id).update(
        sync_holder=holder, sync_lease_until=now + LEASE
    ):
        return True
    current = Mailbox.objects.filter(pk=mailbox_id).values_list("sync_holder", flat=True).first()
    host, _sep, rest = (current or "").partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid)):
        # Killed mid-sync on this machine: its lease holds nothing.
        return bool(
            Mailbox.objects.filter(pk=mailbox_id, sync_holder=current).update(
                sync_holder=holder, sync_lease_until=now + LEASE
            )
        )
    return False


def lease_release(*, mailbox_id: int, holder: str) -> None:
    Mailbox.objects.filter(pk=mailbox_id, sync_holder=holder).update(
        sync_holder="", sync_lease_until=None
    )


def endpoint_imap(mailbox: Mailbox) -> Endpoint:
    return Endpoint(mailbox.imap_host, mailbox.imap_port, mailbox.imap_security)


def mailbox_sync(
    *, mailbox: Mailbox, book: AddressBook | None = None, holder: str | None = None
) -> SyncReport:
    """Archive what is new in the mailbox's INBOX and Sent; record the outcome as its status."""
    holder = holder or sync_holder_name()
    report = SyncReport(mailbox=mailbox.address)
    if not lease_take(mailbox_id=mailbox.pk, holder=holder):
        report.skipped = True
        current = Mailbox.objects.filter(pk=mailbox.pk).values_list("sync_holder", flat=True)
        report.problems.append(problem("busy", holder=next(iter(current), "")))
        return report
    book = book or AddressBook()
    try:
        try:
            password = password_decrypt(mailbox.password_encrypted)
        except PasswordUnreadable:
            raise MailServerError(problem("password")) from None
        endpoint = endpoint_imap(mailbox)
        with imap_session(endpoint, login=mailbox.login, password=password) as box:
            folders = folders_find(box)
            if "sent" not in folders:
                report.problems.append(problem("no_sent"))
            for role in (FolderRole.INBOX, FolderRole.SENT):
                if role in folders:
                    _folder_sync(box, mailbox, role, folders[role], book, report, holder)
    except MailServerError as error:
        report.errors.append(error.entry)
    finally:
        _status_record(mailbox, report)
        lease_release(mailbox_id=mailbox.pk, holder=holder)
    return report


def _status_record(mailbox: Mailbox, report: SyncReport) -> None:
    now = clock.now()
    if report.errors:
        status = MailboxStatus.ERROR
    elif report.problems:
        status = MailboxStatus.WARNING
    else:
        status = MailboxStatus.OK
    fields: dict[str, Any] = {
        "status": status,
        "status_counts": {**report.counts(), "folders": report.folders},
        "status_problems": [*report.errors, *report.problems][:50],
        "status_at": now,
    }
    if not report.errors:
        fields["synced_at"] = now
    Mailbox.objects.filter(pk=mailbox.pk).update(**fields)
    for name, value in fields.items():
        setattr(mailbox, name, value)


def _folder_sync(
    box: Any,
    mailbox: Mailbox,
    role: str,
    name: str,
    book: AddressBook,
    report: SyncReport,
    holder: str,
) -> None:
    state, _created = MailFolder.objects.get_or_create(
        mailbox=mailbox, role=role, defaults={"name": name}
    )
    status = box.folder.status(name, ["UIDVALIDITY", "UIDNEXT", "MESSAGES"])
    box.folder.set(name, readonly=True)
    uidvalidity = int(status["UIDVALIDITY"])
    changes: dict[str, Any] = {}
    if state.name != name:
        changes["name"] = name
    if state.uidvalidity is not None and state.uidvalidity != uidvalidity:
        report.problems.append(
            problem("uidvalidity", folder=name, old=state.uidvalidity, new=uidvalidity)
        )
        changes["last_uid"] = 0
    if state.uidvalidity != uidvalidity:
        changes["uidvalidity"] = uidvalidity
    if changes:
        with transaction.atomic():
            MailFolder.objects.filter(pk=state.pk).update(**changes)
            if "last_uid" in changes:
                audit_record(
                    actor=None,
                    action="mail.folder_renumbered",
                    target=mailbox,
                    changes={"folder": name, "uidvalidity": [state.uidvalidity, uidvalidity]},
                )
        for key, value in changes.items():
            setattr(state, key, value)
    uids = uids_after(box, state.last_uid)
    batch_size = settings.KEDUN_MAIL_BATCH
    batches = [uids[start : start + batch_size] for start in range(0, len(uids), batch_size)]
    new_here = 0
    with _Prefetcher(box, batches) as ahead:
        for wanted, fetched, items in ahead:
            new_here += _batch_store(
                mailbox, role, name, state, wanted, fetched, items,
                uidvalidity=uidvalidity, book=book, report=report, holder=holder,
            )  # fmt: skip
            if state.uidvalidity != uidvalidity:
                break
    report.folders[name] = new_here


class _Prefetcher:
    """Fetches and parses the next batch in a thread while the current one's files and rows
    are written: parsing is CPU, writing is mostly waiting for the disk and the database
    (2,000 messages: 8.3 → 4.7 s; writing the files in this thread too was slower, 6.6 s —
    it then did more than the storing thread). The thread touches only the IMAP connection,
    never the database; a failure there is raised in the storing thread."""

    def __init__(self, box: Any, batches: list[list[int]]) -> None:
        self.box, self.batches = box, batches
        self.ready: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for wanted in self.batches:
                if self.stop.is_set():
                    return
                fetched = fetch_raw(self.box, wanted)
                items = [
                    (
                        item.uid,
                        Incoming(
                            raw=item.raw,
                            parsed=message_parse(
                                item.raw, received_at=item.internal_date or clock.now()
                            ),
                        ),
                    )
                    for item in fetched
                ]
                self._put((wanted, len(fetched), items))
            self._put(None)
        except BaseException as error:
            self._put(error)

    def _put(self, value: Any) -> None:
        while not self.stop.is_set():
            try:
                self.ready.put(value, timeout=0.5)
                return
            except queue.Full:
                continue

    def __enter__(self) -> _Prefetcher:
        self.thread.start()
        return self

    def __iter__(self) -> Iterator[tuple[list[int], int, list[tuple[int, Incoming]]]]:
        while True:
            value = self.ready.get()
            if value is None:
                return
            if isinstance(value, BaseException):
                raise value
            yield value

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=settings.KEDUN_MAIL_TIMEOUT + 5)


def _batch_store(
    mailbox: Mailbox,
    role: str,
    name: str,
    state: MailFolder,
    wanted: list[int],
    fetched: int,
    items: list[tuple[int, Incoming]],
    *,
    uidvalidity: int,
    book: AddressBook,
    report: SyncReport,
    holder: str,
) -> int:
    """Store one fetched and parsed batch; the folder's last UID moves in the same
    transaction. Returns how many messages were new."""
    if fetched < len(wanted):
        report.problems.append(problem("vanished", folder=name, count=len(wanted) - fetched))
    for uid, incoming in items:
        parsed = incoming.parsed
        if parsed.problems:
            report.problems.append(
                problem(
                    "broken",
                    subject=parsed.subject[:80],
                    uid=uid,
                    folder=name,
                    problems="; ".join(parsed.problems),
                )
            )
    # Written before the transaction: the database is not held while files are written.
    files = files_write([incoming for _uid, incoming in items])
    with transaction.atomic():
        locked = MailFolder.objects.select_for_update().get(pk=state.pk)
        if locked.uidvalidity != uidvalidity:
            # Renumbered by another sync meanwhile; the next run reads it again.
            state.uidvalidity = locked.uidvalidity
            return 0
        fresh = [incoming for uid, incoming in items if uid > locked.last_uid]
        outcome = messages_store(
            incoming=fresh,
            source=MessageSource.IMAP,
            book=book,
            owner_id=mailbox.user_id,
            mailbox=mailbox,
            folder_is_sent=role == FolderRole.SENT,
            files=files,
        )
        now = clock.now()
        MailFolder.objects.filter(pk=state.pk).update(
            last_uid=max(locked.last_uid, wanted[-1]), synced_at=now
        )
        Mailbox.objects.filter(pk=mailbox.pk, sync_holder=holder).update(
            sync_lease_until=now + LEASE
        )
        audit_record(
            actor=None,
            action="mail.archived",
            target=mailbox,
            changes={
                "folder": name,
                "uids": [wanted[0], wanted[-1]],
                "stored": len(outcome.stored),
                "already_stored": len(outcome.already),
            },
        )
    state.last_uid = max(state.last_uid, wanted[-1])
    report.fetched += fetched
    report.stored += len(outcome.stored)
    report.already_stored += len(outcome.already)
    report.matched += outcome.matched
    return len(outcome.stored)


def mail_sync(*, address: str | None = None) -> list[SyncReport]:
    """Sync every active mailbox (or the one named), one after the other."""
    mailboxes = Mailbox.objects.filter(active=True).order_by("address")
    if address:
        mailboxes = Mailbox.objects.filter(address=address.strip().lower())
    book = AddressBook()
    return [mailbox_sync(mailbox=mailbox, book=book) for mailbox in mailboxes]
