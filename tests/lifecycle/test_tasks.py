"""The scheduled lifecycle jobs act at their local hour (KEDUN_TIME_ZONE), not the server's:
the sweep at 02:00, the follow-up reminders at 08:00, once a day however often they run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kedun.core import clock
from kedun.customers.models import Customer
from kedun.lifecycle.tasks import follow_up_reminders_daily, pool_sweep_daily
from kedun.notifications.models import Notification

from .conftest import days

pytestmark = pytest.mark.django_db


def local(hour: int, minute: int = 5) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 6, 1, hour, minute))


def test_the_sweep_runs_at_two_in_the_morning_local_time_only(cast, owned):
    neglected = owned(cast.east_rep, since=local(2) - days(40))
    with clock.frozen_at(local(3)):
        pool_sweep_daily()  # immediate mode in tests: the real task body
    assert Customer.objects.get(pk=neglected.pk).owner == cast.east_rep
    with clock.frozen_at(local(2)):
        pool_sweep_daily()
    assert Customer.objects.get(pk=neglected.pk).owner is None


def test_follow_up_reminders_go_out_at_eight_once_a_day(cast, owned):
    due = owned(cast.east_rep, since=local(8) - days(2))
    Customer.objects.filter(pk=due.pk).update(next_follow_up_on=local(8).date())

    def reminders() -> int:
        return Notification.objects.filter(recipient=cast.east_rep, kind="follow_ups_due").count()

    with clock.frozen_at(local(7)):
        follow_up_reminders_daily()
    assert reminders() == 0
    with clock.frozen_at(local(8)):
        follow_up_reminders_daily()
        follow_up_reminders_daily()  # two workers, or a retry: still one reminder
    assert reminders() == 1
    with clock.frozen_at(local(8) + days(1)):
        follow_up_reminders_daily()
    assert reminders() == 2
