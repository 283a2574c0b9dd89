"""The nightly backup: hourly, acting at KEDUN_BACKUP_HOUR local time (as the other daily jobs)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kedun.core import clock

from .services import backup_nightly

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="30"))
def backup_daily() -> None:
    if timezone.localtime(clock.now()).hour != settings.KEDUN_BACKUP_HOUR:
        return
    result = backup_nightly()
    if result is not None:
        log.info("nightly backup: %s", result.as_dict())
