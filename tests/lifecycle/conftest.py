"""Shared arrangements for the pool tests: a fixed moment, and customers owned since a given
time or lying in the pool since a given time (made directly; services are what is tested)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kedun.customers.models import Customer, Stage
from tests.factories import CustomerFactory

# A Monday morning in the company's time zone: far from midnight, so "today" is unambiguous.
T0 = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 0))
SECOND = dt.timedelta(seconds=1)


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


@pytest.fixture
def owned(cast):
    """owned(owner, since=…, grade=…, stage=…, last_follow_up=…, last_order=…, on_hold=…)"""

    def make(
        owner=None,
        *,
        since: dt.datetime = T0,
        grade: str = "",
        stage: str = Stage.CONTACTED,
        last_follow_up: dt.datetime | None = None,
        last_order: dt.datetime | None = None,
        on_hold: bool = False,
        **extra,
    ) -> Customer:
        owner = owner or cast.east_rep
        return CustomerFactory(
            owner=owner,
            registered_by=owner,
            registered_at=since,
            owned_since=since,
            grade=grade,
            stage=stage,
            last_follow_up_at=last_follow_up,
            last_order_at=last_order,
            on_hold=on_hold,
            **extra,
        )

    return make


@pytest.fixture
def in_pool(cast):
    """in_pool(since=…, department=…): a customer nobody owns, released at `since`."""

    def make(*, since: dt.datetime | None = None, department=None, **extra) -> Customer:
        since = since or T0 - days(2)
        return CustomerFactory(
            owner=None,
            registered_by=cast.east_mgr,
            registered_at=since - days(100),
            pool_entered_at=since,
            pool_department=department,
            **extra,
        )

    return make
