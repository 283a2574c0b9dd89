"""The traces a message can leave for the risk view (MISSION §9), computed when it is stored.

Only mail a colleague sends counts (the sender is a user of the company). Three signals:

- to_competitor: a recipient at a competitor's domain (or a subdomain of it);
- forward_private: customer mail sent on to an address that is neither the company's, a
  customer's nor a competitor's — free mail or an unknown private domain — where the message
  carries the customer's mail: an attachment first received from a customer, a forward that
  refers to a customer's message, or a forwarded header block / attached message from a
  customer's address;
- material_outside: a quote or price list (a PDF Kedun generated for a quote, or a file named
  like one: 报价, 价格表, quotation, price list …) sent to an address outside the customer's own
  addresses and domains and outside the company.

Each signal says why in `detail`, so a manager can judge it; none is a verdict.
"""

from __future__ import annotations

import email
import email.utils
import re
from dataclasses import dataclass
from email.policy import compat32

from .matching import AddressBook
from .mime import ParsedMessage, header_decode, raw_header
from .models import DocumentKind, DocumentVersion, MessageCustomer, SignalKind

_QUOTED_FROM_RE = re.compile(
    r"^[>\s]*(?:from|发件人|寄件者|寄件人)\s*[:：].*?([\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTE_NAME_RE = re.compile(
    r"报价|報價|价格表|價格表|价目表|價目表|价格单|价目|quotation|quote|price\s*-?_?list|pricelist|"
    r"offer",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Found:
    kind: str
    detail: dict


def _customer_mail(
    parsed: ParsedMessage, *, book: AddressBook, own_message_id: str
) -> tuple[set[int], list[str]]:
    """Customers whose mail this message carries, and how that was seen."""
    customers: set[int] = set()
    evidence: list[str] = []
    shas = [a.sha256 for a in parsed.attachments if a.content_type != "message/rfc822"]
    if shas:
        received = (
            MessageCustomer.objects.filter(
                message__attachments__sha256__in=shas, from_customer=True
            )
            .exclude(message__message_id=own_message_id)
            .values_list("customer_id", flat=True)
        )
        hits = set(received)
        if hits:
            customers |= hits
            evidence.append("attachment")
    if parsed.is_forward:
        referred = [*parsed.references, parsed.in_reply_to]
        hits = set(
            MessageCustomer.objects.filter(
                message__message_id__in=[r for r in referred if r], from_customer=True
            ).values_list("customer_id", flat=True)
        )
        if hits:
            customers |= hits
            evidence.append("reference")
    quoted = set(_QUOTED_FROM_RE.findall(parsed.body_text))
    for attachment in parsed.attachments:
        if attachment.content_type == "message/rfc822":
            inner = email.message_from_bytes(attachment.data[:65536], policy=compat32)
            quoted.update(
                a for _n, a in email.utils.getaddresses([header_decode(raw_header(inner, "From"))])
            )
    for address in quoted:
        address = address.lower()
        if book.is_own(address):
            continue
        hits = book.customers_of(address)
        if hits:
            customers |= hits
            evidence.append("forwarded from a customer's address")
    return customers, list(dict.fromkeys(evidence))


def signals_find(
    parsed: ParsedMessage,
    *,
    book: AddressBook,
    customers_by_address: dict[str, set[int]],
) -> list[Found]:
    """The signals of an outgoing message (the caller knows it is one)."""
    found: list[Found] = []
    recipients = [a for a in parsed.recipients() if a != parsed.from_address]
    competitors = {}
    for address in recipients:
        hit = book.competitor_of(address)
        if hit is not None:
            competitors[address] = hit
    if competitors:
        found.append(
            Found(
                SignalKind.TO_COMPETITOR,
                {
                    "recipients": sorted(competitors),
                    "competitor_ids": sorted({c for c, _d in competitors.values()}),
                },
            )
        )
    outside = [
        a
        for a in recipients
        if not book.is_own(a) and not customers_by_address.get(a) and a not in competitors
    ]
    if outside:
        customers, evidence = _customer_mail(parsed, book=book, own_message_id=parsed.message_id)
        if customers:
            found.append(
                Found(
                    SignalKind.FORWARD_PRIVATE,
                    {
                        "recipients": sorted(outside),
                        "customer_ids": sorted(customers),
                        "evidence": evidence,
                    },
                )
            )
    material = _material(parsed, book=book, customers_by_address=customers_by_address)
    if material is not None:
        found.append(material)
    return found


def _material(
    parsed: ParsedMessage, *, book: AddressBook, customers_by_address: dict[str, set[int]]
) -> Found | None:
    generated = dict(
        DocumentVersion.objects.filter(
            sha256__in=[a.sha256 for a in parsed.attachments], document__kind=DocumentKind.QUOTE
        ).values_list("sha256", "document__customer_id")
    )
    files = [
        a
        for a in parsed.attachments
        # A forwarded message is not material of ours: forward_private covers it.
        if a.content_type != "message/rfc822"
        and (a.sha256 in generated or _QUOTE_NAME_RE.search(a.filename))
    ]
    if not files:
        return None
    # Whose material: the customer of a generated quote, else the customers the message is to.
    owners = {generated[a.sha256] for a in files if a.sha256 in generated}
    if not owners:
        owners = set().union(*customers_by_address.values()) if customers_by_address else set()
    outside = [
        a
        for a in parsed.recipients()
        if a != parsed.from_address
        and not book.is_own(a)
        and not (customers_by_address.get(a, set()) & owners)
    ]
    if not outside:
        return None
    return Found(
        SignalKind.MATERIAL_OUTSIDE,
        {
            "recipients": sorted(outside),
            "attachments": [a.filename for a in files],
            "customer_ids": sorted(owners),
            "generated_quote": any(a.sha256 in generated for a in files),
        },
    )
