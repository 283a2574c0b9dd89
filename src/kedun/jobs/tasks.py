"""Job entry points: they call services and nothing else."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

from kedun.core import clock
from kedun.core.db import planner_statistics_refresh

from .services import heartbeat_record


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    heartbeat_record()


# Hourly, acting at 04:00 local time (huey's schedule is UTC), as the other daily jobs do.
STATISTICS_HOUR = 4


@db_periodic_task(crontab(minute="40"))
def planner_statistics_daily() -> None:
    if timezone.localtime(clock.now()).hour == STATISTICS_HOUR:
        planner_statistics_refresh()


@HUEY.on_startup()
def heartbeat_at_start() -> None:
    # The home page should show a live worker at once, not after the first full minute.
    from django.db import close_old_connections

    heartbeat_record()
    close_old_connections()
