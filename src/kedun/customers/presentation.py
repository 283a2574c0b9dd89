"""A customer's contact data as a given viewer may see it (masked unless allowed)."""

from __future__ import annotations

from dataclasses import dataclass

from kedun.customers import contact_identity as contacts

from .models import Contact, Customer


@dataclass(frozen=True)
class ContactView:
    name: str
    title: str
    phone: str
    email: str
    wechat: str


@dataclass(frozen=True)
class CustomerContactData:
    masked: bool
    phone: str
    email: str
    website: str
    address: str
    contacts: list[ContactView]


def mask_phones(value: str) -> str:
    """Every number in a phone field masked (138****8000, …); an unreadable one fully."""
    numbers = contacts.normalize_phones(value)
    return (
        ", ".join(contacts.mask_phone(n) for n in numbers)
        if numbers
        else contacts.mask_text(value, keep=0)
    )


def _phones(value: str, masked: bool) -> str:
    return mask_phones(value) if masked and value else value


def _email(value: str, masked: bool) -> str:
    return contacts.mask_email(value) if masked and value else value


def contact_data(customer: Customer, *, masked: bool) -> CustomerContactData:
    people = [
        ContactView(
            name=contacts.mask_text(c.name, keep=1) if masked else c.name,
            title=c.title,
            phone=_phones(c.phone, masked),
            email=_email(c.email, masked),
            wechat=contacts.mask_text(c.wechat, keep=2) if masked and c.wechat else c.wechat,
        )
        for c in Contact.objects.filter(customer=customer).order_by("pk")
    ]
    return CustomerContactData(
        masked=masked,
        phone=_phones(customer.phone, masked),
        email=_email(customer.email, masked),
        # A company website is public information; it is shown as typed.
        website=customer.website,
        address=contacts.mask_text(customer.address, keep=0)
        if masked and customer.address
        else customer.address,
        contacts=people,
    )
