"""Benchmark: syncing a 10,000-message mailbox from a local IMAP server, matching included, and
showing an 8-message thread.

Targets (issue 11): the sync archives at least 200 messages a second, matching each to the
registry's customers by address and company domain; an 8-message thread page is shown in at
most 200 ms. Compared in the same run with the naive approach: a message at a time (a
transaction, ORM instances and a registry look-up per address), and a thread page that asks
the database per message.

Needs Debian's Dovecot (apt-get install dovecot-imapd dovecot-lmtpd), started here on loopback
with a throwaway configuration, as the tests do.

    python bench/mail_sync.py [--messages 10000] [--naive 1000]
    KEDUN_DATABASE_URL=postgres://… python bench/mail_sync.py   # PostgreSQL (comms emptied)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CUSTOMERS = 2_000
TARGET_RATE = 200.0
TARGET_THREAD_MS = 200.0
FREE_MAIL = ("qq.com", "163.com", "126.com", "gmail.com")


def corpus(count: int) -> list[bytes]:
    """Mail of a sales rep: 60 % with customers (their contacts and colleagues at their
    domains), 20 % free mail, 20 % unknown senders; 1 in 10 with an attachment; threads of up
    to eight messages (References), as a week of a busy inbox looks."""
    raws = []
    for number in range(count):
        mail = EmailMessage()
        kind = number % 10
        customer = number % CUSTOMERS
        if kind < 6:
            sender = f"buyer{number % 7}@c{customer}-bench.cn"
        elif kind < 8:
            sender = f"person{number}@{FREE_MAIL[number % len(FREE_MAIL)]}"
        else:
            sender = f"info@unknown{number}.com.cn"
        thread = number // 8
        position = number % 8
        mail["From"] = f"客户{customer} <{sender}>"
        mail["To"] = "rep@kedun.test"
        if position:
            mail["Cc"] = f"colleague{customer}@c{customer}-bench.cn"
        mail["Subject"] = ("回复：" if position else "") + f"关于第{thread}批货的询价"
        mail["Date"] = f"Tue, {1 + number % 28:02d} Mar 2027 {number % 24:02d}:15:00 +0800"
        mail["Message-ID"] = f"<bench-{number}@mail.bench.cn>"
        if position:
            mail["In-Reply-To"] = f"<bench-{number - 1}@mail.bench.cn>"
            mail["References"] = " ".join(
                f"<bench-{thread * 8 + p}@mail.bench.cn>" for p in range(position)
            )
        mail.set_content(f"您好，第{thread}批货请报价。数量{number % 50 + 1}台，交期两周。\n" * 8)
        if number % 10 == 3:
            mail.add_attachment(
                f"%PDF-1.4 spec {number}\n".encode() * 200,
                maintype="application",
                subtype="pdf",
                filename=f"规格书{number}.pdf",
            )
        raws.append(mail.as_bytes())
    return raws


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=1_000, help="messages for the naive way")
    args = parser.parse_args()

    os.environ.setdefault("KEDUN_DATA_DIR", tempfile.mkdtemp(prefix="kedun-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    os.environ.setdefault("KEDUN_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client
    from django.urls import reverse
    from tests.comms.mailservers import PASSWORD, Dovecot, dovecot_available

    from benchsupport import customers_reset, load_registry, reps
    from kedun.audit import triggers
    from kedun.comms import models as comms
    from kedun.comms.mailboxes import MailboxSettings, mailbox_add
    from kedun.comms.reading import thread_shown
    from kedun.comms.sync import mailbox_sync

    if not dovecot_available():
        print(json.dumps({"error": "Dovecot is not installed (apt-get install dovecot-imapd)"}))
        return 1
    customers_reset()
    with transaction.atomic():
        for model in (
            comms.MessageSignal,
            comms.MessageCustomer,
            comms.MessageOwner,
            comms.MessageAddress,
            comms.Attachment,
            comms.MailDraft,
            comms.Message,
            comms.MailFolder,
            comms.Mailbox,
        ):
            model.objects.all().delete()
        with triggers.suspended(connection), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {triggers.TABLE}")
            # An empty chain records its own keying marker on its first event.
            cursor.execute(f"DELETE FROM {triggers.KEYING_TABLE}")
    load_registry(
        [
            {
                "code": f"B{n:06d}",
                "name": f"基准{n}号机械有限公司",
                "email": f"buyer0@c{n}-bench.cn",
                "website": f"www.c{n}-bench.cn",
                "owner": "bench_rep",
            }
            for n in range(CUSTOMERS)
        ]
    )
    rep = reps({"bench_rep"})["bench_rep"]

    dovecot = Dovecot(Path(tempfile.mkdtemp(prefix="kedun-bench-dovecot-"))).start()
    try:
        address = "rep@kedun.test"
        dovecot.user_add(address)
        started = time.perf_counter()
        dovecot.drop_files(address, corpus(args.messages))
        assert dovecot.folder_count(address) == args.messages  # Dovecot indexes the folder
        load_seconds = time.perf_counter() - started
        mailbox, _warnings = mailbox_add(
            actor=None,
            values=MailboxSettings(
                address=address,
                user=rep,
                imap_host="127.0.0.1",
                imap_port=dovecot.imap_port,
                smtp_host="127.0.0.1",
                smtp_port=25,
                login=address,
                imap_security="none",
                smtp_security="none",
            ),
            password=PASSWORD,
            check=False,
        )

        started = time.perf_counter()
        report = mailbox_sync(mailbox=mailbox)
        sync_seconds = time.perf_counter() - started
        assert report.errors == [], report.errors
        assert report.stored == args.messages, report.counts()
        rate = args.messages / sync_seconds
        print(f"sync: {rate:.0f} messages/s", file=sys.stderr)

        naive_rate = naive_sync(dovecot, address, args.naive) if args.naive else None
    finally:
        dovecot.stop()
        shutil.rmtree(dovecot.root, ignore_errors=True)

    # An 8-message thread, as its rep opens it.
    last = comms.Message.objects.get(message_id=f"bench-{8 * 7 + 7}@mail.bench.cn")
    assert comms.Message.objects.filter(thread_root=last.thread_root).count() == 8
    client = Client()
    client.force_login(rep)
    url = reverse("mail-thread", args=[last.pk])
    assert client.get(url).status_code == 200
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    thread_ms = statistics.median(timings)
    started = time.perf_counter()
    for _ in range(5):
        thread_shown(viewer=rep, message_pk=last.pk)
    thread_data_ms = (time.perf_counter() - started) * 1000 / 5
    naive_thread_ms = naive_thread(last)

    result = {
        "engine": connection.vendor,
        "messages": args.messages,
        "customers": CUSTOMERS,
        "batch": settings.KEDUN_MAIL_BATCH,
        "maildir_load_seconds": round(load_seconds, 1),
        "sync_seconds": round(sync_seconds, 1),
        "messages_per_second": round(rate, 1),
        "matched": report.matched,
        "naive_messages_per_second": round(naive_rate, 1) if naive_rate else None,
        "thread_page_ms_median": round(thread_ms, 1),
        "thread_data_ms": round(thread_data_ms, 1),
        "naive_thread_data_ms": round(naive_thread_ms, 1),
        "load_average": round(os.getloadavg()[0], 1),
        "targets": {"messages_per_second": TARGET_RATE, "thread_page_ms": TARGET_THREAD_MS},
        "within_target": rate >= TARGET_RATE and thread_ms <= TARGET_THREAD_MS,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["within_target"] else 1


def naive_sync(dovecot, address: str, count: int) -> float:
    """The obvious way: fetch a message, parse it with the library's defaults, and store it
    in a transaction of its own with a model instance per address and a registry query per
    address (the folder's progress saved with every message)."""
    import email
    import email.policy
    import email.utils

    from django.db import transaction
    from django.db.models import Q
    from imap_tools import MailBoxUnencrypted

    from kedun.comms.models import Message, MessageAddress, MessageCustomer
    from kedun.core import clock
    from kedun.customers.models import Contact, Customer, CustomerDomain

    stored = 0
    started = time.perf_counter()
    with MailBoxUnencrypted("127.0.0.1", dovecot.imap_port).login(
        address, dovecot.users[address], initial_folder="INBOX"
    ) as box:
        for item in box.fetch(limit=count, mark_seen=False, bulk=False):
            parsed = email.message_from_bytes(item.obj.as_bytes(), policy=email.policy.default)
            message_id = f"naive-{item.uid}"
            with transaction.atomic():
                message = Message.objects.create(
                    message_id=message_id,
                    subject=str(parsed["Subject"] or ""),
                    from_address=email.utils.parseaddr(str(parsed["From"]))[1].lower(),
                    sent_at=clock.now(),
                    body_text=(parsed.get_body(("plain",)) or parsed).get_content()
                    if not parsed.is_multipart()
                    else "",
                    source="imap",
                    stored_at=clock.now(),
                )
                for role in ("from", "to", "cc"):
                    for _name, addr in email.utils.getaddresses(
                        [str(v) for v in parsed.get_all(role, [])]
                    ):
                        addr = addr.lower()
                        domain = addr.rpartition("@")[2]
                        MessageAddress.objects.create(
                            message=message, role=role, address=addr, domain=domain
                        )
                        ids = set(
                            Customer.objects.filter(Q(email__iexact=addr)).values_list(
                                "pk", flat=True
                            )
                        )
                        ids |= set(
                            Contact.objects.filter(email__iexact=addr).values_list(
                                "customer_id", flat=True
                            )
                        )
                        ids |= set(
                            CustomerDomain.objects.filter(domain=domain).values_list(
                                "customer_id", flat=True
                            )
                        )
                        for customer_id in ids:
                            MessageCustomer.objects.get_or_create(
                                message=message,
                                customer_id=customer_id,
                                defaults={"sent_at": message.sent_at},
                            )
            stored += 1
    return stored / (time.perf_counter() - started)


def naive_thread(last) -> float:
    """The thread read message by message, each with its own queries (N+1)."""
    from kedun.comms.models import Message

    started = time.perf_counter()
    for _ in range(5):
        for message in Message.objects.filter(thread_root=last.thread_root).order_by("sent_at"):
            list(message.addresses.all())
            list(message.attachments.all())
            list(message.owners.all())
            list(message.customer_links.select_related("customer"))
    return (time.perf_counter() - started) * 1000 / 5


if __name__ == "__main__":
    sys.exit(main())
