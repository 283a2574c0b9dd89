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


class ImportRun(models.Model):
    """One run of `kedun import-history`, updated with each batch it commits: how much came
    in and the span of time its events cover. The nightly insights run reads the span — an
    import of old events means the weekly activity must be re-read in full, one of recent
    events does not."""

    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    file = models.CharField(max_length=500)
    lines = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    earliest_event_at = models.DateTimeField(null=True, blank=True)
    latest_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["updated_at"], name="history_import_run_idx")]

    def __str__(self) -> str:
        return f"{self.file} @ {self.started_at:%Y-%m-%d %H:%M}"
