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

from kedun.audit.models import AccessEvent, AccessKind
from kedun.audit.services import access_record, audit_record
from kedun.budgets.models import BudgetKind
from kedun.budgets.services import budget_spend
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
        # Refused past the day's reveal budget (BudgetExceeded), with nothing recorded.
        budget_spend(user=viewer, kind=BudgetKind.REVEAL)
        audit_record(
            actor=viewer,
            action="customer.contacts_revealed",
            target=customer,
            changes={"owner": customer.owner_id},
        )
        access_record(user=viewer, kind=AccessKind.REVEAL, customer=customer)
    return True


def customer_open_counted(*, viewer: User, customer: Customer) -> None:
    """Opening someone else's customer spends one from the viewer's daily budget (MISSION §8),
    once per customer per day: going back to the same customer after logging a follow-up
    costs nothing. Raises BudgetExceeded past the budget — before the page shows anything."""
    if customer.owner_id == viewer.pk:
        return
    start = timezone.localtime(clock.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    # access_user_idx (user, at): a scan of the viewer's own openings today.
    if AccessEvent.objects.filter(
        user=viewer, at__gte=start, kind=AccessKind.VIEW, customer=customer
    ).exists():
        return
    budget_spend(user=viewer, kind=BudgetKind.VIEW)
