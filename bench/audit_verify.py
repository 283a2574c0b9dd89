"""Benchmark: verifying the audit chain of a million events.

Target (issue: foundation): `kedun audit verify` checks 1,000,000 events in under a minute.
Compares Kedun's verification (values_list streamed in chunks) with the naive approach
(iterating model instances) in the same run. The events are generated first (not timed as
part of verification; the load time is reported too).

    python bench/audit_verify.py [--events 1000000]          # SQLite in a fresh data dir
    KEDUN_DATABASE_URL=postgres://… python bench/audit_verify.py  # PostgreSQL (emptied first)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("KEDUN_DATA_DIR", tempfile.mkdtemp(prefix="kedun-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from kedun.audit import triggers
    from kedun.audit.chain import (
        canonical_json,
        chain_verify,
        event_hash,
        keying_record,
        verify_rows,
    )
    from kedun.audit.models import GENESIS_HASH, AuditEvent

    call_command("migrate", verbosity=0)
    with transaction.atomic(), triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {triggers.TABLE}")
        cursor.execute(f"DELETE FROM {triggers.KEYING_TABLE}")
    with transaction.atomic():
        keying_record(first_keyed_seq=1, prev_hash=GENESIS_HASH)  # every event keyed (HMAC)

    started = time.perf_counter()
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    prev = GENESIS_HASH
    batch: list[AuditEvent] = []
    for seq in range(1, args.events + 1):
        changes = canonical_json({"stage": ["lead", "contacted"], "n": seq})
        occurred_at = moment + dt.timedelta(milliseconds=37 * seq)
        digest = event_hash(
            seq=seq,
            occurred_at=occurred_at,
            actor_id=seq % 50,
            actor_label=f"rep{seq % 50}",
            action="customer.updated",
            object_type="customers.customer",
            object_id=str(seq % 9973),
            changes=changes,
            ip="10.0.0.8",
            prev_hash=prev,
        )
        batch.append(
            AuditEvent(
                seq=seq,
                occurred_at=occurred_at,
                actor_id=seq % 50,
                actor_label=f"rep{seq % 50}",
                action="customer.updated",
                object_type="customers.customer",
                object_id=str(seq % 9973),
                changes=changes,
                ip="10.0.0.8",
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
        if len(batch) == 10_000:
            with transaction.atomic():
                AuditEvent.objects.bulk_create(batch)
            batch = []
    if batch:
        with transaction.atomic():
            AuditEvent.objects.bulk_create(batch)
    load_seconds = time.perf_counter() - started

    started = time.perf_counter()
    result = chain_verify()
    kedun_seconds = time.perf_counter() - started
    assert result.ok and result.count == args.events, result

    naive_seconds = None
    if not args.skip_naive:
        started = time.perf_counter()
        naive_rows = (
            (
                e.seq,
                e.occurred_at,
                e.actor_id,
                e.actor_label,
                e.action,
                e.object_type,
                e.object_id,
                e.changes,
                e.ip,
                e.prev_hash,
                e.hash,
            )
            for e in AuditEvent.objects.order_by("seq")  # every row as a model instance
        )
        assert verify_rows(naive_rows).ok
        naive_seconds = time.perf_counter() - started

    report = {
        "engine": connection.vendor,
        "events": args.events,
        "load_seconds": round(load_seconds, 1),
        "kedun_verify_seconds": round(kedun_seconds, 1),
        "naive_verify_seconds": round(naive_seconds, 1) if naive_seconds else None,
        "target_seconds": 60,
        "within_target": kedun_seconds < 60,
    }
    print(json.dumps(report))
    return 0 if report["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
