"""From findings to a ranking: a rep's risk is the evidence that agrees.

A finding counts only when a finding of another family agrees with it — on the same customer,
at the same time (their periods overlap, give or take SLACK_DAYS) — or a trace about the rep
as a whole agrees with it in time (data taken before leaving, mail to a competitor). One high
number on one axis is how honest life looks (a weak rep loses quotes, a price-driven segment
loses on price, dormant customers stop ordering, some customers' staff change often): alone it
is shown, never counted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from .data import AnalysisData
from .detectors import Found
from .models import Family, finding_key

SLACK_DAYS = 45
# A trace about the rep as a whole (taking the customer list) weighs like several customers.
REP_LEVEL_WEIGHT = 2.0
PATTERN_WEIGHT = 0.5
FRONT_CUSTOMERS = 3
# A customer counts when the agreeing evidence adds up to this much: two real traces, not a
# faint one leaning on another.
MIN_CUSTOMER_SCORE = 0.6
HARVEST = "data_harvest"
EXPOSED = "key_account_exposed"


@dataclass
class Scored:
    found: Found
    corroborated: bool = False
    dismissed: bool = False


@dataclass
class RepResult:
    rep_id: int
    score: float = 0.0
    customers: int = 0  # customers with agreeing evidence
    findings: list[Scored] = field(default_factory=list)


# Read from the same weekly activity, these two move together in honest life too (orders fall,
# the rep tries harder to win them back): they never corroborate each other alone.
ACTIVITY = (Family.BUSINESS, Family.CONTACT)
# A partner this weak (a phone number nobody knows) cannot corroborate on its own.
MIN_PARTNER_STRENGTH = 0.3


def _agree(a: Found, b: Found) -> bool:
    """b corroborates a: another family, not both read from activity, strong enough, and at
    the same time."""
    if a.family == b.family or (a.family in ACTIVITY and b.family in ACTIVITY):
        return False
    if b.strength < MIN_PARTNER_STRENGTH:
        return False
    slack = dt.timedelta(days=SLACK_DAYS)
    return a.start <= b.end + slack and b.start <= a.end + slack


def risk_score(
    data: AnalysisData, findings: list[Found], dismissed: dict[str, dt.date]
) -> list[RepResult]:
    """Every rep in `data.reps`, ranked by score (highest first)."""
    by_rep: dict[int, list[Scored]] = defaultdict(list)
    for found in findings:
        key = finding_key(found.kind, found.rep_id, found.customer_id)
        gone = dismissed.get(key)
        # A dismissal covers the evidence it judged; an episode that starts later, or a record
        # after it (the same rep redirecting the same customer's phone again), is new.
        by_rep[found.rep_id].append(
            Scored(found, dismissed=gone is not None and _latest_evidence(found) <= gone)
        )
    results = [_rep_score(rep_id, by_rep.get(rep_id, [])) for rep_id in data.reps]
    results.sort(key=lambda r: (-r.score, data.reps[r.rep_id].username))
    return results


# Where a sparse finding keeps its records, each with its day: contact changes, mail, visits,
# payments and deliveries.
_RECORDS = ("changes", "messages", "check_ins", "records")


def _latest_evidence(found: Found) -> dt.date:
    """The day of the finding's latest record (its start for a change read from a series)."""
    days = [
        dt.date.fromisoformat(item["on"])
        for key in _RECORDS
        for item in found.facts.get(key, [])
        if isinstance(item, dict) and "on" in item
    ]
    if any(key in found.facts for key in _RECORDS[1:]):
        # Mail, visits and payments end on their last record (the facts keep only the first
        # few dozen); a contact change's finding runs on to the run's day, so not that one.
        days.append(found.end)
    return max([found.start, *days])


def _rep_score(rep_id: int, findings: list[Scored]) -> RepResult:
    result = RepResult(rep_id, findings=findings)
    live = [s for s in findings if not s.dismissed]
    rep_level = [s for s in live if s.found.customer_id is None]
    by_customer: dict[int, list[Scored]] = defaultdict(list)
    for scored in live:
        if scored.found.customer_id is not None:
            by_customer[scored.found.customer_id].append(scored)
    # Business traces at many of the rep's customers at once corroborate each of them, at
    # reduced weight: the agreement is across customers, not on the customer itself.
    patterned = {
        customer_id
        for s in rep_level
        if s.found.family == Family.PATTERN
        for customer_id in s.found.facts.get("customers", [])
    }
    counted: dict[int, dict[str, float]] = {}
    for customer_id, items in by_customer.items():
        evidence = [s for s in items if s.found.kind != EXPOSED]
        families: dict[str, float] = {}
        for scored in evidence:
            weight = 1.0
            scored.corroborated = any(_agree(scored.found, other.found) for other in evidence)
            if (
                not scored.corroborated
                and customer_id in patterned
                and scored.found.family in ACTIVITY
            ):
                scored.corroborated, weight = True, PATTERN_WEIGHT
            if (
                not scored.corroborated
                and scored.found.family in (Family.MONEY, Family.DELIVERY)
                and scored.found.facts.get("customers_of_party", 0) >= FRONT_CUSTOMERS
            ):
                # One outside party paying for (or receiving the goods of) several of the
                # rep's customers is agreement across customers, like the pattern above.
                scored.corroborated, weight = True, PATTERN_WEIGHT
            if scored.corroborated:
                family = scored.found.family
                families[family] = max(families.get(family, 0.0), weight * scored.found.strength)
        if sum(families.values()) >= MIN_CUSTOMER_SCORE:
            counted[customer_id] = families
        else:  # agreement too faint to count (an unknown number and a quiet month)
            for scored in evidence:
                scored.corroborated = False
    customer_level = [s for items in by_customer.values() for s in items if s.corroborated]
    for scored in rep_level:
        if scored.found.family == Family.PATTERN:
            scored.corroborated = bool(patterned & set(counted))
            continue  # counted through the customers it names, never on its own
        facts = scored.found.facts
        # Opening customers outside one's book and exporting, both far beyond the rep's own
        # past and their colleagues', at once — or just before leaving — agree with each other.
        taking = scored.found.family == Family.ACCESS and (
            "deactivated_on" in facts or ("views" in facts and "exported_rows" in facts)
        )
        scored.corroborated = taking or any(
            _agree(scored.found, other.found) for other in customer_level + rep_level
        )
        if scored.corroborated:
            result.score += REP_LEVEL_WEIGHT * scored.found.strength
    # The accounts exposed by data taken count with the taking they come from.
    harvested = any(s.corroborated and s.found.kind == HARVEST for s in rep_level)
    if harvested:
        for customer_id, items in by_customer.items():
            for scored in items:
                if scored.found.kind == EXPOSED:
                    scored.corroborated = True
                    families = counted.setdefault(customer_id, {})
                    families[Family.ACCESS] = max(
                        families.get(Family.ACCESS, 0.0), scored.found.strength
                    )
    result.customers = len(counted)
    result.score = round(result.score + sum(sum(f.values()) for f in counted.values()), 3)
    return result
