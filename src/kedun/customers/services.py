from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Conflict, Forbidden, Invalid
from kedun.customers.contact_identity import InvalidCreditCode
from kedun.lifecycle.holding import check_can_hold_more
from kedun.org.models import Role, User

from .disputes import dispute_open_for_possible
from .identity.keys import IdentityKeys, identity_keys
from .identity_index import identity_index_write
from .matching import DUPLICATE, duplicates_find
from .models import Contact, Customer, OwnershipEvent, OwnershipKind, customer_number


@dataclass(frozen=True)
class ContactInput:
    name: str
    title: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""


# Descriptive fields a registration may carry, with their column widths.
_DETAIL_LIMITS = {
    "industry": 100,
    "source": 100,
    "province": 50,
    "city": 50,
    "district": 50,
    "address": 300,
}


# Who may put a new customer in the registry (back-office roles handle orders, not leads).
REGISTERING_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)


class DuplicateFound(Conflict):
    """Registration refused: the company is already someone's customer."""

    code = "duplicate"

    def __init__(self, message: Any, *, matches: list[Match]):
        super().__init__(message, detail=None)
        self.matches = matches


class PossibleDuplicateFound(Conflict):
    """Registration needs a confirmation: the company may already be registered."""

    code = "possible"

    def __init__(self, message: Any, *, matches: list[Match]):
        super().__init__(message, detail=None)
        self.matches = matches


@dataclass(frozen=True)
class Match:
    """A candidate as anyone may see it: who owns it, never its contact data."""

    customer: Customer
    level: str
    score: int
    reasons: list[str]


def _registry_lock() -> None:
    """One registration at a time, so "first to register wins" holds for near-duplicates that
    no unique index can see (腾讯 / 腾迅). SQLite: the IMMEDIATE transaction already holds the
    write lock. PostgreSQL: an advisory lock taken under READ COMMITTED, so the duplicate check
    after the wait sees what the previous holder committed (IDENTITY-NOTES.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REGISTRY_LOCK_KEY])


_REGISTRY_LOCK_KEY = 0x4B4544554E5F5247  # "KEDUN_RG"


def matches_for(
    keys: IdentityKeys, *, limit: int = 5, exclude_ids: frozenset[int] = frozenset()
) -> list[Match]:
    candidates = duplicates_find(keys, limit=limit, exclude_ids=exclude_ids)
    customers = Customer.objects.select_related("owner", "owner__department").in_bulk(
        [c.customer_id for c in candidates]
    )
    return [
        Match(customers[c.customer_id], c.level, c.score, c.reasons)
        for c in candidates
        if c.customer_id in customers
    ]


def customer_register(
    *,
    actor: User,
    name: str,
    short_name: str = "",
    english_name: str = "",
    phone: str = "",
    email: str = "",
    website: str = "",
    tax_id: str = "",
    owner: User | None = None,
    contacts: list[ContactInput] | tuple[ContactInput, ...] = (),
    code: str = "",
    confirm_possible: bool = False,
    details: dict[str, str] | None = None,
) -> Customer:
    """Register a customer; the first to register a company owns it.

    A duplicate is refused naming its owner; a possible duplicate needs `confirm_possible`,
    and the confirmation is recorded against each possible match.
    """
    if not actor.has_role(*REGISTERING_ROLES):
        raise Forbidden()
    name = " ".join(name.split())
    if not name:
        raise Invalid(_("A customer needs a name."))
    if len(name) > 200:
        raise Invalid(_("A customer name has at most 200 characters."))
    owner = owner or actor
    if owner.pk != actor.pk and not actor.has_role(Role.ADMIN, Role.MANAGER):
        raise Forbidden(_("Only a manager can register a customer for someone else."))
    try:
        keys = identity_keys(
            name=name,
            short_name=short_name,
            english_name=english_name,
            phones=[phone, *(c.phone for c in contacts)],
            emails=[email, *(c.email for c in contacts)],
            websites=[website],
            tax_id=tax_id,
            strict=True,
        )
    except InvalidCreditCode as error:
        raise Invalid(error.message, code="invalid_tax_id") from None
    with transaction.atomic():
        _registry_lock()
        # The owner's row, locked: two registrations cannot both take the last place.
        owner = User.objects.select_for_update(of=("self",)).get(pk=owner.pk)
        check_can_hold_more(owner, who="register" if owner.pk == actor.pk else "other")
        matches = matches_for(keys)
        duplicates = [m for m in matches if m.level == DUPLICATE]
        if duplicates:
            first = duplicates[0].customer
            raise DuplicateFound(_duplicate_message(first), matches=matches)
        if matches and not confirm_possible:
            raise PossibleDuplicateFound(
                _("This company may already be registered; check the matches and confirm."),
                matches=matches,
            )
        now = clock.now()
        customer = Customer.objects.create(
            code=code or f"tmp-{uuid.uuid4().hex[:24]}",
            name=name,
            short_name=short_name.strip(),
            english_name=english_name.strip(),
            tax_id=keys.tax_id,
            phone=phone.strip(),
            email=email.strip(),
            website=website.strip(),
            owner=owner,
            registered_by=actor,
            registered_at=now,
            owned_since=now,
            **{
                field: str(value).strip()[: _DETAIL_LIMITS[field]]
                for field, value in (details or {}).items()
                if field in _DETAIL_LIMITS
            },
        )
        if not code:
            # Numbered from the id, so it is written after the insert (same transaction).
            customer.code = customer_number(customer.pk)
            customer.save(update_fields=["code"])
        for contact in contacts:
            Contact.objects.create(
                customer=customer,
                name=contact.name.strip(),
                title=contact.title.strip(),
                phone=contact.phone.strip(),
                email=contact.email.strip(),
                wechat=contact.wechat.strip(),
            )
        identity_index_write(customer, keys)
        OwnershipEvent.objects.create(
            customer=customer,
            kind=OwnershipKind.REGISTERED,
            to_owner=owner,
            actor=actor,
            at=now,
        )
        audit_record(
            actor=actor,
            action="customer.registered",
            target=customer,
            changes={
                "code": customer.code,
                "name": name,
                "owner": owner.pk,
                "contacts": len(contacts),
                "confirmed_possible": [m.customer.code for m in matches],
            },
        )
        for match in matches:
            # The confirmation is recorded, and the existing owner and their manager learn of
            # it through the dispute it opens (MISSION §2-§3).
            audit_record(
                actor=actor,
                action="customer.possible_duplicate_confirmed",
                target=match.customer,
                changes={
                    "new_customer": customer.code,
                    "score": match.score,
                    "reasons": match.reasons,
                },
            )
            dispute_open_for_possible(
                actor=actor, existing=match.customer, new=customer, evidence=match.reasons
            )
    return customer


def _duplicate_message(existing: Customer) -> str:
    owner = existing.owner
    if owner is None:
        return _(
            "Already registered as %(code)s %(name)s, now in the public pool (since %(date)s)."
        ) % {
            "code": existing.code,
            "name": existing.name,
            "date": existing.registered_at.date().isoformat(),
        }
    return _(
        "Already registered as %(code)s %(name)s by %(owner)s (%(department)s) on %(date)s."
    ) % {
        "code": existing.code,
        "name": existing.name,
        "owner": owner.display_name,
        "department": owner.department.name,
        "date": existing.registered_at.date().isoformat(),
    }
