"""The nightly risk computation: at INSIGHTS_HOUR local time, everything up to the end of
yesterday — incremental on weekdays, a full re-read on Sundays (it also picks up records
entered late with old dates, which the incremental run's recent weeks cannot see)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kedun.core import clock

from .services import risk_compute

log = logging.getLogger(__name__)
INSIGHTS_HOUR = 3
FULL_ON_WEEKDAY = 6  # Sunday


@db_periodic_task(crontab(minute="20"))
def risk_nightly() -> None:
    now = timezone.localtime(clock.now())
    if now.hour != INSIGHTS_HOUR:
        return
    computed = risk_compute(
        as_of=now.date() - dt.timedelta(days=1), full=now.weekday() == FULL_ON_WEEKDAY
    )
    log.info(
        "risk computed as of %s (%s, %.1f s)",
        computed.run.as_of,
        computed.run.mode,
        computed.run.seconds,
    )
