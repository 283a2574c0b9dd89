"""kedun insights risk [--as-of DATE] [--json] [--full]"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kedun.core import clock
from kedun.insights.selectors import risk_json
from kedun.insights.services import risk_compute


class Command(BaseCommand):
    help = "Diversion insights: `risk` ranks the salespeople by the traces diversion leaves."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        risk = sub.add_parser("risk", help="compute and print the risk ranking")
        risk.add_argument(
            "--as-of",
            default="",
            help="use everything up to the end of this local date (YYYY-MM-DD; default: today)",
        )
        risk.add_argument("--json", action="store_true", help="print one JSON object")
        risk.add_argument(
            "--full", action="store_true", help="re-read all activity, not only recent weeks"
        )

    def handle(self, *args, **options):
        as_of = timezone.localdate(clock.now())
        if options["as_of"]:
            try:
                as_of = dt.date.fromisoformat(options["as_of"])
            except ValueError:
                raise CommandError(
                    f"--as-of: {options['as_of']!r} is not a date (e.g. 2026-09-30)"
                ) from None
        computed = risk_compute(as_of=as_of, full=options["full"])
        report = risk_json(run=computed.run)
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(
            f"as of {report['as_of']} ({computed.run.mode}, {computed.run.seconds} s)"
        )
        for rank, rep in enumerate(report["reps"], start=1):
            if rep["score"] <= 0:
                continue
            self.stdout.write(f"{rank:3d}. {rep['username']:<16} {rep['score']:8.2f}")
            for signal in rep["signals"]:
                customers = ", ".join(signal["customers"][:8])
                more = len(signal["customers"]) - 8
                tail = f" (+{more})" if more > 0 else ""
                self.stdout.write(f"       {signal['kind']}: {customers}{tail}")
        quiet = sum(1 for rep in report["reps"] if rep["score"] <= 0)
        self.stdout.write(f"{quiet} more salespeople with no agreeing evidence")
