"""Enqueueing background work: side effects run only once the writing transaction commits."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue `task(*args, **kwargs)` after the current transaction commits; never on rollback.

    A job that starts before its data is committed would read nothing (or the old row), and a
    rolled-back write must not leave an e-mail or notification behind.
    """
    transaction.on_commit(lambda: task(*args, **kwargs))
