"""Writing a customer's identity keys to the index tables the duplicate check reads."""

from __future__ import annotations

from .identity.keys import IdentityKeys
from .identity.names import bigrams
from .models import (
    Customer,
    CustomerDomain,
    CustomerName,
    CustomerNameGram,
    CustomerPhone,
    NameKind,
)


def identity_rows(
    customer_id: int, keys: IdentityKeys
) -> tuple[list[CustomerName], list[CustomerNameGram], list[CustomerPhone], list[CustomerDomain]]:
    kinds = keys.name_kinds or (NameKind.NAME,) * len(keys.names)
    names = [
        CustomerName(
            customer_id=customer_id,
            kind=kind,
            core=name.core[:200],
            region=name.region.key()[:100],
            trade_name=name.trade_name[:100],
            pinyin=name.pinyin[:600],
            fuzzy=name.fuzzy[:600],
        )
        for name, kind in zip(keys.names, kinds, strict=False)
    ]
    grams: set[str] = set()
    for name in keys.names:
        grams |= bigrams(name.core)
    return (
        names,
        [CustomerNameGram(customer_id=customer_id, gram=gram) for gram in sorted(grams)],
        [CustomerPhone(customer_id=customer_id, number=number) for number in keys.phones],
        [CustomerDomain(customer_id=customer_id, domain=domain[:200]) for domain in keys.domains],
    )


def identity_index_write(customer: Customer, keys: IdentityKeys) -> None:
    """Replace the customer's index rows (call inside the writing transaction)."""
    for model in (CustomerName, CustomerNameGram, CustomerPhone, CustomerDomain):
        model.objects.filter(customer=customer).delete()
    names, grams, phones, domains = identity_rows(customer.pk, keys)
    CustomerName.objects.bulk_create(names)
    CustomerNameGram.objects.bulk_create(grams)
    CustomerPhone.objects.bulk_create(phones)
    CustomerDomain.objects.bulk_create(domains)
