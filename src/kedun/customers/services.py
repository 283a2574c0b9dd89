from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid
from kedun.org.models import Role, User

from .models import Contact, Customer


@dataclass(frozen=True)
class ContactInput:
    name: str
    title: str = ""
    phone: str = ""
    email: str = ""


# Who may put a new customer in the registry (back-office roles handle orders, not leads).
REGISTERING_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES)


def customer_register(
    *,
    actor: User,
    name: str,
    short_name: str = "",
    owner: User | None = None,
    contacts: list[ContactInput] | tuple[ContactInput, ...] = (),
    code: str = "",
) -> Customer:
    """Register a customer; the registering user owns it unless a manager names an owner."""
    if not actor.has_role(*REGISTERING_ROLES):
        raise Forbidden()
    name = name.strip()
    if not name:
        raise Invalid(_("A customer needs a name."))
    owner = owner or actor
    if owner.pk != actor.pk and not actor.has_role(Role.ADMIN, Role.MANAGER):
        raise Forbidden(_("Only a manager can register a customer for someone else."))
    with transaction.atomic():
        customer = Customer.objects.create(
            code=code or f"tmp-{uuid.uuid4().hex[:24]}",
            name=name,
            short_name=short_name.strip(),
            owner=owner,
            registered_by=actor,
            registered_at=clock.now(),
        )
        if not code:
            # The number people quote on the phone: short, and stable once given.
            customer.code = f"C{customer.pk:06d}"
            customer.save(update_fields=["code"])
        for contact in contacts:
            Contact.objects.create(
                customer=customer,
                name=contact.name.strip(),
                title=contact.title.strip(),
                phone=contact.phone.strip(),
                email=contact.email.strip(),
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
            },
        )
    return customer
