"""Reads of the lifecycle: my customers with their countdowns, the pool, today's follow-ups,
the ownership history, the account team, and key customers that hang on one person."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from kedun.core import clock
from kedun.customers.access import active_team_q
from kedun.customers.models import Customer, FollowUp, OwnershipEvent, TeamMember
from kedun.org.models import Role, User
from kedun.org.selectors import scope_filter_by_owner_ids, subordinate_ids

from .rules import Deadline, RuleBook, release_deadline
from .services import CLAIMING_ROLES, pool_visible


@dataclass(frozen=True)
class Countdown:
    deadline: Deadline | None
    days_left: int | None  # whole days until release; 0 = today; None = not scheduled
    warn_days: int = 3  # the owner's policy: the sweep warns this many days before

    @property
    def urgent(self) -> bool:
        return self.days_left is not None and self.days_left <= self.warn_days


def countdown(
    customer: Customer, *, now: dt.datetime | None = None, book: RuleBook | None = None
) -> Countdown:
    now = now or clock.now()
    book = book or RuleBook.load()
    deadline = release_deadline(customer, now=now, book=book)
    if deadline is None:
        return Countdown(None, None)
    seconds_left = (deadline.at - now).total_seconds()
    warn_days = book.policy(customer.owner.department_id if customer.owner else None).warn_days
    # "Released in 5 days" while 4 days and a few hours remain: round up, as people count.
    return Countdown(deadline, max(0, math.ceil(seconds_left / 86400)), warn_days)


def my_customers(*, viewer: User, search: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.filter(owner=viewer, merged_into__isnull=True).select_related(
        "owner", "owner__department"
    )
    if search.strip():
        customers = customers.filter(name__icontains=search.strip())
    # Due follow-ups first; customers without a planned one last (on both engines).
    return customers.order_by(F("next_follow_up_on").asc(nulls_last=True), "-pk")


def with_countdowns(
    customers: list[Customer], *, now: dt.datetime | None = None
) -> list[tuple[Customer, Countdown]]:
    book = RuleBook.load()
    now = now or clock.now()
    return [(c, countdown(c, now=now, book=book)) for c in customers]


def pool_list(
    *, viewer: User, search: str = "", department_id: int | None = None
) -> QuerySet[Customer]:
    customers = (
        Customer.objects.filter(owner__isnull=True, merged_into__isnull=True)
        .filter(pool_visible(viewer=viewer))
        .select_related("pool_department")
        .order_by("-pool_entered_at", "-pk")
    )
    if search.strip():
        customers = customers.filter(name__icontains=search.strip())
    if department_id:
        customers = customers.filter(pool_department_id=department_id)
    return customers


def follow_ups_due(*, viewer: User, on: dt.date | None = None) -> QuerySet[Customer]:
    """Customers the viewer owns or helps on whose next follow-up is due (today or overdue)."""
    on = on or timezone.localdate(clock.now())
    teams = TeamMember.objects.filter(user=viewer).filter(active_team_q(today=on))
    return (
        Customer.objects.filter(merged_into__isnull=True, next_follow_up_on__lte=on)
        .filter(Q(owner=viewer) | Q(pk__in=teams.values("customer_id")))
        .select_related("owner")
        .order_by("next_follow_up_on", "pk")
    )


def follow_up_list(*, customer: Customer) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(customer=customer)
        .select_related("author")
        .order_by("-happened_at", "-pk")
    )


def ownership_history(*, customer: Customer) -> QuerySet[OwnershipEvent]:
    return (
        OwnershipEvent.objects.filter(customer=customer)
        .select_related("from_owner", "to_owner", "actor")
        .order_by("-at", "-pk")
    )


def team_of(*, customer: Customer, include_expired: bool = False) -> QuerySet[TeamMember]:
    team = TeamMember.objects.filter(customer=customer).select_related("user", "user__department")
    if not include_expired:
        team = team.filter(active_team_q())
    return team.order_by("added_at")


def key_customers_single_threaded(*, viewer: User, grade: str = "A") -> QuerySet[Customer]:
    """Key customers only one person in the company knows: the owner and no active
    collaborator (MISSION §3 — at least two people should know an A-grade customer)."""
    today = timezone.localdate(clock.now())
    helping = TeamMember.objects.filter(active_team_q(today=today), customer=OuterRef("pk"))
    return (
        Customer.objects.filter(
            # The scope's people by id, and "no active collaborator" as NOT EXISTS rather than
            # a count grouped by customer (issue 13): the department's path through a join and
            # the GROUP BY made SQLite read every customer for the page's count.
            scope_filter_by_owner_ids(viewer=viewer, owner_field="owner"),
            ~Exists(helping),
            grade=grade,
            owner__isnull=False,
            merged_into__isnull=True,
        )
        .select_related("owner", "owner__department")
        .order_by("owner__username", "name")
    )


def reps_managed_by(*, actor: User) -> QuerySet[User]:
    """The active people who can own customers and whom `actor` manages (services.manages, as a
    query): the choices when a manager assigns, transfers or hands over customers."""
    reps = User.objects.filter(is_active=True, role__in=CLAIMING_ROLES).select_related("department")
    if actor.role == Role.ADMIN:
        return reps.order_by("department__path", "username")
    if actor.role != Role.MANAGER or not actor.is_active:
        return reps.none()
    managed = Q(pk=actor.pk) | Q(pk__in=subordinate_ids(manager=actor))
    if actor.data_scope in ("department_tree", "all"):
        managed |= Q(department__path__startswith=actor.department.path)
    return reps.filter(managed).order_by("department__path", "username")
