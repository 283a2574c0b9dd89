"""Scheduled lifecycle jobs. They run hourly and act at the configured local hour, so "02:00"
means 02:00 in the company's time zone (KEDUN_TIME_ZONE), whatever the server's clock zone."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kedun.core import clock

from .reminders import follow_up_reminders_send
from .sweep import pool_sweep

log = logging.getLogger(__name__)
REMINDER_HOUR = 8


@db_periodic_task(crontab(minute="5"))
def pool_sweep_daily() -> None:
    if timezone.localtime(clock.now()).hour != settings.KEDUN_POOL_SWEEP_HOUR:
        return
    result = pool_sweep()
    log.info("pool sweep: %s", result.as_json())


@db_periodic_task(crontab(minute="10"))
def follow_up_reminders_daily() -> None:
    if timezone.localtime(clock.now()).hour != REMINDER_HOUR:
        return
    sent = follow_up_reminders_send()
    log.info("follow-up reminders sent: %d", sent)
