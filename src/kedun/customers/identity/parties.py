"""Is a party named on a document (a payer, a consignee) the customer itself?"""

from __future__ import annotations

from kedun.customers.models import Customer

from .keys import identity_keys
from .names import normalize_text


def names_the_customer(party_name: str, customer: Customer) -> bool:
    """Does `party_name` name the customer? Compared as the registry compares company names:
    script, brackets, spaces, region and legal form folded away, against the customer's name,
    short name and English name — so 腾讯计算机系统（深圳）有限公司 pays for 深圳市腾讯计算机系统
    有限公司, and 腾达… does not. A payment or delivery through another party is a trace of
    diversion (MISSION §9): the caller flags it, never refuses it."""
    own_names = [customer.name, customer.short_name, customer.english_name]
    party_text = normalize_text(party_name)
    if party_text and party_text in {normalize_text(name) for name in own_names if name}:
        return True
    party = {name.core for name in identity_keys(name=party_name).names}
    own = identity_keys(
        name=customer.name, short_name=customer.short_name, english_name=customer.english_name
    )
    return bool(party & {name.core for name in own.names})
