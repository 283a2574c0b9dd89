"""What `kedun import-history` has already written, line by line.

A line's digest is stored in the transaction that writes the line's records, so a rerun —
after a kill, or of the same file, or of a later export that repeats earlier lines — skips
exactly what is already in, and nothing is written twice (HISTORY-FORMAT.md).
"""

from __future__ import annotations

from django.db import models


class ImportedLine(models.Model):
    # BLAKE2b-128 of the line's canonical JSON (keys sorted), hex.
    digest = models.CharField(max_length=32, primary_key=True)
    kind = models.CharField(max_length=20)
    imported_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} {self.digest}"
