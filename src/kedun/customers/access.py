"""Who may see a customer's contact data (phones, emails, contacts' names, address detail).

MISSION §1/§3: the owner and collaborators see it; the owner's managers (and the boss) may
reveal it, and every reveal is an audit event; everyone else sees it masked — on every surface.
"""

from __future__ import annotations

import datetime
import enum

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kedun.audit.models import AccessKind
from kedun.audit.services import access_record, audit_record
from kedun.core import clock
from kedun.org.models import DataScope, Role, User
from kedun.org.selectors import subordinate_ids

from .models import Customer, TeamMember


class ContactAccess(enum.Enum):
    FULL = "full"  # owner (and, with the account team, collaborators)
    REVEALABLE = "revealable"  # manages the owner: masked until an audited reveal
    MASKED = "masked"


def active_team_q(*, today: datetime.date | None = None) -> Q:
    """Team places still in force (an expired grant disappears by itself)."""
    today = today or timezone.localdate(clock.now())
    return Q(until__isnull=True) | Q(until__gte=today)


def is_collaborator(*, viewer: User, customer: Customer) -> bool:
    return TeamMember.objects.filter(active_team_q(), customer=customer, user=viewer).exists()


def contact_access(*, viewer: User, customer: Customer) -> ContactAccess:
    if not viewer.is_active:
        return ContactAccess.MASKED
    if customer.owner_id is not None and customer.owner_id == viewer.pk:
        return ContactAccess.FULL
    if is_collaborator(viewer=viewer, customer=customer):
        return ContactAccess.FULL
    if viewer.role == Role.ADMIN:
        return ContactAccess.REVEALABLE
    owner = customer.owner
    if owner is None or viewer.role != Role.MANAGER:
        return ContactAccess.MASKED
    if owner.pk in subordinate_ids(manager=viewer):
        return ContactAccess.REVEALABLE
    if viewer.data_scope == DataScope.DEPARTMENT_TREE and owner.department.path.startswith(
        viewer.department.path
    ):
        return ContactAccess.REVEALABLE
    if viewer.data_scope == DataScope.DEPARTMENT and owner.department_id == viewer.department_id:
        return ContactAccess.REVEALABLE
    return ContactAccess.MASKED


def contacts_reveal(*, viewer: User, customer: Customer) -> bool:
    """Unmask for a manager, recording the reveal. False when the viewer may not reveal."""
    access = contact_access(viewer=viewer, customer=customer)
    if access == ContactAccess.FULL:
        return True
    if access != ContactAccess.REVEALABLE:
        return False
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action="customer.contacts_revealed",
            target=customer,
            changes={"owner": customer.owner_id},
        )
        access_record(user=viewer, kind=AccessKind.REVEAL, customer=customer)
    return True
