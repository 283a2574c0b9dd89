from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per job worker (host:pid), touched every minute by a periodic job."""

    worker = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.worker
