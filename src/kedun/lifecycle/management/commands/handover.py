"""`kedun handover USERNAME --to USERNAME [--to USERNAME …] | --pool`: a leaver's customers
move to the named reps in turn, or to the pool; the leaver is deactivated at once."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kedun.core.errors import DomainError
from kedun.lifecycle.handover import handover
from kedun.org.models import User


def _user(username: str) -> User:
    user = User.objects.filter(username__iexact=username).select_related("department").first()
    if user is None:
        raise CommandError(f"no user named {username}")
    return user


class Command(BaseCommand):
    help = "Departure handover: deactivate a user and move their customers to reps or the pool."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--to", action="append", metavar="USERNAME", help="repeatable")
        target.add_argument("--pool", action="store_true", help="release everything to the pool")
        parser.add_argument("--reason", default="")
        parser.add_argument("--list", action="store_true", help="also list every customer moved")

    def handle(self, *args: Any, **options: Any) -> None:
        leaver = _user(options["username"])
        recipients = [_user(name) for name in options["to"] or []]
        try:
            report = handover(actor=None, user=leaver, to=recipients, reason=options["reason"])
        except DomainError as error:
            raise CommandError(str(error.message)) from None
        if options["list"]:
            for code, name, to in report.moved:
                self.stdout.write(f"{code}\t{name}\t{to or 'pool'}")
        self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
