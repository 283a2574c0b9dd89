import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kedun.backup.services import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup into an empty database and an empty data dir; every checksum is "
        "checked first, then the audit chain is verified."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="an archive written by `kedun backup`")

    def handle(self, *args, **options):
        try:
            result = backup_restore(Path(options["file"]))
        except BackupError as error:
            raise CommandError(str(error)) from None
        from kedun.audit.chain import chain_verify

        verified = chain_verify()
        summary = result.as_dict() | {
            "audit_ok": verified.ok,
            "audit_events": verified.count,
        }
        if not verified.ok:
            self.stderr.write(
                _("restored, but the audit chain is broken at entry %(seq)s: %(reason)s")
                % {"seq": verified.broken_seq, "reason": verified.reason}
            )
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
        if not verified.ok:
            sys.exit(1)
