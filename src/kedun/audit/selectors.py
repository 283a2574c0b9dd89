from __future__ import annotations

from django.db.models import QuerySet

from kedun.audit.models import AuditEvent
from kedun.core.errors import Forbidden
from kedun.org.models import Role


def audit_events_visible_to(
    *,
    viewer,
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    actor_id: int | None = None,
) -> QuerySet[AuditEvent]:
    """The audit trail is for the boss and the auditor (MISSION §8)."""
    if not viewer.has_role(Role.ADMIN, Role.AUDITOR):
        raise Forbidden()
    events = AuditEvent.objects.order_by("-seq")
    if action:
        events = events.filter(action=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if actor_id:
        events = events.filter(actor_id=actor_id)
    return events
