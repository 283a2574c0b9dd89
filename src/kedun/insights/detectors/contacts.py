"""Contact data redirected: a customer's phone or email changed, by the rep, to a number or an
address that belongs to the rep, to a colleague, to another customer, to a private mailbox —
or to nobody Kedun knows (weak alone: people change jobs; it counts when the business goes
quiet after it)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from kedun.customers.contact_identity import (
    email_domain,
    is_free_mail_domain,
    normalize_email,
    normalize_phones,
)
from kedun.customers.models import Contact, ContactChange, ContactField, Customer, CustomerPhone

from ..data import AnalysisData, customers_info_load
from ..models import Family
from . import Found

STRENGTH = {
    "rep_own": 1.0,  # the rep's own phone or address
    "employee": 0.8,  # a colleague's
    "other_customer": 0.8,  # another customer's
    "company_to_private": 0.6,  # the company's address replaced by a free-mail one
    "private": 0.45,  # a free-mail address
    "unknown_domain": 0.3,
    "unknown_phone": 0.15,
}
PHONE_FIELDS = (ContactField.PHONE, ContactField.CONTACT_PHONE)
EMAIL_FIELDS = (ContactField.EMAIL, ContactField.CONTACT_EMAIL)


def redirect_findings(data: AnalysisData) -> list[Found]:
    start = timezone.make_aware(dt.datetime.combine(data.first_week, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(data.as_of + dt.timedelta(days=1), dt.time()))
    changes = list(
        ContactChange.objects.filter(
            changed_at__gte=start, changed_at__lt=end, changed_by_id__in=list(data.reps)
        )
        .order_by("changed_at", "pk")
        .values_list(
            "pk", "customer_id", "field", "old_value", "new_value", "changed_by_id", "changed_at"
        )
    )
    if not changes:
        return []
    owners = _Owners(data, changes)
    by_pair: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for pk, customer_id, field, old, new, rep_id, at in changes:
        verdict = owners.classify(field, old, new, rep_id=rep_id, customer_id=customer_id)
        if verdict is None:
            continue
        kind, who = verdict
        by_pair[(rep_id, customer_id)].append(
            {
                "id": pk,
                "on": at.astimezone(timezone.get_default_timezone()).date().isoformat(),
                "field": field,
                "old": old,
                "new": new,
                "verdict": kind,
                "belongs_to": who,
            }
        )
    found = []
    for (rep_id, customer_id), items in by_pair.items():
        strengths = sorted((STRENGTH[i["verdict"]] for i in items), reverse=True)
        strength = min(
            1.0, strengths[0] + (0.1 if len(strengths) > 1 and strengths[1] >= 0.45 else 0)
        )
        first = dt.date.fromisoformat(items[0]["on"])
        found.append(
            Found(
                kind="contact_redirected",
                family=Family.REDIRECT,
                rep_id=rep_id,
                customer_id=customer_id,
                start=first,
                end=data.as_of,
                strength=round(strength, 3),
                facts={"changes": items},
            )
        )
    return found


class _Owners:
    """Who a phone number or an address belongs to: the rep, a colleague, another customer."""

    def __init__(self, data: AnalysisData, changes: list[tuple]):
        self.data = data
        self.rep_phones = {p: rep.id for rep in data.reps.values() for p in rep.phones}
        self.rep_emails = {e: rep.id for rep in data.reps.values() for e in rep.emails}
        phones: set[str] = set()
        emails: set[str] = set()
        for _pk, _c, field, _old, new, _r, _at in changes:
            if field in PHONE_FIELDS:
                phones |= set(normalize_phones(new))
            elif field in EMAIL_FIELDS and (address := normalize_email(new)):
                emails.add(address)
        self.customer_phones: dict[str, set[int]] = defaultdict(set)
        for customer_id, number in CustomerPhone.objects.filter(number__in=phones).values_list(
            "customer_id", "number"
        ):
            self.customer_phones[number].add(customer_id)
        self.customer_emails: dict[str, set[int]] = defaultdict(set)
        for customer_id, email in Customer.objects.filter(email__in=emails).values_list(
            "pk", "email"
        ):
            self.customer_emails[email.lower()].add(customer_id)
        for customer_id, email in Contact.objects.filter(email__in=emails).values_list(
            "customer_id", "email"
        ):
            self.customer_emails[email.lower()].add(customer_id)
        # A value the rep put on this customer and another change then put on a second one
        # is "another customer's" too — the registry only knows the current values.
        self.set_on: dict[str, set[int]] = defaultdict(set)
        for _pk, customer_id, field, _old, new, _r, _at in changes:
            for value in _values(field, new):
                self.set_on[value].add(customer_id)
        # Customers with no dealings in the window are not in the run's data, but a change
        # can still name them (their switchboard) or touch them (a dormant customer's email):
        # their codes and own domains are needed all the same.
        involved = {c for _pk, c, *_rest in changes}
        for owners in (self.customer_phones, self.customer_emails, self.set_on):
            for ids in owners.values():
                involved |= ids
        self.customers = {
            **customers_info_load(involved - set(data.customers)),
            **data.customers,
        }

    def classify(
        self, field: str, old: str, new: str, *, rep_id: int, customer_id: int
    ) -> tuple[str, str] | None:
        values = _values(field, new)
        if not values:
            return None  # cleared: nothing redirected
        for value in values:
            owner = self.rep_phones.get(value) or self.rep_emails.get(value)
            if owner == rep_id:
                return "rep_own", self.data.reps[rep_id].username
            if owner is not None:
                return "employee", self.data.reps[owner].username
            others = (
                self.customer_phones.get(value, set())
                | self.customer_emails.get(value, set())
                | self.set_on.get(value, set())
            ) - {customer_id}
            if others:
                return "other_customer", ", ".join(
                    sorted(
                        self.customers[c].code if c in self.customers else str(c) for c in others
                    )[:3]
                )
        if field in EMAIL_FIELDS:
            address = values[0]
            domain = address.rpartition("@")[2]
            if is_free_mail_domain(domain):
                old_domain = email_domain(old) if old else None
                return ("company_to_private" if old_domain else "private"), ""
            own = self.customers.get(customer_id)
            if own is not None and domain in own.domains:
                return None  # a colleague at the customer's own company
            return "unknown_domain", ""
        return "unknown_phone", ""


def _values(field: str, raw: str) -> list[str]:
    if field in PHONE_FIELDS:
        return normalize_phones(raw) if raw else []
    if field in EMAIL_FIELDS:
        address = normalize_email(raw) if raw else None
        return [address] if address else []
    return []
