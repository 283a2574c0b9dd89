"""Segregation of duties (分段经营, MISSION §5): which role may take which step, checked on the
server for pages and API alike.

The admin may regrant steps (DutyGrant rows replace a step's defaults), within two rules that
hold whatever the configuration: a salesperson's role is never given a collecting step, and
on any one order the person who sold it (its owner, whoever created it or its quote) never
records its invoice or payment.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kedun.audit.services import audit_record
from kedun.core.errors import Forbidden, Invalid
from kedun.org.models import Role, User

from .models import DutyGrant, Order


class Step(models.TextChoices):
    CATALOGUE = "catalogue", gettext_lazy("Maintain products and prices")
    QUOTE = "quote", gettext_lazy("Write quotes")
    APPROVE = "approve", gettext_lazy("Approve quotes")
    ORDER = "order", gettext_lazy("Create orders")
    PRODUCTION = "production", gettext_lazy("Start production")
    SHIP = "ship", gettext_lazy("Record shipments and deliveries")
    DOCUMENTS = "documents", gettext_lazy("Handle contracts and documents")
    INVOICE = "invoice", gettext_lazy("Record invoices")
    PAYMENT = "payment", gettext_lazy("Record payments")


DEFAULT_GRANTS: dict[str, frozenset[str]] = {
    Step.CATALOGUE: frozenset({Role.ADMIN}),
    Step.QUOTE: frozenset({Role.SALES, Role.MANAGER}),
    Step.APPROVE: frozenset({Role.MANAGER, Role.ADMIN}),
    Step.ORDER: frozenset({Role.SALES, Role.MANAGER}),
    Step.PRODUCTION: frozenset({Role.ORDERS}),
    Step.SHIP: frozenset({Role.LOGISTICS}),
    Step.DOCUMENTS: frozenset({Role.ORDERS}),
    Step.INVOICE: frozenset({Role.FINANCE}),
    Step.PAYMENT: frozenset({Role.FINANCE}),
}
COLLECTING_STEPS = frozenset({Step.INVOICE, Step.PAYMENT})


def roles_for(step: str) -> frozenset[str]:
    granted = frozenset(DutyGrant.objects.filter(step=step).values_list("role", flat=True))
    return granted or DEFAULT_GRANTS[step]


def may(user: User, step: str) -> bool:
    return user.is_active and user.role in roles_for(step)


def require(user: User, step: str) -> None:
    if not may(user, step):
        raise Forbidden(
            _("Your role may not do this: %(step)s.") % {"step": Step(step).label},
            code="duty",
        )


def sellers_of(order: Order) -> set[int]:
    """Everyone who sold this order: its owner, whoever created it, and its quote's people."""
    people = {order.owner_id, order.created_by_id}
    if order.quote_id is not None and order.quote is not None:
        people |= {order.quote.owner_id, order.quote.created_by_id}
    return people


def require_collector(user: User, order: Order, step: str) -> None:
    """For invoices and payments: the role may, and the person did not sell this order."""
    require(user, step)
    if user.pk in sellers_of(order):
        raise Forbidden(
            _("You sold this order, so you cannot record its invoices or payments."),
            code="sold_and_collects",
        )


def duties_set(*, actor: User, step: str, roles: set[str]) -> None:
    """The admin regrants a step (an empty set restores the defaults)."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden()
    if step not in Step.values:
        raise Invalid(_("Unknown step."))
    unknown = roles - set(Role.values)
    if unknown:
        raise Invalid(_("Unknown role: %(role)s.") % {"role": ", ".join(sorted(unknown))})
    if step in COLLECTING_STEPS and Role.SALES in roles:
        raise Invalid(
            _("Salespeople can never record invoices or payments: that is the road to 飞单."),
            code="sales_cannot_collect",
        )
    with transaction.atomic():
        before = sorted(roles_for(step))
        DutyGrant.objects.filter(step=step).delete()
        DutyGrant.objects.bulk_create(DutyGrant(step=step, role=role) for role in sorted(roles))
        audit_record(
            actor=actor,
            action="sales.duties_set",
            object_type="sales.duty",
            object_id=step,
            changes={"roles": [before, sorted(roles_for(step))]},
        )


def duties_matrix_set(*, actor: User, grants: Mapping[str, Set[str]]) -> list[str]:
    """The admin's whole matrix at once (the duties page): each step whose roles changed is
    regranted, and one refusal keeps every step as it was. An empty step means its defaults.
    Returns the steps changed."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden()
    unknown = set(grants) - set(Step.values)
    if unknown:
        raise Invalid(_("Unknown step."))
    changed = [
        step
        for step in Step.values
        if step in grants and (set(grants[step]) or DEFAULT_GRANTS[step]) != roles_for(step)
    ]
    with transaction.atomic():
        for step in changed:
            duties_set(actor=actor, step=step, roles=set(grants[step]))
    return changed
