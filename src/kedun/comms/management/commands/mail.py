"""`kedun mail sync [--mailbox ADDRESS]`: archive what is new in the company's mailboxes.

One JSON line per mailbox, then one JSON line with the totals (a contract for scripts):
fetched, stored (new messages), already_stored, matched (new messages linked to a customer),
errors (the failures, each with its mailbox and message) and problems (warnings). Exits 1 when
a mailbox failed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kedun.comms.models import Mailbox
from kedun.comms.problems import problem_text
from kedun.comms.sync import mail_sync


class Command(BaseCommand):
    help = "Sync the company's mailboxes (INBOX and Sent) into the archive."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sync = sub.add_parser("sync", help="sync every active mailbox, or the one named")
        sync.add_argument("--mailbox", metavar="ADDRESS")

    def handle(self, *args: Any, **options: Any) -> None:
        address = options.get("mailbox")
        if address and not Mailbox.objects.filter(address=address.strip().lower()).exists():
            raise CommandError(f"there is no mailbox {address}")
        reports = mail_sync(address=address)
        totals: dict[str, Any] = {
            "mailboxes": len(reports),
            "fetched": 0,
            "stored": 0,
            "already_stored": 0,
            "matched": 0,
            "errors": [],
            "problems": 0,
        }
        for report in reports:
            errors = [problem_text(e) for e in report.errors]
            problems = [problem_text(p) for p in report.problems]
            line = {"mailbox": report.mailbox, **report.counts(), "errors": errors}
            line["problems"] = problems
            self.stdout.write(json.dumps(line, ensure_ascii=False))
            for key in ("fetched", "stored", "already_stored", "matched"):
                totals[key] += line[key]
            totals["errors"] += [{"mailbox": report.mailbox, "message": e} for e in errors]
            totals["problems"] += len(problems)
        self.stdout.write(json.dumps(totals, ensure_ascii=False))
        self.stdout.flush()
        if totals["errors"]:
            sys.exit(1)
