"""kedun import-history FILE — a company's past (JSON lines, or .gz) moved into Kedun."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kedun.history.importer import BATCH_LINES, Report, history_import
from kedun.history.reading import HistoryFile


class Command(BaseCommand):
    help = (
        "Import a company's history (JSON lines, optionally gzipped; HISTORY-FORMAT.md). "
        "Idempotent and resumable: lines already imported are skipped. Bad lines are reported "
        "with their number and reason; the last line printed is a JSON summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--batch", type=int, default=BATCH_LINES, help="lines per transaction")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        history = HistoryFile(path)
        progress = _progress_bar if sys.stderr.isatty() else None
        # A truncated or damaged .gz, a file that went away: said in one line; what the
        # batches before committed stays, and a rerun of the whole file goes on from there.
        try:
            report = history_import(history, batch_lines=options["batch"], progress=progress)
        except (OSError, EOFError, zlib.error) as error:
            raise CommandError(f"{path}: {error}") from None
        finally:
            history.close()
        if progress:
            sys.stderr.write("\n")
        for number, reason in report.bad[:100]:
            self.stdout.write(f"line {number}: {reason}")
        if len(report.bad) > 100:
            self.stdout.write(f"… and {len(report.bad) - 100} more bad lines")
        for username, events in sorted(report.placeholders.items()):
            self.stdout.write(
                f"user {username!r} is not declared in the file: {events} events kept under "
                "an inactive placeholder user of that name"
            )
        self.stdout.write(json.dumps(report.summary(), ensure_ascii=False))


def _progress_bar(report: Report, history: HistoryFile) -> None:
    done = history.position() / history.size if history.size else 1.0
    width = 30
    bar = "#" * int(done * width)
    rate = f"{report.lines / report.seconds:,.0f} lines/s" if report.seconds else ""
    sys.stderr.write(f"\r[{bar:<{width}}] {done:4.0%}  {report.lines:,} lines  {rate}   ")
    sys.stderr.flush()
