"""Writing to the audit trail. Every service calls audit_record inside its own transaction."""

from __future__ import annotations

from typing import Any

from django.db import connection, models

from kedun.audit.chain import canonical_json, chain_head, event_hash_of, keying_record
from kedun.audit.models import GENESIS_HASH, AccessEvent, AuditChainKeying, AuditEvent
from kedun.core import clock
from kedun.core.request_context import client_ip

# Any fixed 64-bit number: the key of the advisory lock that serialises appends on PostgreSQL.
_CHAIN_LOCK_KEY = 0x4B4544554E5F4155  # "KEDUN_AU"


class AuditOutsideTransaction(RuntimeError):
    pass


def _lock_chain() -> None:
    """Make appends one at a time, so that concurrent writers never fork the chain.

    SQLite: our transactions BEGIN IMMEDIATE, so the writer already holds the database's write
    lock. PostgreSQL: a transaction-scoped advisory lock, taken under READ COMMITTED, so the head
    read after the wait sees the event the previous holder committed.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    changes: dict[str, Any] | None = None,
    ip: str | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the transaction of the write it records."""
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction(
            f"audit_record({action!r}) must run inside the transaction of the write it records"
        )
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or target.pk
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    label = actor_label or (actor.get_username() if actor is not None else "system")
    changes_text = canonical_json(changes or {})
    address = ip if ip is not None else (client_ip.get() or "")

    _lock_chain()
    head_seq, head_hash = chain_head()
    if head_seq == 0 and not AuditChainKeying.objects.exists():
        # A new chain (a database created before migration 0004 recorded its marker, or
        # emptied since) is keyed from its first entry. Only an empty chain gets a marker here:
        # re-recording one under a non-empty chain would let whoever deleted the old marker
        # pass keyed entries off as plain ones.
        keying_record(first_keyed_seq=1, prev_hash=GENESIS_HASH)
    event = AuditEvent(
        seq=head_seq + 1,
        occurred_at=clock.now(),
        actor_id=actor_id,
        actor_label=label[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=changes_text,
        ip=address,
        prev_hash=head_hash,
    )
    event.hash = event_hash_of(event)
    # force_insert: a primary-key clash must fail, never turn into an UPDATE.
    event.save(force_insert=True)
    return event


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{"field": [before, after]} for the fields whose value changed."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(instance, name)) for name in fields}


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    return value


def access_record(
    *,
    user: Any,
    kind: str,
    customer: models.Model | None = None,
    rows: int = 0,
    subject: str = "",
    ip: str | None = None,
) -> None:
    """Note that someone looked at or took data (a customer opened, contacts revealed, an
    export, a download). One row, outside the hash chain: reads are too many to chain, and a
    lost row here hides no change to the data."""
    AccessEvent.objects.create(
        user_id=user.pk,
        kind=kind,
        customer_id=customer.pk if customer is not None else None,
        rows=rows,
        subject=subject[:200],
        at=clock.now(),
        ip=ip if ip is not None else (client_ip.get() or ""),
    )
