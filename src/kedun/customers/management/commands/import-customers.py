"""kedun import-customers FILE [--owner USERNAME] [--coord-system wgs84|gcj02|bd09]"""

from __future__ import annotations

import json
import time
import zoneinfo
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kedun.customers.import_files import ImportFileError, read_customer_file
from kedun.customers.importing import customers_import, report_lines
from kedun.org.models import User


class Command(BaseCommand):
    help = (
        "Import customers from CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX. Duplicates are "
        "skipped and reported, possible duplicates imported and flagged, invalid rows "
        "reported with their line; the same file imported twice adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--owner", default="", help="owner of rows whose owner column is empty")
        parser.add_argument(
            "--coord-system",
            default="wgs84",
            choices=["wgs84", "gcj02", "bd09"],
            help="the lat/lng columns' system when a row has no coord_system column: wgs84 "
            "(GPS), gcj02 (AMap/高德, Tencent/腾讯) or bd09 (Baidu/百度); stored as WGS-84",
        )

    def handle(self, *args, **options):
        owner = None
        if options["owner"]:
            owner = User.objects.filter(username__iexact=options["owner"], is_active=True).first()
            if owner is None:
                raise CommandError(f"no active user named {options['owner']!r} (--owner)")
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        started = time.monotonic()
        try:
            rows, errors = read_customer_file(
                path,
                tz=zoneinfo.ZoneInfo(settings.TIME_ZONE),
                coord_system=options["coord_system"],
            )
        except ImportFileError as error:
            raise CommandError(f"{path}: {error.message}") from None
        report = customers_import(actor=None, rows=rows, row_errors=errors, default_owner=owner)
        seconds = time.monotonic() - started
        for line in report_lines(report):
            self.stdout.write(line)
        summary: dict[str, object] = dict(report.summary())
        summary["seconds"] = round(seconds, 2)
        summary["rows_per_second"] = round(report.rows / seconds) if seconds else None
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
