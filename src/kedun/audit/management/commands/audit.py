import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kedun.audit.chain import Checkpoint, CheckpointInvalid, chain_verify, checkpoint_parse
from kedun.audit.checkpoints import (
    CheckpointPlaceError,
    checkpoint_read,
    checkpoint_take,
    checkpoint_write,
)


class Command(BaseCommand):
    help = "Verify the audit chain, or write a signed checkpoint of its head."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check every entry; exit 1 on the first break")
        verify.add_argument(
            "--checkpoint",
            metavar="FILE|S3-URL",
            help="also check against a checkpoint (catches truncation/rewrite)",
        )
        checkpoint = sub.add_parser(
            "checkpoint", help="the chain head, signed, to keep outside the database"
        )
        checkpoint.add_argument(
            "--to",
            metavar="FILE|DIR/|S3-URL",
            help="write it there (a directory or s3://bucket/prefix/ gets a dated name) "
            "instead of printing it",
        )

    def handle(self, *args, **options):
        if options["action"] == "checkpoint":
            signed = checkpoint_take()
            if not options["to"]:
                self.stdout.write(signed.to_json())
                return
            try:
                where = checkpoint_write(signed, options["to"])
            except CheckpointPlaceError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                _("checkpoint at entry %(seq)s written to %(place)s")
                % {"seq": signed.seq, "place": where}
            )
            return
        checkpoint: Checkpoint | None = None
        if options["checkpoint"]:
            source = options["checkpoint"]
            try:
                text = checkpoint_read(source)
            except CheckpointPlaceError as error:
                raise CommandError(str(error)) from None
            try:
                checkpoint = checkpoint_parse(text.strip())
            except CheckpointInvalid as error:
                raise CommandError(f"{source}: {error}") from None
        started = time.monotonic()
        result = chain_verify(checkpoint=checkpoint)
        elapsed = time.monotonic() - started
        if result.ok:
            against = f"; matches checkpoint at entry {checkpoint.seq}" if checkpoint else ""
            self.stdout.write(
                f"OK: {result.count} events verified in {elapsed:.1f} s; head entry "
                f"{result.head_seq} {result.head_hash}{against}"
            )
            return
        self.stdout.write(
            f"BROKEN at entry {result.broken_seq}: {result.reason}. "
            f"{result.count} entries before it verified."
        )
        sys.exit(1)
