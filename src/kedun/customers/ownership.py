"""Every change of a customer's owner goes through here: the owner, the pool clock, an
ownership event and an audit event, in the caller's transaction (MISSION §4)."""

from __future__ import annotations

from django.db import connection

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.org.models import User

from .models import Customer, OwnershipEvent, OwnershipKind, TeamMember


def owner_change(
    *,
    customer: Customer,
    to: User | None,
    kind: OwnershipKind,
    actor: User | None,
    reason: str = "",
) -> OwnershipEvent:
    """Give `customer` (locked by the caller) to `to`, or to the pool when `to` is None."""
    if not connection.in_atomic_block:
        raise RuntimeError("owner_change must run inside the transaction of the change")
    now = clock.now()
    before = customer.owner
    event = OwnershipEvent.objects.create(
        customer=customer,
        kind=kind,
        from_owner=before,
        to_owner=to,
        actor=actor,
        reason=reason[:300],
        at=now,
    )
    customer.owner = to
    customer.release_warned_at = None
    if to is None:
        customer.owned_since = None
        customer.pool_entered_at = now
        customer.pool_department_id = before.department_id if before else None
        # A planned follow-up and a manager's hold belonged to the owner who let it go; the
        # next owner starts clean.
        customer.next_follow_up_on = None
        customer.on_hold = False
    else:
        customer.owned_since = now
        customer.pool_entered_at = None
        customer.pool_department = None
        # The new owner no longer needs a place on the account team.
        TeamMember.objects.filter(customer=customer, user=to).delete()
    customer.save(
        update_fields=[
            "owner",
            "owned_since",
            "pool_entered_at",
            "pool_department",
            "release_warned_at",
            "next_follow_up_on",
            "on_hold",
        ]
    )
    audit_record(
        actor=actor,
        action=f"customer.{kind.value}",
        target=customer,
        changes={"owner": [before.pk if before else None, to.pk if to else None], "reason": reason},
    )
    return event
