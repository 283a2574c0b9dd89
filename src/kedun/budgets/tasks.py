"""Job entry points: they call services and nothing else."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kedun.core import clock

from .services import leaver_views_report


# Hourly, acting at KEDUN_LEAVER_REPORT_HOUR local time (huey's schedule is UTC), as the other
# daily jobs do; a missed morning is caught up by the next run (reported_through).
@db_periodic_task(crontab(minute="15"))
def leaver_views_daily() -> None:
    now = timezone.localtime(clock.now())
    if now.hour == settings.KEDUN_LEAVER_REPORT_HOUR:
        leaver_views_report(day=now.date() - dt.timedelta(days=1))
