from __future__ import annotations

import datetime as dt
import os
import socket

from kedun.core import clock

from .models import WorkerHeartbeat

_STARTED_AT = clock.now()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_record() -> WorkerHeartbeat:
    # Not an audit event: a minute-by-minute liveness mark is bookkeeping, not a business write,
    # and would add half a million entries a year to the chain.
    beat, _created = WorkerHeartbeat.objects.update_or_create(
        worker=worker_name(), defaults={"seen_at": clock.now(), "started_at": _STARTED_AT}
    )
    return beat


def worker_status(*, stale_after: dt.timedelta = dt.timedelta(minutes=3)) -> dict[str, object]:
    latest = WorkerHeartbeat.objects.order_by("-seen_at").first()
    if latest is None:
        return {"alive": False, "seen_at": None, "worker": None}
    return {
        "alive": clock.now() - latest.seen_at <= stale_after,
        "seen_at": latest.seen_at,
        "worker": latest.worker,
    }
