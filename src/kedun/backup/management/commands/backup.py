import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kedun.backup.services import BackupError, backup_write


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite: online backup API; PostgreSQL: pg_dump) and the data "
        "dir's files and keys into one archive, while Kedun keeps running."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the archive to write (.tar, or .tar.gz to compress)")

    def handle(self, *args, **options):
        try:
            result = backup_write(Path(options["file"]))
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
