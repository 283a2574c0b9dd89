"""Job entry points: they call services and nothing else."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

from .services import heartbeat_record


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    heartbeat_record()


@HUEY.on_startup()
def heartbeat_at_start() -> None:
    # The home page should show a live worker at once, not after the first full minute.
    from django.db import close_old_connections

    heartbeat_record()
    close_old_connections()
