"""Changing a customer's contact data: its phone, email, website and address, and its
contact people's phones and emails.

Every change is kept as a ContactChange (who, when, from what, to what) besides the audit
event: contact data changed to the rep's own number or a private mailbox shortly before a
customer goes quiet is a trace of diversion (MISSION §9), and the insights read these rows.
The duplicate check is kept in step: the customer is found by its new number at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.errors import Invalid, NotFound
from kedun.org.models import User

from . import contact_identity as identity
from .identity_index import customer_identity_refresh
from .models import Contact, ContactChange, ContactField, Customer

CUSTOMER_FIELDS = {
    "phone": (ContactField.PHONE, 100),
    "email": (ContactField.EMAIL, 254),
    "website": (ContactField.WEBSITE, 200),
    "address": (ContactField.ADDRESS, 300),
}


def _works_the_account(actor: User, customer: Customer) -> bool:
    # Imported here: lifecycle's services import the customers app at module level.
    from kedun.lifecycle.services import works_the_account

    return works_the_account(actor, customer)


def _checked(field: str, value: str) -> str:
    value = " ".join(value.split())
    if not value:
        return ""
    if field in ("phone", "contact_phone") and not identity.normalize_phones(value):
        raise Invalid(
            _("“%(value)s” is not a phone number.") % {"value": value}, code="invalid_phone"
        )
    if field in ("email", "contact_email") and identity.normalize_email(value) is None:
        raise Invalid(
            _("“%(value)s” is not an email address.") % {"value": value}, code="invalid_email"
        )
    if field == "website" and identity.website_domain(value) is None:
        raise Invalid(_("“%(value)s” is not a website.") % {"value": value}, code="invalid_website")
    return value


def customer_contact_update(
    *, actor: User, customer: Customer, changes: dict[str, str]
) -> list[ContactChange]:
    """Change the customer's phone, email, website or address. Whoever works the account
    (owner, collaborator with write access, the owner's managers) may; others get NotFound,
    as for any customer they may not change. Returns the changes recorded (none if nothing
    changed)."""
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    if unknown:
        raise Invalid(_("Unknown field: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    for field, value in changes.items():
        limit = CUSTOMER_FIELDS[field][1]
        if len(value) > limit:
            raise Invalid(
                _("%(field)s has at most %(limit)d characters.") % {"field": field, "limit": limit}
            )
    cleaned = {field: _checked(field, value) for field, value in changes.items()}
    with transaction.atomic():
        locked = (
            Customer.objects.select_for_update(of=("self",))
            .filter(pk=customer.pk, merged_into__isnull=True)
            .first()
        )
        if locked is None or not _works_the_account(actor, locked):
            raise NotFound()
        now = clock.now()
        recorded = []
        for field, value in cleaned.items():
            old = getattr(locked, field)
            if old == value:
                continue
            recorded.append(
                ContactChange(
                    customer=locked,
                    field=CUSTOMER_FIELDS[field][0],
                    old_value=old,
                    new_value=value,
                    changed_by=actor,
                    changed_at=now,
                )
            )
            setattr(locked, field, value)
        if not recorded:
            return []
        locked.save(update_fields=[c.field for c in recorded])
        ContactChange.objects.bulk_create(recorded)
        customer_identity_refresh(locked)
        audit_record(
            actor=actor,
            action="customer.contact_changed",
            target=locked,
            changes={c.field: [c.old_value, c.new_value] for c in recorded},
        )
    for change in recorded:
        setattr(customer, change.field, change.new_value)
    return recorded


@dataclass(frozen=True)
class ContactPerson:
    name: str
    title: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""


def contact_person_save(
    *, actor: User, customer: Customer, person: ContactPerson, contact: Contact | None = None
) -> Contact:
    """Add a contact person to the customer, or change one; a new phone or email of a contact
    is a ContactChange like the customer's own."""
    name = " ".join(person.name.split())
    if not name:
        raise Invalid(_("A contact needs a name."))
    if len(name) > 100 or len(person.title) > 100 or len(person.wechat) > 100:
        raise Invalid(_("Name, title and WeChat have at most 100 characters."))
    phone = _checked("contact_phone", person.phone)[:40]
    email = _checked("contact_email", person.email)
    with transaction.atomic():
        locked = (
            Customer.objects.select_for_update(of=("self",))
            .filter(pk=customer.pk, merged_into__isnull=True)
            .first()
        )
        if locked is None or not _works_the_account(actor, locked):
            raise NotFound()
        now = clock.now()
        if contact is None:
            contact = Contact(customer=locked)
            before = {"phone": "", "email": ""}
        else:
            if contact.customer_id != locked.pk:
                raise NotFound()
            before = {"phone": contact.phone, "email": contact.email}
        contact.name, contact.title, contact.wechat = name, person.title.strip(), person.wechat
        contact.phone, contact.email = phone, email
        contact.save()
        recorded = [
            ContactChange(
                customer=locked,
                contact=contact,
                field=field,
                old_value=before[key],
                new_value=value,
                changed_by=actor,
                changed_at=now,
            )
            for key, field, value in (
                ("phone", ContactField.CONTACT_PHONE, phone),
                ("email", ContactField.CONTACT_EMAIL, email),
            )
            if value != before[key]
        ]
        ContactChange.objects.bulk_create(recorded)
        if recorded:
            customer_identity_refresh(locked)
        audit_record(
            actor=actor,
            action="customer.contact_person_saved",
            target=locked,
            changes={
                "contact": contact.pk,
                "name": name,
                **{c.field: [c.old_value, c.new_value] for c in recorded},
            },
        )
    return contact
