import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kedun.audit.chain import (
    Checkpoint,
    CheckpointInvalid,
    chain_head,
    chain_verify,
    checkpoint_parse,
    checkpoint_sign,
)
from kedun.core import clock


class Command(BaseCommand):
    help = "Verify the audit chain, or print a signed checkpoint of its head."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check every entry; exit 1 on the first break")
        verify.add_argument(
            "--checkpoint",
            metavar="FILE",
            help="also check against a checkpoint (catches truncation/rewrite)",
        )
        sub.add_parser("checkpoint", help="print the chain head, signed, to keep elsewhere")

    def handle(self, *args, **options):
        if options["action"] == "checkpoint":
            seq, head_hash = chain_head()
            signed = checkpoint_sign(
                seq=seq, hash=head_hash, created_at=clock.now().isoformat(timespec="seconds")
            )
            self.stdout.write(signed.to_json())
            return
        checkpoint: Checkpoint | None = None
        if options["checkpoint"]:
            path = Path(options["checkpoint"])
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as error:
                raise CommandError(f"cannot read {path}: {error.strerror}") from None
            try:
                checkpoint = checkpoint_parse(text.strip())
            except CheckpointInvalid as error:
                raise CommandError(f"{path}: {error}") from None
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
