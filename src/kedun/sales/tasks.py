"""Scheduled sales jobs: entry points that call services and nothing else. Like the lifecycle
jobs they run hourly and act at a local hour (KEDUN_TIME_ZONE); each service is idempotent, so
a run repeated or missed changes nothing."""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kedun.core import clock

from .commission import commission_release_due
from .quotes import quotes_expire_due
from .receivables import overdue_reminders_send

log = logging.getLogger(__name__)
# Early, before people start work: expiries and releases are in place when reminders go out.
HOUSEKEEPING_HOUR = 3
REMINDER_HOUR = 8


@db_periodic_task(crontab(minute="15"))
def quotes_expire_daily() -> None:
    if timezone.localtime(clock.now()).hour != HOUSEKEEPING_HOUR:
        return
    log.info("quotes expired: %d", quotes_expire_due(clock.now()))


@db_periodic_task(crontab(minute="20"))
def commission_release_daily() -> None:
    if timezone.localtime(clock.now()).hour != HOUSEKEEPING_HOUR:
        return
    released = commission_release_due(now=clock.now())
    log.info("retained commission released: %d entries, %s", released.entries, released.amount)


@db_periodic_task(crontab(minute="25"))
def overdue_reminders_daily() -> None:
    if timezone.localtime(clock.now()).hour != REMINDER_HOUR:
        return
    log.info("overdue invoice reminders sent: %d", overdue_reminders_send(clock.now()))
