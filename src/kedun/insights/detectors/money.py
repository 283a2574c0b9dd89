"""Money and goods through another party: payments for a customer's invoices made by someone
else, deliveries to someone else. One such payment happens (a parent company pays); a payer
that pays for several of the rep's customers, a person rather than a company, or someone who
carries the rep's name is what a manager wants to see."""

from __future__ import annotations

import re
from collections import defaultdict

from kedun.sales.models import Payment, Shipment

from ..data import AnalysisData
from ..models import Family
from . import Found

# A company's name ends in a legal form or a kind of business; a person's does not.
_COMPANY_WORDS = re.compile(
    r"(公司|厂|店|行|社|所|中心|集团|银行|学校|医院|协会|部|局|院|站|co\.?|ltd|inc|corp|gmbh|llc)",
    re.IGNORECASE,
)


def money_findings(data: AnalysisData) -> list[Found]:
    first = data.first_week
    payments = [
        ("payment", pk, day, name, account, customer_id, rep_id, amount)
        for pk, day, name, account, customer_id, rep_id, amount in Payment.objects.filter(
            payer_differs=True, received_on__gte=first, received_on__lte=data.as_of
        ).values_list(
            "pk",
            "received_on",
            "payer_name",
            "payer_account",
            "invoice__order__customer_id",
            "invoice__order__owner_id",
            "amount",
        )
    ]
    shipments = [
        ("shipment", pk, at.date(), name, "", customer_id, rep_id, None)
        for pk, at, name, customer_id, rep_id in Shipment.objects.filter(
            consignee_differs=True, shipped_at__date__gte=first, shipped_at__date__lte=data.as_of
        ).values_list("pk", "shipped_at", "consignee", "order__customer_id", "order__owner_id")
    ]
    # A party that pays for (or receives the goods of) several customers is a front.
    customers_of_party: dict[str, set[int]] = defaultdict(set)
    for _kind, _pk, _day, name, _acc, customer_id, _rep, _amount in payments + shipments:
        customers_of_party[_party_key(name)].add(customer_id)
    by_pair: dict[tuple[int, int, str], list[tuple]] = defaultdict(list)
    for item in payments + shipments:
        kind, _pk, _day, _name, _acc, customer_id, rep_id, _amount = item
        if rep_id in data.reps:
            by_pair[(rep_id, customer_id, kind)].append(item)
    found = []
    for (rep_id, customer_id, kind), items in by_pair.items():
        rep = data.reps[rep_id]
        parties = sorted({_party_key(i[3]) for i in items})
        shared = max(len(customers_of_party[p]) for p in parties)
        personal = any(_is_person(i[3]) for i in items)
        rep_named = any(_names_rep(i[3], rep.username, rep.name) for i in items)
        strength = 0.4 + (0.3 if shared >= 2 else 0) + (0.2 if personal else 0)
        strength += 0.3 if rep_named else 0
        days = sorted(i[2] for i in items)
        found.append(
            Found(
                kind="paid_by_other" if kind == "payment" else "delivered_elsewhere",
                family=Family.MONEY,
                rep_id=rep_id,
                customer_id=customer_id,
                start=days[0],
                end=max(days[-1], days[0]),
                strength=round(min(1.0, strength), 3),
                facts={
                    "records": [
                        {
                            "id": pk,
                            "on": day.isoformat(),
                            "party": name,
                            "account": account,
                            **({"amount": str(amount)} if amount is not None else {}),
                        }
                        for _k, pk, day, name, account, _c, _r, amount in items
                    ],
                    "parties": [i for i in sorted({i[3] for i in items})],
                    "customers_of_party": shared,
                    "personal": personal,
                    "rep_named": rep_named,
                },
            )
        )
    return found


def _party_key(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def _is_person(name: str) -> bool:
    """No legal form or kind of business in the name: a person's account, most likely."""
    return not _COMPANY_WORDS.search(name)


def _names_rep(name: str, username: str, full_name: str) -> bool:
    folded = _party_key(name)
    return bool(
        (username and username.lower() in folded) or (full_name and _party_key(full_name) in folded)
    )
