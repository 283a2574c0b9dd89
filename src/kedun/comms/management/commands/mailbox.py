"""`kedun mailbox add ADDRESS --user USERNAME --imap HOST:PORT --smtp HOST:PORT --login LOGIN
[--security ssl|starttls|none] --password-stdin` and `kedun mailbox list`."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kedun.comms.mailboxes import MailboxSettings, host_port, mailbox_add
from kedun.comms.models import Mailbox, Security
from kedun.comms.problems import problem_text
from kedun.core.errors import DomainError
from kedun.org.models import User


class Command(BaseCommand):
    help = "Add a company mailbox (its IMAP login is checked) or list them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a mailbox; the password is read from stdin")
        add.add_argument("address")
        add.add_argument("--user", required=True, help="the user whose mail it is")
        add.add_argument("--imap", required=True, metavar="HOST:PORT")
        add.add_argument("--smtp", required=True, metavar="HOST:PORT")
        add.add_argument("--login", required=True)
        add.add_argument("--security", choices=Security.values, default=Security.SSL)
        add.add_argument(
            "--password-stdin", action="store_true", required=True, help="read the password"
        )
        sub.add_parser("list", help="one line per mailbox: address, user, status, last sync")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list()
            return
        user = User.objects.filter(username__iexact=options["user"]).first()
        if user is None:
            raise CommandError(f"there is no user {options['user']}")
        password = sys.stdin.readline().rstrip("\r\n")
        try:
            imap_host, imap_port = host_port(options["imap"], what="--imap")
            smtp_host, smtp_port = host_port(options["smtp"], what="--smtp")
            mailbox, warnings = mailbox_add(
                actor=None,
                values=MailboxSettings(
                    address=options["address"],
                    user=user,
                    imap_host=imap_host,
                    imap_port=imap_port,
                    smtp_host=smtp_host,
                    smtp_port=smtp_port,
                    login=options["login"],
                    imap_security=options["security"],
                    smtp_security=options["security"],
                ),
                password=password,
            )
        except DomainError as error:
            raise CommandError(str(error.message)) from None
        for warning in warnings:
            self.stderr.write(f"warning: {problem_text(warning)}")
        self.stdout.write(f"added {mailbox.address} for {user.username}; the IMAP login works")

    def _list(self) -> None:
        for mailbox in Mailbox.objects.select_related("user").order_by("address"):
            self.stdout.write(
                json.dumps(
                    {
                        "address": mailbox.address,
                        "user": mailbox.user.username,
                        "imap": f"{mailbox.imap_host}:{mailbox.imap_port}",
                        "smtp": f"{mailbox.smtp_host}:{mailbox.smtp_port}",
                        "active": mailbox.active,
                        "status": mailbox.status,
                        "synced_at": mailbox.synced_at.isoformat() if mailbox.synced_at else None,
                        "problems": [problem_text(p) for p in mailbox.status_problems],
                    },
                    ensure_ascii=False,
                )
            )
