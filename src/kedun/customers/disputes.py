"""Collisions (撞单) and merges: disputes opened by a confirmed possible duplicate or by a rep
asking for an owned customer; the manager resolves — keep, transfer or merge — with a reason,
and both reps are told."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid, NotFound
from kedun.notifications.services import notify
from kedun.org.models import Role, User
from kedun.org.selectors import users_in_scope_of
from kedun.sales.deals import open_deals_move

from .models import (
    CollaborationNote,
    Contact,
    Customer,
    CustomerDomain,
    CustomerName,
    CustomerNameGram,
    CustomerPhone,
    Dispute,
    DisputeKind,
    DisputeStatus,
    FollowUp,
    Need,
    OwnershipEvent,
    OwnershipKind,
    Resolution,
    TeamMember,
)
from .ownership import owner_change

ARBITERS = (Role.ADMIN, Role.MANAGER)


def _managers_of(*users: User | None) -> list[User | None]:
    return [user.manager for user in users if user is not None]


def dispute_open_for_possible(
    *, actor: User, existing: Customer, new: Customer, evidence: list[str]
) -> Dispute:
    """Called inside the registration's transaction when a possible is confirmed."""
    dispute = Dispute.objects.create(
        kind=DisputeKind.POSSIBLE_CONFIRMED,
        customer=existing,
        other_customer=new,
        claimant=actor,
        owner_at_opening=existing.owner,
        evidence="；".join(evidence),
        opened_at=clock.now(),
    )
    title = _("%(who)s registered %(new)s, which may be your customer %(name)s") % {
        "who": actor.display_name,
        "new": new.name,
        "name": existing.name,
    }
    notify(
        recipients=[existing.owner, *_managers_of(existing.owner, actor)],
        kind="dispute_opened",
        title=title,
        body=dispute.evidence,
        url=reverse("dispute-detail", args=[dispute.pk]),
    )
    audit_record(
        actor=actor,
        action="dispute.opened",
        target=dispute,
        changes={"kind": dispute.kind, "customer": existing.pk, "other": new.pk},
    )
    return dispute


def dispute_request_ownership(*, actor: User, customer: Customer, reason: str) -> Dispute:
    reason = reason.strip()
    if len(reason) < 5:
        raise Invalid(_("Say why the customer should be yours (at least 5 characters)."))
    if customer.owner_id == actor.pk:
        raise Invalid(_("You already own this customer."))
    if not actor.has_role(Role.SALES, Role.MANAGER):
        raise Forbidden()
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                kind=DisputeKind.OWNERSHIP_REQUEST,
                customer=customer,
                claimant=actor,
                owner_at_opening=customer.owner,
                reason=reason,
                opened_at=clock.now(),
            )
            title = _("%(who)s asks for your customer %(name)s") % {
                "who": actor.display_name,
                "name": customer.name,
            }
            notify(
                recipients=[customer.owner, *_managers_of(customer.owner, actor)],
                kind="dispute_opened",
                title=title,
                body=reason,
                url=reverse("dispute-detail", args=[dispute.pk]),
            )
            audit_record(
                actor=actor,
                action="dispute.opened",
                target=dispute,
                changes={"kind": dispute.kind, "customer": customer.pk, "reason": reason},
            )
    except IntegrityError:
        raise Conflict(
            _("You have already asked for this customer; the manager will decide.")
        ) from None
    return dispute


def disputes_for_arbiter(*, viewer: User, status: str = DisputeStatus.OPEN) -> QuerySet[Dispute]:
    """The queue: disputes whose owner or claimant is in the manager's scope."""
    if not viewer.has_role(*ARBITERS):
        raise Forbidden()
    disputes = Dispute.objects.select_related(
        "customer", "customer__owner", "claimant", "other_customer", "owner_at_opening"
    ).order_by("opened_at")
    if status:
        disputes = disputes.filter(status=status)
    if viewer.role != Role.ADMIN:
        people = users_in_scope_of(viewer=viewer).values("pk")
        disputes = disputes.filter(Q(claimant__in=people) | Q(owner_at_opening__in=people))
    return disputes


def dispute_get_for_viewer(*, viewer: User, dispute_id: int) -> Dispute:
    """Arbiters see their queue's cases; the two reps see their own."""
    dispute = (
        Dispute.objects.select_related("customer", "claimant", "other_customer")
        .filter(pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise NotFound()
    if viewer.pk in (dispute.claimant_id, dispute.owner_at_opening_id):
        return dispute
    if (
        viewer.has_role(*ARBITERS)
        and disputes_for_arbiter(viewer=viewer, status="").filter(pk=dispute.pk).exists()
    ):
        return dispute
    raise NotFound()


def dispute_resolve(*, actor: User, dispute: Dispute, resolution: str, reason: str) -> Dispute:
    if not actor.has_role(*ARBITERS):
        raise Forbidden()
    if actor.pk in (dispute.claimant_id, dispute.owner_at_opening_id):
        raise Forbidden(_("Nobody arbitrates a dispute they are part of."))
    reason = reason.strip()
    if len(reason) < 5:
        raise Invalid(_("Give the reason for the decision (at least 5 characters)."))
    if resolution not in Resolution.values:
        raise Invalid(_("Unknown decision."))
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if dispute.status != DisputeStatus.OPEN:
            raise Conflict(_("This dispute has already been resolved."))
        customer = dispute.customer
        if resolution == Resolution.TRANSFER:
            customer_transfer(actor=actor, customer=customer, to=dispute.claimant, reason=reason)
        elif resolution == Resolution.MERGE:
            if dispute.other_customer is None:
                raise Invalid(_("There is only one record: transfer or keep it."))
            customer_merge(
                actor=actor, survivor=customer, merged=dispute.other_customer, reason=reason
            )
        dispute.status = DisputeStatus.RESOLVED
        dispute.resolution = resolution
        dispute.resolution_reason = reason
        dispute.resolved_by = actor
        dispute.resolved_at = clock.now()
        dispute.save(
            update_fields=[
                "status",
                "resolution",
                "resolution_reason",
                "resolved_by",
                "resolved_at",
            ]
        )
        title = _("Dispute over %(name)s decided: %(decision)s") % {
            "name": customer.name,
            "decision": Resolution(resolution).label,
        }
        notify(
            recipients=[dispute.claimant, dispute.owner_at_opening],
            kind="dispute_resolved",
            title=title,
            body=reason,
            url=reverse("dispute-detail", args=[dispute.pk]),
        )
        audit_record(
            actor=actor,
            action="dispute.resolved",
            target=dispute,
            changes={"resolution": resolution, "reason": reason, "customer": customer.pk},
        )
    return dispute


def customer_transfer(*, actor: User, customer: Customer, to: User, reason: str) -> Customer:
    if not actor.has_role(*ARBITERS):
        raise Forbidden()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        previous = customer.owner
        owner_change(
            customer=customer, to=to, kind=OwnershipKind.TRANSFERRED, actor=actor, reason=reason
        )
        if previous is not None:
            # The open deals go with the customer, as on any transfer (sales.deals).
            open_deals_move(customer_ids=[customer.pk], from_user=previous, to=to, actor=actor)
    return customer


# Other apps move what they attach to a customer when two records merge (field: the visits),
# without this app importing them: each mover, registered in its AppConfig.ready(), runs inside
# the merge's transaction as mover(merged, survivor) and returns {what: rows moved}.
MERGE_MOVERS: list[Callable[[Customer, Customer], dict[str, int]]] = []


def customer_merge(*, actor: User, survivor: Customer, merged: Customer, reason: str) -> Customer:
    """Two records of one company become one: everything attached moves to the survivor; the
    merged record stays, pointing to it, and its names keep finding the survivor."""
    if not actor.has_role(*ARBITERS):
        raise Forbidden()
    if survivor.pk == merged.pk:
        raise Invalid(_("A customer cannot be merged into itself."))
    with transaction.atomic():
        # Locked in id order: two merges of the same pair cannot deadlock.
        locked = {
            c.pk: c
            for c in Customer.objects.select_for_update()
            .filter(pk__in=sorted([survivor.pk, merged.pk]))
            .order_by("pk")
        }
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        if merged.merged_into_id or survivor.merged_into_id:
            raise Conflict(_("One of these records has already been merged."))
        moved = {
            "contacts": Contact.objects.filter(customer=merged).update(customer=survivor),
            "needs": Need.objects.filter(customer=merged).update(customer=survivor),
            "notes": CollaborationNote.objects.filter(customer=merged).update(customer=survivor),
            "follow_ups": FollowUp.objects.filter(customer=merged).update(customer=survivor),
            # The account team comes along, except people already on the survivor's team
            # (and its owner).
            "team": TeamMember.objects.filter(customer=merged)
            .exclude(user__in=TeamMember.objects.filter(customer=survivor).values("user"))
            .exclude(user=survivor.owner)
            .update(customer=survivor),
        }
        TeamMember.objects.filter(customer=merged).delete()
        for mover in MERGE_MOVERS:
            moved.update(mover(merged, survivor))
        if survivor.lat is None and merged.lat is not None:  # where the company is, if known
            survivor.lat, survivor.lng = merged.lat, merged.lng
            survivor.location_source, survivor.located_at = (
                merged.location_source,
                merged.located_at,
            )
            survivor.save(update_fields=["lat", "lng", "location_source", "located_at"])
        for model in (CustomerName, CustomerNameGram, CustomerPhone, CustomerDomain):
            model.objects.filter(customer=merged).update(customer=survivor)
        Dispute.objects.filter(other_customer=merged, status=DisputeStatus.OPEN).exclude(
            customer=survivor
        ).update(other_customer=survivor)
        if not survivor.tax_id and merged.tax_id:
            tax_id, merged.tax_id = merged.tax_id, ""
            merged.save(update_fields=["tax_id"])
            survivor.tax_id = tax_id
            survivor.save(update_fields=["tax_id"])
        before_owner = merged.owner_id
        if merged.owner_id is not None:
            OwnershipEvent.objects.create(
                customer=merged,
                kind=OwnershipKind.MERGED,
                from_owner_id=merged.owner_id,
                to_owner_id=survivor.owner_id,
                actor=actor,
                reason=f"→ {survivor.code}: {reason}"[:300],
                at=clock.now(),
            )
        merged.merged_into = survivor
        merged.owner = None
        merged.owned_since = None
        merged.save(update_fields=["merged_into", "owner", "owned_since"])
        audit_record(
            actor=actor,
            action="customer.merged",
            target=merged,
            changes={
                "merged_into": survivor.pk,
                "owner": [before_owner, None],
                "moved": moved,
                "reason": reason,
            },
        )
        audit_record(
            actor=actor,
            action="customer.merge_survivor",
            target=survivor,
            changes={"absorbed": merged.pk, "code": merged.code},
        )
    return survivor
