"""Departure handover (离职交接, MISSION §4): a leaving rep is deactivated and everything they
held moves, in one transaction, to the chosen reps (in turn) or to the pool, with a report."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.budgets.services import leaver_handed_over
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid
from kedun.customers.access import active_team_q
from kedun.customers.models import Customer, Need, NeedStatus, OwnershipKind, TeamMember
from kedun.customers.ownership import owner_change
from kedun.notifications.services import notify
from kedun.org.models import Role, User
from kedun.org.services import user_revoke_access
from kedun.sales.deals import open_deals_move

from .holding import check_can_hold_more, counted_against_limit
from .rules import RuleBook
from .services import CLAIMING_ROLES, manages


@dataclass
class HandoverReport:
    user: str
    to: list[str]  # usernames; empty: the pool
    customers: int = 0
    open_needs: int = 0
    follow_ups_due: int = 0
    team_places_ended: int = 0
    # Open deals follow the customers to a person (sales.deals); with the pool they stay.
    quotes_moved: int = 0
    orders_moved: int = 0
    quotes_kept: list[int] = field(default_factory=list)  # approved by their new owner
    by_recipient: dict[str, int] = field(default_factory=dict)  # "" is the pool
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # code, name, to

    def as_json(self) -> dict[str, object]:
        return {
            "user": self.user,
            "to": self.to or "pool",
            "customers": self.customers,
            "open_needs": self.open_needs,
            "follow_ups_due": self.follow_ups_due,
            "team_places_ended": self.team_places_ended,
            "quotes_moved": self.quotes_moved,
            "orders_moved": self.orders_moved,
            "quotes_kept": self.quotes_kept,
            "by_recipient": self.by_recipient,
        }


def handover(
    *, actor: User | None, user: User, to: list[User] | None, reason: str = ""
) -> HandoverReport:
    """Deactivate `user` and move their customers to `to` (round robin) or, when `to` is
    empty or None, to the pool. `actor` None is the command line."""
    recipients = list(to or [])
    if actor is not None and not (
        actor.role == Role.ADMIN or (actor.role == Role.MANAGER and manages(actor, user))
    ):
        raise Forbidden(_("Only the boss or the leaver's manager can hand over their customers."))
    if any(r.pk == user.pk for r in recipients):
        raise Invalid(_("The customers cannot be handed over to the person who is leaving."))
    for recipient in recipients:
        if not recipient.is_active or not recipient.has_role(*CLAIMING_ROLES):
            raise Invalid(_("%(name)s cannot own customers.") % {"name": recipient.display_name})
        if actor is not None and not manages(actor, recipient):
            raise Forbidden(
                _("You can hand over only to people you manage: %(name)s.")
                % {"name": recipient.display_name}
            )
    reason = reason.strip() or _("departure of %(name)s") % {"name": user.display_name}
    report = HandoverReport(user=user.username, to=[r.username for r in recipients])
    with transaction.atomic():
        # Access first: the leaver's sessions and token stop working in this same commit.
        user_revoke_access(actor=actor, user=user)
        leaver_handed_over(actor=actor, user=user)  # leaver mode ends with the handover
        # The recipients' rows before the customers, as a claim locks them: their holdings
        # cannot change under the limit check below.
        list(
            User.objects.select_for_update(of=("self",))
            .filter(pk__in=[r.pk for r in recipients])
            .order_by("pk")
        )
        customers = list(
            Customer.objects.select_for_update(of=("self",))
            .select_related("owner")
            .filter(owner=user, merged_into__isnull=True)
            .order_by("pk")
        )
        today = timezone.localdate(clock.now())
        report.customers = len(customers)
        report.open_needs = Need.objects.filter(
            customer__in=[c.pk for c in customers], status=NeedStatus.OPEN
        ).count()
        report.follow_ups_due = sum(1 for c in customers if c.next_follow_up_on is not None)
        # Round robin: the n-th customer goes to the (n mod k)-th receiver; checked against
        # each receiver's holding limit before anything moves.
        shares = [customers[turn :: len(recipients)] for turn in range(len(recipients))]
        rules = RuleBook.load()
        for recipient, share in zip(recipients, shares, strict=True):
            policy = rules.policy(recipient.department_id)
            check_can_hold_more(
                recipient, policy, who="other", more=counted_against_limit(share, policy)
            )
        receiver_of = {
            customer.pk: recipient
            for recipient, share in zip(recipients, shares, strict=True)
            for customer in share
        }
        for customer in customers:
            receiver = receiver_of.get(customer.pk)  # None: the pool
            owner_change(
                customer=customer,
                to=receiver,
                kind=OwnershipKind.HANDED_OVER,
                actor=actor,
                reason=reason,
            )
            key = receiver.username if receiver else ""
            report.by_recipient[key] = report.by_recipient.get(key, 0) + 1
            report.moved.append((customer.code, customer.name, key))
        for recipient, share in zip(recipients, shares, strict=True):
            deals = open_deals_move(
                customer_ids=[customer.pk for customer in share],
                from_user=user,
                to=recipient,
                actor=actor,
            )
            report.quotes_moved += len(deals.quotes)
            report.orders_moved += len(deals.orders)
            report.quotes_kept += deals.quotes_kept
        ended = TeamMember.objects.filter(active_team_q(today=today), user=user)
        report.team_places_ended = ended.count()
        ended.delete()
        audit_record(
            actor=actor,
            action="user.handed_over",
            target=user,
            changes={**report.as_json(), "reason": reason},
        )
        for recipient in recipients:
            count = report.by_recipient.get(recipient.username, 0)
            if count:
                notify(
                    recipients=[recipient],
                    kind="handover_received",
                    title=_("%(count)d customers of %(name)s are now yours")
                    % {"count": count, "name": user.display_name},
                    body=reason,
                    url=reverse("my-customers"),
                )
    return report
