"""Visits on a customer's timeline, and visits following a merge of two customer records:
registered with the customers app in FieldConfig.ready(), which never imports this one."""

from __future__ import annotations

from kedun.customers.models import Customer
from kedun.customers.selectors import TimelineEntry
from kedun.org.models import User

from .models import CheckIn
from .presentation import Reasons, distance_text, remarks_of, time_spent
from .selectors import customer_check_ins

# The timeline shows the latest visits; a rep's day and the API have them all.
SHOWN = 100


def check_in_entries(customer: Customer, viewer: User | None) -> list[TimelineEntry]:
    """The customer's visits the viewer may see: a rep their own, a manager their reps'."""
    check_ins = list(customer_check_ins(viewer=viewer, customer=customer)[:SHOWN])
    reasons = Reasons(flag for check_in in check_ins for flag in check_in.flags.all())
    entries = []
    for check_in in check_ins:
        spent = time_spent(check_in)
        entries.append(
            TimelineEntry(
                at=check_in.captured_at,
                kind="check_in",
                who=check_in.rep.display_name,
                text=check_in.note,
                template="field/_timeline_check_in.html",
                item={
                    "check_in": check_in,
                    "flags": [(flag, reasons.of(flag)) for flag in check_in.flags.all()],
                    "remarks": remarks_of(check_in),
                    "spent": spent,
                    "minutes": round(spent.total_seconds() / 60) if spent else None,
                    "distance": distance_text(check_in.distance_m)
                    if check_in.distance_m is not None
                    else "",
                },
            )
        )
    return entries


def check_ins_move(merged: Customer, survivor: Customer) -> dict[str, int]:
    """Two records of one company merged: the visits go with everything else."""
    return {"check_ins": CheckIn.objects.filter(customer=merged).update(customer=survivor)}
