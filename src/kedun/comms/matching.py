"""Which customers a mail address belongs to, which addresses are the company's own, which are
competitors' — the lookups the archive makes for every message it stores.

An address matches a customer by its full address (the customer's or a contact's email) or by
its company domain (customers.CustomerDomain, filled by the registry from websites and emails).
Free-mail domains never identify a company (contact_identity): an address at qq.com matches
only by the full address. The registry's own normalisers are used, never a second copy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kedun.customers import contact_identity
from kedun.customers.models import Contact, Customer, CustomerDomain

from .models import CompetitorDomain, Mailbox


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def company_domain(address: str) -> str | None:
    """The registry's company domain of an address (None for free mail)."""
    return contact_identity.email_domain(address)


def is_free_mail(address: str) -> bool:
    return contact_identity.email_domain(address) is None and "@" in address


class AddressBook:
    """Answers for one sync run or one send: the full addresses of customers and contacts are
    read once (a customer's email is typed by people: "Zhang <ZHANG@X.COM>", so it is
    normalised here rather than compared in SQL); domains are index lookups, remembered."""

    def __init__(self) -> None:
        self._by_address: dict[str, set[int]] | None = None
        self._by_domain: dict[str, set[int]] = {}
        self._own_addresses: set[str] | None = None
        self._own_domains: set[str] | None = None
        self._competitors: dict[str, tuple[int, str]] | None = None

    # -- the registry -----------------------------------------------------------------------

    def _addresses(self) -> dict[str, set[int]]:
        if self._by_address is None:
            found: dict[str, set[int]] = defaultdict(set)
            live = Customer.objects.filter(merged_into__isnull=True)
            for customer_id, raw in live.exclude(email="").values_list("pk", "email"):
                for address in _addresses_in(raw):
                    found[address].add(customer_id)
            contacts = Contact.objects.filter(customer__merged_into__isnull=True).exclude(email="")
            for customer_id, raw in contacts.values_list("customer_id", "email"):
                for address in _addresses_in(raw):
                    found[address].add(customer_id)
            self._by_address = dict(found)
        return self._by_address

    def domains_load(self, domains: Iterable[str]) -> None:
        missing = {d for d in domains if d and d not in self._by_domain}
        if not missing:
            return
        for domain in missing:
            self._by_domain[domain] = set()
        rows = CustomerDomain.objects.filter(
            domain__in=missing, customer__merged_into__isnull=True
        ).values_list("domain", "customer_id")
        for domain, customer_id in rows:
            self._by_domain[domain].add(customer_id)

    def customers_of(self, address: str) -> set[int]:
        """The customers an address belongs to: by full address, and by company domain unless
        the domain is free mail or the company's own."""
        found = set(self._addresses().get(address, ()))
        domain = company_domain(address)
        if domain and domain not in self.own_domains():
            self.domains_load([domain])
            found |= self._by_domain.get(domain, set())
        return found

    def by_full_address(self, address: str) -> set[int]:
        return set(self._addresses().get(address, ()))

    # -- the company and its competitors ----------------------------------------------------

    def own_addresses(self) -> set[str]:
        if self._own_addresses is None:
            self._own_addresses = set(Mailbox.objects.values_list("address", flat=True))
        return self._own_addresses

    def own_domains(self) -> set[str]:
        if self._own_domains is None:
            self._own_domains = {_domain_of(a) for a in self.own_addresses()}
        return self._own_domains

    def is_own(self, address: str) -> bool:
        return address in self.own_addresses() or _domain_of(address) in self.own_domains()

    def competitor_of(self, address: str) -> tuple[int, str] | None:
        """(competitor id, its domain) when the address is at a competitor's domain or one of
        its subdomains (sales.rival.com is rival.com)."""
        if self._competitors is None:
            self._competitors = {
                domain: (competitor_id, domain)
                for domain, competitor_id in CompetitorDomain.objects.values_list(
                    "domain", "competitor_id"
                )
            }
        labels = _domain_of(address).split(".")
        for start in range(len(labels) - 1):
            hit = self._competitors.get(".".join(labels[start:]))
            if hit is not None:
                return hit
        return None


def _addresses_in(raw: str) -> list[str]:
    """The addresses a person typed into an email field (one, or several separated)."""
    found = []
    for piece in raw.replace("；", ";").replace("，", ",").replace(";", ",").split(","):
        address = contact_identity.normalize_email(piece)
        if address:
            found.append(address)
    return found
