"""Scheduled audit jobs: ship a signed checkpoint of the chain's head out of the database."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kedun.core import clock

from .checkpoints import checkpoint_ship

log = logging.getLogger(__name__)


# Hourly; ships every KEDUN_AUDIT_CHECKPOINT_HOURS hours of the local clock (1: every hour,
# 24: at midnight), so the schedule reads the same on every worker.
@db_periodic_task(crontab(minute="50"))
def audit_checkpoint_periodic() -> None:
    every = settings.KEDUN_AUDIT_CHECKPOINT_HOURS
    if not every or timezone.localtime(clock.now()).hour % every:
        return
    where = checkpoint_ship()
    if where:
        log.info("audit checkpoint written to %s", where)
