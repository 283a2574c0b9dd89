"""Database helpers shared by the apps' bulk writers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def bulk_write_mode() -> Iterator[None]:
    """SQLite: no automatic WAL checkpoint between the batches of one bulk write (an import,
    the pool sweep). At a million customers each batch dirties thousands of index pages, and
    checkpointing after every commit wrote the same pages again and again (import 1,086 →
    1,886 rows/s; the sweep's commits took a third of its time); one checkpoint at the end
    writes them once."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=1000")
            if not connection.in_atomic_block:  # a checkpoint cannot run inside a transaction
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def planner_statistics_refresh() -> None:
    """Refresh the statistics the query planner chooses indexes by (ANALYZE). SQLite gathers
    none on its own: without them it met the report indexes added by a migration blind and
    read a million rows through the wrong one (bench/sales_reports.py: wins and losses
    199 → 766 ms). SQLite samples at most 1,000 rows per index, so this takes seconds at a
    million customers; PostgreSQL's autovacuum analyses too, this only makes it prompt.
    Run after every migration and daily (jobs.tasks)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
        cursor.execute("ANALYZE")
