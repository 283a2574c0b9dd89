"""The holding limit (保有量, MISSION §4): how many customers one rep may own. Checked on
every way a customer reaches a person — a claim, an assignment, a registration, a handover —
with the rep's row locked by the caller so two of them cannot both take the last place."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from kedun.core.errors import Conflict
from kedun.customers.models import Customer
from kedun.org.models import User

from .rules import DEAL_STAGES, Policy, RuleBook


def held_count(user: User, policy: Policy) -> int:
    held = Customer.objects.filter(owner=user, merged_into__isnull=True)
    if policy.exclude_won_from_limit:
        held = held.exclude(stage__in=DEAL_STAGES)
    return held.count()


def check_can_hold_more(
    user: User, policy: Policy | None = None, *, who: str, more: int = 1
) -> None:
    """Refuse when `user` would hold more than the limit with `more` customers added. `who`:
    "claim" or "register" when the user asks for themself (the message speaks to them),
    "other" when someone gives them customers."""
    policy = policy or RuleBook.load().policy(user.department_id)
    held = held_count(user, policy)
    if held + more <= policy.max_held:
        return
    if who == "claim":
        message = _("You hold %(held)d of %(limit)d customers: release one before claiming.")
    elif who == "register":
        message = _(
            "You hold %(held)d of %(limit)d customers: release one before registering another."
        )
    elif more > 1:
        message = _("%(name)s holds %(held)d of %(limit)d customers and cannot take %(more)d more.")
    else:
        message = _("%(name)s holds %(held)d of %(limit)d customers.")
    raise Conflict(
        message % {"held": held, "limit": policy.max_held, "name": user.display_name, "more": more},
        code="holding_limit",
    )


def counted_against_limit(customers: Sequence[Customer], policy: Policy) -> int:
    """How many of these customers count towards a holding (won ones may not)."""
    if not policy.exclude_won_from_limit:
        return len(customers)
    return sum(1 for customer in customers if customer.stage not in DEAL_STAGES)
