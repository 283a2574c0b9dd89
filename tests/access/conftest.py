from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import translation

from kedun.core import clock

from .calling import fingerprint
from .world import T0, build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, built once for the module inside a transaction rolled back at its end."""
    with django_db_blocker.unblock(), clock.frozen_at(T0), translation.override("en"):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            world = build_world()
            world.before = fingerprint()  # every call is rolled back: the world stays as this
            yield world
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
