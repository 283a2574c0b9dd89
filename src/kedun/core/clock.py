"""The one source of "now" in Kedun.

Every rule that depends on time (pool release, throttling, reminders) asks this module, so that
tests and commands such as `kedun pool-sweep --now …` can travel in time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    if _frozen is not None:
        return _frozen
    return timezone.now()


@contextlib.contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Make now() answer `moment` inside the block (aware datetimes only)."""
    global _frozen
    if timezone.is_naive(moment):
        raise ValueError("clock.frozen_at needs an aware datetime")
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
