"""`kedun pool-sweep [--now ISO-DATETIME] [--dry-run]`: release neglected customers to the
public pool and warn owners, then print one JSON line."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kedun.lifecycle.sweep import ROWS_PER_BATCH, pool_sweep


def parse_moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--now: “{text}” is not an ISO date-time (e.g. 2027-01-30T02:00:00+08:00)"
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)  # local time, as a person would mean it
    return moment


class Command(BaseCommand):
    help = "Release customers to the public pool per the rules and warn their owners."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", help="pretend it is this moment (ISO 8601; local if no offset)"
        )
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
        parser.add_argument(
            "--batch", type=int, default=ROWS_PER_BATCH, help="customers per transaction"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = parse_moment(options["now"]) if options["now"] else None
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        result = pool_sweep(now=now, dry_run=options["dry_run"], rows_per_batch=options["batch"])
        self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
