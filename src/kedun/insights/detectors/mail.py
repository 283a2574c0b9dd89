"""Mail that leaves the company's relationship: a customer's material sent by the rep to a
competitor's domain, or to a private mailbox; the rep deleting it afterwards makes it worse.

Competitors are the ones configured (comms.Competitor and their domains) and the ones named
in lost quotes: a domain that spells a competitor's trade name in pinyin (立信 → lixin-ind.cn)
is read as that competitor's, and the sentence says so, so a manager can check it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from typing import Any

from django.utils import timezone
from pypinyin import lazy_pinyin

from kedun.comms.models import (
    AddressRole,
    Competitor,
    CompetitorDomain,
    MessageAddress,
    MessageCustomer,
    MessageOwner,
    MessageSignal,
    SignalKind,
)
from kedun.customers.contact_identity import is_free_mail_domain
from kedun.customers.identity.keys import identity_keys
from kedun.customers.models import CustomerDomain
from kedun.sales.models import Quote

from ..data import AnalysisData
from ..models import Family
from . import Found

STRENGTH = {
    "competitor": 0.8,
    "competitor_like": 0.7,
    "private_own": 0.8,
    "private": 0.5,
    "outside": 0.3,
}
_FORWARD = re.compile(r"^\s*(fw|fwd|转发)\s*[:：]", re.IGNORECASE)


def mail_findings(data: AnalysisData) -> list[Found]:
    start = timezone.make_aware(dt.datetime.combine(data.first_week, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(data.as_of + dt.timedelta(days=1), dt.time()))
    in_window = MessageOwner.objects.filter(
        sent_at__gte=start, sent_at__lt=end, user_id__in=list(data.reps)
    )
    owned = list(
        in_window.values_list(
            "user_id",
            "message_id",
            "hidden_at",
            "message__from_address",
            "message__subject",
            "sent_at",
        )
    )
    if not owned:
        return []
    company_domains = {e.rpartition("@")[2] for rep in data.reps.values() for e in rep.emails}
    sent = [
        row
        for row in owned
        if row[3] in data.reps[row[0]].emails
        or (not data.reps[row[0]].emails and row[3].rpartition("@")[2] in company_domains)
    ]
    # The window's messages as a subquery, not a list of ids: tens of thousands of bound
    # parameters cost more than the rows they select. What was received is dropped here.
    sent_ids = {row[1] for row in sent}
    window_ids = in_window.values("message_id")
    recipients: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for message_id, address, domain in MessageAddress.objects.filter(
        message_id__in=window_ids, role__in=(AddressRole.TO, AddressRole.CC)
    ).values_list("message_id", "address", "domain"):
        if message_id in sent_ids:
            recipients[message_id].append((address, domain))
    customer_of: dict[int, int] = {
        message_id: customer_id
        for message_id, customer_id in MessageCustomer.objects.filter(
            message_id__in=window_ids
        ).values_list("message_id", "customer_id")
        if message_id in sent_ids
    }
    outside_domains = {
        domain
        for items in recipients.values()
        for _address, domain in items
        if domain not in company_domains and not is_free_mail_domain(domain)
    }
    customer_domains = set(
        CustomerDomain.objects.filter(domain__in=outside_domains).values_list("domain", flat=True)
    )
    competitors = _Competitors(outside_domains)
    by_pair: dict[tuple[int, int | None], list[dict[str, Any]]] = defaultdict(list)
    for rep_id, message_id, hidden_at, _sender, subject, sent_at in sent:
        rep = data.reps[rep_id]
        customer_id = customer_of.get(message_id)
        customer = data.customers.get(customer_id) if customer_id else None
        worst: tuple[float, str, str, str] | None = None
        for address, domain in recipients.get(message_id, []):
            if domain in company_domains:
                continue
            if customer is not None and (address in customer.emails or domain in customer.domains):
                continue
            verdict, detail = _classify(address, domain, rep.username, rep.name, competitors)
            if verdict is None or (domain in customer_domains and verdict == "outside"):
                continue
            strength = STRENGTH[verdict]
            if worst is None or strength > worst[0]:
                worst = (strength, verdict, address, detail)
        if worst is None:
            continue
        strength, verdict, address, detail = worst
        forwarded = bool(_FORWARD.match(subject or ""))
        by_pair[(rep_id, customer_id)].append(
            {
                "id": message_id,
                "on": sent_at.astimezone(timezone.get_default_timezone()).date().isoformat(),
                "to": address,
                "verdict": verdict,
                "competitor": detail,
                "subject": subject[:120],
                "forwarded": forwarded,
                "deleted": hidden_at is not None,
                "strength": strength + (0.1 if forwarded else 0) + (0.1 if hidden_at else 0),
            }
        )
    _recorded_signals(data, start, end, by_pair)
    found = []
    for (rep_id, customer_id), items in by_pair.items():
        items.sort(key=lambda item: item["on"])
        strength = max(item["strength"] for item in items) + (0.1 if len(items) >= 3 else 0)
        found.append(
            Found(
                kind="mail_outside",
                family=Family.MAIL,
                rep_id=rep_id,
                customer_id=customer_id,
                start=dt.date.fromisoformat(items[0]["on"]),
                end=dt.date.fromisoformat(items[-1]["on"]),
                strength=round(min(1.0, strength), 3),
                facts={"messages": items[:50], "count": len(items)},
            )
        )
    return found


# What the archive recorded when it stored a message (comms.signals, from the message itself:
# attachments first received from a customer, forwarded headers, quote PDFs) — read as
# evidence too, for the synced mail the address rules above cannot see into.
_SIGNAL_VERDICTS: dict[str, tuple[str, float]] = {
    SignalKind.TO_COMPETITOR.value: ("competitor", 0.8),
    SignalKind.FORWARD_PRIVATE.value: ("forwarded_private", 0.7),
    SignalKind.MATERIAL_OUTSIDE.value: ("material_outside", 0.6),
}


def _recorded_signals(
    data: AnalysisData,
    start: dt.datetime,
    end: dt.datetime,
    by_pair: dict[tuple[int, int | None], list[dict[str, Any]]],
) -> None:
    seen = {item["id"] for items in by_pair.values() for item in items}
    signals = list(
        MessageSignal.objects.filter(
            sent_at__gte=start, sent_at__lt=end, user_id__in=list(data.reps)
        )
        .exclude(message_id__in=seen)
        .values_list("message_id", "user_id", "kind", "sent_at", "message__subject", "detail")
    )
    if not signals:
        return
    customer_of = dict(
        MessageCustomer.objects.filter(message_id__in=[s[0] for s in signals]).values_list(
            "message_id", "customer_id"
        )
    )
    hidden = set(
        MessageOwner.objects.filter(
            message_id__in=[s[0] for s in signals], hidden_at__isnull=False
        ).values_list("message_id", "user_id")
    )
    for message_id, user_id, kind, sent_at, subject, detail in signals:
        verdict, strength = _SIGNAL_VERDICTS.get(kind, ("outside", 0.3))
        deleted = (message_id, user_id) in hidden
        addresses = detail.get("recipients") or [""]
        by_pair[(user_id, customer_of.get(message_id))].append(
            {
                "id": message_id,
                "on": sent_at.astimezone(timezone.get_default_timezone()).date().isoformat(),
                "to": addresses[0] if isinstance(addresses, list) else str(addresses),
                "verdict": verdict,
                "competitor": "",
                "subject": (subject or "")[:120],
                "forwarded": kind == SignalKind.FORWARD_PRIVATE,
                "deleted": deleted,
                "strength": strength + (0.1 if deleted else 0),
            }
        )


def _classify(
    address: str, domain: str, username: str, name: str, competitors: _Competitors
) -> tuple[str | None, str]:
    named = competitors.named.get(domain)
    if named:
        return "competitor", named
    like = competitors.like(domain)
    if like:
        return "competitor_like", like
    if is_free_mail_domain(domain):
        local = address.partition("@")[0].lower()
        if any(token and token in local for token in _own_tokens(username, name)):
            return "private_own", ""
        return "private", ""
    return "outside", ""


@functools.lru_cache(maxsize=4096)
def _own_tokens(username: str, name: str) -> tuple[str, ...]:
    """What a rep's private address would contain: the login, the name in pinyin (cached:
    pinyin is slow and a rep sends thousands of messages)."""
    own = [username.lower()] if username else []
    if name:
        own.append("".join(lazy_pinyin(name)).lower())
    return tuple(own)


class _Competitors:
    """Competitors by configured domain, and by a domain that spells a competitor's trade name
    (from the configured list and from the competitors named in lost quotes)."""

    def __init__(self, domains: set[str]):
        self.named: dict[str, str] = {
            d: name
            for d, name in CompetitorDomain.objects.filter(domain__in=domains).values_list(
                "domain", "competitor__name"
            )
        }
        names = set(Competitor.objects.values_list("name", flat=True))
        names |= set(
            Quote.objects.exclude(lost_competitor="")
            .values_list("lost_competitor", flat=True)
            .distinct()[:500]
        )
        self._like: dict[str, str] = {}
        self.spellings: dict[str, str] = {}
        for name in names:
            for spelling in _spellings(name):
                self.spellings.setdefault(spelling, name)

    def like(self, domain: str) -> str:
        found = self._like.get(domain)
        if found is None:
            found = self._like[domain] = self._like_of(domain)
        return found

    def _like_of(self, domain: str) -> str:
        label = domain.split(".")[0]
        for token in re.split(r"[-_]", label):
            if len(token) >= 4 and token in self.spellings:
                return self.spellings[token]
        return ""


def _spellings(name: str) -> set[str]:
    """How a company writes its trade name in a domain: full pinyin (立信 → lixin)."""
    parsed = identity_keys(name=name).names
    trade = parsed[0].trade_name if parsed else ""
    if not trade:
        return set()
    full = "".join(lazy_pinyin(trade)).lower()
    return {full} if len(full) >= 4 and full.isascii() else set()
