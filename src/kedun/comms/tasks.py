"""Mail jobs: the sync every few minutes (KEDUN_MAIL_SYNC_MINUTES), retention daily.

Safe on several workers: each mailbox is held by one sync at a time (a lease, comms/sync.py),
and a batch stores a message once whoever else is syncing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kedun.core import clock

from .services import mail_retention_purge
from .sync import mail_sync

log = logging.getLogger(__name__)
RETENTION_HOUR = 3


def _due(minute: int) -> bool:
    return minute % settings.KEDUN_MAIL_SYNC_MINUTES == 0


@db_periodic_task(crontab(minute="*"))
def mail_sync_periodic() -> None:
    if not _due(timezone.localtime(clock.now()).minute):
        return
    for report in mail_sync():
        if report.errors:
            log.warning("mail sync %s: %s", report.mailbox, report.errors)
        elif report.stored:
            log.info("mail sync %s: %s", report.mailbox, report.counts())


@db_periodic_task(crontab(minute="20"))
def mail_retention_daily() -> None:
    if timezone.localtime(clock.now()).hour == RETENTION_HOUR:
        removed = mail_retention_purge()
        if removed:
            log.info("mail retention removed %d messages", removed)
