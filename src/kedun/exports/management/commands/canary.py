import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kedun.exports.selectors import canary_find


class Command(BaseCommand):
    help = "Tell whose export a canary value (phone, email, customer number, name) came from."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        find = sub.add_parser("find", help="look a value up; exit 1 when it is no canary")
        find.add_argument("value")

    def handle(self, *args, **options):
        canary = canary_find(value=options["value"])
        if canary is None:
            raise CommandError(f"{options['value']!r} is not a canary of any export")
        export = canary.export
        requester = export.requester
        self.stdout.write(
            json.dumps(
                {
                    "export": export.pk,
                    "kind": export.kind,
                    "format": export.format,
                    "rows": export.rows,
                    "exported_by": requester.username,
                    "exported_by_name": requester.display_name,
                    "asked_at": timezone.localtime(export.created_at).isoformat(),
                    "generated_at": timezone.localtime(export.generated_at).isoformat()
                    if export.generated_at
                    else None,
                    "approved_by": export.decided_by.username if export.decided_by else None,
                    "canary": {
                        "code": canary.code,
                        "name": canary.name,
                        "phone": canary.phone,
                        "email": canary.email,
                    },
                },
                ensure_ascii=False,
            )
        )
