"""Reads of exports: one's own, those awaiting a manager, and the canary lookup."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from kedun.core.errors import Forbidden
from kedun.org.models import Role, User
from kedun.org.selectors import subordinate_ids

from .models import Canary, ExportRequest, ExportStatus
from .services import canary_key


def exports_of(*, viewer: User) -> QuerySet[ExportRequest]:
    return (
        ExportRequest.objects.filter(requester=viewer)
        .select_related("decided_by")
        .order_by("-created_at", "-pk")
    )


def exports_awaiting(*, viewer: User) -> QuerySet[ExportRequest]:
    """Pending exports the viewer may decide: asked by someone under them, never their own."""
    pending = (
        ExportRequest.objects.filter(status=ExportStatus.PENDING)
        .exclude(requester=viewer)
        .select_related("requester", "requester__department")
        .order_by("created_at", "pk")
    )
    if not viewer.is_active:
        return pending.none()
    if viewer.role == Role.ADMIN:
        return pending
    if viewer.role != Role.MANAGER:
        return pending.none()
    return pending.filter(requester_id__in=subordinate_ids(manager=viewer))


CANARY_READERS = (Role.ADMIN, Role.AUDITOR)


def canary_find(*, value: str) -> Canary | None:
    """The canary a value (phone, email, customer number or name) belongs to."""
    keys = canary_key(value)
    if not value.strip():
        return None
    match = Q(name=keys["name"]) | Q(code=keys["code"])
    if "email" in keys:
        match |= Q(email=keys["email"])
    if "phone" in keys:
        match |= Q(phone=keys["phone"])
    return (
        Canary.objects.filter(match)
        .select_related("export", "export__requester", "export__decided_by")
        .first()
    )


def canary_find_for(*, viewer: User, value: str) -> Canary | None:
    """For the boss and the auditor only: whose export a leaked value came from."""
    if not viewer.has_role(*CANARY_READERS):
        raise Forbidden()
    return canary_find(value=value)
