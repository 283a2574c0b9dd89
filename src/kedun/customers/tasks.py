"""Job entry points of the registry: they call services and nothing else."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from .identity_index import registry_vacuum_now


@db_task()
def registry_vacuum() -> None:
    registry_vacuum_now()
